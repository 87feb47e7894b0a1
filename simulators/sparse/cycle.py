"""Fold-level timing of the sparse engine through the systolic fold-level model.

Every layer runs the systolic array's fold schedule (:mod:`archgym.simulators.systolic.cycle`) on the
K its execution pattern leaves (compressed for os/ws), with the sparse engine's per-operand DRAM
totals (:func:`~archgym.simulators.sparse.engine.analyze_sparse`: dense activations or gathered ones,
compressed weights plus metadata on the filter port) spread over the folds. In CALC mode (no
bandwidth) the result equals the analytical model; with every layer dense it equals the
systolic fold-level model.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from archgym.simulators.sparse.engine import (
    SparseConfig,
    SparseLayer,
    analyze_sparse,
    as_sparse_layers,
    execution_patterns,
    run_k,
)
from archgym.simulators.systolic.cycle import CycleResult, _fold_weights, _layer_timeline
from archgym.simulators.systolic.layers import Layer, layer_table

__all__ = ["simulate_sparse"]


def simulate_sparse(
    config: SparseConfig, layers: SparseLayer | Layer | Sequence[SparseLayer | Layer]
) -> CycleResult:
    """Per-layer metrics (the keys of ``analyze_sparse``) with fold-level stalls, and traces."""
    sparse_layers = as_sparse_layers(layers)
    plans = execution_patterns(config, sparse_layers)
    arr = config.array
    table = layer_table([sl.layer for sl in sparse_layers])
    metrics = {
        key: np.array(value, copy=True)
        for key, value in analyze_sparse(config, sparse_layers).items()
    }
    k_run = run_k(arr, plans, table.K)
    compat = 1 if arr.scalesim_compat else 0
    traces = []
    for i in range(len(plans)):
        groups = int(table.groups[i])
        unique = table.ifmap_unique_padded[i] if arr.scalesim_compat else table.ifmap_unique[i]
        weights, half = _fold_weights(
            arr, int(table.M[i]), int(table.N[i]), int(k_run[i]), int(unique)
        )
        totals = {
            "ifmap_dram_reads": float(metrics["ifmap_dram_reads"][i]) / groups,
            "filter_dram_reads": float(
                metrics["filter_dram_reads"][i] + metrics["metadata_dram_reads"][i]
            )
            / groups,
            "ofmap_dram_writes": float(metrics["ofmap_dram_writes"][i]) / groups,
            "ofmap_dram_reads": float(metrics["ofmap_dram_reads"][i]) / groups,
        }
        folds = int(metrics["folds"][i]) // groups
        compute_group = int(metrics["compute_cycles"][i]) // groups
        per_fold = (compute_group + compat) // folds
        stall, fill, drain, trace = _layer_timeline(arr, per_fold, weights, totals, half, groups)
        traces.append(trace)
        cycles = compute_group + stall
        metrics["stall_cycles"][i] = stall * groups
        metrics["cycles"][i] = cycles * groups
        metrics["fill_cycles"][i] = fill * groups
        metrics["drain_cycles"][i] = drain * groups
        metrics["total_cycles"][i] = (fill + cycles + drain) * groups
    pes = arr.pes
    metrics["utilisation"] = metrics["macs"] / (metrics["cycles"] * pes)
    metrics["effective_utilisation"] = metrics["useful_macs"] / (metrics["cycles"] * pes)
    return CycleResult(metrics=metrics, traces=tuple(traces))
