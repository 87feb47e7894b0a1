"""Structured-sparse GEMM kernels on GPUs: cuSPARSELt 2:4 (Spatha-class V:N:M: ``vnm``).

Convention (torch's linear): m = tokens, n = output features, k = input features; the weight
W[n, k] is the sparse operand, pruned along k, and the kernel computes ``W[n, k] @ X^T[k, m]``
(a ``n x m`` output tiled in ``bm x bn`` tiles: rows of W by tokens).

**2:4 (cuSPARSELt).** One CTA per output tile, ``ceil(tiles * split_k / SMs)`` waves. A tile
costs ``fill_us`` (pipeline fill and epilogue) plus its math, ``2 * bm * bn * k / split_k``
operations at ``rate_frac`` of the datasheet 2:4 rate shared by the SMs; the board power
limit stretches the waves as for dense kernels (``pj_per_flop`` per dense-equivalent operation,
the dense model's rule). The kernel time is ``launch_us`` plus compute and memory combined as
``max`` (``overlap_p = 0``) or ``max * (1 + (min / max)^p)^(1/p)``, memory being the compressed
traffic over ``bw_frac`` of the HBM bandwidth: W's kept values (half of them) plus 2-bit
metadata per kept value, X once, C once (fp32 partials written and read again under split-K).
Two mechanisms profiled on the H200 (kernel names of ``data/gpu/raw/h200_sparse24_kernels.csv``;
the wave sweep ``data/gpu/h200_sparse24_waves.csv``, tile count through four waves, and its
kernel names): CTAs launched in thread-block clusters of ``cluster`` (bf16's kernel: 8) pad the
W-row tiles to a multiple of the cluster and fill only ``_slots`` (15 clusters of 8 = 120 of
the 132 SMs: the bf16 times step at 120, 240, 360 ... tiles); and segment-K (``segk_us`` set):
when the last wave is less than half full and k exceeds a threshold (fp16 1024; bf16 4096 and
past one wave), every tile is split along K in two segments that run as half-depth tiles, the
fp32 partials reduced through a workspace (``_segment_k_s``; the sweep's fp16 times are 1.5
waves, not 2, from 136 to 192 tiles), but only where that is faster than the plain waves: the
library's heuristic does not pick a schedule that loses, and charging it anyway made the model
non-monotone (H100 fp16 3760 x 1552 x 1040 at 40 us, 3856 tokens at 28 us) and worse in
cross-validation (H100 8.8 -> 8.5 %, H200 9.6 -> 9.3 %). fp16's mainloop runs at
``mis_frac`` of its rate where m is off the 256-wide token tile, in the waves where most SMs load
at once (``_off_tile_share``), by a share that steps down at each 64-token TMA box edge of the
last tile (``off_tile_weight``; 2:4 v13: fitted 0.68 on the H100, 0.65 on the H200), and both dtypes at
``align_frac`` where m is off a multiple of ``ALIGN_TOKENS``. torch pads a token count off a
multiple of ``PAD_TOKENS`` up to one (``pad_time_s``), so its kernel runs the padded m. The
library's tile is the physics that separates the two dtypes on Hopper: torch's default
algorithm (``kernel="torch-default"``, alg_id 0) runs one fixed tile without split-K, and for
bf16 it is a slower kernel than for fp16 (measured on the H200: 800-850 vs 1000-1100 TFLOP/s
dense-equivalent on large shapes), while cuSPARSELt's own search (``kernel="search"``) picks
the fastest tile and split-K per shape. The fixed tile and the constants are fitted per
(device, dtype, kernel) on a training split (``experiments/sparse/fit_sparse_gpu.py``) and
shipped in ``data/sparse-kernels.json``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np
from archgym.simulators.common import InfeasibleDesign
from archgym.simulators.gpu.devices import GPUSpec, get_device, get_dtype
from archgym.simulators.gpu.model import FLUSH_BYTES, STATIC_POWER_SHARE

__all__ = [
    "PAD_DTYPES",
    "PAD_TOKENS",
    "SPARSE24_KERNELS",
    "SPARSE24_TILES",
    "Sparse24Params",
    "load_constants",
    "pad_bytes",
    "pad_time_s",
    "padded_tokens",
    "sparse24_time_us",
]

#: Output tiles (rows of W x tokens) cuSPARSELt-class kernels choose from.
SPARSE24_TILES = ((64, 128), (128, 64), (128, 128), (128, 256), (256, 128))
SPLITS = (1, 2, 4)
SPARSE24_KERNELS = ("torch-default", "search")
# no "_" in the name: files named <device>_<library>.json are the dense calibrations
DATA_FILE = "sparse-kernels.json"
#: Record-only keys of a 2:4 entry (not model inputs): the fitted form's name and the fit's loss.
RECORD_KEYS = ("form", "train_loss", "train_rows")


#: Segment-K (profiled on the H200, both dtypes' default kernels; wave sweep
#: ``data/gpu/h200_sparse24_waves.csv``, kernel names
#: ``data/gpu/raw/h200_sparse24_waves_kernels.csv``): on when the last wave of tiles is less
#: than this fraction full and k exceeds ``SEGK_MIN_K`` (fp16; bf16: 4096, past one wave);
#: then every tile's K is split in ``SEGK_SPLIT`` segments that run as ordinary CTAs (twice
#: the tiles at half the depth), their fp32 partials reduced through a workspace, where that is
#: faster than the plain waves.
SEGK_LAST_WAVE = 0.5
SEGK_MIN_K = 1024
SEGK_SPLIT = 2
#: Token counts (X^T's leading dimension) off a multiple of this run both dtypes' default 2:4
#: kernels at ``align_frac`` of the mainloop rate (alignment probe,
#: ``data/gpu/h200_sparse24_align.csv``: m = 1000, 1016, 1032 ... 1.2-1.4x slower than 1008,
#: 1024, 1040 on both dtypes).
ALIGN_TOKENS = 16
#: The last wave of an off-tile fp16 kernel runs at ``mis_frac`` where more than this share of
#: the SMs load at once (``_off_tile_share``).
OFF_TILE_FILL = 0.5
#: Tokens per TMA box of the 256-wide token tile (128 bytes of fp16): the off-tile slowdown
#: scales with the boxes of the last tile that end at or past m (``off_tile_weight``).
OFF_TILE_BOX = 64
#: Steepness of the off-tile slowdown's fall with the token count (``off_tile_decay``).
OFF_TILE_STEEPNESS = 4.0
#: torch's semi-structured matmul (the ``torch-default`` kernel) pads the dense operand's token
#: count up to a multiple of this: a zero fill of the padded X^T, a strided copy of X^T into
#: it, then the 2:4 kernel on the padded shape, whose own alignment sets its rate (H200 kernel
#: names, data/gpu/raw/h200_sparse24_residues_kernels.csv: m = 2049-2055 run the m = 2056
#: kernel, 2057-2063 the m = 2064 one). Dense v20 / 2:4 v12 (docs/sparse_gpu.md).
PAD_TOKENS = 8
#: The types whose padding was profiled (int8 / fp8 2:4 ran cuSPARSELt directly, unpadded).
PAD_DTYPES = ("fp16", "bf16")


@dataclass(frozen=True)
class Sparse24Params:
    """Fitted constants of one 2:4 kernel family on one device and dtype.

    ``rate_frac``: fraction of the datasheet 2:4 rate reached in the mainloop; ``bw_frac``:
    fraction of the HBM bandwidth; ``launch_us``: fixed cost per kernel (us); ``fill_us``: cost
    per tile beyond its math (us); ``tile``: the fixed (bm, bn) tile, or ``None`` for the
    fastest of ``SPARSE24_TILES`` (x ``SPLITS`` when ``split_k``); ``pj_per_flop``: energy per
    dense-equivalent operation at the maximum clock (pJ), which sets the sustained clock under
    the board power limit as for dense kernels (``model.power_slowdown``; 0: never limited).
    ``mis_frac``: fraction of the mainloop rate when the token count m is not a multiple of
    the token tile ``bn`` (X^T's leading dimension off the tile; 1: no such effect), in the
    waves where more than half the SMs load at once (``_off_tile_share``); ``align_frac``: the
    same where m is not a multiple of ``ALIGN_TOKENS`` (both dtypes). ``off_tile_tokens``
    (tokens) and ``off_tile_floor``: where set, the 16-token aligned off-tile slowdown falls
    with m, half-way at ``off_tile_tokens`` tokens, towards ``off_tile_floor`` of itself
    (``off_tile_decay``); a floor below 1 needs ``off_tile_tokens``.
    """

    rate_frac: float
    bw_frac: float
    launch_us: float
    fill_us: float
    tile: tuple[int, int] | None = None
    pj_per_flop: float = 0.0
    split_k: bool = True
    overlap_p: float = 0.0
    segk_us: float | None = None
    segk_frac: float = 1.0
    segk_min_k: float = SEGK_MIN_K
    segk_multiwave: bool = False
    cluster: int = 1
    mis_frac: float = 1.0
    align_frac: float = 1.0
    off_tile_tokens: float | None = None
    off_tile_floor: float = 1.0

    def __post_init__(self) -> None:
        for name in ("mis_frac", "align_frac", "off_tile_floor"):
            v = getattr(self, name)
            try:
                a = np.asarray(v, dtype=float)
            except (TypeError, ValueError):
                a = np.nan
            if not np.all((a > 0) & (a <= 1)):
                raise ValueError(f"`{name}` must be in (0, 1], but got {v!r}")
        if self.off_tile_tokens is None:
            if np.any(np.asarray(self.off_tile_floor) < 1.0):
                raise ValueError("`off_tile_floor` below 1 needs `off_tile_tokens`")
        elif not np.all(np.asarray(self.off_tile_tokens, dtype=float) > 0):
            raise ValueError(f"`off_tile_tokens` must be > 0, but got {self.off_tile_tokens!r}")


#: Graphics processing clusters of the 132-SM Hopper parts (16-18 SMs each): a thread-block
#: cluster must fit in one, so at most ``GPCS * floor(sms / GPCS / cluster)`` clusters run at once.
GPCS = 8
#: Clusters resident at once where measured, by (SM count, cluster size): the 132-SM GH100
#: (H100 SXM, H200) holds 15 clusters of 8 (120 CTAs), not the 16 of the GPC rule: the wave
#: sweep's bf16 2:4 kernel (cluster 8) steps at 120, 240, 360 ... tiles.
CLUSTERS_RESIDENT = {(132, 8): 15}


def _slots(dev: GPUSpec, cluster: int) -> int:
    """CTAs resident at once (one per SM) when CTAs launch in clusters of ``cluster``; before
    Hopper (sm_90) there are no clusters: every SM holds one."""
    if cluster <= 1 or dev.compute_capability < (9, 0):
        return dev.sm_count
    measured = CLUSTERS_RESIDENT.get((dev.sm_count, cluster))
    if measured is not None:
        return measured * cluster
    return GPCS * (dev.sm_count // GPCS // cluster) * cluster


@lru_cache(maxsize=1)
def load_constants() -> dict:
    """The fitted constants shipped with the package (``data/sparse-kernels.json``)."""
    text = resources.files("archgym.simulators.gpu").joinpath("data", DATA_FILE).read_text()
    return json.loads(text)


def _sparse24_params(device: str, dtype: str, kernel: str) -> tuple[Sparse24Params, str]:
    """Constants for (device, dtype, kernel): the device's own, else the H100's (same die
    family on Hopper; an extrapolation elsewhere), else the H200's (the only device measured
    with the searched kernel). Returns (params, device they came from)."""
    table = load_constants()["sparse24"]
    for dev in (device, "h100-sxm", "h200-sxm"):
        entry = table.get(dev, {}).get(dtype, {}).get(kernel)
        if entry is not None:
            tile = tuple(entry["tile"]) if entry.get("tile") else None
            keys = (
                "rate_frac",
                "bw_frac",
                "launch_us",
                "fill_us",
                "pj_per_flop",
                "split_k",
                "overlap_p",
                "segk_us",
                "segk_frac",
                "segk_min_k",
                "segk_multiwave",
                "cluster",
                "mis_frac",
                "align_frac",
                "off_tile_tokens",
                "off_tile_floor",
            )
            unknown = set(entry) - set(keys) - {"tile", *RECORD_KEYS}
            if unknown:
                raise ValueError(f"{DATA_FILE}: unknown 2:4 constants {sorted(unknown)}")
            return Sparse24Params(**{k: entry[k] for k in keys if k in entry}, tile=tile), dev
    raise InfeasibleDesign(f"no 2:4 constants for dtype {dtype!r} (kernel {kernel!r})")


def _check_shape(m, n, k) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    m, n, k = (np.asarray(x, dtype=float) for x in (m, n, k))
    if np.any(m <= 0) or np.any(n <= 0) or np.any(k <= 0):
        raise ValueError("`m`, `n` and `k` must be positive")
    return m, n, k


def _power_slowdown(flops, t_s, dev: GPUSpec, pj_per_flop) -> np.ndarray:
    """Factor (>= 1) by which the board power limit stretches a kernel: the dense model's rule
    (``model.power_slowdown``: dynamic power ~ f^3 above ``(1 - STATIC_POWER_SHARE)`` of the
    limit, duty cycle under the L2-flushing harness), here with array-valued ``pj_per_flop``."""
    if dev.power_w is None:
        return np.ones_like(np.asarray(t_s, dtype=float))
    t_s = np.maximum(t_s, 1e-12)
    duty = t_s / (t_s + FLUSH_BYTES / dev.hbm_bytes_per_s)
    watts = np.asarray(pj_per_flop) * 1e-12 * flops / t_s * duty
    return np.maximum(1.0, np.cbrt(watts / (dev.power_w * (1.0 - STATIC_POWER_SHARE))))


def sparse24_tile_time_s(
    m, n, k, bm: int, bn: int, split: int, *, dev: GPUSpec, dtype: str, p: Sparse24Params
) -> np.ndarray:
    """Time (s) of the 2:4 kernel with one given tile and split-K (shapes broadcast)."""
    dt = get_dtype(dtype)
    rate_sm = dev.sparse24_rate(dtype) * p.rate_frac / dev.sm_count
    cl = int(p.cluster) if dev.compute_capability >= (9, 0) else 1
    tiles = np.ceil(np.ceil(n / bm) / cl) * cl * np.ceil(m / bn) * split
    slots = _slots(dev, cl)
    off = None
    if np.any(np.asarray(p.mis_frac) < 1.0):
        off = off_tile_weight(m, bn) * off_tile_decay(m, p.off_tile_tokens, p.off_tile_floor)

    def off_tile(t, ctas):  # the off-tile slowdown of a schedule of ``ctas`` CTAs
        if off is None:
            return t
        return t * (1.0 + off * _off_tile_share(ctas, slots) * (1 / p.mis_frac - 1))

    compute = off_tile(_waves_s(tiles, np.ceil(k / split), slots, bm, bn, rate_sm, p), tiles)
    if p.segk_us is not None and split == 1:
        seg = off_tile(_segment_k_s(tiles, k, slots, bm, bn, rate_sm, dev, p), SEGK_SPLIT * tiles)
        on = _segment_k_on(tiles, k, slots, p.segk_min_k, p.segk_multiwave)
        compute = np.where(on, np.minimum(compute, seg), compute)
    if np.any(np.asarray(p.align_frac) < 1.0):
        compute = compute / np.where(np.mod(m, ALIGN_TOKENS) != 0, p.align_frac, 1.0)
    compute = compute * _power_slowdown(2.0 * m * n * k, compute, dev, p.pj_per_flop)
    w_bytes = n * k * (0.5 * dt.in_bytes + 0.125)
    traffic = w_bytes + m * k * dt.in_bytes + m * n * dt.out_bytes
    if split > 1:
        traffic = traffic + 2.0 * split * m * n * 4.0
    memory = traffic / (dev.hbm_bytes_per_s * p.bw_frac)
    if np.all(np.asarray(p.overlap_p) <= 0):
        return p.launch_us * 1e-6 + np.maximum(compute, memory)
    q = np.asarray(p.overlap_p, dtype=float)
    hi = np.maximum(compute, memory)
    soft = hi * (1.0 + (np.minimum(compute, memory) / hi) ** np.maximum(q, 1.0)) ** (
        1.0 / np.maximum(q, 1.0)
    )
    return p.launch_us * 1e-6 + np.where(q > 0, soft, hi)


def off_tile_weight(m, bn: int) -> np.ndarray:
    """Share (0-1) of the full off-tile slowdown a token count ``m`` pays with token tile ``bn``.

    0 on the tile; where X^T's rows start off 32 bytes (m off a multiple of ``ALIGN_TOKENS``)
    all of it; else the share of the last tile's ``OFF_TILE_BOX``-token TMA boxes that end at
    or past m. The designed sweep ``data/gpu/h200_sparse24_offtile.csv`` (fp16, m = 1024 / 3072
    + r, two (n, k)) steps at those box edges: at n = k = 8192 and m = 1024 + r the time over
    the model without the term is 1.41-1.42, 1.32-1.34, 1.18-1.24, 1.08-1.10 for r in 16-64,
    80-128, 144-192, 208-240, and 1.31-1.46 for r = 8 mod 16 (2:4 v13, docs/sparse_gpu.md;
    ``token_residues.py --sweep``). ``bn``: a multiple of ``OFF_TILE_BOX`` (fp16's 256).
    """
    if bn % OFF_TILE_BOX:
        raise ValueError(f"token tile {bn} is not a multiple of {OFF_TILE_BOX} tokens")
    m = np.asarray(m, dtype=float)
    r = np.mod(m, bn)
    boxes = bn / OFF_TILE_BOX
    ending_past = boxes - np.floor(np.maximum(r - 1.0, 0.0) / OFF_TILE_BOX)
    share = np.where(np.mod(m, ALIGN_TOKENS) != 0, 1.0, ending_past / boxes)
    return np.where(r == 0, 0.0, share)


def off_tile_decay(m, tokens, floor) -> np.ndarray:
    """Share (``floor``-1) of the off-tile slowdown left at m tokens where m is a multiple of
    ``ALIGN_TOKENS``: ``floor + (1 - floor) / (1 + (m / tokens)^OFF_TILE_STEEPNESS)`` (1 where
    ``tokens`` is None; m off 16 keeps all of it). The designed sweep
    ``data/gpu/h200_sparse24_offtile_m.csv`` (fp16, m = 512 ... 16384 + r at three (n, k)):
    at r = 64 the time over the model without the term is 1.40-1.45 at m <= 1088 and
    0.98-1.16 from 4160 on at n x k = 8192 x 8192 and 28672 x 4096 (from 8256 on at
    4096 x 14336), while r = 8 stays 1.31-1.54 throughout (2:4 v14, docs/sparse_gpu.md).
    """
    m = np.asarray(m, dtype=float)
    if tokens is None:
        return np.ones_like(m)
    fall = floor + (1.0 - floor) / (1.0 + (m / tokens) ** OFF_TILE_STEEPNESS)
    return np.where(np.mod(m, ALIGN_TOKENS) != 0, 1.0, fall)


def _off_tile_share(ctas, slots: int) -> np.ndarray:
    """Share of the waves whose mainloop runs at ``mis_frac`` where m is off the token tile:
    every full wave, and the last one where more than ``OFF_TILE_FILL`` of the SMs load at once.

    Measured on the fp16 kernel (token-count stress set ``data/gpu/raw/h200_sparse24_tokens_run_*``):
    at n = 16384, k = 8192, m = 320 takes 204 us and m = 512 132 us, and padding X^T's leading
    dimension to 1024 makes m = 256 slower (69 -> 97 us) and m = 320 faster (204 -> 153 us):
    the layout, not the tile's fill (docs/sparse_gpu.md). Charged per wave, a kernel of full
    waves and a small last wave pays it on the full waves only. Known miss: partly filled
    single waves above the threshold (200 x 5120 x 32768, 80 segment-K CTAs on 132 SMs:
    measured 149 us, modelled 220) run at full speed; a threshold of 0.75 would spare them but
    was worse in cross-validation. The CTA count is each schedule's own (segment-K doubles it),
    and segment-K is taken where it is faster with this slowdown included, so growing n never
    makes the kernel faster (the seeded property test), and growing m onto a multiple of the
    tile by at most ``1 / mis_frac``.
    """
    waves = np.ceil(ctas / slots)
    last = ctas - (waves - 1.0) * slots
    return (waves - 1.0 + (last > OFF_TILE_FILL * slots)) / waves


def _waves_s(tiles, kk, slots: int, bm: int, bn: int, rate_sm, p) -> np.ndarray:
    """Time (s) of ``tiles`` tiles of depth ``kk`` in waves of ``slots``: each wave its math
    plus ``fill_us``."""
    return np.ceil(tiles / slots) * (2.0 * bm * bn * kk / rate_sm + p.fill_us * 1e-6)


def _segment_k_on(
    tiles, k, slots: int, min_k: float = SEGK_MIN_K, multiwave: bool = False
) -> np.ndarray:
    """The profiled segment-K rule: the last wave is less than ``SEGK_LAST_WAVE`` full and
    k > ``min_k`` (and, with ``multiwave``, more tiles than one wave holds). Profiled on the
    H200's default kernels: fp16 k > 1024; bf16 k > 4096 and more than one wave."""
    last = tiles - np.floor((tiles - 1) / slots) * slots  # tiles in the last wave (1 .. slots)
    on = (last < SEGK_LAST_WAVE * slots) & (k > min_k)
    return on & (tiles > slots) if multiwave else on


def _segment_k_s(tiles, k, slots: int, bm: int, bn: int, rate_sm, dev, p) -> np.ndarray:
    """Compute time (s) under segment-K: every tile split along K into ``SEGK_SPLIT`` segments
    that run in waves like tiles of that depth, at ``segk_frac`` of the mainloop rate; the fp32
    partials of all but one segment per tile written to a workspace and read back at the L2
    bandwidth (serial split-K: the last segment adds them to its own); plus ``segk_us``
    (workspace memset and the reduction). Writing every segment's partials instead was worse
    in cross-validation (H100 9.2 vs 8.8 %, H200 10.1 vs 9.6 %, before segment-K was limited to
    where it is faster)."""
    s = SEGK_SPLIT
    t = _waves_s(tiles * s, np.ceil(k / s), slots, bm, bn, rate_sm * p.segk_frac, p)
    reduce_s = 2.0 * (s - 1.0) * tiles * bm * bn * 4.0 / dev.l2_bytes_per_s
    return t + reduce_s + p.segk_us * 1e-6


def sparse24_time_us(
    device: str | GPUSpec,
    m,
    n,
    k,
    dtype: str = "fp16",
    kernel: str | None = None,
    params: Sparse24Params | None = None,
) -> np.ndarray:
    """Predicted time (us) of a 2:4 sparse GEMM (weight W[n, k] sparse); shapes broadcast.

    ``kernel``: ``torch-default`` (default; ``torch.mm`` on a semi-structured tensor) or
    ``search`` (cuSPARSELt's algorithm search). Raises ``InfeasibleDesign`` where the device
    has no 2:4 tensor cores for ``dtype`` and ValueError for a bad shape or kernel name.
    """
    dev = get_device(device)
    kernel = kernel or "torch-default"
    if kernel not in SPARSE24_KERNELS:
        raise ValueError(f"unknown 2:4 kernel {kernel!r}; valid: {', '.join(SPARSE24_KERNELS)}")
    if dev.compute_capability < (8, 0) or not dev.sparse24_rate(dtype):
        raise InfeasibleDesign(f"{dev.name} has no 2:4 sparse tensor cores for {dtype}")
    m, n, k = _check_shape(m, n, k)
    if params is None:
        params, _ = _sparse24_params(dev.name, dtype, kernel)
    pad_s = 0.0
    if kernel == "torch-default" and dtype in PAD_DTYPES:
        pad_s = pad_time_s(m, k, dtype, dev)
        m = padded_tokens(m)
    if params.tile is not None:
        bm, bn = params.tile
        t = sparse24_tile_time_s(m, n, k, bm, bn, 1, dev=dev, dtype=dtype, p=params)
    else:
        t = np.full(np.broadcast_shapes(m.shape, n.shape, k.shape), np.inf)
        for bm, bn in SPARSE24_TILES:
            for split in SPLITS if params.split_k else (1,):
                t = np.minimum(
                    t, sparse24_tile_time_s(m, n, k, bm, bn, split, dev=dev, dtype=dtype, p=params)
                )
    return (t + pad_s) * 1e6


def padded_tokens(m) -> np.ndarray:
    """The token count torch's 2:4 kernel runs: ``m`` rounded up to a multiple of ``PAD_TOKENS``."""
    return np.ceil(np.asarray(m, dtype=float) / PAD_TOKENS) * PAD_TOKENS


def pad_bytes(m, k, dtype: str) -> tuple[np.ndarray, np.ndarray]:
    """Bytes of torch's two pad kernels where ``m`` is off a multiple of ``PAD_TOKENS`` (else
    0): the zero fill writes the padded X^T, the copy reads and writes X^T."""
    m, k = np.asarray(m, dtype=float), np.asarray(k, dtype=float)
    m_pad, in_b = padded_tokens(m), get_dtype(dtype).in_bytes
    padded = m_pad != m
    return np.where(padded, m_pad * k * in_b, 0.0), np.where(padded, 2.0 * m * k * in_b, 0.0)


def pad_time_s(m, k, dtype: str, device: str | GPUSpec) -> np.ndarray:
    """Time (s) torch spends padding X^T (k x m) to a multiple of ``PAD_TOKENS`` tokens: 0 where
    m already is one. The two pad kernels (``pad_bytes``) each run at their measured share of
    the HBM bandwidth (``pad`` in the constants file, fitted on the profiled pad kernels by
    ``fit_sparse_gpu.py --fit``; the H200's for other devices). Only fp16 / bf16 are padded
    (``PAD_DTYPES``). Not modelled: the two extra kernels' fixed launch cost, which dominates
    at decode-size m (docs/sparse_gpu.md, "2:4 v12")."""
    dev = get_device(device)
    m, _, k = _check_shape(m, 1, k)
    if dtype not in PAD_DTYPES:
        return np.zeros(np.broadcast_shapes(m.shape, k.shape))
    table = load_constants().get("pad", {})
    entry = table.get(dev.name) or table.get("h200-sxm")
    if entry is None:
        raise ValueError(f"{DATA_FILE}: no `pad` constants (run fit_sparse_gpu.py --fit)")
    fill, copy = pad_bytes(m, k, dtype)
    return (fill / entry["fill_frac"] + copy / entry["copy_frac"]) / dev.hbm_bytes_per_s
