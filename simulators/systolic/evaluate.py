"""Whole-workload evaluation of a systolic array: per-layer model, aggregation, energy, area.

:func:`evaluate` runs one design on a workload (layers, each repeated ``counts[i]`` times) and
returns the totals an environment optimises; :func:`evaluate_batch` does the same for many
designs in one vectorised call (columns in, columns out). Both price energy and area with
:mod:`archgym.simulators.systolic.energy`, so the numbers of the two agree exactly on the same
design (``tests/simulators/systolic/test_evaluate.py``).

>>> from archgym.simulators.systolic import ArrayConfig, GemmLayer, evaluate
>>> m = evaluate(ArrayConfig(rows=8, cols=8), [GemmLayer(64, 64, 64)], counts=[2])
>>> int(m["cycles"])
9984
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from archgym.cost_models.energy import DEFAULT_TABLE, TechTable
from archgym.simulators.systolic.analytical import (
    analyze,
    analyze_blocks,
    designs_from_configs,
    scatter,
)
from archgym.simulators.systolic.config import ArrayConfig
from archgym.simulators.systolic.cycle import simulate_batch
from archgym.simulators.systolic.energy import area_mm2, energy_columns_pj
from archgym.simulators.systolic.layers import ConvLayer, GemmLayer, Layer

__all__ = ["FIDELITIES", "WORKLOAD_METRICS", "evaluate", "evaluate_batch"]

#: Fidelities of :func:`evaluate`: the closed form or the fold-level timing model.
FIDELITIES = ("analytical", "cycle")

#: Outputs of :func:`evaluate` / :func:`evaluate_batch` (totals over the workload): ``cycles``
#: (incl. the first fill and last drain of every layer), ``latency_s``, ``energy_pj``,
#: ``area_mm2``, ``utilisation`` (MACs / (cycles * PEs)), ``dram_bytes``, ``stall_cycles``,
#: ``compute_cycles``, ``macs``.
WORKLOAD_METRICS = (
    "cycles",
    "latency_s",
    "energy_pj",
    "area_mm2",
    "utilisation",
    "dram_bytes",
    "stall_cycles",
    "compute_cycles",
    "macs",
)

# Per-layer counts that are summed over the workload (all linear, so energy can be priced on
# the sums: energy_columns_pj is linear in them).
_SUMMED = (
    "total_cycles",
    "stall_cycles",
    "compute_cycles",
    "macs",
    "dram_words",
    "ifmap_sram_reads",
    "filter_sram_reads",
    "ofmap_sram_writes",
    "ofmap_sram_reads",
    "ifmap_dram_reads",
    "filter_dram_reads",
    "ofmap_dram_writes",
    "ofmap_dram_reads",
)


def _workload(
    layers: Layer | Sequence[Layer], counts: Sequence[int] | np.ndarray | None
) -> tuple[tuple[Layer, ...], np.ndarray]:
    if isinstance(layers, (ConvLayer, GemmLayer)):
        layers = (layers,)
    layers = tuple(layers)
    if counts is None:
        return layers, np.ones(len(layers), dtype=np.int64)
    weights = np.asarray(counts)
    if weights.shape != (len(layers),):
        raise ValueError(
            f"`counts` must hold one repetition count per layer ({len(layers)}), "
            f"but got shape {weights.shape}"
        )
    if weights.dtype.kind not in "iu" or np.any(weights < 0):
        raise ValueError(f"`counts` must be non-negative integers, but got {counts!r}")
    return layers, weights.astype(np.int64)


def _check_fidelity(fidelity: str) -> None:
    if fidelity not in FIDELITIES:
        raise ValueError(f"unknown fidelity {fidelity!r} (valid: {', '.join(FIDELITIES)})")


def _finish(
    totals: Mapping[str, np.ndarray],
    word_bytes: np.ndarray | int,
    sram_kib: Mapping[str, np.ndarray | float],
    pes: np.ndarray | int,
    clock_mhz: float,
    precision: str,
    table: TechTable,
) -> dict[str, np.ndarray]:
    cycles = np.asarray(totals["total_cycles"], dtype=float)
    area = pes * table.pe_area(precision) + table.sram_area(sum(sram_kib.values()))
    with np.errstate(divide="ignore", invalid="ignore"):
        utilisation = np.asarray(totals["macs"], dtype=float) / (cycles * pes)
    return {
        "cycles": cycles,
        "latency_s": cycles / (clock_mhz * 1e6),
        "energy_pj": energy_columns_pj(word_bytes, sram_kib, precision, totals, table)["total"],
        "area_mm2": np.asarray(area, dtype=float),
        "utilisation": utilisation,
        "dram_bytes": np.asarray(totals["dram_words"], dtype=float) * word_bytes,
        "stall_cycles": np.asarray(totals["stall_cycles"], dtype=float),
        "compute_cycles": np.asarray(totals["compute_cycles"], dtype=float),
        "macs": np.asarray(totals["macs"], dtype=float),
    }


def _totals(designs, layers, weights, fidelity, scalesim_compat) -> dict[str, np.ndarray]:
    """Sums over the workload (``_SUMMED``, shape ``(D,)``); the analytical model block by
    block (no ``(D, L)`` per-layer arrays are held: :func:`analyze_blocks`)."""
    if fidelity == "cycle":
        per_layer = simulate_batch(designs, layers, scalesim_compat=scalesim_compat)
        return {key: per_layer[key] @ weights for key in _SUMMED}
    shape, blocks = analyze_blocks(designs, layers, scalesim_compat=scalesim_compat)
    totals: dict[str, np.ndarray] = {}
    for rows, part in blocks:
        for key in _SUMMED:
            scatter(totals, key, rows, part[key] @ weights, shape[:1])
    return totals


def evaluate(
    config: ArrayConfig,
    layers: Layer | Sequence[Layer],
    counts: Sequence[int] | np.ndarray | None = None,
    *,
    fidelity: str = "analytical",
    table: TechTable = DEFAULT_TABLE,
) -> dict[str, float]:
    """Run one design on a whole workload and return :data:`WORKLOAD_METRICS` as floats.

    Args:
        config: The array (its ``clock_mhz`` sets ``latency_s``, its ``precision`` the energy
            and PE area).
        layers: The workload's distinct layers.
        counts: How many times each layer runs (default: once each).
        fidelity: ``"analytical"`` (closed form) or ``"cycle"`` (fold-level timing model).
        table: Technology table for energy (pJ) and area (mm^2).

    Raises:
        ValueError: an unknown fidelity, malformed layers or counts.
    """
    _check_fidelity(fidelity)
    layers, weights = _workload(layers, counts)
    if fidelity == "cycle":  # the closed form over fold classes: no per-fold traces needed
        batch = simulate_batch(
            designs_from_configs([config]), layers, scalesim_compat=config.scalesim_compat
        )
        per_layer = {key: value[0] for key, value in batch.items()}
    else:
        per_layer = analyze(config, layers)
    sums = np.array([per_layer[key] for key in _SUMMED]) @ weights
    totals = dict(zip(_SUMMED, sums, strict=True))
    ops = ("ifmap", "filter", "ofmap")
    out = _finish(
        totals,
        config.word_bytes,
        {op: getattr(config, f"{op}_sram_kib") for op in ops},
        config.pes,
        config.clock_mhz,
        config.precision,
        table,
    )
    out["area_mm2"] = np.asarray(area_mm2(config, table))
    return {key: float(value) for key, value in out.items()}


def evaluate_batch(
    designs: Mapping[str, np.ndarray | Sequence] | Sequence[ArrayConfig],
    layers: Layer | Sequence[Layer],
    counts: Sequence[int] | np.ndarray | None = None,
    *,
    fidelity: str = "analytical",
    precision: str = "int8",
    clock_mhz: float = 1000.0,
    scalesim_compat: bool = False,
    table: TechTable = DEFAULT_TABLE,
) -> dict[str, np.ndarray]:
    """Run D designs on a whole workload at once; every output has shape ``(D,)``.

    Args:
        designs: Columns of length D as :func:`~archgym.simulators.systolic.analyze_batch` takes
            them (``rows``, ``cols``, ``dataflow``, ``ifmap_sram_kib``, ``filter_sram_kib``,
            ``ofmap_sram_kib``; optional ``read_bw_words``, ``write_bw_words`` (NaN = CALC),
            ``word_bytes``), or a sequence of :class:`ArrayConfig` (then ``precision``,
            ``clock_mhz`` and ``scalesim_compat`` come from the first config).
        layers, counts: The workload, as :func:`evaluate`.
        fidelity: ``"analytical"`` or ``"cycle"``.
        precision, clock_mhz, scalesim_compat: Shared by all designs given as columns.
        table: Technology table for energy and area.

    Returns:
        :data:`WORKLOAD_METRICS`, float arrays; row ``d`` equals ``evaluate`` on design ``d``.
    """
    _check_fidelity(fidelity)
    layers, weights = _workload(layers, counts)
    if not isinstance(designs, Mapping):
        configs = list(designs)
        if not configs:
            raise ValueError("`designs` must hold at least one design, but got none")
        precision, clock_mhz = configs[0].precision, configs[0].clock_mhz
        scalesim_compat = configs[0].scalesim_compat
        designs = designs_from_configs(configs)
    totals = _totals(designs, layers, weights, fidelity, scalesim_compat)
    ops = ("ifmap", "filter", "ofmap")
    sram_kib = {op: np.asarray(designs[f"{op}_sram_kib"], dtype=float) for op in ops}
    word_bytes = np.asarray(designs.get("word_bytes", 1), dtype=float)
    pes = np.asarray(designs["rows"], dtype=np.int64) * np.asarray(designs["cols"], dtype=np.int64)
    return _finish(totals, word_bytes, sram_kib, pes, clock_mhz, precision, table)
