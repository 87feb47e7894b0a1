"""Fold-level timing model: steps the fold schedule with double-buffered SRAMs and DRAM bandwidth.

Every fold of a layer (same order as SCALE-Sim: column folds outermost) gets its compute time, the
DRAM words each operand needs before it can start, and the outputs it leaves behind. The
analytical model's per-operand DRAM totals are spread over the folds where the data is first
needed (an operand that fits its scratchpad is fetched once; one that does not, every pass), so
the two models always agree on traffic. Time then follows the double buffer, vectorised over the
folds with NumPy (no Python loop per fold or per cycle):

- fill: before the first fold each read port loads, at its bandwidth, the folds' data that fits
  in the working half of its scratchpad;
- later folds' data is prefetched into the other half during the previous fold; the array stalls
  when that fetch takes longer than the fold (the slower of the two read ports decides);
- outputs drain to DRAM behind the compute; the backlog follows a Lindley recursion
  ``B_f = max(0, B_{f-1} + written_f - wbw * time_f)`` and the array stalls while it exceeds the
  ofmap scratchpad; what is left drains after the last fold.

In CALC mode (no bandwidth set) there are no stalls and the result equals the analytical model.
The per-fold arrays form a bandwidth-over-time trace (:class:`FoldTrace`) users can plot.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from archgym.simulators.systolic.analytical import (
    analyze,
    analyze_batch,
    configs_from_designs,
    design_columns,
    designs_from_configs,
    split_by_dataflow,
)
from archgym.simulators.systolic.closed_form import Design
from archgym.simulators.systolic.config import ArrayConfig
from archgym.simulators.systolic.folds import fold_params, fold_times, fold_trace
from archgym.simulators.systolic.layers import Layer, LayerTable, layer_table
from archgym.simulators.systolic.timing import check_operand_scale

__all__ = ["CycleResult", "FoldTrace", "simulate", "simulate_batch"]


@dataclass(frozen=True)
class FoldTrace:
    """Per-fold timeline of one layer (all groups, one after the other).

    Attributes:
        start_cycle: Cycle at which each fold starts computing (after its stall).
        compute_cycles: Compute cycles of each fold.
        stall_cycles: Cycles the array waited before each fold.
        ifmap_dram_reads, filter_dram_reads: Words fetched for each fold (the fill folds' words
            are fetched before cycle 0).
        ofmap_dram_writes, ofmap_dram_reads: Output words written / partial sums read per fold.
    """

    start_cycle: np.ndarray
    compute_cycles: np.ndarray
    stall_cycles: np.ndarray
    ifmap_dram_reads: np.ndarray
    filter_dram_reads: np.ndarray
    ofmap_dram_writes: np.ndarray
    ofmap_dram_reads: np.ndarray

    def bandwidth(self, word_bytes: int = 1) -> dict[str, np.ndarray]:
        """DRAM bandwidth per fold in bytes/cycle, keyed by operand, plus ``"cycle"``."""
        span = np.maximum(self.compute_cycles + self.stall_cycles, 1)
        return {
            "cycle": self.start_cycle,
            "ifmap": self.ifmap_dram_reads * word_bytes / span,
            "filter": self.filter_dram_reads * word_bytes / span,
            "ofmap": (self.ofmap_dram_writes + self.ofmap_dram_reads) * word_bytes / span,
        }


@dataclass(frozen=True)
class CycleResult:
    """Per-layer metrics (same keys and shapes as :func:`~archgym.simulators.systolic.analytical.analyze`)
    and one :class:`FoldTrace` per layer."""

    metrics: dict[str, np.ndarray]
    traces: tuple[FoldTrace, ...]


def _spread(total: float, weights: np.ndarray) -> np.ndarray:
    weight_sum = weights.sum()
    return total * weights / weight_sum if weight_sum > 0 else np.zeros_like(weights, dtype=float)


def _fold_weights(config: ArrayConfig, m: int, n: int, k: int, unique_if: int):
    """Relative per-fold demand of each operand (fold order: column folds outermost)."""
    r, c, df = config.rows, config.cols, config.dataflow
    sr, sc = (m, n) if df == "os" else (k, n) if df == "ws" else (k, m)
    fr, fc = -(-sr // r), -(-sc // c)
    used_r = np.minimum(r, sr - r * np.arange(fr))
    used_c = np.minimum(c, sc - c * np.arange(fc))
    first_pass = np.zeros((fc, fr), dtype=bool)
    first_pass[0, :] = True
    first_row = np.zeros((fc, fr), dtype=bool)
    first_row[:, 0] = True
    last_row = np.zeros((fc, fr), dtype=bool)
    last_row[:, -1] = True
    ones = np.ones((fc, fr))
    tile = used_c[:, None] * used_r[None, :]
    half = {op: config.sram_words(op) // 2 for op in ("ifmap", "filter", "ofmap")}
    if df == "os":
        w_if = used_r[None, :] * (first_pass if unique_if <= half["ifmap"] else ones)
        w_f = used_c[:, None] * (first_row if k * min(c, n) <= half["filter"] else ones)
        w_ow = tile
        w_or = np.zeros((fc, fr))
    else:
        stream = m if df == "ws" else n
        if df == "ws":
            w_if = used_r[None, :] * (first_pass if unique_if <= half["ifmap"] else ones)
            w_f = tile
        else:
            w_if = tile
            w_f = used_r[None, :] * (first_pass if k * n <= half["filter"] else ones)
        stays = stream * min(c, sc) <= half["ofmap"] and not config.scalesim_compat
        w_ow = used_c[:, None] * (last_row if stays else ones)
        w_or = np.zeros((fc, fr)) if stays else used_c[:, None] * ~first_row
    return tuple(np.ravel(w * ones) for w in (w_if, w_f, w_ow, w_or)), half


def _layer_timeline(config, per_fold, weights, totals, half, groups):
    w_if, w_f, w_ow, w_or = weights
    folds = w_if.size
    if_words = _spread(totals["ifmap_dram_reads"], w_if)
    f_words = _spread(totals["filter_dram_reads"], w_f)
    ow_words = _spread(totals["ofmap_dram_writes"], w_ow)
    or_words = _spread(totals["ofmap_dram_reads"], w_or)
    compute = np.full(folds, per_fold, dtype=np.int64)
    if config.scalesim_compat:
        compute[-1] -= 1
    stall = np.zeros(folds, dtype=np.int64)
    fill = drain = 0
    if config.user_bandwidth:
        rbw, wbw = config.read_bw_words, config.write_bw_words
        # Folds whose data fits in the working half are loaded before the first fold.
        pre_if = np.cumsum(if_words) <= max(half["ifmap"], if_words[0])
        pre_f = np.cumsum(f_words) <= max(half["filter"], f_words[0])
        fill = int(np.ceil(max(if_words[pre_if].sum(), f_words[pre_f].sum()) / rbw))
        fetch = np.maximum(np.where(pre_if, 0, if_words), np.where(pre_f, 0, f_words)) / rbw
        # The fetch for fold f runs during fold f - 1.
        stall[1:] = np.ceil(np.maximum(fetch[1:] - compute[:-1], 0)).astype(np.int64)
        span = compute + stall
        # Output backlog (Lindley recursion through cumulative sums); stalls when it overflows.
        net = np.cumsum(ow_words + or_words - wbw * span)
        backlog = net - np.minimum.accumulate(np.minimum(net, 0))
        overflow = np.maximum(backlog - 2 * half["ofmap"], 0)
        stall = stall + np.ceil(np.diff(overflow, prepend=0).clip(min=0) / wbw).astype(np.int64)
        drain = int(np.ceil(min(backlog[-1], 2 * half["ofmap"]) / wbw))
    span = compute + stall
    start = np.cumsum(span) - compute
    trace = FoldTrace(
        start_cycle=fill + start,
        compute_cycles=compute,
        stall_cycles=stall,
        ifmap_dram_reads=if_words,
        filter_dram_reads=f_words,
        ofmap_dram_writes=ow_words,
        ofmap_dram_reads=or_words,
    )
    if groups > 1:  # identical groups, one after the other
        period = fill + int(span.sum()) + drain
        offsets = np.repeat(np.arange(groups) * period, folds)
        trace = FoldTrace(
            start_cycle=np.tile(trace.start_cycle, groups) + offsets,
            **{
                name: np.tile(getattr(trace, name), groups)
                for name in (
                    "compute_cycles",
                    "stall_cycles",
                    "ifmap_dram_reads",
                    "filter_dram_reads",
                    "ofmap_dram_writes",
                    "ofmap_dram_reads",
                )
            },
        )
    return int(stall.sum()), fill, drain, trace


def simulate(
    config: ArrayConfig,
    layers: Layer | Sequence[Layer] | LayerTable,
    *,
    operand_scale: Mapping[str, np.ndarray | float] | None = None,
) -> CycleResult:
    """Run the fold-level model on a workload; see the module docstring. ``operand_scale``
    multiplies the words each read port moves (:mod:`archgym.simulators.systolic.timing`)."""
    if not isinstance(layers, (list, tuple, LayerTable)):
        layers = [layers]
    if config.scalesim_compat:
        return _simulate_compat(config, layers, operand_scale)
    metrics = {
        key: np.array(value, copy=True)
        for key, value in _analyze(config, layers, operand_scale).items()
    }
    table = _as_table(layers)
    scale = None if operand_scale is None else check_operand_scale(operand_scale, (1, len(table)))
    ((_, design),) = split_by_dataflow(design_columns(designs_from_configs([config])))
    params = _params(design, table, scale)
    if config.user_bandwidth:
        timing = tuple(v[0] for v in fold_times(params, design.rbw, design.wbw))
        _set_timing(metrics, timing, table.groups, config.pes)
    # Python numbers per layer: the fold-by-fold trace's scalar arithmetic at the lowest cost.
    columns = {key: v if key == "df" else v[0].tolist() for key, v in params.items()}
    traces = []
    for i in range(len(table)):
        p = {key: v if key == "df" else v[i] for key, v in columns.items()}
        traces.append(_trace(config, p, int(table.groups[i])))
    return CycleResult(metrics=metrics, traces=tuple(traces))


def _as_table(layers: Sequence[Layer] | LayerTable) -> LayerTable:
    return layers if isinstance(layers, LayerTable) else layer_table(layers)


def _analyze(config: ArrayConfig, layers: Sequence[Layer], operand_scale) -> dict:
    if operand_scale is None:
        return analyze(config, layers)
    compat = config.scalesim_compat
    batch = analyze_batch(
        designs_from_configs([config]), layers, scalesim_compat=compat, operand_scale=operand_scale
    )
    return {key: value[0] for key, value in batch.items()}


def _params(design: Design, table, scale=None) -> dict[str, np.ndarray]:
    """Fold parameters of one dataflow's designs (``design.df`` an int) on every layer;
    ``scale``: None or the (ifmap, filter) factors of those designs, shape (D, L)."""
    row = {key: getattr(table, key)[None, :] for key in ("M", "N", "K", "band_words")}
    if scale is not None:  # words per element: the scratchpads hold fewer elements
        design = design._replace(
            words_if=design.words_if / scale[0], words_f=design.words_f / scale[1]
        )
    params = fold_params(
        design, row["M"], row["N"], row["K"], table.ifmap_unique[None, :], row["band_words"]
    )
    if scale is not None:
        params["if_scale"], params["f_scale"] = scale
    shape = np.broadcast_shapes(np.shape(design.rows), row["M"].shape)
    return {key: v if key == "df" else np.broadcast_to(v, shape) for key, v in params.items()}


def _timing(designs: Mapping[str, np.ndarray], table, scale=None) -> tuple[np.ndarray, ...]:
    """(stall, fill, drain) per group, shape (D, L), of the default fold model (``scale``:
    None or the (ifmap, filter) factors, shape (D, L))."""
    design = design_columns(designs)
    shape = (design.rows.shape[0], len(table))
    out = tuple(np.zeros(shape, dtype=np.int64) for _ in range(3))
    codes = design.df[:, 0]
    for code, sub in split_by_dataflow(design):
        rows = codes == code
        sub_scale = None if scale is None else tuple(s[rows] for s in scale)
        timing = fold_times(_params(sub, table, sub_scale), sub.rbw, sub.wbw)
        for full, part in zip(out, timing, strict=True):
            full[rows] = part
    return out  # (one boolean scatter per output: three, not one per metric)


def _set_timing(metrics, timing, groups, pes) -> None:
    stall, fill, drain = (np.asarray(v) * groups for v in timing)
    metrics["stall_cycles"] = stall
    metrics["cycles"] = metrics["compute_cycles"] + stall
    metrics["fill_cycles"] = fill
    metrics["drain_cycles"] = drain
    metrics["total_cycles"] = fill + metrics["cycles"] + drain
    with np.errstate(divide="ignore"):
        metrics["utilisation"] = metrics["macs"] / (metrics["cycles"] * pes)


def _trace(config: ArrayConfig, p: dict, groups: int) -> FoldTrace:
    """The :class:`FoldTrace` of one layer (default mode)."""
    user = config.user_bandwidth
    rbw = config.read_bw_words if user else np.inf
    wbw = config.write_bw_words if user else np.inf
    steps = fold_trace(p, rbw, wbw)
    compute = np.full(steps["stall"].size, int(p["per_fold"]), dtype=np.int64)
    fill = float(np.ceil(steps["fill"])) if user else 0.0
    start = fill + np.cumsum(compute + steps["stall"]) - compute
    trace = FoldTrace(
        start_cycle=start,
        compute_cycles=compute,
        stall_cycles=steps["stall"],
        ifmap_dram_reads=steps["ifmap"],
        filter_dram_reads=steps["filter"],
        ofmap_dram_writes=steps["writes"],
        ofmap_dram_reads=steps["reads"],
    )
    return _repeat_groups(trace, groups, period=float(start[-1] + compute[-1] - start[0] + fill))


def _repeat_groups(trace: FoldTrace, groups: int, period: float) -> FoldTrace:
    if groups == 1:
        return trace
    folds = trace.start_cycle.size
    offsets = np.repeat(np.arange(groups) * period, folds)
    return FoldTrace(
        start_cycle=np.tile(trace.start_cycle, groups) + offsets,
        **{
            name: np.tile(getattr(trace, name), groups)
            for name in (
                "compute_cycles",
                "stall_cycles",
                "ifmap_dram_reads",
                "filter_dram_reads",
                "ofmap_dram_writes",
                "ofmap_dram_reads",
            )
        },
    )


def _simulate_compat(
    config: ArrayConfig, layers: Sequence[Layer], operand_scale=None
) -> CycleResult:
    """The fold model of SCALE-Sim mode (each port fills the working half of its scratchpad)."""
    table = _as_table(layers)
    metrics = {
        key: np.array(value, copy=True)
        for key, value in _analyze(config, layers, operand_scale).items()
    }
    traces = []
    for i in range(len(table)):
        groups = int(table.groups[i])
        m, n, k = int(table.M_scalesim[i]), int(table.N[i]), int(table.K[i])
        unique = table.ifmap_unique_padded[i]
        weights, half = _fold_weights(config, m, n, k, int(unique))
        totals = {
            key: float(metrics[key][i]) / groups
            for key in ("ifmap_dram_reads", "filter_dram_reads", "ofmap_dram_writes")
        }
        totals["ofmap_dram_reads"] = float(metrics["ofmap_dram_reads"][i]) / groups
        folds = int(metrics["folds"][i]) // groups
        compute_group = int(metrics["compute_cycles"][i]) // groups
        per_fold = (compute_group + 1) // folds
        stall, fill, drain, trace = _layer_timeline(config, per_fold, weights, totals, half, groups)
        traces.append(trace)
        cycles = compute_group + stall
        metrics["stall_cycles"][i] = stall * groups
        metrics["cycles"][i] = cycles * groups
        metrics["fill_cycles"][i] = fill * groups
        metrics["drain_cycles"][i] = drain * groups
        metrics["total_cycles"][i] = (fill + cycles + drain) * groups
        with np.errstate(divide="ignore"):
            metrics["utilisation"][i] = metrics["macs"][i] / (metrics["cycles"][i] * config.pes)
    return CycleResult(metrics=metrics, traces=tuple(traces))


def simulate_batch(
    designs: Mapping[str, np.ndarray | Sequence],
    layers: Layer | Sequence[Layer] | LayerTable,
    *,
    scalesim_compat: bool = False,
    operand_scale: Mapping[str, np.ndarray | float] | None = None,
) -> dict[str, np.ndarray]:
    """The fold-level model's per-layer metrics for D designs; outputs of shape ``(D, L)``.

    ``designs`` are columns as :func:`~archgym.simulators.systolic.analytical.analyze_batch`
    takes them (and ``operand_scale`` as it does); row ``d`` equals ``simulate`` on design
    ``d``.
    """
    if not isinstance(layers, (list, tuple, LayerTable)):
        layers = [layers]
    table = _as_table(layers)
    design = design_columns(designs)
    shape = (design.rows.shape[0], len(table))
    scale = None if operand_scale is None else check_operand_scale(operand_scale, shape)
    if scalesim_compat:
        configs = configs_from_designs(designs, scalesim_compat=True)
        per_design = (
            [None] * len(configs)
            if scale is None
            else [{"ifmap": s_if, "filter": s_f} for s_if, s_f in zip(*scale, strict=True)]
        )
        rows = [
            simulate(config, layers, operand_scale=sc).metrics
            for config, sc in zip(configs, per_design, strict=True)
        ]
        return {key: np.stack([r[key] for r in rows]) for key in rows[0]}
    metrics = dict(analyze_batch(designs, table, operand_scale=operand_scale))
    timing = _timing(designs, table, scale)
    _set_timing(metrics, timing, table.groups[None, :], design.rows * design.cols)
    return metrics
