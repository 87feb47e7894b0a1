"""Whole-workload evaluation of a sparse engine: per-layer model, aggregation, energy and area.

>>> from archgym.simulators.sparse import SparseConfig, SparseLayer, SparseWorkload, evaluate
>>> from archgym.simulators.systolic import ArrayConfig, GemmLayer
>>> work = SparseWorkload.from_layers([SparseLayer(GemmLayer(64, 64, 64), "2:4")] * 3)
>>> work.counts
(3,)
>>> round(evaluate(SparseConfig(ArrayConfig(rows=8, cols=8)), work)["utilisation"], 3)
0.696
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from archgym.cost_models.energy import DEFAULT_TABLE, TechTable
from archgym.cost_models.sparse_costs import DEFAULT_SPARSE_COSTS, SparseCosts
from archgym.simulators.common import InfeasibleDesign
from archgym.simulators.sparse.costs import (
    area_columns_mm2,
    area_mm2,
    energy_columns_pj,
    energy_pj,
)
from archgym.simulators.sparse.cycle import simulate_sparse
from archgym.simulators.sparse.engine import (
    SparseConfig,
    SparseLayer,
    analyze_plans_batch,
    analyze_sparse,
    as_sparse_layers,
    mode_options,
    table_key,
)
from archgym.simulators.sparse.modes import best_mode, mode_objective
from archgym.simulators.sparse.patterns import Pattern
from archgym.simulators.systolic.layers import Layer

__all__ = ["FIDELITIES", "METRICS", "SparseWorkload", "evaluate", "evaluate_batch"]

#: Whole-workload metrics :func:`evaluate` returns.
METRICS = (
    "cycles",
    "latency_s",
    "energy_pj",
    "area_mm2",
    "utilisation",
    "dram_bytes",
    "stall_cycles",
)

#: ``"analytical"`` (closed form) or ``"cycle"`` (fold-level stalls).
FIDELITIES = ("analytical", "cycle")


@dataclass(frozen=True)
class SparseWorkload:
    """Distinct sparse layers and how many times each runs (a network repeats its blocks).

    Attributes:
        layers: The distinct layers.
        counts: Runs of each layer (positive integers, same length as ``layers``).
    """

    layers: tuple[SparseLayer, ...]
    counts: tuple[int, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "layers", tuple(as_sparse_layers(list(self.layers))))
        object.__setattr__(self, "counts", tuple(int(c) for c in self.counts))
        if len(self.counts) != len(self.layers):
            raise ValueError(
                f"`counts` must have one entry per layer ({len(self.layers)}), "
                f"but got {len(self.counts)}"
            )
        bad = [c for c in self.counts if c <= 0]
        if bad:
            raise ValueError(f"`counts` must be positive integers, but got {bad[0]!r}")

    @classmethod
    def from_layers(cls, layers: Iterable[SparseLayer | Layer]) -> SparseWorkload:
        """Group repeated layers (plain layers become dense SparseLayers)."""
        counts = Counter(as_sparse_layers(list(layers)))
        return cls(tuple(counts), tuple(counts.values()))


def _as_workload(workload: SparseWorkload | Iterable[SparseLayer | Layer]) -> SparseWorkload:
    if isinstance(workload, SparseWorkload):
        return workload
    return SparseWorkload.from_layers(workload)


def evaluate(
    config: SparseConfig,
    workload: SparseWorkload | Iterable[SparseLayer | Layer],
    *,
    fidelity: str = "analytical",
    table: TechTable = DEFAULT_TABLE,
    costs: SparseCosts = DEFAULT_SPARSE_COSTS,
) -> dict[str, float]:
    """Metrics of running the whole workload once (:data:`METRICS`): ``cycles`` (all layers one
    after the other, fills and drains included), ``latency_s``, ``energy_pj``, ``area_mm2``,
    ``utilisation`` (nonzero MACs per PE-cycle), ``dram_bytes``, ``stall_cycles``.

    Each layer runs in the mode ``config.mode_policy`` picks
    (:func:`~archgym.simulators.sparse.engine.chosen_patterns`; ``"energy"`` and ``"edp"``
    price the modes with ``table`` and ``costs``, at either fidelity). Raises
    ``InfeasibleDesign`` when a layer's pattern has no supported hardware pattern (and
    ``dense_fallback`` is off).
    """
    if fidelity not in FIDELITIES:
        raise ValueError(f"unknown fidelity {fidelity!r}; valid: {list(FIDELITIES)}")
    work = _as_workload(workload)
    layers = list(work.layers)
    if fidelity == "cycle":
        per_layer = simulate_sparse(config, layers, table=table, costs=costs).metrics
    else:
        per_layer = analyze_sparse(config, layers, table=table, costs=costs)
    w = np.asarray(work.counts, dtype=float)
    arr = config.array
    cycles = float(per_layer["total_cycles"] @ w)
    return {
        "cycles": cycles,
        "latency_s": cycles / (arr.clock_mhz * 1e6),
        "energy_pj": float(energy_pj(config, per_layer, table, costs) @ w),
        "area_mm2": area_mm2(config, table, costs),
        "utilisation": float(per_layer["useful_macs"] @ w) / (cycles * arr.pes),
        "dram_bytes": float(per_layer["dram_words"] @ w) * arr.word_bytes,
        "stall_cycles": float(per_layer["stall_cycles"] @ w),
    }


def evaluate_batch(
    configs: Sequence[SparseConfig],
    workload: SparseWorkload | Iterable[SparseLayer | Layer],
    *,
    fidelity: str = "analytical",
    table: TechTable = DEFAULT_TABLE,
    costs: SparseCosts = DEFAULT_SPARSE_COSTS,
) -> dict[str, np.ndarray]:
    """:func:`evaluate` for D configs on one workload, as columns of shape ``(D,)`` keyed by
    :data:`METRICS` (the form of ``ArchGymEnv.evaluate_configs``).

    The analytical fidelity runs vectorised over the configs: configs with the same modes to
    choose from per layer (pattern set and ``dense_fallback``), the same ``mode_policy`` and
    the same compressed layer table (:func:`~archgym.simulators.sparse.engine.table_key`),
    precision and word size go through the systolic closed form together, and each picks its
    mode per layer as :func:`evaluate` does (the same numbers; sums over layers may differ in
    the last bits).
    The cycle fidelity is a loop over :func:`evaluate`.

    Raises ``InfeasibleDesign`` naming the first config that cannot run the workload; check
    configs one by one with :func:`~archgym.simulators.sparse.engine.execution_patterns` first
    to sort them out.
    """
    if fidelity not in FIDELITIES:
        raise ValueError(f"unknown fidelity {fidelity!r}; valid: {list(FIDELITIES)}")
    work = _as_workload(workload)
    configs = list(configs)
    if fidelity == "analytical":
        return _analytical_batch(configs, work, table, costs)
    rows = []
    for i, config in enumerate(configs):
        try:
            rows.append(evaluate(config, work, fidelity=fidelity, table=table, costs=costs))
        except InfeasibleDesign as exc:
            raise InfeasibleDesign(f"config {i}: {exc}") from None
    return {key: np.array([r[key] for r in rows], dtype=float) for key in METRICS}


def _groups(configs: list[SparseConfig], layers: list[SparseLayer]) -> dict[tuple, list[int]]:
    """Config indices by what they share in :func:`_analytical_batch` (the first key element:
    the per-layer modes); ``InfeasibleDesign`` names the first config that has none."""
    modes: dict[tuple, tuple] = {}
    out: dict[tuple, list[int]] = {}
    for i, config in enumerate(configs):
        arr = config.array
        hw = (config.patterns, config.dense_fallback)
        mode = modes.get(hw)
        if mode is None:
            try:
                options = tuple(map(tuple, mode_options(config, layers)[1]))
            except InfeasibleDesign as exc:
                raise InfeasibleDesign(f"config {i}: {exc}") from None
            venom = any(q.is_venom for opts in options for q in opts)
            mode = modes[hw] = (options, venom)
        key = (hw, config.mode_policy, table_key(config, mode[1]), arr.precision, arr.word_bytes)
        out.setdefault(key, []).append(i)
    return {(modes[key[0]][0], *key): rows for key, rows in out.items()}


def _analytical_batch(
    configs: list[SparseConfig], work: SparseWorkload, table: TechTable, costs: SparseCosts
) -> dict[str, np.ndarray]:
    layers = list(work.layers)
    w = np.asarray(work.counts, dtype=float)
    out = {key: np.empty(len(configs)) for key in METRICS}
    for (options, *_), rows in _groups(configs, layers).items():
        group = [configs[i] for i in rows]
        per_layer = _chosen_batch(group, layers, options, table, costs)

        def column(name: str, group=group) -> np.ndarray:
            return np.array([getattr(c.array, name) for c in group])

        word_bytes = column("word_bytes")
        energy = _energy_pj(group, per_layer, table, costs)
        cycles = per_layer["total_cycles"] @ w
        srams = sum(column(f"{op}_sram_kib") for op in ("ifmap", "filter", "ofmap"))
        area = area_columns_mm2(
            group[0], column("rows"), column("cols"), srams,
            np.array([c.metadata_sram_kib for c in group], dtype=float), table, costs,
        )["total"]  # fmt: skip
        pes = column("rows") * column("cols")
        part = {
            "cycles": cycles,
            "latency_s": cycles / (column("clock_mhz") * 1e6),
            "energy_pj": energy @ w,
            "area_mm2": area,
            "utilisation": (per_layer["useful_macs"] @ w) / (cycles * pes),
            "dram_bytes": (per_layer["dram_words"] @ w) * word_bytes,
            "stall_cycles": per_layer["stall_cycles"] @ w,
        }
        for key, value in part.items():
            out[key][rows] = value
    return out


def _energy_pj(
    group: list[SparseConfig], metrics: dict[str, np.ndarray], table: TechTable, costs: SparseCosts
) -> np.ndarray:
    """Energy (pJ) of ``(D, L)`` per-layer metrics of configs of one group (precision and word
    size shared): :func:`~archgym.simulators.sparse.costs.energy_breakdown_pj` on columns."""
    arrays = [c.array for c in group]
    sram_kib = {
        op: np.array([getattr(a, f"{op}_sram_kib") for a in arrays])[:, None]
        for op in ("ifmap", "filter", "ofmap")
    }
    meta_kib = np.array([c.metadata_sram_kib or c.array.filter_sram_kib for c in group])
    word_bytes = np.array([a.word_bytes for a in arrays])
    return energy_columns_pj(
        word_bytes[:, None], sram_kib, meta_kib[:, None], arrays[0].precision, metrics, table,
        costs,
    )["total"]  # fmt: skip


def _chosen_batch(
    group: list[SparseConfig],
    layers: list[SparseLayer],
    options: tuple[tuple[Pattern, ...], ...],
    table: TechTable,
    costs: SparseCosts,
) -> dict[str, np.ndarray]:
    """Per-layer metrics ``(D, L)`` of configs of one group (one ``mode_policy``), each layer
    in the mode of the options that the policy picks for each config (as ``chosen_patterns``,
    energy priced with ``table`` and ``costs``)."""
    flat_layers = [sl for sl, opts in zip(layers, options, strict=True) for _ in opts]
    flat_plans = [q for opts in options for q in opts]
    metrics = analyze_plans_batch(group, flat_layers, flat_plans)
    shape = (len(group), len(flat_plans))
    metrics = {key: np.broadcast_to(value, shape) for key, value in metrics.items()}
    if len(flat_plans) == len(layers):
        return metrics

    def energy() -> np.ndarray:
        return _energy_pj(group, metrics, table, costs)

    score = mode_objective(group[0].mode_policy, metrics, energy)
    pick = np.empty((len(group), len(layers)), dtype=np.int64)
    start = 0
    for j, opts in enumerate(options):
        span = slice(start, start + len(opts))
        pick[:, j] = start + best_mode(score[:, span], metrics["dram_words"][:, span])
        start += len(opts)
    return {key: np.take_along_axis(value, pick, axis=1) for key, value in metrics.items()}
