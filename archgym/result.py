"""The outcome of evaluating one design."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Result"]


@dataclass(frozen=True)
class Result:
    """One evaluation: the design, its metrics and the objective's reward.

    Attributes:
        design: The evaluated design (canonical values).
        metrics: Simulator outputs by name, units in the names (``cycles``, ``energy_pj``, ...);
            empty when the design is infeasible.
        reward: The objective's reward (higher is better); ``reward_on_error`` when infeasible.
        feasible: False when the simulator could not run the design.
        error: Why the design is infeasible (``None`` when feasible).
        eval_s: Wall time of the evaluation in seconds (not part of reproducibility checks).
        values: Per-objective rewards for multi-objective search (each higher-is-better).
    """

    design: dict[str, Any]
    metrics: dict[str, float]
    reward: float
    feasible: bool = True
    error: str | None = None
    eval_s: float = 0.0
    values: tuple[float, ...] = field(default=())

    def __post_init__(self) -> None:
        if not self.feasible and not self.error:
            raise ValueError("an infeasible Result must say why in `error`")
        if isinstance(self.reward, float) and math.isnan(self.reward):
            raise ValueError(f"`reward` must not be NaN (design {self.design})")
