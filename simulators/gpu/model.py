"""Tile-level analytical model of one GEMM kernel on a GPU.

``C[m, n] = A[m, k] @ B[k, n]``; in a 2:4 sparse GEMM ``B`` (the weights) is the sparse operand.
A kernel splits C into ``block_m x block_n`` tiles, one thread block (CTA) each, optionally
splitting K over ``split_k`` CTAs whose partial sums a second kernel adds up. The model:

* **occupancy**: a CTA holds ``num_stages`` buffers of an A and a B slab in shared memory and
  ``block_m * block_n / (32 * num_warps)`` fp32 accumulators per thread; shared memory,
  registers and warps bound the CTAs resident on one SM;
* **waves**: the CTAs run in waves over the SMs (wave quantisation); the last, partial wave
  runs with fewer CTAs per SM and fewer SMs sharing L2 bandwidth;
* **mainloop**: each of ``ceil(k / split_k / block_k)`` steps takes the longer of the math
  (tensor-core rate times a calibrated efficiency, shared by the SM's resident CTAs) and the
  slab loads (per-SM load bandwidth, L2 bandwidth shared by the active SMs, and Little's law:
  ``num_stages - 1`` slabs in flight cover the memory latency), plus one unhidden load;
* **epilogue**: the tile written back (fp32 partials under split-K);
* **HBM floor**: every operand read once and C written once at the calibrated HBM bandwidth,
  which dominates at small m (decode) and bounds the kernel from below;
* **launch**: a calibrated fixed cost, plus a second one for the split-K reduction.

2:4 sparsity doubles the math rate and shrinks B to half its values plus 2-bit indices.
Leading dimensions that are not 16-byte aligned (k or n not a multiple of 16 / element size)
keep libraries off their TMA kernels. For the 16-bit types the library then runs pre-Hopper
kernels (seen in the H100 kernel names, data/gpu/raw/h100_kernels_train.csv): ``sm80`` CUTLASS
kernels (``mma.sync``, 4-byte ``cp.async`` even for 8-byte rows, 2-6 stages) when every row
starts on 4 bytes, ``sm75`` kernels (``mma.sync``, scalar 2-byte loads and two register
stages, so each K step waits for one memory latency) when some row is only 2-byte aligned, and
a small-M kernel for a few rows. Those paths use their own tile lists, a calibrated
``mma.sync`` rate (``sm80_mma`` for the m16n8k16 sm80 kernels, ``misaligned`` for the m16n8k8
sm75 ones: large unaligned shapes run near 250 and 140 TFLOP/s on the H200,
data/gpu/raw/h200_kernels_unaligned.csv), a load bandwidth proportional to the access width
(``sm80_bytes_per_clk`` for cp.async, ``legacy_bytes_per_clk`` for the sm75 loads, per 2
bytes) and their own memory latency (``legacy_latency_us``).
Other types keep one calibrated factor on rate and bandwidth for unaligned shapes.
The library's kernel choice is stood in for by the fastest of ``library_candidates()``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
from archgym.simulators.common import InfeasibleDesign
from archgym.simulators.gpu.devices import GPUSpec, check_kind, get_device, get_dtype
from archgym.simulators.gpu.efficiency import MEMORY_LATENCY_S, Efficiency

__all__ = [
    "CUTLASS_TILES",
    "GEMV_DTYPES",
    "LEGACY_DTYPES",
    "MEMORY_LATENCY_S",
    "NVJET_DTYPES",
    "PATHS",
    "SM80_ACCESS_BYTES",
    "SMALL_M",
    "TMA_TILES",
    "Efficiency",
    "TileConfig",
    "access_bytes",
    "gemv_time_s",
    "kernel_time_s",
    "library_candidates",
    "library_path",
]

_SPLITS = (1, 2, 3, 4, 6, 8, 12, 16)
# Types whose m = 1 (or n = 1) GEMMs run as matrix-vector kernels. Measured on the H100, cuBLAS
# fp32 at m = 1 streams the weights at about 2 TB/s, 3x faster than its GEMM kernels at m = 16;
# the 16-bit types run 8-wide split-K kernels at n = 1 and aligned m = 1, true matrix-vector
# kernels at unaligned m = 1 (see gemv_time_s).
GEMV_DTYPES = ("fp32", "bf16", "fp16")
# Types whose unaligned dense GEMMs run on pre-Hopper kernels (cuBLAS on the H100: cutlass_80
# ``s16816`` / ``wmma`` kernels for 4-byte aligned rows, cutlass_75 ``s1688`` for 2-byte ones).
LEGACY_DTYPES = ("bf16", "fp16")
# Kernel paths: Hopper TMA + wgmma, sm80-style (cp.async, mma.sync), sm75-style (scalar loads).
PATHS = ("tma", "sm80", "sm75", "wmma")
LAYOUTS = ("row", "col")
_TILE_FIELDS = ("block_m", "block_n", "block_k", "num_warps", "num_stages", "split_k")
# ``triton.testing.do_bench`` zeroes a 256 MiB buffer before every timed run to flush L2: the
# GPU is idle for at least that long between kernels, which sets the duty cycle of the power
# model (module docstring).
FLUSH_BYTES = 256 * 2**20
# Share of the board power limit drawn regardless of the math: static power, HBM and fans (the
# idle H200 at P0 draws 81 W of 700 W, data/gpu/raw/h200_meta_*.json; loaded HBM adds more).
STATIC_POWER_SHARE = 0.2
# Hopper library tiles (block_m, block_n) of the dense NVJET_DTYPES: cuBLAS 13's nvjet kernels
# use tile sides that are not powers of two (96, 160, 192, 320, ...: the profiled kernel
# names in data/gpu/raw/*kernels*.csv, H100 and H200, where 256x128, 192x192 and 320x128 are
# the most common large tiles), which cut the padding and the partial waves of shapes such
# as n = 768 or m = 776. Every large (both sides >= 64) 16-bit nvjet tile that ran in at least
# 1 % of the profiled calls (both orientations counted together) is on this list, but the
# 80-wide ones, which made the model worse (tests/simulators/gpu/test_gpu.py); the
# accumulator bound (256 x 192 fp32 values over two warpgroups) caps the area. The other
# kernels (cuSPARSELt, CUTLASS int8, fp32) keep power-of-two CUTLASS tiles.
TMA_TILES = tuple(
    (bm, bn)
    for bm in (64, 128, 192, 256, 320)
    for bn in (64, 96, 128, 160, 192, 256)
    if bm * bn <= 256 * 192
)
CUTLASS_TILES = (
    (64, 64),
    (64, 128),
    (128, 64),
    (128, 128),
    (64, 256),
    (128, 256),
    (256, 128),
    (256, 64),
)
NVJET_DTYPES = ("bf16", "fp16", "fp8")
# cuBLAS runs its small-M kernel (``gemmSN``) for 2-byte aligned rows at m <= SMALL_M; its
# tile is the sm75 one with block_m = SMALL_M, which no other shape may take.
SMALL_M = 16
# Tiles of the pre-Hopper paths as (block_m, block_n, block_k, warps, stages), from the CUTLASS
# kernel names cuBLAS ran on the H100. A name's ``AxB`` is A along our n (cuBLAS is column-major):
# the sm80 list reads it so since v19 (docs/gpu.md); the sm75 list keeps the older reading.
_SM80_TILES = (
    (32, 32, 64, 4, 2),
    (32, 32, 128, 4, 2),
    (64, 64, 32, 4, 6),
    (64, 128, 64, 4, 3),
    (64, 256, 32, 4, 4),
    (128, 256, 32, 8, 3),
    (256, 128, 64, 8, 3),
)
_SM75_TILES = (
    (64, 64, 32, 4, 2),
    (128, 64, 32, 4, 2),
    (128, 128, 32, 4, 2),
    (256, 128, 32, 8, 2),
    (SMALL_M, 128, 32, 4, 3),
)
# fp16 (not bf16, which has no sm75 tensor-core path) also has 2-byte aligned wmma kernels.
_SM75_FP16_TILES = ((32, 32, 64, 4, 2), (32, 32, 128, 4, 2))
# Widest load (bytes) of the sm80 kernels cuBLAS runs on a TMA device: ``align2`` (4 bytes) in
# every name for 8-byte aligned rows too, H100 and H200 (dense v18; tests/simulators/gpu).
SM80_ACCESS_BYTES = 4.0


@dataclass(frozen=True)
class TileConfig:
    """A kernel's mapping: CTA tile (elements), warps per CTA, pipeline stages, K split."""

    block_m: int
    block_n: int
    block_k: int
    num_warps: int = 4
    num_stages: int = 3
    split_k: int = 1

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v <= 0:
                raise ValueError(f"`{f.name}` must be a positive integer, but got {v!r}")
        for name in ("block_m", "block_n", "block_k"):
            v = getattr(self, name)
            if v % 16:
                raise ValueError(f"`{name}` must be a multiple of 16, but got {v}")
        if self.num_warps not in (1, 2, 4, 8, 16):
            raise ValueError(f"`num_warps` must be 1, 2, 4, 8 or 16, but got {self.num_warps}")


def library_candidates(
    dtype: str, kind: str = "dense", path: str = "tma", device: GPUSpec | str = "h100-sxm"
) -> list[TileConfig]:
    """Tiles a vendor library chooses among on one kernel path, every K split.

    ``tma`` (CUTLASS-like Hopper shapes): ``block_k`` is one 128-byte row of the operand type;
    stages fill the device's shared memory per block (at most 7); 8 warps (two consumer warpgroups) for the
    128x256 tiles. ``sm80`` / ``sm75``: the pre-Hopper tiles of unaligned 16-bit GEMMs.
    """
    dt = get_dtype(dtype)
    if path not in PATHS:
        raise ValueError(f"unknown path {path!r}; valid: {', '.join(PATHS)}")
    splits = _SPLITS if check_kind(kind) == "dense" else (1,)
    spec = get_device(device)
    # Before Hopper the sm80 kernels are the native ones: the CUTLASS tiles, stages by the
    # device's shared memory (cuBLAS's ampere_* / sm80_xmma kernels), as on the TMA path.
    native = path == "sm80" and not spec.has_tma
    if path != "tma" and not native:
        tiles = _SM80_TILES if path == "sm80" else _SM75_TILES
        if path == "sm75" and dtype == "fp16":
            tiles += _SM75_FP16_TILES
        # cuBLAS's small-M kernel (gemmSN) runs alone, with no split-K reduction kernel
        # (data/gpu/raw/h100_kernels_train.csv: one kernel per call), so it never splits K.
        return [
            TileConfig(*t, split_k=s) for t in tiles for s in (splits if t[0] > SMALL_M else (1,))
        ]
    bk = int(128 // dt.in_bytes)
    out = []
    nvjet = dtype in NVJET_DTYPES and check_kind(kind) == "dense" and spec.has_tma
    for bm, bn in TMA_TILES if nvjet else CUTLASS_TILES:
        warps = 8 if bm * bn >= 128 * 256 else 4
        per_stage = (bm * bk + bk * bn) * dt.in_bytes
        stages = int(min(7, spec.smem_per_block_bytes // per_stage))
        if stages < 2:
            continue
        out += [TileConfig(bm, bn, bk, warps, stages, s) for s in splits]
    return out


def check_layout(a_major: str, b_major: str, dtype: str | None = None) -> None:
    """Reject unknown layouts; fp8 GEMMs exist only with a column-major B (``InfeasibleDesign``).

    ``a_major`` / ``b_major``: storage order of A (m x k) and B (k x n), ``row`` or ``col``.
    """
    for name, v in (("a_major", a_major), ("b_major", b_major)):
        if v not in LAYOUTS:
            raise ValueError(f"`{name}` must be one of {', '.join(LAYOUTS)}, but got {v!r}")
    if dtype == "fp8" and (a_major, b_major) != ("row", "col"):
        raise InfeasibleDesign(
            "fp8 GEMMs need a row-major A and a column-major B (cuBLASLt runs fp8 only as "
            "'TN', torch._scaled_mm(a, w.t())); pass a_major='row', b_major='col'"
        )


def leading_dims(m, n, k, a_major: str = "row", b_major: str = "row"):
    """The gcd of the leading dimensions of A, B and C (elements) for the given layouts.

    Row-major A (m x k) has leading dimension k, column-major m; row-major B (k x n) n,
    column-major k; C is row-major (n). An A of one row is one contiguous vector in either
    order, so it counts as row-major (cuBLAS runs the same kernels for both: the H200 kernel
    names of 1 x 1920 x 3264 bf16, data/gpu/raw/h200_kernels_train_classes.csv).
    """
    m, n, k = (np.asarray(x, dtype=np.int64) for x in (m, n, k))
    lda = k if a_major == "row" else np.where(m == 1, k, m)
    ldb = n if b_major == "row" else k
    return np.gcd(np.gcd(lda, ldb), n)


def access_bytes(n, k, in_bytes: float):
    """Widest load (bytes, at most 16) at which every row of A (length k) and B (n) starts.

    For other layouts pass ``leading_dims(...)`` as both ``n`` and ``k``.
    """
    elems = np.gcd(np.gcd(np.asarray(n, dtype=np.int64), np.asarray(k, dtype=np.int64)), 16)
    return np.minimum(elems * in_bytes, 16.0)


def library_path(
    n, k, dtype: str, kind: str = "dense", *, ld=None, device: GPUSpec | str = "h100-sxm"
):
    """Kernel path the library takes per shape: an array of names from ``PATHS``.

    ``ld`` (``leading_dims``) replaces n and k for other operand layouts. Devices without
    TMA (compute capability < 9) run every aligned kernel on the ``sm80`` path.
    """
    ld_n, ld_k = (n, k) if ld is None else (ld, ld)
    acc = access_bytes(ld_n, ld_k, get_dtype(dtype).in_bytes)
    top = "tma" if get_device(device).has_tma else "sm80"
    if dtype not in LEGACY_DTYPES or check_kind(kind) != "dense":
        return np.full(np.shape(acc), top)
    return np.where(acc >= 16, top, np.where(acc >= 4, "sm80", "sm75"))


def _aligned(n, k, in_bytes: float, rule: str = "library"):
    """Leading dimensions aligned for the fast loads.

    ``library``: multiples of 16 bytes (TMA / vector loads); ``triton``: multiples of 16
    elements (Triton specialises integer arguments divisible by 16 and vectorises only then).
    """
    step = 16 if rule == "triton" else max(1, int(16 // in_bytes))
    return (np.asarray(n) % step == 0) & (np.asarray(k) % step == 0)


def _load_limits(n, eff: Efficiency, dev: GPUSpec, in_b: float, path: str, ld, rule: str):
    """Math-rate factor, per-SM load bandwidth (B/s) and memory latency (s) of a kernel path.

    ``tma``: full rate and the calibrated per-SM load rate, both scaled by ``misaligned``
    where the leading dimensions break the alignment ``rule``; other paths: ``mma.sync`` at
    the ``sm80_mma`` (sm80) or ``misaligned`` (sm75) share of the rate, loads as wide as the
    alignment allows (on a TMA device's sm80 path at most ``SM80_ACCESS_BYTES``).
    """
    ld_n, ld_k = ld
    if path == "tma":
        align = np.where(_aligned(ld_n, ld_k, in_b, rule), 1.0, eff.misaligned)
        bw_cap = eff.sm_load_bytes_per_clk * dev.clock_hz * align
        latency_s = eff.latency_us * 1e-6 / align
        return align, bw_cap, latency_s
    # the sm80 kernels on Hopper (mma.sync m16n8k16, cp.async) have their own rate and load
    # rate where calibrated (``Efficiency.sm80_*``; 0: the sm75 kernels' ones); devices
    # without TMA: below
    sm80 = path == "sm80" and dev.has_tma
    rate = (sm80 and eff.sm80_mma) or eff.misaligned
    per_2b = (sm80 and eff.sm80_bytes_per_clk) or eff.legacy_bytes_per_clk
    align = np.full(np.shape(n), rate)
    width = access_bytes(ld_n, ld_k, in_b)
    if sm80:
        width = np.minimum(width, SM80_ACCESS_BYTES)
    bw_cap = per_2b * width / 2.0 * dev.clock_hz
    latency_s = np.full(np.shape(n), eff.legacy_latency_us * 1e-6)
    if path == "sm80" and not dev.has_tma:
        # Before Hopper the sm80 kernels (cp.async, mma.sync) are the native ones: with
        # 16-byte aligned rows they run at the calibrated mainloop rate and per-SM load rate
        # (what wgmma and TMA reach on Hopper); only unaligned rows take the legacy factors.
        native = _aligned(ld_n, ld_k, in_b, rule)
        align = np.where(native, 1.0, align)
        bw_cap = np.where(native, eff.sm_load_bytes_per_clk * dev.clock_hz, bw_cap)
        latency_s = np.where(native, eff.latency_us * 1e-6, latency_s)
    return align, bw_cap, latency_s


def _occupancy(tile: dict, dev: GPUSpec, eff: Efficiency, in_b: float, b_fac: float):
    """Shared memory per CTA (bytes), register-spill slowdown and CTAs resident per SM."""
    bm, bn, bk, warps, stages = (tile[key] for key in _TILE_FIELDS[:5])
    smem = stages * (bm * bk + bk * bn * b_fac) * in_b
    regs = bm * bn / (32.0 * warps) + 32.0
    spill = 1.0 + eff.spill * np.maximum(0.0, regs - 255.0) / 255.0
    cps = np.minimum.reduce(
        [
            np.floor(dev.smem_per_sm_bytes / smem),
            np.floor(dev.regs_per_sm / (np.minimum(regs, 255.0) * 32.0 * warps)),
            np.floor(dev.max_warps_per_sm / warps),
            np.full_like(smem, dev.max_ctas_per_sm),
        ]
    )
    return smem, spill, np.maximum(cps, 1.0)


def _tiles_time_s(m, n, k, tile: dict, dev: GPUSpec, eff: Efficiency, lim: dict, rule: str):
    """Time of the CTA waves (full waves, then the partial one), before the power limit.

    ``lim``: ``rate_sm`` (FLOP/s per SM), ``bw_cap`` (B/s per SM), ``latency_s``, ``spill``,
    ``cps`` (CTAs per SM), ``bytes_iter`` (slab bytes per K step), ``epi_bytes``.
    """
    bm, bn, bk, _, stages, split = (tile[key] for key in _TILE_FIELDS)
    cps = lim["cps"]
    ctas = np.ceil(m / bm) * np.ceil(n / bn) * split
    slots = dev.sm_count * cps
    full_waves = np.floor((ctas - 1.0) / slots)
    rem = ctas - full_waves * slots
    k_iters = np.ceil(np.ceil(k / split) / bk)

    def wave_s(ctas_on_sm, active_sms):
        bw = np.minimum(lim["bw_cap"], dev.l2_bytes_per_s * eff.l2_scale / active_sms)
        t_math = ctas_on_sm * 2.0 * bm * bn * bk / lim["rate_sm"] * lim["spill"]
        # Latency bound: a slab's load is issued when the buffer it overwrites is released.
        # Triton's loop (rule "triton") waits for its MMA before issuing the load of the
        # stage that buffer will hold, so one CTA's step is at least (its math + one memory
        # latency) / (stages - 1): with 2 stages load and math serialise. The library's
        # producer warps keep stages - 1 loads in flight: latency / (stages - 1).
        chain = lim["latency_s"] + (t_math / ctas_on_sm if rule == "triton" else 0.0)
        t_load = np.maximum(
            ctas_on_sm * lim["bytes_iter"] / bw,
            chain / np.maximum(stages - 1.0, 1.0),
        )
        # every resident CTA issues its own loop control, barrier and wait per K step: the
        # fixed cost adds up over them (dense v14; 0 for the library kernels)
        step = np.maximum(t_math, t_load) + eff.k_iter_ns * 1e-9 * ctas_on_sm
        # Triton's kernels are not persistent: a slot takes its next CTA only once the last
        # one's stores have drained, one memory latency per wave that no mainloop hides (the
        # library's persistent kernels overlap their epilogue with the next tile; dense v15)
        drain = lim["latency_s"] if rule == "triton" else 0.0
        return k_iters * step + t_load + ctas_on_sm * lim["epi_bytes"] / bw + drain

    t = full_waves * wave_s(cps, float(dev.sm_count)) + wave_s(
        np.ceil(rem / dev.sm_count), np.minimum(rem, dev.sm_count)
    )
    return t, ctas, full_waves + 1.0


def _hbm_time_s(m, n, k, split, dev: GPUSpec, eff: Efficiency, in_b, out_b, b_fac):
    """HBM floor: operands read once, C written once (fp32 partials under split-K), plus the
    write-back of dirty L2 lines the reads evict (the harness flushes L2 by writing a buffer
    before every timed run, as a previous layer's output would); the compressed 2:4 operand
    streams at its own (calibrated) share of the bandwidth."""
    hbm_bytes = m * k * in_b + m * n * out_b + np.where(split > 1, 2.0 * split * m * n * 4.0, 0.0)
    b_bytes = k * n * in_b * b_fac
    dirty = np.minimum(m * k * in_b + b_bytes, eff.l2_dirty * dev.l2_bytes)
    return (hbm_bytes + dirty + b_bytes / eff.compressed_hbm) / (dev.hbm_bytes_per_s * eff.hbm)


def kernel_time_s(
    m,
    n,
    k,
    tiles: dict[str, np.ndarray],
    *,
    dtype: str,
    kind: str,
    device: GPUSpec | str,
    eff: Efficiency,
    path: str = "tma",
    return_terms: bool = False,
    ld=None,
    rule: str = "library",
):
    """Predicted kernel time in seconds, vectorised: shapes and tile arrays broadcast together.

    ``tiles`` maps ``block_m, block_n, block_k, num_warps, num_stages, split_k`` to arrays.
    ``path`` is the kernel path (``PATHS``; see the module docstring). ``ld``: the gcd of the
    leading dimensions (``leading_dims``; default n and k, row-major operands); ``rule``:
    the alignment rule of ``_aligned`` (``library`` or ``triton``). Infeasible tiles (shared
    memory overflow) give ``inf``.
    """
    dev = get_device(device)
    dt = get_dtype(dtype)
    sparse = check_kind(kind) == "sparse24"
    if not dev.supports(dtype):
        raise InfeasibleDesign(f"{dev.name} has no {dtype} tensor cores")
    if path not in PATHS:
        raise ValueError(f"unknown path {path!r}; valid: {', '.join(PATHS)}")
    m, n, k = (np.asarray(x, dtype=float) for x in (m, n, k))
    tile = {key: np.asarray(tiles[key], dtype=float) for key in _TILE_FIELDS}
    in_b, out_b = dt.in_bytes, dt.out_bytes
    # 2:4 keeps half the values plus a 2-bit index per kept value.
    b_fac = (0.5 * in_b + 0.125) / in_b if sparse else 1.0
    ld_pair = (n, k) if ld is None else (np.asarray(ld), np.asarray(ld))
    path = "sm75" if path == "wmma" else path  # int8 nn: the sm75 path
    align, bw_cap, latency_s = _load_limits(n, eff, dev, in_b, path, ld_pair, rule)
    smem, spill, cps = _occupancy(tile, dev, eff, in_b, b_fac)
    bm, bn, bk, split = tile["block_m"], tile["block_n"], tile["block_k"], tile["split_k"]
    # On the library's TMA path a CTA whose tile overhangs the matrix (m < block_m or
    # n < block_n) moves only the rows that exist: the out-of-bounds part of a TMA box is
    # zero-filled without memory traffic. The pre-Hopper paths and Triton's masked pointer
    # loads issue (predicated) load instructions for the whole tile, and their load rate is
    # an instruction rate. The math always covers the whole tile.
    tma = path == "tma" and rule == "library"
    rows_m, rows_n = (np.minimum(bm, m), np.minimum(bn, n)) if tma else (bm, bn)
    lim = {
        "rate_sm": dev.peak_flops[dtype]
        * eff.mma
        * (2.0 if sparse else 1.0)
        / dev.sm_count
        * align,
        "bw_cap": bw_cap,
        "latency_s": latency_s,
        "spill": spill,
        "cps": cps,
        "bytes_iter": (rows_m * bk + bk * rows_n * b_fac) * in_b,
        "epi_bytes": rows_m * rows_n * np.where(split > 1, 4.0, out_b),
    }
    t_tiles, ctas, waves = _tiles_time_s(m, n, k, tile, dev, eff, lim, rule)
    t_tiles = t_tiles * power_slowdown(2.0 * m * n * k, t_tiles, dev, eff.pj_per_flop)
    t_hbm = _hbm_time_s(m, n, k, split, dev, eff, in_b, out_b, b_fac)
    launch_s = (eff.launch_us + np.where(align < 1.0, eff.misaligned_us, 0.0)) * 1e-6
    t = launch_s + np.maximum(t_tiles, t_hbm) + np.where(split > 1, eff.reduce_us * 1e-6, 0.0)
    feasible = smem <= dev.smem_per_block_bytes
    t = np.where(feasible, t, np.inf)
    if not return_terms:
        return t
    return t, {
        "tiles_s": t_tiles,
        "hbm_s": t_hbm,
        "waves": waves,
        "ctas": ctas,
        "ctas_per_sm": cps,
        "smem_bytes": smem,
        "feasible": feasible,
    }


def power_slowdown(flops, t_s, device: GPUSpec, pj_per_flop: float):
    """Factor (>= 1) by which the power limit stretches a kernel of ``flops`` run in ``t_s``.

    At the maximum clock the math draws ``pj_per_flop * flops / t_s`` watts while it runs, a
    share ``duty = t / (t + flush)`` of the time under the timing harness (``FLUSH_BYTES``
    written between runs). Dynamic power goes as f * V^2 ~ f^3, so above the budget
    ``power_w * (1 - STATIC_POWER_SHARE)`` the clock drops to ``(budget / P)^(1/3)`` of max.
    """
    if pj_per_flop <= 0 or device.power_w is None:
        return 1.0
    t_s = np.maximum(t_s, 1e-12)
    duty = t_s / (t_s + FLUSH_BYTES / device.hbm_bytes_per_s)
    watts = pj_per_flop * 1e-12 * flops / t_s * duty
    budget = device.power_w * (1.0 - STATIC_POWER_SHARE)
    return np.maximum(1.0, np.cbrt(watts / budget))


def gemv_time_s(
    m, n, k, *, dtype: str, device: GPUSpec | str, eff: Efficiency, layout=("row", "row")
):
    """Time of a matrix-vector kernel (``inf`` where the library would not run one).

    cuBLAS runs one when m or n is 1: for fp32 a matrix-vector kernel; for the 16-bit types
    at n = 1 and at 16-byte aligned m = 1 an 8-wide TMA tile split along K plus a reduction
    kernel (the H200 kernel names), at unaligned m = 1 ``gemvx`` / ``dot`` kernels (the H100's).
    ``layout``: (a_major, b_major). Such kernels stream each operand once, so the time is the
    launch cost, the HBM time and, for the split-K ones, the calibrated extra cost of the
    reduction (``gemv_us``). The library path takes the faster of this and the tiles.
    """
    dev = get_device(device)
    dt = get_dtype(dtype)
    m, n, k = (np.asarray(x, dtype=float) for x in (m, n, k))
    nbytes = (m * k + k * n) * dt.in_bytes + m * n * dt.out_bytes
    usable = (np.minimum(m, n) == 1) & (dtype in GEMV_DTYPES)
    split = n == 1
    if dtype in LEGACY_DTYPES:
        ld = leading_dims(m.astype(np.int64), n.astype(np.int64), k.astype(np.int64), *layout)
        # aligned m = 1 runs the same 8-wide split-K TMA kernel as n = 1 (the H200 kernel
        # names: nvjet ..._64x8_..._splitK plus splitKreduce for 1 x 1472 x 11648 and
        # 4096 x 1 x 4096 alike); unaligned m = 1 a true matrix-vector kernel (gemvx, gemvNSP)
        split = (n == 1) | ((m == 1) & _aligned(ld, ld, dt.in_bytes))
    # the 16-bit library kernels split K over 8-wide tiles and reduce the partials in a second
    # kernel: ``gemv_us`` is that extra fixed cost
    fixed = eff.launch_us + np.where(split, eff.gemv_us, 0.0)
    t = fixed * 1e-6 + nbytes / (dev.hbm_bytes_per_s * eff.hbm)
    return np.where(usable, t, np.inf)
