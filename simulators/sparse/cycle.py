"""Fold-level timing of the sparse engine through the systolic fold-level model.

Every layer runs the systolic array's fold schedule
(:func:`archgym.simulators.systolic.simulate`) on the K its execution pattern leaves
(compressed for os/ws: :func:`~archgym.simulators.sparse.engine.run_table`), with each read
port's elements as many words as the sparse engine moves per element
(:func:`~archgym.simulators.sparse.engine.port_scale`, the systolic ``operand_scale``:
:mod:`archgym.simulators.systolic.timing`). In CALC mode (no bandwidth) the result equals the
analytical model; with every layer dense it equals the systolic fold-level model.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from archgym.cost_models.energy import DEFAULT_TABLE, TechTable
from archgym.cost_models.sparse_costs import DEFAULT_SPARSE_COSTS, SparseCosts
from archgym.simulators.sparse.engine import (
    TIMING_KEYS,
    SparseConfig,
    SparseLayer,
    analyze_sparse,
    as_sparse_layers,
    chosen_patterns,
    port_scale,
    run_table,
)
from archgym.simulators.systolic import CycleResult, simulate
from archgym.simulators.systolic.layers import Layer, layer_table

__all__ = ["simulate_sparse"]


def simulate_sparse(
    config: SparseConfig,
    layers: SparseLayer | Layer | Sequence[SparseLayer | Layer],
    *,
    table: TechTable = DEFAULT_TABLE,
    costs: SparseCosts = DEFAULT_SPARSE_COSTS,
) -> CycleResult:
    """Per-layer metrics (the keys of ``analyze_sparse``) with fold-level stalls, and traces.

    Each layer runs in the mode ``config.mode_policy`` picks (``table``, ``costs``: the energy
    prices of the ``energy`` and ``edp`` policies, as in ``analyze_sparse``)."""
    sparse_layers = as_sparse_layers(layers)
    arr = config.array
    plans = chosen_patterns(config, sparse_layers, table=table, costs=costs)
    metrics = analyze_sparse(config, sparse_layers, plans)
    dense = layer_table([sl.layer for sl in sparse_layers])
    scale = port_scale(config, dense, plans)
    timed = simulate(arr, run_table(config, sparse_layers, plans), operand_scale=scale)
    out = {key: np.array(value, copy=True) for key, value in metrics.items()}
    for key in TIMING_KEYS:
        out[key] = timed.metrics[key]
    out["effective_utilisation"] = out["useful_macs"] / (out["cycles"] * arr.pes)
    return CycleResult(metrics=out, traces=timed.traces)
