"""Energy and area of the structured-sparse systolic engine
(:mod:`archgym.simulators.sparse.engine`): the systolic components plus metadata storage, PE
select muxes and V:N:M gather lanes (``archgym.cost_models.sparse_costs``)."""

from __future__ import annotations

import math

import numpy as np
from archgym.cost_models.energy import DEFAULT_TABLE, TechTable
from archgym.cost_models.sparse_costs import DEFAULT_SPARSE_COSTS, SparseCosts
from archgym.simulators.sparse.engine import SparseConfig
from archgym.simulators.sparse.patterns import VENOM_SELECT
from archgym.simulators.systolic.energy import area_mm2 as systolic_area_mm2
from archgym.simulators.systolic.energy import energy_breakdown_pj as systolic_energy_breakdown_pj

__all__ = ["area_breakdown_mm2", "area_mm2", "energy_breakdown_pj", "energy_pj"]


def energy_breakdown_pj(
    config: SparseConfig,
    metrics: dict[str, np.ndarray],
    table: TechTable = DEFAULT_TABLE,
    costs: SparseCosts = DEFAULT_SPARSE_COSTS,
) -> dict[str, np.ndarray]:
    """Energy per component (pJ, per layer): the systolic components (MACs, registers, the three
    scratchpads, DRAM including metadata words) plus ``metadata_sram``, ``select`` (PE muxes)
    and ``gather`` (VENOM network), then ``static`` and ``total``."""
    arr = config.array
    base = systolic_energy_breakdown_pj(arr, metrics, table)
    word_bits = 8 * arr.word_bytes
    mux = np.vectorize(lambda m: costs.select_pj(int(m), word_bits), otypes=[float])
    meta_kib = config.metadata_sram_kib or arr.filter_sram_kib  # none: the filter scratchpad
    extra = {
        "metadata_sram": (metrics["metadata_sram_reads"] + metrics["metadata_dram_reads"])
        * arr.word_bytes
        * table.sram_pj_per_byte(meta_kib),
        "select": metrics["select_ops"] * mux(metrics["select_inputs"]),
        "gather": metrics["gather_words"] * mux(metrics["gather_inputs"]),
    }
    out = {k: v for k, v in base.items() if k not in ("static", "total")}
    out.update({k: np.asarray(v, dtype=float) for k, v in extra.items()})
    dynamic = sum(out.values())
    out["static"] = dynamic * table.leakage_fraction
    out["total"] = dynamic + out["static"]
    return out


def energy_pj(
    config: SparseConfig,
    metrics: dict[str, np.ndarray],
    table: TechTable = DEFAULT_TABLE,
    costs: SparseCosts = DEFAULT_SPARSE_COSTS,
) -> np.ndarray:
    """Total energy per layer (pJ)."""
    return energy_breakdown_pj(config, metrics, table, costs)["total"]


def area_breakdown_mm2(
    config: SparseConfig,
    table: TechTable = DEFAULT_TABLE,
    costs: SparseCosts = DEFAULT_SPARSE_COSTS,
) -> dict[str, float]:
    """Area (mm^2): ``systolic`` (PEs + scratchpads), ``select`` (a per-PE select mux and the
    registers holding its candidate activations), ``metadata`` (scratchpad and per-PE index
    register), ``gather`` (per array row and V-segment, an M-word window and ``ceil(4 / N)``
    M:1 muxes: the segment consumes ``4 / N`` selected words per cycle),
    ``total``. A dense-only config without a metadata scratchpad adds nothing to the systolic
    area."""
    arr = config.array
    bits = 8 * arr.word_bytes
    sel = config.select_inputs
    out = {"systolic": systolic_area_mm2(arr, table), "select": 0.0, "metadata": 0.0, "gather": 0.0}
    if config.patterns:
        out["select"] = arr.pes * (
            costs.select_mm2(sel, bits) + costs.register_mm2((sel - 1) * bits)
        )
        index_bits = math.ceil(math.log2(sel)) if sel > 1 else 0
        out["metadata"] = arr.pes * costs.register_mm2(index_bits)
    if config.metadata_sram_kib > 0:
        out["metadata"] += float(table.sram_area(config.metadata_sram_kib))
    venom = config.venom_patterns
    if venom:
        m_max = max(p.m for p in venom)
        lanes = arr.rows * math.ceil(arr.cols / min(p.v for p in venom))
        # A segment's PEs take N MACs per group of 4 selected words: 4 / N words per cycle.
        outputs = max(math.ceil(VENOM_SELECT / p.n) for p in venom)
        out["gather"] = lanes * (
            outputs * costs.select_mm2(m_max, bits) + costs.register_mm2(m_max * bits)
        )
    out["total"] = sum(out.values())
    return out


def area_mm2(
    config: SparseConfig,
    table: TechTable = DEFAULT_TABLE,
    costs: SparseCosts = DEFAULT_SPARSE_COSTS,
) -> float:
    """Total area (mm^2)."""
    return area_breakdown_mm2(config, table, costs)["total"]
