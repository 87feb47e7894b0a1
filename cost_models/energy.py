"""Per-access energy and per-unit area tables for accelerator cost models.

The default table is Horowitz, "Computing's energy problem (and what we can do about it)",
ISSCC 2014, keynote, Fig. 1.1.9 (45 nm, 0.9 V): arithmetic energies and areas, SRAM read energy
for 8 KiB / 32 KiB / 1 MiB arrays (64-bit access) and DRAM energy (1.3-2.6 nJ per 64-bit access;
we take 640 pJ per 32-bit word as in Han et al., "EIE", ISCA 2016, Table I, i.e. 160 pJ/byte).
Register-file energy per access follows Chen et al., "Eyeriss", ISCA 2016, Table IV (a register
access costs about one MAC). SRAM area assumes Intel's 45 nm 6T cell of 0.346 um^2 (Mistry et al.,
IEDM 2007) at 50 % array efficiency.

Users pass their own :class:`TechTable` (e.g. from their own CACTI runs or a newer node) to every
model that takes ``table=``.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
from archgym.simulators.common import unknown_name

__all__ = ["DEFAULT_TABLE", "PRECISIONS", "TechTable", "horowitz_45nm"]

PRECISIONS = ("int8", "int16", "fp16", "bf16", "fp32")


def _check_positive_mapping(name: str, values: dict[str, float]) -> None:
    for key, value in values.items():
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
            raise ValueError(f"`{name}[{key!r}]` must be a positive number, but got {value!r}")


@dataclass(frozen=True)
class TechTable:
    """A technology table: energies in pJ, areas in mm^2.

    Attributes:
        name: Label recorded with results.
        mac_energy_pj: Energy of one multiply-accumulate per operand precision (pJ/MAC).
        pe_area_mm2: Area of one processing element (multiplier, adder, registers) per precision.
        register_energy_pj_per_byte: Energy of one byte read or written in a PE register (pJ).
        sram_points: ``(size_kib, pj_per_byte)`` anchor points of SRAM access energy; other sizes
            are interpolated log-log and extrapolated with the end slopes.
        sram_area_mm2_per_kib: SRAM macro area per KiB (mm^2).
        dram_energy_pj_per_byte: Off-chip DRAM access energy (pJ/byte).
        leakage_fraction: Static energy as a fraction of dynamic energy (0 disables it).
    """

    name: str
    mac_energy_pj: dict[str, float]
    pe_area_mm2: dict[str, float]
    register_energy_pj_per_byte: float
    sram_points: tuple[tuple[float, float], ...]
    sram_area_mm2_per_kib: float
    dram_energy_pj_per_byte: float
    leakage_fraction: float = 0.0
    notes: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        _check_positive_mapping("mac_energy_pj", self.mac_energy_pj)
        _check_positive_mapping("pe_area_mm2", self.pe_area_mm2)
        for attr in (
            "register_energy_pj_per_byte",
            "sram_area_mm2_per_kib",
            "dram_energy_pj_per_byte",
        ):
            value = getattr(self, attr)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"`{attr}` must be a positive number, but got {value!r}")
        if not 0 <= self.leakage_fraction < 1:
            raise ValueError(
                f"`leakage_fraction` must be in [0, 1), but got {self.leakage_fraction!r}"
            )
        sizes = [s for s, _ in self.sram_points]
        if len(sizes) < 2 or any(b <= a for a, b in itertools.pairwise(sizes)) or sizes[0] <= 0:
            raise ValueError(
                "`sram_points` must hold at least two (size_kib, pj_per_byte) pairs with strictly "
                f"increasing positive sizes, but got {self.sram_points!r}"
            )
        _check_positive_mapping("sram_points", {str(s): e for s, e in self.sram_points})

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TechTable:
        """Build a table from a plain mapping (e.g. parsed TOML); unknown keys are an error."""
        known = {f.name for f in fields(cls)}
        for key in data:
            if key not in known:
                raise unknown_name("TechTable field", key, known)
        data = dict(data)
        if "sram_points" in data:
            data["sram_points"] = tuple(tuple(p) for p in data["sram_points"])
        return cls(**data)

    def _precision(self, precision: str, table: dict[str, float]) -> float:
        try:
            return table[precision]
        except KeyError:
            raise unknown_name("precision", precision, table) from None

    def mac_pj(self, precision: str = "int8") -> float:
        """Energy of one MAC at ``precision`` (pJ)."""
        return self._precision(precision, self.mac_energy_pj)

    def pe_area(self, precision: str = "int8") -> float:
        """Area of one PE at ``precision`` (mm^2)."""
        return self._precision(precision, self.pe_area_mm2)

    def sram_pj_per_byte(self, size_kib: float | np.ndarray) -> float | np.ndarray:
        """SRAM access energy per byte for an array of ``size_kib`` KiB (pJ/byte); vectorised."""
        size = np.asarray(size_kib, dtype=float)
        if np.any(size <= 0):
            raise ValueError(f"`size_kib` must be positive, but got {size_kib!r}")
        log_s = np.log([s for s, _ in self.sram_points])
        log_e = np.log([e for _, e in self.sram_points])
        x = np.log(size)
        lo_slope = (log_e[1] - log_e[0]) / (log_s[1] - log_s[0])
        hi_slope = (log_e[-1] - log_e[-2]) / (log_s[-1] - log_s[-2])
        y = np.interp(x, log_s, log_e)
        y = np.where(x < log_s[0], log_e[0] + lo_slope * (x - log_s[0]), y)
        y = np.where(x > log_s[-1], log_e[-1] + hi_slope * (x - log_s[-1]), y)
        out = np.exp(y)
        return float(out) if out.ndim == 0 else out

    def sram_area(self, size_kib: float | np.ndarray) -> float | np.ndarray:
        """Area of an SRAM macro of ``size_kib`` KiB (mm^2); vectorised."""
        size = np.asarray(size_kib, dtype=float)
        if np.any(size < 0):
            raise ValueError(f"`size_kib` must be non-negative, but got {size_kib!r}")
        out = size * self.sram_area_mm2_per_kib
        return float(out) if out.ndim == 0 else out


def horowitz_45nm() -> TechTable:
    """The default 45 nm table (sources in the module docstring)."""
    # MAC = multiply + accumulate at the accumulator's width (int8 -> 32-bit add).
    mult_pj = {"int8": 0.2, "int16": 0.2 * 4, "fp16": 1.1, "bf16": 1.1, "fp32": 3.7}
    add_pj = {"int8": 0.1, "int16": 0.1, "fp16": 0.4, "bf16": 0.4, "fp32": 0.9}
    mult_um2 = {"int8": 282.0, "int16": 282.0 * 4, "fp16": 1640.0, "bf16": 1640.0, "fp32": 7700.0}
    add_um2 = {"int8": 137.0, "int16": 137.0, "fp16": 1360.0, "bf16": 1360.0, "fp32": 4184.0}
    # Three pipeline registers per PE (two operands + partial sum), about 6 um^2 per flip-flop bit.
    reg_bits = {
        "int8": 8 + 8 + 32,
        "int16": 16 + 16 + 32,
        "fp16": 16 + 16 + 32,
        "bf16": 16 + 16 + 32,
    }
    reg_bits["fp32"] = 96
    pe_area = {p: (mult_um2[p] + add_um2[p] + 6.0 * reg_bits[p]) * 1e-6 for p in PRECISIONS}
    return TechTable(
        name="horowitz-45nm",
        mac_energy_pj={p: mult_pj[p] + add_pj[p] for p in PRECISIONS},
        pe_area_mm2=pe_area,
        register_energy_pj_per_byte=0.3,
        # 10 / 20 / 100 pJ per 64-bit (8-byte) access.
        sram_points=((8.0, 10.0 / 8), (32.0, 20.0 / 8), (1024.0, 100.0 / 8)),
        sram_area_mm2_per_kib=8192 * 0.346e-6 / 0.5,
        dram_energy_pj_per_byte=640.0 / 4,
        notes="Horowitz ISSCC 2014; Han et al. ISCA 2016; Chen et al. ISCA 2016; Mistry IEDM 2007",
    )


DEFAULT_TABLE = horowitz_45nm()
