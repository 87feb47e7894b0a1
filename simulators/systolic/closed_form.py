"""The systolic-array closed form, written once and run by NumPy (batched) or Python (scalar).

:func:`layer_model` takes an operations namespace: :data:`NUMPY` evaluates it on ``(D, L)``
arrays (many designs, many layers: ``analyze_batch``), :data:`PYTHON` on plain ints and floats
for one design and one layer (``analyze`` on short workloads, free of NumPy's per-call overhead).
Both run the same expressions, so they agree bit for bit (``tests/simulators/systolic/test_scalar.py``).

The model (see ``analytical``'s docstring for the mapping) in the default mode is built to be
sound under search: every DRAM count is a non-increasing, continuous-in-spirit function of each
scratchpad size (spill and fit are decided per tile: what fits stays, only the rest is
re-fetched or spilled), and the time model charges only what cannot overlap the compute:

- ``fill``: the first fold's operands (its share of the first pass over each operand; each
  port at its bandwidth), whatever the SRAM size;
- ``stall``: the rest of each port's traffic streams behind the compute; the array waits for the
  slowest port's excess over the compute time;
- ``drain``: the last fold's outputs.

``scalesim_compat`` keeps SCALE-Sim 3.0.0's all-or-nothing rules and its fill / drain of up to
half a scratchpad (``docs/systolic.md``).
"""

from __future__ import annotations

import math
import operator
from types import SimpleNamespace
from typing import Any, NamedTuple

import numpy as np

__all__ = [
    "FLOAT_KEYS",
    "INT_KEYS",
    "NUMPY",
    "PYTHON",
    "Design",
    "fold_shape",
    "layer_model",
    "scale_traffic",
]

#: Order of the integer outputs of :func:`layer_model` (per group of the layer).
INT_KEYS = (
    "compute_cycles",
    "stall_cycles",
    "cycles",
    "fill_cycles",
    "drain_cycles",
    "total_cycles",
    "folds",
    "macs",
    "ifmap_sram_reads",
    "filter_sram_reads",
    "ofmap_sram_writes",
    "ofmap_sram_reads",
    "ifmap_dram_reads",
    "filter_dram_reads",
    "ofmap_dram_writes",
    "ofmap_dram_reads",
    "dram_words",
)
#: Order of the fraction outputs (per layer, the same for every group).
FLOAT_KEYS = ("mapping_efficiency", "compute_utilisation", "utilisation")
NO_CAPACITY = np.iinfo(np.int64).max // 4
#: Cycle counts are ceilings of float sums; this much float noise above an integer is dropped,
#: so two equal times summed in different orders round alike (exact ratios of words and
#: bandwidths of up to 1e5 words/cycle are never that close above an integer).
CEIL_SLACK = 1e-7


class _NumPyOps:
    scalar = False
    not_ = staticmethod(np.logical_not)
    where = staticmethod(np.where)
    minimum = staticmethod(np.minimum)
    maximum = staticmethod(np.maximum)

    @staticmethod
    def ceil(x: Any) -> Any:
        """Ceil to int64; NaN (CALC mode: no bandwidth) becomes 0."""
        y = np.subtract(x, CEIL_SLACK, dtype=float)
        if not isinstance(y, np.ndarray) or y.size < 4096:  # small: fewest calls
            return np.where(np.isnan(x), 0, np.ceil(y)).astype(np.int64)
        np.ceil(y, out=y)  # large: in place, one temporary instead of four
        nan = np.isnan(y)
        if nan.any():
            y[nan] = 0.0
        return y.astype(np.int64)

    @staticmethod
    def fdiv(a: Any, b: Any) -> Any:
        return a / b

    @staticmethod
    def any(x: Any) -> bool:
        return bool(np.any(x))


def _py_min(a: Any, b: Any) -> Any:
    # as builtins.min(a, b) for two numbers (the first of equals), at a third of its call cost
    return a if a <= b else b


def _py_max(a: Any, b: Any) -> Any:
    return a if a >= b else b


def _py_where(cond: Any, a: Any, b: Any) -> Any:
    return a if cond else b


def _py_ceil(x: float, _ceil=math.ceil, _slack=CEIL_SLACK) -> int:
    return 0 if x != x else _ceil(x - _slack)


def _py_fdiv(a: Any, b: Any) -> float:
    # Python's int / int is the correctly rounded quotient, as NumPy's float64 division of
    # the two (exact below 2**53); x / 0 is inf as in NumPy.
    return a / b if b else math.inf


NUMPY = _NumPyOps()
#: Plain functions in an instance namespace: the cheapest attribute lookups for the scalar path.
PYTHON = SimpleNamespace(
    scalar=True,
    not_=operator.not_,
    minimum=_py_min,
    maximum=_py_max,
    where=_py_where,
    ceil=_py_ceil,
    fdiv=_py_fdiv,
    any=bool,
)


class Design(NamedTuple):
    """One design (Python numbers) or a column of D designs (``(D, 1)`` arrays).

    ``df``: dataflow code (0 os, 1 ws, 2 is); ``words_*``: SRAM words per operand; ``rbw`` /
    ``wbw``: DRAM words/cycle (NaN = CALC); ``compat``: SCALE-Sim mode (a Python bool for the
    whole batch); ``calc``: compat and CALC (per design).
    """

    rows: Any
    cols: Any
    df: Any
    words_if: Any
    words_f: Any
    words_o: Any
    rbw: Any
    wbw: Any
    compat: bool
    calc: Any


def calc_capacity(x: Any, words: Any) -> Any:
    """Words SCALE-Sim's CALC-mode read buffer holds before it flushes (``analytical``)."""
    per_set = words // 100
    return x.where(per_set > 0, 50 * per_set, NO_CAPACITY)


def layer_model(
    x: Any,
    d: Design,
    m: Any,
    n: Any,
    k: Any,
    u_if: Any,
    band: Any,
    scale: Any = None,
    shape: tuple | None = None,
) -> tuple:
    """Per-group (ints in :data:`INT_KEYS` order, fractions in :data:`FLOAT_KEYS` order).

    ``d.df`` is one dataflow code (a Python int: batched callers group designs by dataflow);
    ``m, n, k``: the layer's GEMM; ``u_if``: distinct ifmap words (padded ones in compat);
    ``band``: words of one band of input rows (see ``layers``); ``scale``: ``None`` or the
    words per element ``(ifmap, filter)``: each operand's scratchpad holds ``1 / scale`` as
    many of its elements and every element it moves is ``scale`` words
    (:mod:`archgym.simulators.systolic.timing`; the DRAM counts then become floats);
    ``shape``: :func:`fold_shape` of this design and layer if the caller has it (the scalar
    path keeps it per array shape), else computed here.
    """
    if scale is not None:
        d = d._replace(words_if=d.words_if / scale[0], words_f=d.words_f / scale[1])
    if shape is None:
        shape = fold_shape(x, d, m, n, k)
    geometry, compute, folds, macs, pes, if_sram, f_sram, o_sram, o_reads, fractions = shape
    if d.compat:
        traffic = _compat_traffic(x, d, geometry, u_if, band, if_sram, f_sram)
        traffic = traffic if scale is None else scale_traffic(traffic, scale)
        stall, fill, drain = _compat_time(x, d, compute, traffic)
    else:
        traffic = _traffic(x, d, geometry, u_if, band, if_sram, f_sram)
        traffic = traffic if scale is None else scale_traffic(traffic, scale)
        f_scale = 1 if scale is None else scale[1]
        stall, fill, drain = _time(x, d, geometry, compute, traffic, f_scale)
    if_dram, f_dram, o_w, o_r = traffic[:4]
    cycles = compute + stall
    ints = (
        compute,
        stall,
        cycles,
        fill,
        drain,
        fill + cycles + drain,
        folds,
        macs,
        if_sram,
        f_sram,
        o_sram,
        o_reads,
        if_dram,
        f_dram,
        o_w,
        o_r,
        if_dram + f_dram + o_w + o_r,
    )
    return ints, (*fractions, x.fdiv(macs, cycles * pes))  # 0 cycles (compat): inf


def fold_shape(x: Any, d: Design, m: Any, n: Any, k: Any) -> tuple:
    """The part of :func:`layer_model` set by the layer and the array's rows, columns,
    dataflow and mode alone (no SRAM size or bandwidth): ``(geometry, compute cycles, folds,
    MACs, PEs, ifmap / filter / ofmap SRAM reads / writes, partial-sum SRAM reads, (mapping
    efficiency, compute utilisation))``."""
    rows, cols, df, compat = d.rows, d.cols, d.df, d.compat
    mk, kn, mn = m * k, k * n, m * n
    if df == 0:  # os: outputs stationary
        sr, sc, t, skew = m, n, k, rows + cols - 2
    elif df == 1:  # ws: weights stationary
        sr, sc, t, skew = k, n, m, 2 * rows + cols - 2
    else:  # is: inputs stationary
        sr, sc, t, skew = k, m, n, 2 * rows + cols - 2
    fr = -(-sr // rows)
    fc = -(-sc // cols)
    folds = fr * fc
    per_fold = t + skew
    compute = folds * per_fold - 1 if compat else folds * per_fold
    pes = rows * cols
    # SCALE-Sim times a ws/is fold's utilisation over C - 1 cycles more than the fold takes.
    util_cycles = per_fold + cols - 1 if compat and df != 0 else per_fold
    if df == 0:
        if_sram, f_sram, o_sram, o_reads = fc * mk, fr * kn, mn, 0 * mn
    else:
        if_sram = mk if df == 2 else fc * mk
        f_sram = kn if df == 1 else fc * kn
        o_sram, o_reads = fr * mn, (fr - 1) * mn
    if compat:
        if df == 0:
            o_sram = o_sram + folds * (rows + cols)
        o_reads = 0 * o_sram
    fractions = (sr * sc / (pes * folds), sr * sc * t / (pes * folds * util_cycles))
    geometry = (rows, cols, df, sr, sc, fr, fc, m, n, k, mk, kn, mn)
    return geometry, compute, folds, mn * k, pes, if_sram, f_sram, o_sram, o_reads, fractions


def _traffic(x, d, geometry, u_if, band, if_sram, f_sram):
    """DRAM words (ifmap reads, filter reads, ofmap writes, partial-sum reads), default mode.

    Each re-read pass over an operand re-fetches only what its scratchpad's working half cannot
    keep from the previous pass (the best a buffer of that size can do), and within a pass the
    input reuse between neighbouring windows is kept in proportion to the share of the window
    band (ws: of the whole input) that fits. Partial sums spill per column tile, only the part
    of the tile that does not fit.
    """
    lo, hi = x.minimum, x.maximum
    _, cols, df, _, sc, fr, fc, m, n, k, mk, kn, mn = geometry
    h_if, h_f = d.words_if // 2, d.words_f // 2
    window = hi(u_if if df == 1 else band, 1)  # a layer may read padding only
    pass_words = u_if + (mk - u_if) * hi(window - h_if, 0) // window
    if df == 2:
        if_dram = lo(pass_words, if_sram)
    else:
        if_dram = lo(pass_words + (fc - 1) * hi(pass_words - h_if, 0), if_sram)
    last_cols = sc - (fc - 1) * cols
    if df == 0:  # the filter tile of each column fold is re-read by every row fold
        refetch = (fc - 1) * hi(k * cols - h_f, 0) + hi(k * last_cols - h_f, 0)
        f_dram = lo(kn + (fr - 1) * refetch, f_sram)
        return if_dram, f_dram, mn, 0 * mn, pass_words
    f_dram = kn if df == 1 else lo(kn + (fc - 1) * hi(kn - h_f, 0), f_sram)
    h_o = d.words_o // 2
    stream = m if df == 1 else n
    spill = (fc - 1) * hi(stream * cols - h_o, 0) + hi(stream * last_cols - h_o, 0)
    return if_dram, f_dram, mn + (fr - 1) * spill, (fr - 1) * spill, pass_words


def _time(x, d, geometry, compute, traffic, f_scale=1):
    """(stall, fill, drain) cycles of one group, default mode (module docstring); ``f_scale``
    multiplies the filter words of a fold (``layer_model``'s ``scale``)."""
    lo, hi = x.minimum, x.maximum
    if x.scalar and d.rbw != d.rbw:  # CALC mode: no bandwidth, no stalls
        return 0, 0, 0
    rows, cols, df, sr, sc, fr, fc, m, n, k, _, _, _ = geometry
    if_dram, f_dram, o_w, o_r, pass_words = traffic
    r1, c1 = lo(rows, sr), lo(cols, sc)
    last_c = sc - (fc - 1) * cols
    # The first fold's share of the first pass (is: of the one pass) over the ifmap.
    if df == 0:
        first_if, first_f = pass_words * r1 / sr, k * c1
        last_out = last_c * (sr - (fr - 1) * rows)
    elif df == 1:
        first_if, first_f, last_out = pass_words * r1 / sr, r1 * c1, last_c * m
    else:
        first_if, first_f = if_dram * r1 * c1 / (sr * sc), n * r1
        last_out = last_c * n
    first_f = lo(first_f * f_scale, f_dram)
    stream = hi(
        hi(if_dram - first_if, f_dram - first_f) / d.rbw,
        (o_w + o_r - last_out) / d.wbw,
    )
    stall = x.ceil(hi(stream - compute, 0.0))
    fill = x.ceil(hi(first_if, first_f) / d.rbw)
    drain = x.ceil(last_out / d.wbw)
    return stall, fill, drain


def scale_traffic(traffic: tuple, scale: tuple) -> tuple:
    """``traffic`` (ifmap, filter, ofmap writes, partial-sum reads[, first-pass ifmap words])
    with the ifmap words (the first and the last entry) and the filter words multiplied by
    ``scale = (ifmap factor, filter factor)``."""
    s_if, s_f = scale
    out = [traffic[0] * s_if, traffic[1] * s_f, *traffic[2:]]
    if len(out) == 5:
        out[4] = out[4] * s_if
    return tuple(out)


def _compat_traffic(x, d, geometry, u_if, band, if_sram, f_sram):
    """DRAM words as SCALE-Sim 3.0.0 counts them (all-or-nothing fit, psums never read back)."""
    where, lo = x.where, x.minimum
    _, cols, df, _, sc, fr, fc, _, n, k, mk, kn, mn = geometry
    calc = d.calc
    fit_if = where(calc, calc_capacity(x, d.words_if) - 1, d.words_if // 2)
    fit_f = where(calc, calc_capacity(x, d.words_f) - 1, d.words_f // 2)
    # os/is passes walk output pixels in order, so an input word is fetched once per pass while
    # a band of input rows fits; ws walks the window in slices, which share no input nearby.
    if_pass = mk if df == 1 else where(band <= fit_if, u_if, mk)
    if_dram = lo(where(u_if <= fit_if, u_if, if_pass if df == 2 else fc * if_pass), if_sram)
    if df == 0:
        f_dram = where(k * lo(cols, sc) <= fit_f, kn, fr * kn)
        if x.any(calc):
            # SCALE-Sim's estimate buffer keeps every fetched word until it has fetched
            # `capacity` of them, then forgets them all (os_filter_calc).
            cap = calc_capacity(x, d.words_f)
            f_dram = where(calc, os_filter_calc(x, k, n, cols, fr, fc, cap), f_dram)
    else:
        f_dram = kn if df == 1 else where(kn <= fit_f, kn, fc * kn)
    f_dram = lo(f_dram, f_sram)
    o_w = mn if df == 0 else fr * mn
    if x.any(calc):
        o_w = o_w + where(calc & partial_drain_line(x, o_w, d.words_o, cols), cols - 1, 0)
    return if_dram, f_dram, o_w, 0 * o_w


def _compat_time(x, d, compute, traffic):
    """(stall, fill, drain) as SCALE-Sim-mode archgym has always timed them: each read port fills
    the working half of its scratchpad before the first fold, the rest streams; the ofmap
    scratchpad holds what is left at the end (up to all of it)."""
    lo, hi = x.minimum, x.maximum
    if x.scalar and d.rbw != d.rbw:
        return 0, 0, 0
    if_dram, f_dram, o_w, o_r = traffic
    writes = o_w + o_r
    if_fill = lo(if_dram, d.words_if // 2)
    f_fill = lo(f_dram, d.words_f // 2)
    o_held = lo(writes, 2 * (d.words_o // 2))
    stream = hi(hi(if_dram - if_fill, f_dram - f_fill) / d.rbw, (writes - o_held) / d.wbw)
    stall = x.ceil(hi(stream - compute, 0.0))
    fill = x.ceil(hi(if_fill, f_fill) / d.rbw)
    drain = x.ceil(o_held / d.wbw)
    return stall, fill, drain


def partial_drain_line(x: Any, writes: Any, words: Any, cols: Any) -> Any:
    """Whether SCALE-Sim's CALC-mode ofmap buffer counts one partial line as full.

    It packs output words into lines of ``cols`` words and, when it holds more than its drain
    half (``d = floor(words / 2)``), closes the current line and drains ``ceil(d / cols)`` lines,
    subtracting the empty slots of the last line of each batch only. With ``d`` a multiple of
    ``cols`` the first drain leaves a line holding one word that later batches align behind, so
    it is drained as the first line of a batch of at least two and its ``cols - 1`` empty slots
    are counted once; otherwise every closed line ends its batch and the count is exact.
    """
    drain = words // 2
    return (drain % cols == 0) & (drain >= 2 * cols) & (writes >= drain + 2)


def os_filter_calc(x: Any, k: Any, n: Any, cols: Any, fr: Any, fc: Any, cap: Any) -> Any:
    """os filter DRAM reads of SCALE-Sim's CALC buffer (capacity ``cap`` words, flush when full).

    Column fold ``j`` streams its filter tile (``k * cols_j`` distinct words) once per row fold
    (``fr`` passes), tiles of different folds are disjoint. A tile of ``T >= cap`` words misses
    on every word. A smaller tile misses once, plus, when the buffer fills during its first
    pass (fill ``e`` + ``T`` >= ``cap``) and a second pass follows, the ``cap - e`` words fetched
    before the flush; the fill is then ``T``. From fill 0, the first ``j = ceil(cap / T) - 1``
    tiles fit, then every ``j``-th tile from fill ``T`` on overflows by ``cap - j * T``.
    """
    where, hi = x.where, x.maximum
    n_full = fc - 1
    t_full = k * cols
    t_last = k * (n - n_full * cols)
    big = t_full >= cap
    multi = fr >= 2
    j = hi(-(-cap // t_full) - 1, 1)
    after_first = hi(n_full - j - 1, 0)
    q, rr = after_first // j, after_first % j
    overflowed = multi & x.not_(big) & (n_full > j)
    extra = where(overflowed, cap - j * t_full + q * (cap - j * t_full), 0)
    fill = where(
        big | x.not_(multi),
        (n_full * where(multi, fr, 1) * t_full) % cap,
        where(overflowed, t_full + rr * t_full, n_full * t_full),
    )
    full = where(big, n_full * fr * t_full, n_full * t_full + extra)
    last = where(
        t_last >= cap,
        fr * t_last,
        t_last + where(multi & (fill + t_last >= cap), cap - fill, 0),
    )
    return full + last
