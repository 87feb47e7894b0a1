"""Workload value types shared by every simulator, cost model and the layers above.

:class:`GemmShape` is the project's one GEMM: a matrix product ``(M x K) @ (K x N)`` run
``count`` times, all sizes in elements. The workload registry (``archgym.workloads``) builds
them, the GEMM envs consume them, and the systolic simulator's SCALE-Sim topology row
(:class:`~archgym.simulators.systolic.layers.GemmLayer`, fields ``M, N, K``) converts to and
from it (``GemmLayer.from_gemm`` / ``GemmLayer.to_gemm``).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["GemmShape"]


@dataclass(frozen=True)
class GemmShape:
    """One matrix product ``(M x K) @ (K x N)`` executed ``count`` times (sizes in elements).

    Attributes:
        name: Label used in reports.
        m: Rows of the left operand and of the output (e.g. tokens).
        n: Columns of the right operand and of the output (output features).
        k: The reduction dimension (input features).
        count: How many times the product runs (e.g. layers x heads).
    """

    name: str
    m: int
    n: int
    k: int
    count: int = 1

    def __post_init__(self) -> None:
        for field in ("m", "n", "k", "count"):
            v = getattr(self, field)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(
                    f"`{field}` of GEMM {self.name!r} must be a positive integer, but got {v!r}"
                )

    @property
    def mnk(self) -> tuple[int, int, int]:
        """``(M, N, K)`` of one product."""
        return self.m, self.n, self.k

    @property
    def macs(self) -> int:
        """Multiply-accumulates of all ``count`` repetitions."""
        return self.m * self.n * self.k * self.count
