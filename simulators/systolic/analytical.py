"""Closed-form systolic-array model, vectorised over layers and over many designs at once.

The operand mapping follows SCALE-Sim (Samajdar et al., ISPASS 2020) and was derived from the
SCALE-Sim 3.0.0 source (``compute/systolic_compute_{os,ws,is}.py``). With ``ofmap[M, N] =
ifmap[M, K] @ filter[K, N]``, an ``R x C`` array holds an ``Sr x Sc`` spatial tile and streams ``T``:

========  ======  ======  ======  ================================
dataflow  Sr      Sc      T       cycles per fold
========  ======  ======  ======  ================================
os        M       N       K       T + R + C - 2
ws        K       N       M       T + 2R + C - 2 (R to load weights)
is        K       M       N       T + 2R + C - 2
========  ======  ======  ======  ================================

Folds: ``ceil(Sr / R) * ceil(Sc / C)``, column folds outermost. SRAM traffic counts every word the
array reads or writes. DRAM traffic: an operand that fits in the working half of its
double-buffered scratchpad is fetched once (compulsory traffic); otherwise it is fetched again on
every pass that re-reads it (once per word while a band of input rows fits, else once per use).
Partial sums of ws/is stay in the ofmap scratchpad when an output tile
fits there, else they spill to DRAM and come back (``ofmap_dram_reads``).

``scalesim_compat=True`` reproduces SCALE-Sim's numbers instead (see ``docs/systolic.md``): total
cycles one less per layer, +R+C ofmap SRAM writes per os fold, ws/is compute utilisation over a
fold C - 1 cycles too long, ws/is partial sums written to DRAM on every row fold and never read
back, padding fetched as data; in CALC mode (no bandwidth) also its estimate read buffer
(flush when ``50 * floor(words / 100)`` words are held: ``_calc_capacity``, ``_os_filter_calc``)
and the one partial ofmap drain line it counts as full (``_partial_drain_line``).

:func:`analyze` on one design and up to :data:`SCALAR_MAX_LAYERS` layers runs the same closed
form in pure Python (:mod:`archgym.simulators.systolic.scalar`), free of NumPy's per-call overhead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from archgym.simulators.systolic.config import DATAFLOWS, ArrayConfig, check_dataflow
from archgym.simulators.systolic.layers import ConvLayer, GemmLayer, Layer, LayerTable, layer_table
from archgym.simulators.systolic.metrics import METRICS
from archgym.simulators.systolic.scalar import analyze_scalar

__all__ = ["METRICS", "analyze", "analyze_batch", "designs_from_configs"]


#: Workloads of at most this many layers take the scalar path in :func:`analyze` (measured
#: break-even with the vectorised pass: ``benchmarks/bench_systolic.py``).
SCALAR_MAX_LAYERS = 48

_DESIGN_KEYS = ("rows", "cols", "dataflow", "ifmap_sram_kib", "filter_sram_kib", "ofmap_sram_kib")


def _ceil_div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return -(-a // b)


def designs_from_configs(configs: Sequence[ArrayConfig]) -> dict[str, np.ndarray]:
    """Columns of a batch of configs, the input format of :func:`analyze_batch`."""
    if not configs:
        raise ValueError("`configs` must hold at least one ArrayConfig, but got none")
    out: dict[str, np.ndarray] = {
        key: np.array([getattr(c, key) for c in configs]) for key in _DESIGN_KEYS
    }
    nan = float("nan")
    out["read_bw_words"] = np.array(
        [nan if c.read_bw_words is None else c.read_bw_words for c in configs], dtype=float
    )
    out["write_bw_words"] = np.array(
        [nan if c.write_bw_words is None else c.write_bw_words for c in configs], dtype=float
    )
    out["word_bytes"] = np.array([c.word_bytes for c in configs])
    return out


_CODES = {name: i for i, name in enumerate(DATAFLOWS)}


def _dataflow_codes(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values)
    if values.dtype.kind in "iu":
        if np.any((values < 0) | (values > 2)):
            raise ValueError(f"dataflow codes must be 0 (os), 1 (ws) or 2 (is), but got {values}")
        return values.astype(np.int64)
    try:
        return np.array([_CODES[str(v)] for v in values.ravel()], dtype=np.int64)
    except KeyError as exc:
        check_dataflow(str(exc.args[0]))  # raises with a did-you-mean
        raise


def analyze_batch(
    designs: Mapping[str, np.ndarray | Sequence],
    layers: Layer | Sequence[Layer] | LayerTable,
    *,
    scalesim_compat: bool = False,
) -> dict[str, np.ndarray]:
    """Evaluate D designs on L layers at once; every output has shape ``(D, L)``.

    Args:
        designs: Columns of length D: ``rows``, ``cols``, ``dataflow`` (names or codes 0/1/2 for
            os/ws/is), ``ifmap_sram_kib``, ``filter_sram_kib``, ``ofmap_sram_kib``; optional
            ``read_bw_words`` / ``write_bw_words`` (NaN or absent = CALC mode, no stalls) and
            ``word_bytes`` (default 1).
        layers: The workload.
        scalesim_compat: Reproduce SCALE-Sim's quirks.

    Returns:
        A dict of the :data:`METRICS` (cycles, counts in words, fractions in [0, 1]).
    """
    missing = [k for k in _DESIGN_KEYS if k not in designs]
    if missing:
        raise ValueError(f"`designs` lacks the column(s) {missing}; it needs {list(_DESIGN_KEYS)}")
    table = layers if isinstance(layers, LayerTable) else layer_table(layers)

    def col(key: str, default: float | None = None, dtype: type = np.int64) -> np.ndarray:
        value = designs.get(key, default)
        arr = np.atleast_1d(np.asarray(value, dtype=dtype))
        return arr.reshape(-1, 1)

    rows = col("rows")
    cols = col("cols")
    word_bytes = col("word_bytes", 1)
    sram = {op: col(f"{op}_sram_kib", dtype=float) for op in ("ifmap", "filter", "ofmap")}
    rbw = col("read_bw_words", float("nan"), float)
    wbw = col("write_bw_words", float("nan"), float)
    for name, arr in (
        ("rows", rows),
        ("cols", cols),
        ("word_bytes", word_bytes),
        *((f"{op}_sram_kib", a) for op, a in sram.items()),
        ("read_bw_words", rbw),
        ("write_bw_words", wbw),
    ):
        if np.any(arr <= 0):  # NaN bandwidth (CALC mode) compares False and passes
            raise ValueError(f"`{name}` must be positive, but got {arr[arr <= 0][0].item()!r}")
    df = _dataflow_codes(np.atleast_1d(np.asarray(designs["dataflow"]))).reshape(-1, 1)
    words = {op: (kib * 1024 // word_bytes).astype(np.int64) for op, kib in sram.items()}
    half = {op: w // 2 for op, w in words.items()}
    # What "fits" the read buffer: half the SRAM, or in SCALE-Sim's CALC mode its estimate
    # buffer (see _calc_capacity): an operand of at most capacity - 1 words is fetched once.
    fit = dict(half)
    calc = np.isnan(rbw) if scalesim_compat else np.zeros_like(rbw, dtype=bool)
    for op in ("ifmap", "filter"):
        fit[op] = np.where(calc, _calc_capacity(words[op]) - 1, half[op])

    m, n, k = table.M[None, :], table.N[None, :], table.K[None, :]
    groups = table.groups[None, :]
    is_os, is_ws = df == 0, df == 1
    sr = np.where(is_os, m, k)
    sc = np.where(df == 2, m, n)
    t = np.where(is_os, k, np.where(is_ws, m, n))
    fr = _ceil_div(sr, rows)
    fc = _ceil_div(sc, cols)
    folds = fr * fc
    skew = np.where(is_os, rows + cols - 2, 2 * rows + cols - 2)
    per_fold = t + skew
    compute = folds * per_fold - (1 if scalesim_compat else 0)

    pes = rows * cols
    mapping = (sr * sc) / (pes * folds)
    # SCALE-Sim times a ws/is fold's utilisation from its skewed demand matrix plus C - 1 more
    # cycles than the fold takes; the corrected model divides by the fold's real length.
    util_cycles = np.where(is_os | (not scalesim_compat), per_fold, per_fold + cols - 1)
    compute_util = (sr * sc * t) / (pes * folds * util_cycles)
    macs = m * n * k

    # SRAM traffic (words) of one group.
    mk, kn, mn = m * k, k * n, m * n
    if_sram = np.where(df == 2, mk, fc * mk)
    f_sram = np.where(is_os, fr * kn, np.where(is_ws, kn, fc * kn))
    o_sram = np.where(is_os, mn, fr * mn)
    if scalesim_compat:
        o_sram = o_sram + np.where(is_os, folds * (rows + cols), 0)
    # Partial sums read back for accumulation (the corrected model; SCALE-Sim never reads them).
    o_sram_reads = np.zeros_like(o_sram) if scalesim_compat else np.where(is_os, 0, (fr - 1) * mn)

    # DRAM traffic (words) of one group.
    u_if = (table.ifmap_unique_padded if scalesim_compat else table.ifmap_unique)[None, :]
    tile_cols = np.minimum(cols, sc)
    if_fits = u_if <= fit["ifmap"]
    # os/is passes walk output pixels in order, so an input word is fetched once per pass while
    # a band of input rows fits; ws walks the window in slices, which share no input nearby.
    band_fits = (table.band_words[None, :] <= fit["ifmap"]) & ~is_ws
    if_pass = np.where(band_fits, u_if, mk)
    if_dram = np.where(if_fits, u_if, np.where(df == 2, 1, fc) * if_pass)
    if_dram = np.minimum(if_dram, if_sram)  # never more than the array reads
    f_dram = np.where(
        is_os,
        np.where(k * tile_cols <= fit["filter"], kn, fr * kn),
        np.where(is_ws, kn, np.where(kn <= fit["filter"], kn, fc * kn)),
    )
    if np.any(calc):
        # SCALE-Sim's estimate buffer keeps every fetched word until it has fetched `capacity`
        # of them, then forgets them all; the os filter tiles of successive column folds share
        # that budget, so a tile that fits can still be fetched twice (_os_filter_calc).
        f_calc = _os_filter_calc(k, n, cols, fr, fc, _calc_capacity(words["filter"]))
        f_dram = np.where(calc & is_os, f_calc, f_dram)
    f_dram = np.minimum(f_dram, f_sram)
    out_tile = np.where(is_ws, m * tile_cols, n * tile_cols)
    psums_stay = is_os | (out_tile <= half["ofmap"])
    if scalesim_compat:
        o_dram_w = np.where(is_os, mn, fr * mn)
        o_dram_r = np.zeros_like(o_dram_w)
        if np.any(calc):
            o_dram_w = o_dram_w + np.where(
                calc & _partial_drain_line(o_dram_w, words["ofmap"], cols), cols - 1, 0
            )
    else:
        o_dram_w = np.where(psums_stay, mn, fr * mn)
        o_dram_r = np.where(psums_stay, 0, (fr - 1) * mn)

    stall, fill, drain = _memory_time(
        compute, (if_dram, f_dram), o_dram_w + o_dram_r, half, rbw, wbw
    )
    cycles = compute + stall
    with np.errstate(divide="ignore"):  # compat: a 1-cycle layer counts 0 cycles -> inf
        utilisation = macs / (cycles * pes)
    out = {
        "compute_cycles": compute * groups,
        "stall_cycles": stall * groups,
        "cycles": cycles * groups,
        "fill_cycles": fill * groups,
        "drain_cycles": drain * groups,
        "total_cycles": (fill + cycles + drain) * groups,
        "folds": folds * groups,
        "mapping_efficiency": mapping.astype(float),
        "compute_utilisation": compute_util.astype(float),
        "utilisation": utilisation,
        "macs": macs * groups,
        "ifmap_sram_reads": if_sram * groups,
        "filter_sram_reads": f_sram * groups,
        "ofmap_sram_writes": o_sram * groups,
        "ofmap_sram_reads": o_sram_reads * groups,
        "ifmap_dram_reads": if_dram * groups,
        "filter_dram_reads": f_dram * groups,
        "ofmap_dram_writes": o_dram_w * groups,
        "ofmap_dram_reads": o_dram_r * groups,
    }
    out["dram_words"] = (
        out["ifmap_dram_reads"]
        + out["filter_dram_reads"]
        + out["ofmap_dram_writes"]
        + out["ofmap_dram_reads"]
    )
    shape = np.broadcast_shapes(rows.shape, m.shape)
    return {
        key: value if value.shape == shape else np.broadcast_to(value, shape)
        for key, value in out.items()
    }


def _memory_time(
    compute: np.ndarray,
    reads: tuple[np.ndarray, np.ndarray],
    writes: np.ndarray,
    half: dict[str, np.ndarray],
    rbw: np.ndarray,
    wbw: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bandwidth-bound (stall, fill, drain) cycles of one group.

    Before the first fold each read port fills the working half of its scratchpad (``fill``);
    the rest of its traffic streams behind the compute through the other half. Outputs drain
    behind the compute (partial sums that spill go out and come back through the same ofmap
    port) and the array waits only when the ofmap scratchpad is full; what it holds at the end
    drains after the last fold (``drain``). The slowest port sets the stalls. NaN
    bandwidth (CALC mode) means no stalls, fills or drains.
    """
    if_dram, f_dram = reads
    if_fill = np.minimum(if_dram, half["ifmap"])
    f_fill = np.minimum(f_dram, half["filter"])
    o_held = np.minimum(writes, 2 * half["ofmap"])
    with np.errstate(invalid="ignore"):
        stream = np.maximum(
            np.maximum(if_dram - if_fill, f_dram - f_fill) / rbw, (writes - o_held) / wbw
        )
        stall = np.ceil(np.maximum(stream - compute, 0.0))
        fill = np.ceil(np.maximum(if_fill, f_fill) / rbw)
        drain = np.ceil(o_held / wbw)
    return tuple(np.where(np.isnan(x), 0, x).astype(np.int64) for x in (stall, fill, drain))


def _calc_capacity(words: np.ndarray) -> np.ndarray:
    """Words SCALE-Sim's CALC-mode read buffer (``ReadBufferEstimateBw``) holds.

    It groups distinct fetched addresses into sets of ``floor(words / 100)`` and, once 50 sets
    (its active half) are complete, drops all of them at once: a buffer that keeps every word
    since the last flush and flushes when it reaches ``50 * floor(words / 100)`` words. With
    fewer than 100 words a set never completes, so nothing is ever dropped.
    """
    per_set = words // 100
    return np.where(per_set > 0, 50 * per_set, np.iinfo(np.int64).max // 4)


def _partial_drain_line(writes, words, cols):
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


def _os_filter_calc(k, n, cols, fr, fc, cap):
    """os filter DRAM reads of SCALE-Sim's CALC buffer (capacity ``cap`` words, flush when full).

    Column fold ``j`` streams its filter tile (``k * cols_j`` distinct words) once per row fold
    (``fr`` passes), tiles of different folds are disjoint. A tile of ``T >= cap`` words misses
    on every word. A smaller tile misses once, plus, when the buffer fills during its first
    pass (fill ``e`` + ``T`` >= ``cap``) and a second pass follows, the ``cap - e`` words fetched
    before the flush; the fill is then ``T``. From fill 0, the first ``j = ceil(cap / T) - 1``
    tiles fit, then every ``j``-th tile from fill ``T`` on overflows by ``cap - j * T``.
    """
    n_full = fc - 1
    t_full = k * cols
    t_last = k * (n - n_full * cols)
    big = t_full >= cap
    multi = fr >= 2
    j = np.maximum(_ceil_div(cap, t_full) - 1, 1)
    after_first = np.maximum(n_full - j - 1, 0)
    q, rr = np.divmod(after_first, j)
    overflowed = multi & ~big & (n_full > j)
    extra = np.where(overflowed, cap - j * t_full + q * (cap - j * t_full), 0)
    fill = np.where(
        big | ~multi,
        (n_full * np.where(multi, fr, 1) * t_full) % cap,
        np.where(overflowed, t_full + rr * t_full, n_full * t_full),
    )
    full = np.where(big, n_full * fr * t_full, n_full * t_full + extra)
    last = np.where(
        t_last >= cap,
        fr * t_last,
        t_last + np.where(multi & (fill + t_last >= cap), cap - fill, 0),
    )
    return full + last


def analyze(config: ArrayConfig, layers: Layer | Sequence[Layer]) -> dict[str, np.ndarray]:
    """Evaluate one design; every output has shape ``(L,)`` (see :func:`analyze_batch`).

    Up to :data:`SCALAR_MAX_LAYERS` layers go through the pure-Python path
    (:mod:`archgym.simulators.systolic.scalar`, same numbers, no NumPy call overhead); longer workloads
    through one vectorised pass.
    """
    if isinstance(layers, (ConvLayer, GemmLayer)):
        layers = (layers,)
    elif not isinstance(layers, (list, tuple, LayerTable)):
        layers = tuple(layers)
    if not isinstance(layers, LayerTable) and len(layers) <= SCALAR_MAX_LAYERS:
        return analyze_scalar(config, layers)
    result = analyze_batch(
        designs_from_configs([config]), layers, scalesim_compat=config.scalesim_compat
    )
    return {key: value[0] for key, value in result.items()}
