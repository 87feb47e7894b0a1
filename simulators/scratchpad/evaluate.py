"""A sized, banked scratchpad running a whole graph: traffic, energy and area.

``evaluate(config, graph) -> metrics`` is the model behind ``archgym/ScratchpadSize-v0``: the
DRAM traffic of the graph comes from :func:`~archgym.simulators.scratchpad.methods.schedule`
with the config's method; energy is DRAM bytes x DRAM energy per byte plus SRAM bytes x the
per-byte energy of one bank (``sram_kib / banks`` KiB, from the tech table); SRAM bytes are
every op's inputs and outputs plus every DRAM transfer. Area is the table's SRAM area plus
``bank_overhead`` of it per extra bank for decoders and sense amplifiers (a stated assumption,
default 5 %).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from archgym.cost_models.energy import DEFAULT_TABLE, TechTable
from archgym.simulators.common import InfeasibleDesign
from archgym.simulators.scratchpad.graph import Graph
from archgym.simulators.scratchpad.methods import METHODS, budget_bytes, schedule

__all__ = ["BANK_OVERHEAD", "METRICS", "ScratchpadConfig", "banked_area_mm2", "evaluate"]

BANK_OVERHEAD = 0.05
"""Area of each extra bank's periphery, as a fraction of the SRAM area (an assumption)."""

METRICS = (
    "extra_dram_bytes",
    "compulsory_dram_bytes",
    "dram_bytes",
    "sram_bytes",
    "energy_pj",
    "area_mm2",
    "optimal",
    "min_peak_bytes",
    "max_op_footprint_bytes",
)


@dataclass(frozen=True)
class ScratchpadConfig:
    """A scratchpad of ``sram_kib`` KiB in ``banks`` banks, scheduled with ``method``.

    ``time_limit_s`` bounds each exact solve (s); ``table`` prices energy and area.
    """

    sram_kib: int
    banks: int = 1
    method: str = "ilp"
    time_limit_s: float = 10.0
    bank_overhead: float = BANK_OVERHEAD
    table: TechTable = field(default=DEFAULT_TABLE)

    def __post_init__(self) -> None:
        if (
            isinstance(self.sram_kib, bool)
            or int(self.sram_kib) != self.sram_kib
            or self.sram_kib < 1
        ):
            raise ValueError(f"`sram_kib` must be a positive integer, but got {self.sram_kib!r}")
        if isinstance(self.banks, bool) or int(self.banks) != self.banks or self.banks < 1:
            raise ValueError(f"`banks` must be a positive integer, but got {self.banks!r}")
        if self.method not in METHODS:
            raise ValueError(f"unknown method {self.method!r}; valid: {', '.join(METHODS)}")
        if not 0 <= self.bank_overhead < 1:
            raise ValueError(f"`bank_overhead` must be in [0, 1), but got {self.bank_overhead!r}")


def banked_area_mm2(
    table: TechTable, kib: float, banks: int, overhead: float = BANK_OVERHEAD
) -> float:
    """SRAM area (mm^2) of ``kib`` KiB in ``banks`` banks."""
    return table.sram_area(kib) * (1 + overhead * (banks - 1))


def evaluate(config: ScratchpadConfig, graph: Graph) -> dict[str, float]:
    """Metrics of ``graph`` on the scratchpad of ``config`` (module docstring for the model).

    Raises InfeasibleDesign below the graph's largest single-op footprint.
    """
    kib, banks = int(config.sram_kib), int(config.banks)
    cap = kib * 1024
    need = graph.max_op_footprint_bytes()
    if cap < need:
        raise InfeasibleDesign(f"{kib} KiB is below the largest single-op footprint ({need} bytes)")
    sol = schedule(graph, cap, config.method, time_limit_s=config.time_limit_s)
    r = sol.replay
    dram = r.compulsory_dram_bytes + r.extra_dram_bytes
    sram = sum(graph.footprint_bytes(op.name) for op in graph.ops) + dram
    t = config.table
    energy = dram * t.dram_energy_pj_per_byte + sram * t.sram_pj_per_byte(kib / banks)
    return {
        "extra_dram_bytes": float(r.extra_dram_bytes),
        "compulsory_dram_bytes": float(r.compulsory_dram_bytes),
        "dram_bytes": float(dram),
        "sram_bytes": float(sram),
        "energy_pj": float(energy),
        "area_mm2": float(banked_area_mm2(t, kib, banks, config.bank_overhead)),
        "optimal": 1.0 if sol.status == "optimal" else 0.0,
        "min_peak_bytes": float(budget_bytes(graph, "min_peak")[0]),
        "max_op_footprint_bytes": float(need),
    }
