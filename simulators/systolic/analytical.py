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

from collections.abc import Iterator, Mapping, Sequence

import numpy as np
from archgym.simulators.systolic.closed_form import (
    FLOAT_KEYS,
    INT_KEYS,
    NUMPY,
    Design,
    calc_capacity,
    layer_model,
    partial_drain_line,
)
from archgym.simulators.systolic.config import DATAFLOWS, ArrayConfig, check_dataflow
from archgym.simulators.systolic.layers import ConvLayer, GemmLayer, Layer, LayerTable, layer_table
from archgym.simulators.systolic.metrics import METRICS
from archgym.simulators.systolic.scalar import analyze_scalar, by_identity, config_design
from archgym.simulators.systolic.timing import check_operand_scale

__all__ = ["METRICS", "analyze", "analyze_batch", "configs_from_designs", "designs_from_configs"]


#: Workloads of at most this many layers take the scalar path in :func:`analyze`: the measured
#: break-even with the one-design NumPy pass (ResNet-50's first L layers, CPU time: 158 us
#: scalar / 169 us NumPy at 24 layers, 201 / 157 at 32; the two give the same numbers).
SCALAR_MAX_LAYERS = 24

_DESIGN_KEYS = ("rows", "cols", "dataflow", "ifmap_sram_kib", "filter_sram_kib", "ofmap_sram_kib")


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


def configs_from_designs(
    designs: Mapping[str, np.ndarray | Sequence], *, scalesim_compat: bool = False
) -> list[ArrayConfig]:
    """The inverse of :func:`designs_from_configs`: one validated config per row."""
    missing = [k for k in _DESIGN_KEYS if k not in designs]
    if missing:
        raise ValueError(f"`designs` lacks the column(s) {missing}; it needs {list(_DESIGN_KEYS)}")
    n = len(np.atleast_1d(designs["rows"]))
    cols = {key: np.broadcast_to(np.atleast_1d(designs[key]), (n,)) for key in _DESIGN_KEYS}
    codes = _dataflow_codes(cols["dataflow"])
    nan = np.full(n, np.nan)
    rbw = np.broadcast_to(np.asarray(designs.get("read_bw_words", nan), dtype=float), (n,))
    wbw = np.broadcast_to(np.asarray(designs.get("write_bw_words", nan), dtype=float), (n,))
    wb = np.broadcast_to(np.asarray(designs.get("word_bytes", 1)), (n,))
    return [
        ArrayConfig(
            rows=int(cols["rows"][i]),
            cols=int(cols["cols"][i]),
            dataflow=DATAFLOWS[codes[i]],
            ifmap_sram_kib=float(cols["ifmap_sram_kib"][i]),
            filter_sram_kib=float(cols["filter_sram_kib"][i]),
            ofmap_sram_kib=float(cols["ofmap_sram_kib"][i]),
            word_bytes=int(wb[i]),
            read_bw_words=None if np.isnan(rbw[i]) else float(rbw[i]),
            write_bw_words=None if np.isnan(wbw[i]) else float(wbw[i]),
            scalesim_compat=scalesim_compat,
        )
        for i in range(n)
    ]


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


def design_columns(
    designs: Mapping[str, np.ndarray | Sequence], *, scalesim_compat: bool = False
) -> Design:
    """Validated ``(D, 1)`` columns of a batch of designs (the closed form's input)."""
    missing = [k for k in _DESIGN_KEYS if k not in designs]
    if missing:
        raise ValueError(f"`designs` lacks the column(s) {missing}; it needs {list(_DESIGN_KEYS)}")

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
    return Design(
        rows=rows,
        cols=cols,
        df=df,
        words_if=words["ifmap"],
        words_f=words["filter"],
        words_o=words["ofmap"],
        rbw=rbw,
        wbw=wbw,
        compat=scalesim_compat,
        calc=np.isnan(rbw) if scalesim_compat else np.zeros_like(rbw, dtype=bool),
    )


def analyze_batch(
    designs: Mapping[str, np.ndarray | Sequence],
    layers: Layer | Sequence[Layer] | LayerTable,
    *,
    scalesim_compat: bool = False,
    operand_scale: Mapping[str, np.ndarray | float] | None = None,
) -> dict[str, np.ndarray]:
    """Evaluate D designs on L layers at once; every output has shape ``(D, L)``.

    Args:
        designs: Columns of length D: ``rows``, ``cols``, ``dataflow`` (names or codes 0/1/2 for
            os/ws/is), ``ifmap_sram_kib``, ``filter_sram_kib``, ``ofmap_sram_kib``; optional
            ``read_bw_words`` / ``write_bw_words`` (NaN or absent = CALC mode, no stalls) and
            ``word_bytes`` (default 1).
        layers: The workload.
        scalesim_compat: Reproduce SCALE-Sim's quirks.
        operand_scale: Factors on the words each read port moves, ``{"ifmap": (L,) or (D, L),
            "filter": ...}`` (:mod:`archgym.simulators.systolic.timing`); None: 1.

    Returns:
        A dict of the :data:`METRICS` (cycles, counts in words, fractions in [0, 1]).
    """
    shape, blocks = analyze_blocks(
        designs, layers, scalesim_compat=scalesim_compat, operand_scale=operand_scale
    )
    result: dict[str, np.ndarray] = {}
    for rows, part in blocks:
        if rows is _ALL:  # one block: the closed form's own arrays
            return {
                key: out if np.shape(out) == shape else np.broadcast_to(out, shape)
                for key, out in ((key, part[key]) for key in METRICS)
            }
        for key in METRICS:
            scatter(result, key, rows, part[key], shape)
    return result


def scatter(
    out: dict[str, np.ndarray], key: str, rows: slice | np.ndarray, value: np.ndarray, shape
) -> None:
    """``out[key][rows] = value``, ``out[key]`` made (``shape``) by the first block and widened
    to a later block's dtype (as one ``np.result_type`` of all blocks would be)."""
    column = out.get(key)
    if column is None:
        out[key] = column = np.empty(shape, dtype=value.dtype)
    elif value.dtype != column.dtype:
        out[key] = column = column.astype(np.result_type(column, value))
    column[rows] = value


def analyze_blocks(
    designs: Mapping[str, np.ndarray | Sequence],
    layers: Layer | Sequence[Layer] | LayerTable,
    *,
    scalesim_compat: bool = False,
    operand_scale: Mapping[str, np.ndarray | float] | None = None,
) -> tuple[tuple[int, int], Iterator[tuple[slice | np.ndarray, dict[str, np.ndarray]]]]:
    """:func:`analyze_batch` block by block: ``(D, L)`` and an iterator of ``(rows, metrics of
    those designs)`` (:func:`dataflow_blocks`; the metrics may broadcast, e.g. ``(1, L)``).

    The inputs are validated before this returns. A caller that reduces over the layers
    (``evaluate_batch``) never holds the ``(D, L)`` outputs: blocks stay in the caches.
    """
    table = layers if isinstance(layers, LayerTable) else layer_table(layers)
    design = design_columns(designs, scalesim_compat=scalesim_compat)
    shape = (design.rows.shape[0], len(table))
    scale = None if operand_scale is None else check_operand_scale(operand_scale, shape)

    def blocks() -> Iterator[tuple[slice | np.ndarray, dict[str, np.ndarray]]]:
        for rows, sub in dataflow_blocks(design, shape[1]):
            sub_scale = None if scale is None else tuple(s[rows] for s in scale)
            yield rows, _run(sub, table, 1, sub_scale)

    return shape, blocks()


#: Design-layer pairs per block of :func:`dataflow_blocks`: the closed form's temporaries stay
#: in the processor's caches (measured: ``benchmarks/bench_systolic.py``, batched rows).
BLOCK_PAIRS = 1 << 15


def dataflow_blocks(design: Design, n_layers: int) -> list[tuple[slice | np.ndarray, Design]]:
    """Blocks of designs of one dataflow each, as :class:`Design` with a Python-int ``df``,
    with their rows in ``design`` (a slice, or row indices); at most ``BLOCK_PAIRS //
    n_layers`` designs each (one block, rows ``slice(None)``, when all fit and share a dataflow)."""
    codes = design.df[:, 0]
    n = codes.shape[0]
    size = max(BLOCK_PAIRS // max(n_layers, 1), 1)
    first = int(codes[0])
    if not (codes != first).any():
        if n <= size:
            return [(_ALL, design._replace(df=first))]
        return [
            (slice(i, i + size), _take(design, slice(i, i + size), first))
            for i in range(0, n, size)
        ]
    out = []
    for code in range(len(DATAFLOWS)):
        where = np.flatnonzero(codes == code)
        for i in range(0, where.size, size):
            rows = where[i : i + size]
            out.append((rows, _take(design, rows, code)))
    return out


def _take(design: Design, rows: slice | np.ndarray, code: int) -> Design:
    fields = {name: getattr(design, name)[rows] for name in _ROW_FIELDS}
    return Design(df=code, compat=design.compat, **fields)


_ALL = slice(None)
_ROW_FIELDS = tuple(name for name in Design._fields if name not in ("df", "compat"))


def _run(
    design: Design, table: LayerTable, axis: int, scale: tuple | None = None
) -> dict[str, np.ndarray]:
    """The closed form of one dataflow's designs on a layer table (layers on ``axis``: 0 for
    one design of Python numbers, 1 for ``(D, 1)`` design columns), groups applied;
    ``scale``: None or the validated (ifmap, filter) operand factors of those designs."""
    compat = design.compat
    cols = (
        table.M_scalesim if compat else table.M,
        table.N,
        table.K,
        table.ifmap_unique_padded if compat else table.ifmap_unique,
        table.band_words,
    )
    if axis:
        cols = tuple(c[None, :] for c in cols)
    with np.errstate(divide="ignore", invalid="ignore"):  # compat: a 0-cycle layer -> inf
        ints, floats = layer_model(NUMPY, design, *cols, scale)
    groups = table.groups
    grouped = bool((groups != 1).any())
    groups = groups[None, :] if axis else groups
    # One array may stand for two metrics (ws: filter SRAM reads = DRAM reads): its second
    # metric gets a copy. Arrays the closed form made for this call (owning their data, of
    # the output's shape) are scaled by the group count in place, others into a new array.
    part, seen = {}, set()
    for key, v in zip(INT_KEYS, ints, strict=True):
        if id(v) in seen:
            part[key] = v.copy()
            continue
        seen.add(id(v))
        if not grouped:
            part[key] = v
        elif (
            isinstance(v, np.ndarray)
            and v.flags.owndata
            and v.flags.writeable
            and (v.shape == np.broadcast_shapes(v.shape, groups.shape))
        ):
            part[key] = np.multiply(v, groups, out=v)
        else:
            part[key] = v * groups
    part.update(zip(FLOAT_KEYS, floats, strict=True))
    return part


def split_by_dataflow(design: Design) -> list[tuple[int, Design]]:
    """The designs of each dataflow present, as :class:`Design` with a Python-int ``df``."""
    codes = design.df[:, 0]
    present = np.unique(codes)
    if present.size == 1:
        return [(int(present[0]), design._replace(df=int(present[0])))]
    out = []
    for code in present.tolist():
        rows = codes == code
        fields = {
            name: getattr(design, name)[rows]
            for name in Design._fields
            if name not in ("df", "compat")
        }
        out.append((code, Design(df=code, compat=design.compat, **fields)))
    return out


def _calc_capacity(words: np.ndarray) -> np.ndarray:
    """Words SCALE-Sim's CALC-mode read buffer (``ReadBufferEstimateBw``) holds.

    It groups distinct fetched addresses into sets of ``floor(words / 100)`` and, once 50 sets
    (its active half) are complete, drops all of them at once: a buffer that keeps every word
    since the last flush and flushes when it reaches ``50 * floor(words / 100)`` words. With
    fewer than 100 words a set never completes, so nothing is ever dropped.
    """
    return calc_capacity(NUMPY, np.asarray(words))


def _partial_drain_line(writes, words, cols):
    """See :func:`archgym.simulators.systolic.closed_form.partial_drain_line`."""
    return partial_drain_line(NUMPY, writes, words, cols)


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
    table = layers if isinstance(layers, LayerTable) else by_identity(layers, layer_table)
    out = _run(config_design(config), table, 0)
    shape = (len(table),)
    return {
        key: out[key] if np.shape(out[key]) == shape else np.broadcast_to(out[key], shape)
        for key in METRICS
    }
