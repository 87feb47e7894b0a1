"""Spatha-class V:N:M sparse GEMM kernels on GPUs (VENOM), beside the 2:4 model (``sparse``).

**V:N:M (Spatha).** A block of V weight rows keeps 4 of every M k-positions (their column
indices are per block), 2:4 inside, so a block runs a 2:4 GEMM over ``k' = 4 k / M`` gathered
k-positions: math ``2 * V * bn * k'`` dense-equivalent operations at the 2:4 rate. The gather
reads, for every block of V rows, the ``k'`` selected rows of X^T (``bn`` tokens wide) from L2:
``(n / V) * k' * m`` elements in all, so a smaller V re-reads the dense operand more often; W
costs its kept values plus 2-bit metadata and ``ceil(log2 M)`` bits per selected position and
block. Time: ``launch_us + max(compute, gather / (l2_frac * L2 bandwidth), dram / (bw_frac *
HBM bandwidth))``, fitted on VENOM's published RTX 3090 results.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from archgym.simulators.common import InfeasibleDesign
from archgym.simulators.gpu.devices import GPUSpec, get_device, get_dtype
from archgym.simulators.gpu.sparse import _check_shape, load_constants
from archgym.simulators.sparse.patterns import VENOM_SELECT, Pattern, parse_pattern

__all__ = ["VNMParams", "vnm_time_us"]


@dataclass(frozen=True)
class VNMParams:
    """Fitted constants of the Spatha-class V:N:M kernel: fractions of the 2:4 math rate, the
    L2 bandwidth (gather) and the HBM bandwidth; fixed cost per kernel in us; cost per tile
    beyond its math (pipeline fill, epilogue writing the dense C tile) in us; the tile width in
    tokens ``bn``."""

    rate_frac: float
    l2_frac: float
    bw_frac: float
    launch_us: float
    fill_us: float = 0.0
    bn: int = 64


def _vnm_params(device: str) -> VNMParams:
    table = load_constants()["vnm"]
    entry = table.get(device) or table["rtx3090"]
    return VNMParams(**entry)


def vnm_time_us(
    device: str | GPUSpec,
    m,
    n,
    k,
    pattern: str | Pattern,
    dtype: str = "fp16",
    params: VNMParams | None = None,
) -> np.ndarray:
    """Predicted time (us) of a Spatha-class V:N:M GEMM (weight W[n, k] sparse, m tokens).

    ``pattern`` is ``"V:N:M"`` (e.g. ``"64:2:8"``); N must be 2 (2:4 inside the kept
    4-of-M positions). Constants fitted on the RTX 3090 (VENOM's results) serve every device.
    """
    dev = get_device(device)
    pat = parse_pattern(pattern)
    if pat.v is None:
        raise ValueError(f"a V:N:M pattern needs V (e.g. '64:2:8'), got {pattern!r}")
    if pat.n != 2:
        raise InfeasibleDesign(f"Spatha runs N = 2 (2:4 inside), got {pattern!r}")
    if dev.compute_capability < (8, 0) or not dev.sparse24_rate(dtype):
        raise InfeasibleDesign(f"{dev.name} has no 2:4 sparse tensor cores for {dtype}")
    p = params or _vnm_params(dev.name)
    dt = get_dtype(dtype)
    m, n, k = _check_shape(m, n, k)
    v, big_m = pat.v, pat.m
    k_sel = np.ceil(k / big_m) * VENOM_SELECT  # gathered k-positions per block of V rows
    rate_sm = dev.sparse24_rate(dtype) * p.rate_frac / dev.sm_count
    tiles = np.ceil(n / v) * np.ceil(m / p.bn)
    waves = np.ceil(tiles / dev.sm_count)
    compute = waves * (2.0 * v * p.bn * k_sel / rate_sm + p.fill_us * 1e-6)
    idx_bits = math.ceil(math.log2(big_m))
    w_bytes = n * k_sel * (0.5 * dt.in_bytes + 0.125) + np.ceil(n / v) * k_sel * idx_bits / 8
    gather = np.ceil(n / v) * k_sel * m * dt.in_bytes + w_bytes
    gather_s = gather / (dev.l2_bytes_per_s * p.l2_frac)
    dram = w_bytes + m * k * dt.in_bytes + m * n * dt.out_bytes
    dram_s = dram / (dev.hbm_bytes_per_s * p.bw_frac)
    t = p.launch_us * 1e-6 + np.maximum(compute, np.maximum(gather_s, dram_s))
    return t * 1e6
