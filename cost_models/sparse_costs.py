"""Energy and area of the extra logic of a structured-sparse engine (select muxes, gather
network, metadata registers), at the 45 nm node of :mod:`archgym.cost_models.energy`'s default table.

Sources (estimates at the cell level, to be replaced by users' own synthesis numbers):

- 2:1 multiplexer area: the Nangate 45 nm Open Cell Library's ``MUX2_X1`` is 1.862 um^2; an
  m:1 mux is built from ``m - 1`` of them per bit.
- 2:1 multiplexer switching energy: about 2 fJ per bit per selection, the order of a 45 nm
  ``MUX2_X1``'s internal plus output energy at 0.9-1.1 V in the library's Liberty tables (a
  full 8-bit MAC is 200-300 fJ in Horowitz ISSCC 2014, so muxes stay a few percent of a MAC).
- Flip-flop area: 6 um^2 per bit, the figure :func:`archgym.cost_models.energy.horowitz_45nm` uses for
  PE pipeline registers (Nangate ``DFF_X1`` is 4.522 um^2 plus clocking overhead).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["DEFAULT_SPARSE_COSTS", "SparseCosts"]


@dataclass(frozen=True)
class SparseCosts:
    """Per-bit costs of the sparse engine's extra logic.

    Attributes:
        mux2_pj_per_bit: Energy of one 2:1 mux selection per data bit (pJ).
        mux2_um2_per_bit: Area of one 2:1 mux per data bit (um^2).
        flop_um2_per_bit: Area of one register bit (um^2).
    """

    mux2_pj_per_bit: float = 0.002
    mux2_um2_per_bit: float = 1.862
    flop_um2_per_bit: float = 6.0

    def __post_init__(self) -> None:
        for name in ("mux2_pj_per_bit", "mux2_um2_per_bit", "flop_um2_per_bit"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValueError(f"`{name}` must be a positive number, but got {value!r}")

    def select_pj(self, inputs: int, bits: int) -> float:
        """Energy of one ``inputs``:1 selection of a ``bits``-bit word (pJ)."""
        return max(inputs - 1, 0) * bits * self.mux2_pj_per_bit

    def select_mm2(self, inputs: int, bits: int) -> float:
        """Area of one ``inputs``:1 mux of a ``bits``-bit word (mm^2)."""
        return max(inputs - 1, 0) * bits * self.mux2_um2_per_bit * 1e-6

    def register_mm2(self, bits: float) -> float:
        """Area of ``bits`` register bits (mm^2)."""
        return bits * self.flop_um2_per_bit * 1e-6


DEFAULT_SPARSE_COSTS = SparseCosts()
