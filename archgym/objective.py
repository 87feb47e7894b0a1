"""Objectives turn simulator metrics into one reward where higher is always better.

Costs are negated here, never in agents. Every objective names the metrics it needs and the
reward it gives an infeasible design (``reward_on_error``). ``make_objective`` accepts the short
forms used in experiment files:

* ``"cycles"`` or ``"min:cycles"``: minimise a metric (reward ``-cycles / scale``);
* ``"max:utilisation"``: maximise a metric;
* ``"edp"`` (``energy_pj * latency_s``), ``"edap"`` (times ``area_mm2``): products to minimise;
* a mapping such as ``{"type": "weighted", "weights": {"energy_pj": 1e-9, "latency_s": 1e3}}``,
  ``{"type": "targets", "targets": {"latency_s": 1e-3}}`` or
  ``{"type": "multi", "objectives": ["latency_s", "energy_pj"]}``.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any

from archgym.errors import UserError, unknown_name

__all__ = [
    "NAMED_OBJECTIVES",
    "Maximize",
    "Minimize",
    "MultiObjective",
    "Objective",
    "Product",
    "Targets",
    "WeightedSum",
    "make_objective",
]


def _metric(metrics: Mapping[str, float], name: str) -> float:
    try:
        value = float(metrics[name])
    except KeyError:
        raise unknown_name("metric", name, metrics) from None
    if math.isnan(value):
        raise ValueError(f"metric {name!r} is NaN")
    return value


class Objective(ABC):
    """Maps a metrics dict to a scalar reward (higher is better).

    Subclasses set :attr:`metrics` (the names they read) and implement :meth:`reward`.
    Multi-objective search reads :meth:`values`, a tuple of higher-is-better components.
    """

    name: str = "objective"
    metrics: tuple[str, ...] = ()
    reward_on_error: float = -math.inf

    @abstractmethod
    def reward(self, metrics: Mapping[str, float]) -> float:
        """The reward of a feasible design's metrics."""

    def values(self, metrics: Mapping[str, float]) -> tuple[float, ...]:
        """Per-objective rewards (one element for single objectives)."""
        return (self.reward(metrics),)

    @property
    def n_objectives(self) -> int:
        """Length of :meth:`values`."""
        return 1

    def error_values(self) -> tuple[float, ...]:
        """:meth:`values` of an infeasible design."""
        return (self.reward_on_error,) * self.n_objectives

    def describe(self) -> str:
        """A one-line description for tables and dataset metadata."""
        return self.name

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.describe()!r})"


class Minimize(Objective):
    """Reward ``-metric / scale``: smaller metric, larger reward."""

    def __init__(self, metric: str, *, scale: float = 1.0, reward_on_error: float = -math.inf):
        if not scale > 0:
            raise ValueError(f"`scale` must be positive, but got {scale!r}")
        self.metric, self.scale, self.reward_on_error = metric, float(scale), float(reward_on_error)
        self.metrics = (metric,)
        self.name = f"min:{metric}"

    def reward(self, metrics: Mapping[str, float]) -> float:
        return -_metric(metrics, self.metric) / self.scale


class Maximize(Objective):
    """Reward ``metric / scale``."""

    def __init__(self, metric: str, *, scale: float = 1.0, reward_on_error: float = -math.inf):
        if not scale > 0:
            raise ValueError(f"`scale` must be positive, but got {scale!r}")
        self.metric, self.scale, self.reward_on_error = metric, float(scale), float(reward_on_error)
        self.metrics = (metric,)
        self.name = f"max:{metric}"

    def reward(self, metrics: Mapping[str, float]) -> float:
        return _metric(metrics, self.metric) / self.scale


class WeightedSum(Objective):
    """Reward ``-sum(weight * metric)`` over costs to minimise (weights carry the units)."""

    def __init__(self, weights: Mapping[str, float], *, reward_on_error: float = -math.inf):
        if not weights:
            raise ValueError("`weights` must name at least one metric")
        for k, w in weights.items():
            if not (isinstance(w, (int, float)) and math.isfinite(w) and w >= 0):
                raise ValueError(f"weight of {k!r} must be a non-negative number, but got {w!r}")
        self.weights = {k: float(w) for k, w in weights.items()}
        self.metrics = tuple(self.weights)
        self.reward_on_error = float(reward_on_error)
        self.name = "weighted(" + ", ".join(f"{w:g}*{k}" for k, w in self.weights.items()) + ")"

    def reward(self, metrics: Mapping[str, float]) -> float:
        return -sum(w * _metric(metrics, k) for k, w in self.weights.items())


class Product(Objective):
    """Reward ``-prod(metric) / scale``, e.g. energy-delay product."""

    def __init__(
        self,
        metrics: Sequence[str],
        *,
        name: str | None = None,
        scale: float = 1.0,
        reward_on_error: float = -math.inf,
    ):
        if not metrics:
            raise ValueError("`metrics` must name at least one metric")
        if not scale > 0:
            raise ValueError(f"`scale` must be positive, but got {scale!r}")
        self.metrics = tuple(metrics)
        self.scale, self.reward_on_error = float(scale), float(reward_on_error)
        self.name = name or "*".join(self.metrics)

    def reward(self, metrics: Mapping[str, float]) -> float:
        return -math.prod(_metric(metrics, k) for k in self.metrics) / self.scale


class Targets(Objective):
    """Target-spec reward in the ArchGym style: grows as metrics approach user targets.

    The reward is ``-sum(|m - t| / t)`` (``mode="distance"``: 0 exactly on target) or
    ``-sum(max(0, m - t) / t)`` (``mode="below"``: 0 once every metric is at or under its
    target). ArchGym used ``1 / distance``, which is unbounded at the target; this form keeps the
    same ordering of designs and stays finite.
    """

    def __init__(
        self,
        targets: Mapping[str, float],
        *,
        mode: str = "distance",
        reward_on_error: float = -math.inf,
    ):
        if not targets:
            raise ValueError("`targets` must name at least one metric")
        for k, t in targets.items():
            if not (isinstance(t, (int, float)) and math.isfinite(t) and t > 0):
                raise ValueError(f"target of {k!r} must be a positive number, but got {t!r}")
        if mode not in ("distance", "below"):
            raise unknown_name("targets mode", mode, ["distance", "below"])
        self.targets = {k: float(t) for k, t in targets.items()}
        self.mode, self.reward_on_error = mode, float(reward_on_error)
        self.metrics = tuple(self.targets)
        self.name = (
            f"targets[{mode}](" + ", ".join(f"{k}={t:g}" for k, t in self.targets.items()) + ")"
        )

    def reward(self, metrics: Mapping[str, float]) -> float:
        total = 0.0
        for k, t in self.targets.items():
            gap = (_metric(metrics, k) - t) / t
            total += abs(gap) if self.mode == "distance" else max(0.0, gap)
        return -total


class MultiObjective(Objective):
    """Several objectives at once; :meth:`values` is the vector for Pareto search.

    The scalar :meth:`reward` (for single-objective agents and RL) is the weighted sum of the
    components' rewards (equal weights unless given).
    """

    def __init__(self, objectives: Sequence[Objective], *, weights: Sequence[float] | None = None):
        if len(objectives) < 2:
            raise ValueError("a MultiObjective needs at least two objectives")
        if weights is not None and len(weights) != len(objectives):
            raise ValueError(
                f"`weights` must have {len(objectives)} entries, but got {len(weights)}"
            )
        self.objectives = tuple(objectives)
        self.weights = tuple(float(w) for w in (weights or [1.0] * len(objectives)))
        self.metrics = tuple(dict.fromkeys(m for o in objectives for m in o.metrics))
        self.reward_on_error = -math.inf
        self.name = "multi(" + ", ".join(o.name for o in self.objectives) + ")"

    @property
    def n_objectives(self) -> int:
        return len(self.objectives)

    def values(self, metrics: Mapping[str, float]) -> tuple[float, ...]:
        return tuple(o.reward(metrics) for o in self.objectives)

    def reward(self, metrics: Mapping[str, float]) -> float:
        return sum(w * v for w, v in zip(self.weights, self.values(metrics), strict=True))

    def error_values(self) -> tuple[float, ...]:
        return tuple(o.reward_on_error for o in self.objectives)


NAMED_OBJECTIVES: dict[str, Objective] = {
    "edp": Product(("energy_pj", "latency_s"), name="edp"),
    "edap": Product(("energy_pj", "latency_s", "area_mm2"), name="edap"),
}


def make_objective(spec: str | Mapping[str, Any] | Objective) -> Objective:
    """Build an objective from a name, a ``"min:"``/``"max:"`` form, a mapping, or pass one through."""
    if isinstance(spec, Objective):
        return spec
    if isinstance(spec, str):
        if spec in NAMED_OBJECTIVES:
            return NAMED_OBJECTIVES[spec]
        if spec.startswith("max:"):
            return Maximize(spec[4:])
        return Minimize(spec.removeprefix("min:"))
    if isinstance(spec, Mapping):
        spec = dict(spec)
        kind = spec.pop("type", None)
        builders = {
            "min": lambda s: Minimize(s.pop("metric"), **s),
            "max": lambda s: Maximize(s.pop("metric"), **s),
            "weighted": lambda s: WeightedSum(s.pop("weights"), **s),
            "product": lambda s: Product(s.pop("metrics"), **s),
            "targets": lambda s: Targets(s.pop("targets"), **s),
            "multi": lambda s: MultiObjective(
                [make_objective(o) for o in s.pop("objectives")], **s
            ),
        }
        if kind not in builders:
            raise unknown_name("objective type", str(kind), builders)
        try:
            return builders[kind](spec)
        except (KeyError, TypeError) as exc:
            raise UserError(f"objective {kind!r}: bad or missing field ({exc})") from None
    raise UserError(f"an objective must be a name, a mapping or an Objective, but got {spec!r}")
