"""One entry point for every GEMM kind on a GPU: ``predict_kernel_us``.

Kinds: ``dense`` (the tile model of :mod:`archgym.simulators.gpu.predictor`), ``2:4`` (alias
``sparse24``; cuSPARSELt, :mod:`~archgym.simulators.gpu.sparse`), ``V:N:M`` strings such as
``64:2:8`` (Spatha-class), ``w4a16`` and ``w8a16`` (weight-only, :mod:`~archgym.simulators.gpu.quant`).
Convention: m = tokens, n = output features, k = input features; the sparse or quantised
operand is the weight.
"""

from __future__ import annotations

import inspect
import re
from functools import lru_cache

from archgym.simulators.gpu.devices import get_device
from archgym.simulators.gpu.predictor import GemmModel
from archgym.simulators.gpu.quant import quant_time_us
from archgym.simulators.gpu.sparse import SPARSE24_KERNELS, sparse24_time_us
from archgym.simulators.gpu.vnm import vnm_time_us

__all__ = ["KIND_NAMES", "predict_kernel_us"]

KIND_NAMES = ("dense", "2:4", "sparse24", "V:N:M", "w4a16", "w8a16")
_VNM = re.compile(r"^\d+:\d+:\d+$")


@lru_cache(maxsize=16)
def _dense_model(device: str) -> GemmModel:
    return GemmModel(device)


def _dense_us(device: str, m, n, k, dtype, kernel, a_major, b_major) -> float:
    if kernel is not None:
        raise ValueError(f"kind 'dense' takes no kernel, got {kernel!r}")
    model = _dense_model(device)
    if "a_major" in inspect.signature(model.predict_us).parameters:
        return float(model.predict_us(m, n, k, dtype, a_major=a_major, b_major=b_major))
    if (a_major, b_major) != ("row", "row"):
        raise ValueError("the dense model takes no a_major/b_major yet; give row, row")
    return float(model.predict_us(m, n, k, dtype))


def predict_kernel_us(
    device: str,
    m: int,
    n: int,
    k: int,
    dtype: str,
    kind: str,
    *,
    group_size: int | None = None,
    kernel: str | None = None,
    a_major: str = "row",
    b_major: str = "row",
) -> float:
    """Predicted time in microseconds of one GEMM kernel of ``kind`` on ``device``.

    ``dtype`` is the operand type (dense, 2:4, V:N:M) or the activation type (``fp16`` or
    ``bf16`` for w4a16/w8a16). ``group_size`` (w4a16 only) is the weights per scale along k.
    ``kernel``: 2:4 ``torch-default`` / ``search``; V:N:M ``spatha``; w4a16 ``marlin`` /
    ``sparse-marlin`` / ``torch-int4pack``; w8a16 ``torch-int8pack``. ``a_major``/``b_major``
    (storage orders) apply to dense only. Raises ValueError for an unknown or inconsistent
    input and ``InfeasibleDesign`` where the device cannot run the kernel.
    """
    dev = get_device(device).name
    for name, val in (("a_major", a_major), ("b_major", b_major)):
        if val not in ("row", "col"):
            raise ValueError(f"`{name}` must be 'row' or 'col', got {val!r}")
    if kind == "dense":
        if group_size is not None:
            raise ValueError("kind 'dense' takes no group_size")
        return _dense_us(dev, m, n, k, dtype, kernel, a_major, b_major)
    if (a_major, b_major) != ("row", "row"):
        raise ValueError(
            f"kind {kind!r} has a fixed operand layout; a_major/b_major apply to dense"
        )
    if kind in ("w4a16", "w8a16"):
        if dtype not in ("fp16", "bf16"):
            raise ValueError(f"{kind} takes fp16 or bf16 activations, got dtype {dtype!r}")
        return float(quant_time_us(dev, m, n, k, kind, kernel=kernel, group_size=group_size))
    if group_size is not None:
        raise ValueError(f"kind {kind!r} takes no group_size")
    if kind in ("2:4", "sparse24"):
        if kernel is not None and kernel not in SPARSE24_KERNELS:
            raise ValueError(f"unknown 2:4 kernel {kernel!r}; valid: {', '.join(SPARSE24_KERNELS)}")
        return float(sparse24_time_us(dev, m, n, k, dtype, kernel))
    if _VNM.match(kind):
        if kernel not in (None, "spatha"):
            raise ValueError(f"unknown V:N:M kernel {kernel!r}; valid: spatha")
        return float(vnm_time_us(dev, m, n, k, kind, dtype))
    raise ValueError(
        f"unknown kind {kind!r}; valid: dense, 2:4, sparse24, V:N:M (e.g. 64:2:8), w4a16, w8a16"
    )
