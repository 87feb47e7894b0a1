"""The sparse engine's only use of the systolic model's internals: time from given traffic.

The sparse engine changes what crosses each DRAM port (compressed weights plus metadata on the
filter port, gathered activations under V:N:M) but times it with the systolic memory model, so
that a dense layer gets exactly the systolic numbers. The systolic package exposes its models
only as ``analyze``/``simulate`` of whole layers, which compute their own traffic; these two
functions take the traffic as input. They belong in ``archgym.simulators.systolic`` as public
functions (``analyze``/``simulate`` would call them) and are kept here, in one module, until it
has them:

- :func:`port_time`: the analytical (stall, fill, drain) of one group from per-port words
  (``archgym.simulators.systolic.analytical._memory_time``);
- :func:`fold_timing`: the systolic ``simulate`` loop with the analytical metrics as an input
  (``simulate(config, layers) == fold_timing(config, layer_table(layers), analyze(config,
  layers))``, tested), on ``archgym.simulators.systolic.cycle._fold_weights`` and
  ``_layer_timeline``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from archgym.simulators.systolic.analytical import _memory_time
from archgym.simulators.systolic.config import ArrayConfig
from archgym.simulators.systolic.cycle import CycleResult, _fold_weights, _layer_timeline
from archgym.simulators.systolic.layers import LayerTable

__all__ = ["TIMING_KEYS", "fold_timing", "port_time"]


def port_time(
    config: ArrayConfig,
    compute: np.ndarray,
    reads: tuple[np.ndarray, np.ndarray],
    writes: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(stall, fill, drain) cycles of one group per layer from its compute cycles, DRAM words
    read on the (ifmap, filter) ports and written on the ofmap port (the systolic memory model;
    no stalls without a bandwidth)."""
    half = {op: np.asarray(config.sram_words(op) // 2) for op in ("ifmap", "filter", "ofmap")}
    nan = float("nan")
    rbw = np.asarray(nan if config.read_bw_words is None else config.read_bw_words, dtype=float)
    wbw = np.asarray(nan if config.write_bw_words is None else config.write_bw_words, dtype=float)
    return _memory_time(compute, reads, writes, half, rbw, wbw)


#: Timing keys :func:`fold_timing` replaces.
TIMING_KEYS = ("stall_cycles", "cycles", "fill_cycles", "drain_cycles", "total_cycles")


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
            TIMING_KEYS, (stall, cycles, fill, drain, fill + cycles + drain), strict=True
        ):
            out[key][i] = value * groups
    out["utilisation"] = out["macs"] / (out["cycles"] * config.pes)
    return CycleResult(metrics=out, traces=tuple(traces))
