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
from archgym.simulators.sparse.costs import area_mm2, energy_pj
from archgym.simulators.sparse.cycle import simulate_sparse
from archgym.simulators.sparse.engine import (
    SparseConfig,
    SparseLayer,
    analyze_sparse,
    as_sparse_layers,
)
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

    Raises ``InfeasibleDesign`` when a layer's pattern has no supported hardware pattern (and
    ``dense_fallback`` is off).
    """
    if fidelity not in FIDELITIES:
        raise ValueError(f"unknown fidelity {fidelity!r}; valid: {list(FIDELITIES)}")
    work = _as_workload(workload)
    layers = list(work.layers)
    if fidelity == "cycle":
        per_layer = simulate_sparse(config, layers).metrics
    else:
        per_layer = analyze_sparse(config, layers)
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

    Raises ``InfeasibleDesign`` naming the first config that cannot run the workload; check
    configs one by one with :func:`~archgym.simulators.sparse.engine.execution_patterns` first
    to sort them out. (A loop over :func:`evaluate`: the per-config execution plans change the
    compressed layer table, so the systolic closed form is not batched across configs yet.)
    """
    work = _as_workload(workload)
    rows = []
    for i, config in enumerate(configs):
        try:
            rows.append(evaluate(config, work, fidelity=fidelity, table=table, costs=costs))
        except InfeasibleDesign as exc:
            raise InfeasibleDesign(f"config {i}: {exc}") from None
    return {key: np.array([r[key] for r in rows], dtype=float) for key in METRICS}
