"""Structured-sparse systolic engine: the systolic-array model with N:M / V:N:M weight sparsity.

The weights (``filter[K, N]``) are pruned along K; the engine stores them compressed (kept values
plus index metadata) and skips the pruned MACs where the dataflow lets it:

- **os and ws** keep K on the streamed (os) or row (ws) axis, so a compressed weight column is
  ``K_eff = ceil(K / M) * N`` long: each PE holds or receives one kept weight and a ``M:1``
  select mux (driven by the metadata) picks its activation from the group's M. The engine is
  the dense systolic array running ``K_eff`` instead of K: folds, skew and compute cycles come
  from :mod:`archgym.simulators.systolic.analytical` on the compressed layer.
- **is** keeps the (dense) activations stationary and streams weights; a weight column's kept
  positions differ per column, so nothing is skipped: cycles are dense, only the weight traffic
  shrinks (decompressed at the array edge).
- **V:N:M** (VENOM) adds a gather network between the ifmap scratchpad and the array: each
  segment of V array columns gets its own stream of the 4 selected activations of every M
  (``ceil(min(cols, N) / V)`` streams per fold), and the PEs run N:4 on it.

Activations are dense, so the ifmap traffic is the dense model's (the array still reads every
activation it selects from), except under VENOM where only gathered words are read. Metadata has
its own scratchpad (fetched once when a layer's metadata fits its working half, else with every
weight pass) and shares the filter port to DRAM. Cycles come from the systolic model on the
compressed layer with each read port's elements as many words as the format moves
(:func:`port_scale`, the systolic ``operand_scale``), so the engine keeps the systolic model's
soundness (more SRAM or bandwidth is never slower). Each layer runs in the mode its config's
``mode_policy`` picks (:func:`chosen_patterns`; default the fastest). A layer whose pattern no
supported pattern covers raises ``InfeasibleDesign`` unless ``dense_fallback`` runs it dense.
With every layer dense the metrics equal the systolic model's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from archgym.cost_models.energy import DEFAULT_TABLE, TechTable
from archgym.cost_models.sparse_costs import DEFAULT_SPARSE_COSTS, SparseCosts
from archgym.simulators.common import InfeasibleDesign
from archgym.simulators.sparse.modes import best_mode, check_mode_policy, layer_objective
from archgym.simulators.sparse.patterns import DENSE, VENOM_SELECT, Pattern, parse_pattern
from archgym.simulators.systolic.analytical import analyze_batch, designs_from_configs
from archgym.simulators.systolic.config import ArrayConfig
from archgym.simulators.systolic.layers import ConvLayer, GemmLayer, Layer, LayerTable, layer_table

__all__ = [
    "SPARSE_METRICS",
    "SparseConfig",
    "SparseLayer",
    "analyze_sparse",
    "as_sparse_layers",
    "chosen_patterns",
    "execution_patterns",
    "metadata_half_words",
    "port_scale",
    "run_k",
    "run_table",
    "venom_gather_reads",
    "venom_selection",
]

#: Per-layer outputs added to the systolic :data:`~archgym.simulators.systolic.analytical.METRICS`.
SPARSE_METRICS = (
    "dense_macs",
    "useful_macs",
    "effective_utilisation",
    "metadata_sram_reads",
    "metadata_dram_reads",
    "select_ops",
    "select_inputs",
    "gather_words",
    "gather_inputs",
)


@dataclass(frozen=True)
class SparseConfig:
    """A systolic array with structured-sparse tensor support.

    Attributes:
        array: The systolic array (shape, dataflow, scratchpads, bandwidth, clock, precision).
        patterns: Sparsity patterns the hardware runs (strings like ``"2:4"`` or ``"64:2:8"``
            are parsed); dense always runs. Empty: a dense-only array.
        metadata_sram_kib: Metadata scratchpad (KiB), double-buffered like the others; 0: none
            (metadata streams with every weight pass and is read from the filter scratchpad).
            Its area counts whenever it is there, even on a dense-only array.
        dense_fallback: Run a layer whose pattern no supported pattern covers as dense instead
            of raising ``InfeasibleDesign``.
        mode_policy: What each layer's mode minimises (``modes.MODE_POLICIES``): ``"latency"``
            (cycles; default), ``"energy"`` (pJ), ``"edp"`` (pJ x cycles), ``"dram"`` (words).
    """

    array: ArrayConfig
    patterns: tuple[Pattern, ...] = (Pattern(2, 4),)
    metadata_sram_kib: float = 8.0
    dense_fallback: bool = False
    mode_policy: str = "latency"

    def __post_init__(self) -> None:
        if not isinstance(self.array, ArrayConfig):
            raise ValueError(f"`array` must be an ArrayConfig, but got {self.array!r}")
        if isinstance(self.patterns, (str, Pattern)):
            raise ValueError(
                f"`patterns` must be a sequence of patterns, but got {self.patterns!r}"
            )
        parsed = tuple(parse_pattern(p) for p in self.patterns)
        object.__setattr__(self, "patterns", tuple(p for p in parsed if not p.is_dense))
        kib = self.metadata_sram_kib
        if isinstance(kib, bool) or not isinstance(kib, (int, float)) or not kib >= 0:
            raise ValueError(
                f"`metadata_sram_kib` must be a number >= 0 (0: no metadata scratchpad), "
                f"but got {kib!r}"
            )
        if not isinstance(self.dense_fallback, bool):
            raise ValueError(f"`dense_fallback` must be a bool, but got {self.dense_fallback!r}")
        check_mode_policy(self.mode_policy)

    @property
    def select_inputs(self) -> int:
        """Inputs of each PE's select mux (the largest M of a plain N:M pattern, 4 for VENOM)."""
        sizes = [VENOM_SELECT if p.is_venom else p.m for p in self.patterns]
        return max(sizes, default=1)

    @property
    def venom_patterns(self) -> tuple[Pattern, ...]:
        return tuple(p for p in self.patterns if p.is_venom)


@dataclass(frozen=True)
class SparseLayer:
    """A layer whose weights have a structured-sparsity pattern.

    K (the reduction length) must be a multiple of the pattern's M and, for V:N:M, the output
    channels N a multiple of V: the format stores whole groups and blocks.
    """

    layer: Layer
    pattern: Pattern = DENSE

    def __post_init__(self) -> None:
        if not isinstance(self.layer, (ConvLayer, GemmLayer)):
            raise ValueError(f"`layer` must be a ConvLayer or GemmLayer, but got {self.layer!r}")
        object.__setattr__(self, "pattern", parse_pattern(self.pattern))
        _, n, k = self.layer.gemm_shape()
        p = self.pattern
        if k % p.m:
            raise ValueError(
                f"layer {self.layer.name!r}: K={k} must be a multiple of M={p.m} for pattern {p}"
            )
        if p.v is not None and n % p.v:
            raise ValueError(
                f"layer {self.layer.name!r}: N={n} output channels must be a multiple of "
                f"V={p.v} for pattern {p}"
            )

    @property
    def name(self) -> str:
        return self.layer.name


def as_sparse_layers(
    layers: SparseLayer | Layer | Sequence[SparseLayer | Layer],
) -> list[SparseLayer]:
    """A workload as SparseLayers (plain layers become dense ones)."""
    if isinstance(layers, (SparseLayer, ConvLayer, GemmLayer)):
        layers = [layers]
    out = [x if isinstance(x, SparseLayer) else SparseLayer(x) for x in layers]
    if not out:
        raise ValueError("a workload needs at least one layer, but got none")
    return out


def execution_patterns(
    config: SparseConfig, layers: SparseLayer | Sequence[SparseLayer]
) -> list[Pattern]:
    """The supported pattern each layer runs as (the sparsest one its pattern satisfies;
    :data:`DENSE` for dense layers and fallbacks). Raises ``InfeasibleDesign`` when a sparse
    layer has no supported pattern and ``dense_fallback`` is off."""
    out = []
    for sl in as_sparse_layers(layers):
        if sl.pattern.is_dense:
            out.append(DENSE)
            continue
        usable = [q for q in config.patterns if sl.pattern.satisfies(q)]
        if usable:
            out.append(min(usable, key=lambda q: (q.density, q.is_venom)))
        elif config.dense_fallback:
            out.append(DENSE)
        else:
            supported = ", ".join(map(str, config.patterns)) or "none"
            raise InfeasibleDesign(
                f"layer {sl.name!r} has pattern {sl.pattern}, which no supported pattern "
                f"({supported}) covers; set dense_fallback to run it dense"
            )
    return out


def run_k(array: ArrayConfig, plans: Sequence[Pattern], k: np.ndarray) -> np.ndarray:
    """The K each layer's array runs: ``ceil(K / M) * N`` of its execution pattern where the
    dataflow skips (os, ws), K otherwise."""
    q_n = np.array([q.n for q in plans], dtype=np.int64)
    q_m = np.array([q.m for q in plans], dtype=np.int64)
    sparse = np.array([not q.is_dense for q in plans]) & (array.dataflow != "is")
    return np.where(sparse, -(-np.asarray(k) // q_m) * q_n, k)


def run_table(
    config: SparseConfig, layers: Sequence[SparseLayer], plans: Sequence[Pattern] | None = None
) -> LayerTable:
    """The layers as the array runs them: K compressed by each layer's execution pattern
    (:func:`run_k`; ``plans`` default: :func:`execution_patterns`), the activation stream the
    array sees (distinct words, band of input rows) shrunk in proportion. The sparse engine's
    own traffic model sets the words its ports move (:func:`port_scale`); this table sets the
    fold schedule and how the systolic model spreads those words over it."""
    table = layer_table([sl.layer for sl in layers])
    plans = execution_patterns(config, layers) if plans is None else plans
    k = run_k(config.array, plans, table.K)
    # V:N:M (os, ws): a fold streams its selected share of the K rows, and needs an input word
    # of a convolution when any of the R*S rows it feeds is selected: its distinct words are
    # the union 1 - (1 - share)^(R*S) of the input, ``union`` times the streamed share
    venom = np.array([q.is_venom for q in plans]) & (config.array.dataflow != "is")
    share = venom_selection(config.array, table, plans)[2]
    union = np.where(venom, (1.0 - (1.0 - share) ** conv_window(layers)) / share, 1.0)

    def shrink(words: np.ndarray) -> np.ndarray:
        return np.maximum(np.ceil(words * k / table.K * union).astype(np.int64), 1)

    return dataclasses.replace(
        table,
        K=k,
        ifmap_unique=shrink(table.ifmap_unique),
        ifmap_unique_padded=shrink(table.ifmap_unique_padded),
        band_words=shrink(table.band_words),
    )


def venom_selection(
    array: ArrayConfig, table: LayerTable, plans: Sequence[Pattern]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per layer under V:N:M ``plans``: (``s``, the share of K rows one V-block selects;
    ``b``, the blocks a column fold spans; the expected share of K rows a fold needs; the
    share the whole layer needs) (see :func:`port_scale`)."""
    v = np.array([q.v or 1 for q in plans], dtype=np.int64)
    s = np.minimum(1.0, VENOM_SELECT / np.array([q.m for q in plans], dtype=float))
    fold_blocks = -(-np.minimum(array.cols, table.N) // v)
    layer_blocks = -(-table.N // v)
    return s, fold_blocks, 1.0 - (1.0 - s) ** fold_blocks, 1.0 - (1.0 - s) ** layer_blocks


def venom_gather_reads(
    config: SparseConfig, layers: Sequence[SparseLayer], plans: Sequence[Pattern], dense_sram
) -> np.ndarray:
    """Ifmap scratchpad reads (words, all groups) of the gather lanes when the layers run as the
    V:N:M ``plans`` on an os or ws array; ``dense_sram``: the dense model's ifmap SRAM reads.
    Each of the ``b = ceil(min(cols, N) / V)`` segments of a column fold has its own gather lane,
    which reads its block's selection ``s = min(1, 4 / M)`` of the K rows: ``b * s`` of the dense
    reads, so V below the array width costs reads (:func:`venom_selection`). The DRAM words of
    the ifmap port are the ones the timing moves (:func:`port_scale`)."""
    table = layer_table([sl.layer for sl in layers])
    s, fold_blocks, _, _ = venom_selection(config.array, table, plans)
    return np.asarray(dense_sram, dtype=float) * fold_blocks * s


def conv_window(layers: Sequence[SparseLayer]) -> np.ndarray:
    """Per layer, the K rows one input word feeds: ``R * S`` for a convolution, 1 for a GEMM."""
    return np.array(
        [sl.layer.R * sl.layer.S if isinstance(sl.layer, ConvLayer) else 1 for sl in layers]
    )


def metadata_half_words(config: SparseConfig) -> int:
    """Words in the working half of the metadata scratchpad."""
    return int(config.metadata_sram_kib * 1024) // config.array.word_bytes // 2


def chosen_patterns(
    config: SparseConfig,
    layers: SparseLayer | Sequence[SparseLayer],
    *,
    table: TechTable = DEFAULT_TABLE,
    costs: SparseCosts = DEFAULT_SPARSE_COSTS,
) -> list[Pattern]:
    """The mode each layer runs in: of those the hardware can run it in (each supported pattern
    its pattern satisfies, and dense), the least in ``config.mode_policy``'s objective
    (:mod:`~archgym.simulators.sparse.modes`; ``table``, ``costs``: energy prices), ties to the
    least DRAM traffic, then the sparsest. The default, the fastest, is never slower for a
    sparser pattern or one more supported pattern, even where a sparser mode is (fewer, larger
    folds: a larger first-fold fill). ``InfeasibleDesign`` as :func:`execution_patterns`."""
    return _choose(config, as_sparse_layers(layers), table, costs)[0]


def mode_options(
    config: SparseConfig, sparse_layers: Sequence[SparseLayer]
) -> tuple[list[Pattern], list[list[Pattern]]]:
    """(:func:`execution_patterns`, per layer the modes the hardware can run it in, sparsest
    first: :func:`chosen_patterns` picks one). Raises ``InfeasibleDesign`` as
    :func:`execution_patterns` does."""
    sparsest = execution_patterns(config, sparse_layers)
    options = [
        [DENSE]
        if plan.is_dense
        else sorted(
            [q for q in config.patterns if sl.pattern.satisfies(q)] + [DENSE],
            key=lambda q: (q.density, q.is_venom),
        )
        for sl, plan in zip(sparse_layers, sparsest, strict=True)
    ]
    return sparsest, options


def _choose(
    config: SparseConfig, sparse_layers: list[SparseLayer], table: TechTable, costs: SparseCosts
) -> tuple[list[Pattern], dict[str, np.ndarray]]:
    """(:func:`chosen_patterns`, the metrics of the layers run in them)."""
    sparsest, options = mode_options(config, sparse_layers)
    if all(len(o) == 1 for o in options):
        return sparsest, _analyze_plans(config, sparse_layers, sparsest)
    flat = [(sl, q) for sl, opts in zip(sparse_layers, options, strict=True) for q in opts]
    metrics = _analyze_plans(config, [sl for sl, _ in flat], [q for _, q in flat])
    score = layer_objective(config, metrics, table, costs)
    # Every metric is per layer, so the chosen rows are the layers run in their chosen modes.
    plans, rows, start = [], [], 0
    for opts in options:
        span = slice(start, start + len(opts))
        best = int(best_mode(score[span], metrics["dram_words"][span]))
        plans.append(opts[best])
        rows.append(start + best)
        start += len(opts)
    return plans, {key: value[rows] for key, value in metrics.items()}


def analyze_sparse(
    config: SparseConfig,
    layers: SparseLayer | Layer | Sequence[SparseLayer | Layer],
    plans: Sequence[Pattern] | None = None,
    *,
    table: TechTable = DEFAULT_TABLE,
    costs: SparseCosts = DEFAULT_SPARSE_COSTS,
) -> dict[str, np.ndarray]:
    """Per-layer metrics, shape ``(L,)``: the systolic METRICS plus :data:`SPARSE_METRICS`.

    ``plans``: the mode each layer runs in (default :func:`chosen_patterns` with ``table`` and
    ``costs``). ``macs`` counts the MACs the array executes (compressed K for os/ws, all of them
    for is); ``dense_macs`` those of the unpruned layer; ``useful_macs`` the nonzero ones (layer
    density times dense). ``utilisation`` is executed MACs per PE-cycle (at most 1);
    ``effective_utilisation`` useful MACs per PE-cycle. Traffic in words of ``word_bytes``
    (metadata words may be fractional)."""
    sparse_layers = as_sparse_layers(layers)
    if plans is None:
        return _choose(config, sparse_layers, table, costs)[1]
    return _analyze_plans(config, sparse_layers, list(plans))


def _analyze_plans(
    config: SparseConfig, sparse_layers: list[SparseLayer], plans: list[Pattern]
) -> dict[str, np.ndarray]:
    out = analyze_plans_batch([config], sparse_layers, plans)
    return {key: value[0] if np.ndim(value) == 2 else value for key, value in out.items()}


def table_key(config: SparseConfig, venom: bool) -> tuple:
    """What of a config, besides the modes it runs, :func:`run_table` and the systolic model's
    batch share: configs of one key running the same modes share one compressed layer table,
    so :func:`analyze_plans_batch` takes them together (skipping or not; the array width when
    a mode is V:N:M (``venom``), whose gather share shrinks the activation stream; the
    SCALE-Sim quirks)."""
    arr = config.array
    skips = arr.dataflow != "is"
    return (skips, arr.cols if venom and skips else None, arr.scalesim_compat)


def _column(values: list) -> np.ndarray:
    return np.array(values)[:, None]


def analyze_plans_batch(
    configs: Sequence[SparseConfig], sparse_layers: list[SparseLayer], plans: list[Pattern]
) -> dict[str, np.ndarray]:
    """:func:`analyze_sparse` of D configs of one :func:`table_key` running the layers in the
    modes ``plans``: ``(D, L)`` arrays (``(L,)`` for metrics no config changes)."""
    config = configs[0]  # the shared compressed table
    arr = config.array
    table = layer_table([sl.layer for sl in sparse_layers])
    design = designs_from_configs([c.array for c in configs])
    compat = arr.scalesim_compat
    dense = analyze_batch(design, table, scalesim_compat=compat)
    comp_table = run_table(config, sparse_layers, plans)
    comp = analyze_batch(design, comp_table, scalesim_compat=compat)

    skips = arr.dataflow != "is"
    q_n = np.array([q.n for q in plans], dtype=np.int64)
    q_m = np.array([q.m for q in plans], dtype=np.int64)
    is_sparse = np.array([not q.is_dense for q in plans])

    out = {key: np.array(value, copy=True) for key, value in comp.items()}
    groups = table.groups
    q_density = q_n / q_m
    if not skips:  # weights stream compressed and are expanded at the array edge
        for key in ("filter_sram_reads", "filter_dram_reads"):
            out[key] = np.where(is_sparse, dense[key] * q_density, dense[key])
    # The array selects from every activation, so ifmap traffic is the dense model's ...
    out["ifmap_sram_reads"] = dense["ifmap_sram_reads"].astype(float)
    out["ifmap_dram_reads"] = dense["ifmap_dram_reads"].astype(float)
    venom = np.array([q.is_venom for q in plans]) & skips
    scale = _port_scale(configs, table, plans)
    timed = analyze_batch(design, comp_table, scalesim_compat=compat, operand_scale=scale)
    # ... except VENOM, where each V-column segment gathers only its block's selected K rows:
    # the port moves the words the timing saw; the gather lanes read their own selections.
    if np.any(venom):
        gathered = venom_gather_reads(config, sparse_layers, plans, dense["ifmap_sram_reads"])
        out["ifmap_sram_reads"] = np.where(venom, gathered, out["ifmap_sram_reads"])
        port = timed["ifmap_dram_reads"].astype(float)
        out["ifmap_dram_reads"] = np.where(venom, port, out["ifmap_dram_reads"])

    bits = np.array([q.metadata_bits for q in plans])
    meta_per_word = bits / (8.0 * _column([c.array.word_bytes for c in configs]))
    half_meta = _column([metadata_half_words(c) for c in configs])
    meta_layer = table.K * table.N * q_density * meta_per_word  # one group's metadata words
    out["metadata_sram_reads"] = out["filter_sram_reads"] * meta_per_word
    for key in TIMING_KEYS:
        out[key] = timed[key]
    # The filter port moves what the timing saw: the compressed weights (with their metadata
    # when it streams with every weight pass); metadata that fits its scratchpad comes once.
    held = meta_layer <= half_meta
    port = timed["filter_dram_reads"]
    values = np.where(held, port, port / (1.0 + meta_per_word))
    out["filter_dram_reads"] = values
    out["metadata_dram_reads"] = np.where(held, meta_layer * groups, port - values)
    out["dram_words"] = sum(out[key] for key in _DRAM_KEYS)
    out["dense_macs"] = dense["macs"]
    out["useful_macs"] = dense["macs"] * np.array([sl.pattern.density for sl in sparse_layers])
    pes = _column([c.array.pes for c in configs])
    out["effective_utilisation"] = out["useful_macs"] / (out["cycles"] * pes)
    out["select_ops"] = np.where(is_sparse & skips, out["macs"], 0)
    out["select_inputs"] = np.where(venom, VENOM_SELECT, np.where(is_sparse & skips, q_m, 1))
    out["gather_words"] = np.where(venom, out["ifmap_sram_reads"], 0.0)
    out["gather_inputs"] = np.where(venom, q_m, 1)
    return out


#: Per-layer keys the systolic time model sets (cycles) from the sparse traffic.
TIMING_KEYS = (
    "stall_cycles",
    "cycles",
    "fill_cycles",
    "drain_cycles",
    "total_cycles",
    "utilisation",
)
_DRAM_KEYS = (
    "ifmap_dram_reads",
    "filter_dram_reads",
    "metadata_dram_reads",
    "ofmap_dram_writes",
    "ofmap_dram_reads",
)


def port_scale(
    config: SparseConfig, table: LayerTable, plans: Sequence[Pattern]
) -> dict[str, np.ndarray]:
    """Words per element of the compressed layers (:func:`run_table`) on the two read ports:
    the systolic ``operand_scale`` (:mod:`archgym.simulators.systolic.timing`) that times the
    sparse traffic on the systolic models. ``table``: the layers' dense table.

    - ifmap: an element of the compressed activation stream (os/ws) stands for the ``K / K_eff``
      activations its select muxes choose from (``M / N``), under V:N:M for the rows its fold's
      gather network selects (``K * fold share / K_eff``); is streams dense activations (1);
    - filter: a kept weight, plus its metadata (``1 + bits / word bits``) where the layer's
      metadata does not fit the working half of the metadata scratchpad and so travels with
      every weight pass (else it is fetched once, beside the schedule); on is the weights
      stream compressed over the dense schedule (times the density ``N / M``).

    The scratchpads hold ``1 / scale`` as many elements, so what fits and what is re-fetched
    follows the words, as for a dense layer, and the sparse timing keeps the systolic model's
    soundness (more SRAM, bandwidth or metadata scratchpad never slower). The engine reports
    the filter-port words the timing saw."""
    out = _port_scale([config], table, plans)
    return {key: value[0] if np.ndim(value) == 2 else value for key, value in out.items()}


def _port_scale(
    configs: Sequence[SparseConfig], table: LayerTable, plans: Sequence[Pattern]
) -> dict[str, np.ndarray]:
    """:func:`port_scale` of configs of one :func:`table_key`: ifmap ``(L,)``, filter ``(D, L)``."""
    arr = configs[0].array
    k = run_k(arr, plans, table.K)
    skips = arr.dataflow != "is"
    is_sparse = np.array([not q.is_dense for q in plans])
    venom = np.array([q.is_venom for q in plans]) & skips
    selected = np.where(venom, venom_selection(arr, table, plans)[2], 1.0)
    s_if = table.K * selected / k
    bits = np.array([q.metadata_bits for q in plans], dtype=float)
    density = np.array([q.n / q.m for q in plans])
    meta_per_word = bits / (8.0 * _column([c.array.word_bytes for c in configs]))
    half_meta = _column([metadata_half_words(c) for c in configs])
    held = table.K * table.N * density * meta_per_word <= half_meta
    s_f = np.where(held, 1.0, 1.0 + meta_per_word) * np.where(is_sparse & ~skips, density, 1.0)
    return {"ifmap": s_if, "filter": s_f}
