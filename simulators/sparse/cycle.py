"""Fold-level timing of the sparse engine through the systolic fold-level model.

Every layer runs the systolic array's fold schedule (:mod:`archgym.simulators.systolic.cycle`) on the
K its execution pattern leaves (compressed for os/ws), with the sparse engine's per-operand DRAM
totals (:func:`~archgym.simulators.sparse.engine.analyze_sparse`: dense activations or gathered ones,
compressed weights plus metadata on the filter port) spread over the folds. In CALC mode (no
bandwidth) the result equals the analytical model; with every layer dense it equals the
systolic fold-level model.

:func:`fold_timing` is the systolic ``simulate`` loop with the analytical totals as an input
(``simulate(config, layers) == fold_timing(config, layer_table(layers), analyze(config,
layers))``, tested). It belongs in :mod:`archgym.simulators.systolic.cycle` as a public function
that ``simulate`` calls; until the systolic module exposes it, it is the one place here that
uses that module's private fold helpers.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import numpy as np
from archgym.simulators.sparse.engine import (
    SparseConfig,
    SparseLayer,
    analyze_sparse,
    as_sparse_layers,
    execution_patterns,
    run_k,
)
from archgym.simulators.systolic import ArrayConfig, CycleResult
from archgym.simulators.systolic.cycle import _fold_weights, _layer_timeline
from archgym.simulators.systolic.layers import Layer, LayerTable, layer_table

__all__ = ["fold_timing", "simulate_sparse"]

_TIMING = ("stall_cycles", "cycles", "fill_cycles", "drain_cycles", "total_cycles")


def fold_timing(
    config: ArrayConfig, table: LayerTable, metrics: Mapping[str, np.ndarray]
) -> CycleResult:
    """Fold-level stalls of layers whose analytical metrics (per layer: DRAM totals in words,
    ``folds``, ``compute_cycles``, ``macs``) are given: ``metrics`` with the timing keys
    (cycles) and ``utilisation`` replaced, plus one trace per layer."""
    out = {key: np.array(value, copy=True) for key, value in metrics.items()}
    compat = 1 if config.scalesim_compat else 0
    traces = []
    for i in range(len(table)):
        groups = int(table.groups[i])
        unique = table.ifmap_unique_padded[i] if config.scalesim_compat else table.ifmap_unique[i]
        weights, half = _fold_weights(
            config, int(table.M[i]), int(table.N[i]), int(table.K[i]), int(unique)
        )
        totals = {
            key: float(out[key][i]) / groups
            for key in ("ifmap_dram_reads", "filter_dram_reads", "ofmap_dram_writes")
        }
        totals["ofmap_dram_reads"] = float(out["ofmap_dram_reads"][i]) / groups
        compute_group = int(out["compute_cycles"][i]) // groups
        per_fold = (compute_group + compat) // (int(out["folds"][i]) // groups)
        stall, fill, drain, trace = _layer_timeline(config, per_fold, weights, totals, half, groups)
        traces.append(trace)
        cycles = compute_group + stall
        for key, value in zip(
            _TIMING, (stall, cycles, fill, drain, fill + cycles + drain), strict=True
        ):
            out[key][i] = value * groups
    out["utilisation"] = out["macs"] / (out["cycles"] * config.pes)
    return CycleResult(metrics=out, traces=tuple(traces))


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
    for key in (*_TIMING, "utilisation"):
        out[key] = timed.metrics[key]
    out["effective_utilisation"] = out["useful_macs"] / (out["cycles"] * arr.pes)
    return CycleResult(metrics=out, traces=timed.traces)
