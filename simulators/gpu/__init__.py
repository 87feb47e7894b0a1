"""GPU GEMM performance: device specs, a tile-level analytical model and its calibration.

Public API: ``GemmModel`` (predict a GEMM's time with the library's tile choice or a given
tile), ``TileConfig`` (the mapping an env searches), ``Efficiency`` (calibrated constants),
``GPUSpec`` / ``DEVICES`` / ``get_device`` (datasheet specs), ``DTYPES`` and ``KINDS`` (names),
``predict_kernel_us`` (one entry point for every kernel kind: dense, 2:4, V:N:M, w4a16, w8a16).
"""

from archgym.simulators.gpu.devices import DEVICES, DTYPES, KINDS, GPUSpec, get_device, get_dtype
from archgym.simulators.gpu.kinds import predict_kernel_us
from archgym.simulators.gpu.model import Efficiency, TileConfig, kernel_time_s, library_candidates
from archgym.simulators.gpu.predictor import BACKENDS, GemmModel

__all__ = [
    "BACKENDS",
    "DEVICES",
    "DTYPES",
    "KINDS",
    "Efficiency",
    "GPUSpec",
    "GemmModel",
    "TileConfig",
    "get_device",
    "get_dtype",
    "kernel_time_s",
    "library_candidates",
    "predict_kernel_us",
]
