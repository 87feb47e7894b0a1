"""Weight-only quantised GEMM kernels (w4a16, w8a16) on GPUs, per kernel family.

Convention: m = tokens (batch), n = output features, k = input features; activations x[m, k]
in 16 bits, the weight W[n, k] stored at ``bits`` per value plus per-group scales (and zeros).
A weight-only kernel streams the compressed weight from memory and does ``2 m n k`` operations;
the families differ in how well they overlap the two and what rate their math reaches:

* ``marlin`` (MARLIN-class: MARLIN, Sparse-MARLIN, and kernels built like them): the weight
  streams at the HBM bandwidth and the math runs on tensor cores at the device's rate scaled
  by the SM clock the kernel runs at (``clock_hz``; MARLIN's "sustained" figures are at the
  base clock), fully overlapped: ``T = launch + max(bytes / BW, flops / rate)``. Scales: one
  fp16 per group (``group_size`` 128 by default). ``sparse-marlin`` stores the weight 2:4
  sparse (half the values plus 2-bit metadata) and runs the math at the 2:4 rate.
* ``torch-int4pack`` (``torch._weight_int4pack_mm``, tinygemm): the weight carries a bf16 scale
  and zero per group; its math is far below the tensor-core rate (``rate_frac`` of the dense
  bf16 rate, fitted: about 3 % on the H200) and overlaps the weight stream only partly:
  ``T = launch + (mem^p + comp^p)^(1/p)`` with a fitted ``p`` (p = 1: no overlap, p -> inf:
  full overlap).
* ``torch-int8pack`` (``torch._weight_int8pack_mm``): int8 weights with a per-channel scale,
  the same form with its own constants.

Constants of the torch families are fitted on the H200 (``experiments/sparse/fit_sparse_gpu.py``)
and shipped in ``data/sparse-kernels.json``; other devices reuse them as fractions of their own
datasheet rates (an extrapolation). MARLIN-class constants are the ideal pipeline (fractions 1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from archgym.simulators.common import InfeasibleDesign
from archgym.simulators.gpu.devices import GPUSpec, get_device
from archgym.simulators.gpu.sparse import load_constants

__all__ = ["QUANT_KERNELS", "QuantParams", "quant_time_us", "weight_bytes"]

#: kernel family -> (weight bits, bytes of scale data per group, 2:4 sparse weight)
QUANT_KERNELS = {
    "marlin": (4, 2.0, False),
    "sparse-marlin": (4, 2.0, True),
    "torch-int4pack": (4, 4.0, False),
    "torch-int8pack": (8, 2.0, False),
}
_DEFAULT_GROUP = {"marlin": 128, "sparse-marlin": 128, "torch-int4pack": 128}


@dataclass(frozen=True)
class QuantParams:
    """Constants of one weight-only kernel family: fractions of HBM bandwidth and of the dense
    16-bit tensor rate (the 2:4 rate for sparse-marlin), fixed cost (us), overlap exponent."""

    bw_frac: float = 1.0
    rate_frac: float = 1.0
    launch_us: float = 0.0
    p: float = float("inf")


def weight_bytes(k, n, bits: float, group_size: int | None, scale_bytes: float, sparse: bool):
    """Bytes of a quantised ``n x k`` weight: values (half of them and 2-bit metadata per kept
    value when 2:4 sparse) plus ``scale_bytes`` per group of ``group_size`` along k."""
    k, n = np.asarray(k, dtype=float), np.asarray(n, dtype=float)
    values = n * k * bits / 8.0
    if sparse:
        values = values / 2.0 + n * k / 2.0 * 2.0 / 8.0
    scales = 0.0 if group_size is None else n * np.ceil(k / group_size) * scale_bytes
    return values + scales


def _params(device: str, kernel: str) -> QuantParams:
    if kernel in ("marlin", "sparse-marlin"):
        return QuantParams()
    table = load_constants()["quant"]
    entry = table.get(device, {}).get(kernel) or table["h200-sxm"][kernel]
    return QuantParams(**entry)


def quant_time_us(
    device: str | GPUSpec,
    m,
    n,
    k,
    kind: str = "w4a16",
    *,
    kernel: str | None = None,
    group_size: int | None = None,
    clock_hz: float | None = None,
    params: QuantParams | None = None,
) -> np.ndarray:
    """Predicted time (us) of a weight-only quantised GEMM; shapes broadcast.

    ``kind``: ``w4a16`` (kernels ``marlin`` (default), ``sparse-marlin``, ``torch-int4pack``)
    or ``w8a16`` (``torch-int8pack``, its default). ``group_size``: weights per scale along k
    (default 128; ``torch-int8pack`` is per channel and takes none). ``clock_hz``: the SM clock
    the kernel runs at (default: the clock of the datasheet rate).
    """
    dev = get_device(device)
    if kind not in ("w4a16", "w8a16"):
        raise ValueError(f"unknown weight-only kind {kind!r}; valid: w4a16, w8a16")
    kernel = kernel or ("marlin" if kind == "w4a16" else "torch-int8pack")
    if kernel not in QUANT_KERNELS:
        raise ValueError(f"unknown kernel {kernel!r}; valid: {', '.join(QUANT_KERNELS)}")
    bits, scale_bytes, sparse = QUANT_KERNELS[kernel]
    if (bits == 4) != (kind == "w4a16"):
        raise ValueError(f"kernel {kernel!r} does not run {kind}")
    if kernel == "torch-int8pack":
        if group_size is not None:
            raise ValueError("torch-int8pack scales per output channel; give no group_size")
    else:
        group_size = group_size or _DEFAULT_GROUP[kernel]
        if group_size <= 0:
            raise ValueError(f"`group_size` must be positive, got {group_size}")
    rate = dev.sparse24_rate("fp16") if sparse else dev.peak_flops.get("fp16")
    if not rate or dev.compute_capability < (8, 0):
        raise InfeasibleDesign(f"{dev.name} has no tensor cores for {kernel}")
    m, n, k = (np.asarray(x, dtype=float) for x in (m, n, k))
    if np.any(m <= 0) or np.any(n <= 0) or np.any(k <= 0):
        raise ValueError("`m`, `n` and `k` must be positive")
    p = params or _params(dev.name, kernel)
    clock = (clock_hz or dev.boost_clock_hz) / dev.boost_clock_hz
    wb = weight_bytes(k, n, bits, group_size, scale_bytes, sparse)
    mem = (wb + m * k * 2.0 + m * n * 2.0) / (dev.hbm_bytes_per_s * p.bw_frac)
    comp = 2.0 * m * n * k / (rate * p.rate_frac * clock)
    pw = np.asarray(p.p, dtype=float)
    finite = np.where(np.isinf(pw), 1.0, pw)
    soft = (mem**finite + comp**finite) ** (1.0 / finite)
    body = np.where(np.isinf(pw), np.maximum(mem, comp), soft)
    return (p.launch_us * 1e-6 + body) * 1e6
