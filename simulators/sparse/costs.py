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
from archgym.simulators.systolic.energy import array_area_mm2
from archgym.simulators.systolic.energy import energy_columns_pj as systolic_energy_columns_pj

__all__ = [
    "area_breakdown_mm2",
    "area_columns_mm2",
    "area_mm2",
    "energy_breakdown_pj",
    "energy_columns_pj",
    "energy_pj",
]


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
    sram_kib = {op: getattr(arr, f"{op}_sram_kib") for op in ("ifmap", "filter", "ofmap")}
    meta_kib = config.metadata_sram_kib or arr.filter_sram_kib  # none: the filter scratchpad
    return energy_columns_pj(
        arr.word_bytes, sram_kib, meta_kib, arr.precision, metrics, table, costs
    )


def energy_columns_pj(
    word_bytes: int | np.ndarray,
    sram_kib: dict[str, float | np.ndarray],
    meta_kib: float | np.ndarray,
    precision: str,
    metrics: dict[str, np.ndarray],
    table: TechTable = DEFAULT_TABLE,
    costs: SparseCosts = DEFAULT_SPARSE_COSTS,
) -> dict[str, np.ndarray]:
    """:func:`energy_breakdown_pj` on columns (pJ): ``word_bytes``, the systolic scratchpads'
    ``sram_kib`` and the scratchpad metadata is read from (``meta_kib``, KiB) broadcast
    against the metrics, so one call prices many configs of one precision."""
    base = systolic_energy_columns_pj(word_bytes, sram_kib, precision, metrics, table)
    word_bits = 8 * np.asarray(word_bytes)
    extra = {
        "metadata_sram": (metrics["metadata_sram_reads"] + metrics["metadata_dram_reads"])
        * word_bytes
        * table.sram_pj_per_byte(meta_kib),
        "select": metrics["select_ops"] * _select_pj(costs, metrics["select_inputs"], word_bits),
        "gather": metrics["gather_words"] * _select_pj(costs, metrics["gather_inputs"], word_bits),
    }
    out = {k: v for k, v in base.items() if k not in ("static", "total")}
    out.update({k: np.asarray(v, dtype=float) for k, v in extra.items()})
    dynamic = sum(out.values())
    out["static"] = dynamic * table.leakage_fraction
    out["total"] = dynamic + out["static"]
    return out


def _select_pj(costs: SparseCosts, inputs: np.ndarray, word_bits: np.ndarray) -> np.ndarray:
    """``costs.select_pj(inputs, word_bits)`` elementwise (pJ), one call per distinct pair."""
    m, bits = np.broadcast_arrays(np.asarray(inputs, dtype=np.int64), word_bits)
    span = int(bits.max()) + 1
    distinct, inverse = np.unique(m * span + bits, return_inverse=True)
    values = [costs.select_pj(int(c // span), int(c % span)) for c in distinct]
    return np.asarray(values, dtype=float)[inverse].reshape(m.shape)


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
    srams = arr.ifmap_sram_kib + arr.filter_sram_kib + arr.ofmap_sram_kib
    out = area_columns_mm2(
        config, arr.rows, arr.cols, srams, config.metadata_sram_kib, table, costs
    )
    return {key: float(value) for key, value in out.items()}


def area_columns_mm2(
    config: SparseConfig,
    rows: int | np.ndarray,
    cols: int | np.ndarray,
    sram_kib: float | np.ndarray,
    metadata_sram_kib: float | np.ndarray,
    table: TechTable = DEFAULT_TABLE,
    costs: SparseCosts = DEFAULT_SPARSE_COSTS,
) -> dict[str, float | np.ndarray]:
    """:func:`area_breakdown_mm2` of configs that share ``config``'s patterns, precision and
    word size, on columns: array ``rows`` and ``cols``, the three systolic scratchpads' total
    ``sram_kib`` and ``metadata_sram_kib`` (KiB), broadcast together (mm^2)."""
    arr = config.array
    bits = 8 * arr.word_bytes
    sel = config.select_inputs
    pes = rows * cols
    out = {
        "systolic": array_area_mm2(pes, sram_kib, arr.precision, table),
        "select": 0.0,
        "metadata": 0.0,
        "gather": 0.0,
    }
    if config.patterns:
        out["select"] = pes * (costs.select_mm2(sel, bits) + costs.register_mm2((sel - 1) * bits))
        index_bits = math.ceil(math.log2(sel)) if sel > 1 else 0
        out["metadata"] = pes * costs.register_mm2(index_bits)
    meta = np.asarray(metadata_sram_kib, dtype=float)
    out["metadata"] = np.where(meta > 0, out["metadata"] + table.sram_area(meta), out["metadata"])
    venom = config.venom_patterns
    if venom:
        m_max = max(p.m for p in venom)
        lanes = rows * -(-np.asarray(cols) // min(p.v for p in venom))
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
