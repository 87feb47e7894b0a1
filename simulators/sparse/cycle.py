"""Fold-level timing of the sparse engine through the systolic fold-level model.

Every layer runs the systolic array's fold schedule (:mod:`archgym.simulators.systolic.cycle`) on the
K its execution pattern leaves (compressed for os/ws), with the sparse engine's per-operand DRAM
totals (:func:`~archgym.simulators.sparse.engine.analyze_sparse`: dense activations or gathered ones,
compressed weights plus metadata on the filter port) spread over the folds. In CALC mode (no
bandwidth) the result equals the analytical model; with every layer dense it equals the
systolic fold-level model.

The fold schedule is :func:`~archgym.simulators.sparse.systolic_timing.fold_timing` (the
systolic ``simulate`` loop with the totals as an input).
"""

from __future__ import annotations

import dataclasses
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
from archgym.simulators.sparse.systolic_timing import TIMING_KEYS, fold_timing
from archgym.simulators.systolic import CycleResult
from archgym.simulators.systolic.layers import Layer, layer_table

__all__ = ["simulate_sparse"]


def simulate_sparse(
    config: SparseConfig, layers: SparseLayer | Layer | Sequence[SparseLayer | Layer]
) -> CycleResult:
    """Per-layer metrics (the keys of ``analyze_sparse``) with fold-level stalls, and traces."""
    sparse_layers = as_sparse_layers(layers)
    arr = config.array
    table = layer_table([sl.layer for sl in sparse_layers])
    metrics = analyze_sparse(config, sparse_layers)
    run_table = dataclasses.replace(
        table, K=run_k(arr, execution_patterns(config, sparse_layers), table.K)
    )
    # Metadata shares the filter port: time the fold schedule with the combined words.
    ported = dict(metrics)
    ported["filter_dram_reads"] = metrics["filter_dram_reads"] + metrics["metadata_dram_reads"]
    timed = fold_timing(arr, run_table, ported)
    out = {key: np.array(value, copy=True) for key, value in metrics.items()}
    for key in (*TIMING_KEYS, "utilisation"):
        out[key] = timed.metrics[key]
    out["effective_utilisation"] = out["useful_macs"] / (out["cycles"] * arr.pes)
    return CycleResult(metrics=out, traces=timed.traces)
