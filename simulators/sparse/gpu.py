"""The sparse engine model on a GPU: tensor cores as an array of SMs, and weight-only quantisation.

The same model family as :mod:`archgym.simulators.sparse.engine`, with the GPU's units as the array:
a GEMM ``C[m, n] = A[m, k] @ B[k, n]`` (B the pruned weights) is cut into ``bm x bn`` output
tiles (the systolic model's folds), which run in waves over the SMs (``ceil(tiles / SMs)``
waves); a tile takes ``2 * bm * bn * k_eff / (peak / SMs * mma)`` seconds with ``k_eff = k *
N/M`` (a sparse tensor core runs the compressed K at the dense rate: "2x math" for 2:4). Memory
time is the compressed traffic (A, B's kept values plus metadata, C) over the HBM bandwidth
times ``hbm``; the kernel takes ``launch_us + max(compute, memory)`` for the best tile shape.
Device numbers come from :mod:`archgym.simulators.gpu.devices` (datasheets); ``mma``, ``hbm`` and
``launch_us`` are per (dtype, kind) efficiencies fitted on measured kernels
(``experiments/sparse/validate_h100.py --fit``).

:func:`weight_only_speedup` is the memory-vs-compute roofline of weight-only quantisation
(MARLIN: int4 weights with an fp16 scale per group of 128, fp16 activations):
``T = max(weight_bytes / BW, 2 * batch * k * n / peak)``, optionally with 2:4 on the weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from archgym.simulators.gpu.devices import GPUSpec, get_device, get_dtype
from archgym.simulators.sparse.patterns import DENSE, Pattern, parse_pattern

__all__ = [
    "A10_FP16_FLOPS",
    "A10_HBM_BYTES_PER_S",
    "H100_SPARSE_EFFICIENCY",
    "TILE_SHAPES",
    "TensorCoreEfficiency",
    "gemm_time_s",
    "quantised_weight_bytes",
    "sparse_speedup",
    "weight_only_speedup",
]

#: Output tile shapes a library picks from (CUTLASS-like Hopper CTA tiles).
TILE_SHAPES = ((64, 64), (64, 128), (128, 64), (128, 128), (128, 256), (256, 128))

#: NVIDIA A10 datasheet: 125 TFLOP/s dense fp16 tensor, 600 GB/s GDDR6 (MARLIN's test card).
A10_FP16_FLOPS = 125e12
A10_HBM_BYTES_PER_S = 600e9


@dataclass(frozen=True)
class TensorCoreEfficiency:
    """Achieved fractions of the datasheet and the fixed cost of one kernel kind.

    Attributes:
        mma: Fraction of the peak math rate reached in the mainloop.
        hbm: Fraction of the datasheet memory bandwidth reached.
        launch_us: Fixed cost per kernel (launch, prologue, epilogue tail) in microseconds.
    """

    mma: float
    hbm: float
    launch_us: float

    def __post_init__(self) -> None:
        for name in ("mma", "hbm"):
            value = getattr(self, name)
            if not 0 < value <= 1:
                raise ValueError(f"`{name}` must be in (0, 1], but got {value!r}")
        if not self.launch_us >= 0:
            raise ValueError(f"`launch_us` must be >= 0, but got {self.launch_us!r}")


# Fitted by `python experiments/sparse/validate_h100.py --fit` on the training families of
# data/gpu/h100_gemm.csv (cuBLAS dense, cuSPARSELt 2:4); the held-out families never enter it.
H100_SPARSE_EFFICIENCY: dict[tuple[str, str], TensorCoreEfficiency] = {
    ("bf16", "dense"): TensorCoreEfficiency(mma=0.7798, hbm=0.7618, launch_us=7.84),
    ("bf16", "2:4"): TensorCoreEfficiency(mma=0.4266, hbm=0.428, launch_us=12.49),
    ("fp16", "dense"): TensorCoreEfficiency(mma=0.7427, hbm=0.7408, launch_us=6.959),
    ("fp16", "2:4"): TensorCoreEfficiency(mma=0.499, hbm=0.3881, launch_us=13.68),
}


def gemm_time_s(
    m,
    n,
    k,
    pattern: str | Pattern = DENSE,
    *,
    device: str | GPUSpec = "h100-sxm",
    dtype: str = "fp16",
    eff: TensorCoreEfficiency,
) -> np.ndarray:
    """Predicted kernel time (s) of GEMMs whose weights have ``pattern``; shapes broadcast."""
    dev = get_device(device)
    dt = get_dtype(dtype)
    p = parse_pattern(pattern)
    if not dev.supports(dtype):
        raise ValueError(f"{dev.name} has no {dtype} tensor cores")
    m, n, k = (np.asarray(x, dtype=float) for x in (m, n, k))
    if np.any(m <= 0) or np.any(n <= 0) or np.any(k <= 0):
        raise ValueError("`m`, `n` and `k` must be positive")
    k_eff = np.ceil(k / p.m) * p.n
    rate_sm = dev.peak_flops[dtype] * eff.mma / dev.sm_count
    compute = np.full(np.broadcast_shapes(m.shape, n.shape, k.shape), np.inf)
    for bm, bn in TILE_SHAPES:
        waves = np.ceil(np.ceil(m / bm) * np.ceil(n / bn) / dev.sm_count)
        compute = np.minimum(compute, waves * 2.0 * bm * bn * k_eff / rate_sm)
    b_bytes = k * n * p.density * (dt.in_bytes + p.metadata_bits / 8.0)
    memory = (m * k * dt.in_bytes + b_bytes + m * n * dt.out_bytes) / (
        dev.hbm_bytes_per_s * eff.hbm
    )
    return eff.launch_us * 1e-6 + np.maximum(compute, memory)


def sparse_speedup(
    m,
    n,
    k,
    pattern: str | Pattern = "2:4",
    *,
    device: str | GPUSpec = "h100-sxm",
    dtype: str = "fp16",
    efficiency: dict[tuple[str, str], TensorCoreEfficiency] | None = None,
) -> np.ndarray:
    """Predicted dense time over sparse time (above 1: the sparse kernel is faster)."""
    table = H100_SPARSE_EFFICIENCY if efficiency is None else efficiency
    p = parse_pattern(pattern)
    try:
        dense_eff, sparse_eff = table[(dtype, "dense")], table[(dtype, str(p))]
    except KeyError as exc:
        raise ValueError(f"no efficiency for {exc.args[0]}; calibrated: {sorted(table)}") from None
    kw = {"device": device, "dtype": dtype}
    dense = gemm_time_s(m, n, k, DENSE, eff=dense_eff, **kw)
    return dense / gemm_time_s(m, n, k, p, eff=sparse_eff, **kw)


def quantised_weight_bytes(
    k: int,
    n: int,
    weight_bits: float,
    group_size: int | None = 128,
    scale_bytes: float = 2.0,
    pattern: str | Pattern = DENSE,
) -> float:
    """Bytes of a ``k x n`` weight matrix at ``weight_bits`` per kept value plus one
    ``scale_bytes`` scale per ``group_size`` weights (per dense position, as MARLIN groups K)
    plus the pattern's index metadata. int4 with group 128: 0.5 + 2/128 bytes per weight."""
    p = parse_pattern(pattern)
    dense_count = float(k) * float(n)
    values = dense_count * p.density * (weight_bits / 8.0 + p.metadata_bits / 8.0)
    scales = 0.0 if group_size is None else dense_count / group_size * scale_bytes
    return values + scales


def weight_only_speedup(
    batch,
    k: int,
    n: int,
    *,
    weight_bits: float = 4,
    group_size: int | None = 128,
    pattern: str | Pattern = DENSE,
    peak_flops: float = A10_FP16_FLOPS,
    bytes_per_s: float = A10_HBM_BYTES_PER_S,
) -> np.ndarray:
    """Speedup of a quantised-weight GEMM (``batch x k`` activations, ``k x n`` weights) over
    fp16 weights, from ``T = max(weight_bytes / BW, 2 * batch * k * n_eff / peak)``; the
    sparse pattern also halves the math (sparse tensor cores). Defaults: MARLIN on an A10."""
    b = np.asarray(batch, dtype=float)
    p = parse_pattern(pattern)
    flops = 2.0 * b * k * n
    fp16 = np.maximum(2.0 * k * n / bytes_per_s, flops / peak_flops)
    quant_bytes = quantised_weight_bytes(k, n, weight_bits, group_size, pattern=p)
    quant = np.maximum(quant_bytes / bytes_per_s, flops * p.density / peak_flops)
    return fp16 / quant
