"""Energy and area of a systolic-array design running a workload.

Energy (pJ) is a sum of per-access energies from a :class:`archgym.cost_models.energy.TechTable`
(default: Horowitz 45 nm, sources in ``cost_models/energy.py``) times the access counts the
analytical or cycle-level model reports:

- MACs: ``macs * mac_pj(precision)``;
- PE registers: each MAC moves two operands and one partial sum through pipeline registers,
  ``3 * word_bytes`` bytes per MAC (the Eyeriss accounting: a register access costs about a MAC);
- SRAM: every array read/write plus every DRAM fill into (or drain out of) a scratchpad, at the
  per-byte energy of that scratchpad's size;
- DRAM: every word moved, at ``dram_energy_pj_per_byte``;
- static: ``leakage_fraction`` of the dynamic total.

Area (mm^2): ``rows * cols * pe_area(precision)`` plus the three scratchpads.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from archgym.cost_models.energy import DEFAULT_TABLE, TechTable
from archgym.simulators.systolic.config import ArrayConfig

__all__ = ["area_mm2", "array_area_mm2", "energy_breakdown_pj", "energy_columns_pj", "energy_pj"]

_REGISTER_BYTES_PER_MAC = 3


def energy_breakdown_pj(
    config: ArrayConfig,
    metrics: Mapping[str, np.ndarray],
    table: TechTable = DEFAULT_TABLE,
) -> dict[str, np.ndarray]:
    """Energy per component (pJ), each with the shape of the metrics (per layer).

    Keys: ``mac``, ``register``, ``ifmap_sram``, ``filter_sram``, ``ofmap_sram``, ``dram``,
    ``static`` and ``total``.
    """
    ops = ("ifmap", "filter", "ofmap")
    sram_kib = {op: getattr(config, f"{op}_sram_kib") for op in ops}
    return energy_columns_pj(config.word_bytes, sram_kib, config.precision, metrics, table)


def energy_columns_pj(
    word_bytes: int | np.ndarray,
    sram_kib: Mapping[str, float | np.ndarray],
    precision: str,
    metrics: Mapping[str, np.ndarray],
    table: TechTable = DEFAULT_TABLE,
) -> dict[str, np.ndarray]:
    """:func:`energy_breakdown_pj` on columns: ``word_bytes`` and the ``sram_kib`` of each
    operand (``"ifmap"``, ``"filter"``, ``"ofmap"``, KiB) broadcast against the metrics, so one
    call prices many designs (pJ)."""
    wb = np.asarray(word_bytes, dtype=float)
    macs = np.asarray(metrics["macs"], dtype=float)
    # One vectorised lookup for the three scratchpads (each call has fixed NumPy overhead).
    ops = ("ifmap", "filter", "ofmap")
    stacked = np.stack([np.asarray(sram_kib[op], dtype=float) for op in ops])
    per_byte = np.asarray(table.sram_pj_per_byte(stacked))
    sram = dict(zip(ops, per_byte, strict=True))
    out = {
        "mac": macs * table.mac_pj(precision),
        "register": macs * _REGISTER_BYTES_PER_MAC * wb * table.register_energy_pj_per_byte,
        "ifmap_sram": (metrics["ifmap_sram_reads"] + metrics["ifmap_dram_reads"])
        * (wb * sram["ifmap"]),
        "filter_sram": (metrics["filter_sram_reads"] + metrics["filter_dram_reads"])
        * (wb * sram["filter"]),
        "ofmap_sram": (
            metrics["ofmap_sram_writes"]
            + metrics["ofmap_sram_reads"]
            + metrics["ofmap_dram_writes"]
            + metrics["ofmap_dram_reads"]
        )
        * (wb * sram["ofmap"]),
        "dram": np.asarray(metrics["dram_words"], dtype=float) * wb * table.dram_energy_pj_per_byte,
    }
    dynamic = sum(out.values())
    out["static"] = dynamic * table.leakage_fraction
    out["total"] = dynamic + out["static"]
    return {key: np.asarray(value, dtype=float) for key, value in out.items()}


def energy_pj(
    config: ArrayConfig, metrics: Mapping[str, np.ndarray], table: TechTable = DEFAULT_TABLE
) -> np.ndarray:
    """Total energy per layer (pJ)."""
    return energy_breakdown_pj(config, metrics, table)["total"]


def array_area_mm2(pes, sram_kib, precision: str, table: TechTable = DEFAULT_TABLE):
    """Silicon area (mm^2) of ``pes`` PEs of ``precision`` and ``sram_kib`` KiB of scratchpad,
    on scalars or columns."""
    return pes * table.pe_area(precision) + table.sram_area(sram_kib)


def area_mm2(config: ArrayConfig, table: TechTable = DEFAULT_TABLE) -> float:
    """Silicon area of the PE array and the three scratchpads (mm^2)."""
    sram_kib = config.ifmap_sram_kib + config.filter_sram_kib + config.ofmap_sram_kib
    return float(array_area_mm2(config.pes, sram_kib, config.precision, table))
