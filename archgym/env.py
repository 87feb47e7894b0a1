"""The environment base: a thin Gymnasium shell over a pure simulator function.

Concrete environments (one per model, in ``archgym/envs/``) build a :class:`DesignSpace`, bind a
simulator to a workload as ``simulate(design) -> metrics`` and pass both to
:class:`ArchGymEnv` with an objective. Black-box agents call :meth:`ArchGymEnv.evaluate`; RL code
drives ``reset()`` / ``step()``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from archgym.objective import Objective, make_objective
from archgym.result import Result
from archgym.simulators.common import InfeasibleDesign
from archgym.space import Design, DesignSpace

__all__ = ["ArchGymEnv", "Simulate"]

Simulate = Callable[[Design], Mapping[str, float]]
_OBS_HIGH = 1e12


class ArchGymEnv(gym.Env):
    """A one-step (bandit) design-space environment.

    ## Description
    Each episode is one design: the action is a whole design, the simulator evaluates it on the
    workload, and the episode ends.

    ## Action space
    ``space.to_gymnasium()``: a ``Dict`` with one ``Discrete`` index per finite parameter and a
    ``Box`` per real parameter. ``space.from_action`` / ``space.to_action`` convert.

    ## Observation space
    ``Box(0, 1e12, (len(metric_names),), float64)``: each metric divided by its value in
    ``reference_metrics`` (1.0 means "as the reference design"); all zeros after ``reset`` and
    for infeasible designs.

    ## Reward
    ``objective.reward(metrics)`` (higher is better), or ``objective.reward_on_error`` when the
    design is infeasible.

    ## Episode end
    ``terminated=True`` after every step; ``truncated`` is always False.

    ## Info
    ``design``, ``metrics``, ``feasible``, ``error``, ``values`` (multi-objective vector); the
    wall time stays out of ``info`` so that steps are deterministic (``env.last_result.eval_s``).

    ## Arguments
    * ``space``: the design space.
    * ``simulate``: ``design -> metrics``; raises ``InfeasibleDesign`` (or ``ValueError``) for a
      design that cannot run.
    * ``objective``: an :class:`Objective` or a spec accepted by :func:`make_objective`.
    * ``metric_names``: the metrics in observation order (the objective's must be among them).
    * ``reference_metrics``: values that normalise observations (default: all 1.0).
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(
        self,
        *,
        space: DesignSpace,
        simulate: Simulate,
        objective: Objective | str | Mapping[str, Any],
        metric_names: Sequence[str],
        reference_metrics: Mapping[str, float] | None = None,
        render_mode: str | None = None,
    ) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"`render_mode` must be one of {self.metadata['render_modes']} or None, "
                f"but got {render_mode!r}"
            )
        self.space = space
        self.simulate = simulate
        self.objective = make_objective(objective)
        self.metric_names = tuple(metric_names)
        missing = [m for m in self.objective.metrics if m not in self.metric_names]
        if missing:
            raise ValueError(
                f"objective {self.objective.name!r} needs metric(s) {missing} that this env does not "
                f"report (available: {', '.join(self.metric_names)})"
            )
        ref = dict(reference_metrics or {})
        self._reference = np.array(
            [abs(float(ref.get(m, 1.0))) or 1.0 for m in self.metric_names], dtype=np.float64
        )
        self.render_mode = render_mode
        self.action_space = space.to_gymnasium()
        self.observation_space = spaces.Box(
            low=0.0, high=_OBS_HIGH, shape=(len(self.metric_names),), dtype=np.float64
        )
        self.last_result: Result | None = None
        #: Optional ``design -> dict`` merged into ``step``'s info (e.g. a proxy's range flags).
        self.info_extra: Callable[[Design], dict[str, Any]] | None = None

    # -- black-box interface ----------------------------------------------------------------------
    def evaluate(self, design: Mapping[str, Any]) -> Result:
        """Simulate one design and score it.

        A design outside the space (unknown or missing parameter, value out of range) raises
        ``ValueError``; a design that violates a constraint or that the simulator cannot run comes
        back as an infeasible :class:`Result` with the reason, so a search goes on.
        """
        canonical = self.space.check_box(design)
        start = time.perf_counter()
        bad = self.space.violated(canonical)
        if bad:
            return self._infeasible(canonical, f"violates constraint `{bad[0]}`", start)
        try:
            raw = self.simulate(canonical)
        except InfeasibleDesign as exc:
            return self._infeasible(canonical, str(exc), start)
        except (ValueError, ZeroDivisionError, OverflowError) as exc:
            return self._infeasible(canonical, f"{type(exc).__name__}: {exc}", start)
        metrics = {k: float(v) for k, v in raw.items()}
        bad_metrics = [k for k, v in metrics.items() if math.isnan(v)]
        if bad_metrics:
            return self._infeasible(canonical, f"simulator returned NaN for {bad_metrics}", start)
        reward = float(self.objective.reward(metrics))
        values = tuple(float(v) for v in self.objective.values(metrics))
        result = Result(
            design=canonical,
            metrics=metrics,
            reward=reward,
            feasible=True,
            eval_s=time.perf_counter() - start,
            values=values,
        )
        self.last_result = result
        return result

    def _infeasible(self, design: Design, reason: str, start: float) -> Result:
        result = Result(
            design=design,
            metrics={},
            reward=float(self.objective.reward_on_error),
            feasible=False,
            error=reason,
            eval_s=time.perf_counter() - start,
            values=self.objective.error_values(),
        )
        self.last_result = result
        return result

    # -- Gymnasium interface ----------------------------------------------------------------------
    def observation_of(self, result: Result) -> np.ndarray:
        """The normalised metric vector of a result (zeros when infeasible)."""
        if not result.feasible:
            return np.zeros(len(self.metric_names), dtype=np.float64)
        raw = np.array([result.metrics.get(m, 0.0) for m in self.metric_names], dtype=np.float64)
        return np.clip(np.abs(raw) / self._reference, 0.0, _OBS_HIGH)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        self.last_result = None
        return np.zeros(len(self.metric_names), dtype=np.float64), {}

    def step(
        self, action: Mapping[str, Any]
    ) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        design = self.space.from_action(action)
        result = self.evaluate(design)
        info = {
            "design": result.design,
            "metrics": result.metrics,
            "feasible": result.feasible,
            "error": result.error,
            "values": result.values,
        }
        if self.info_extra is not None:
            info.update(self.info_extra(result.design))
        return self.observation_of(result), result.reward, True, False, info

    def render(self) -> str | None:
        if self.render_mode != "ansi":
            return None
        r = self.last_result
        if r is None:
            return "no design evaluated yet"
        if not r.feasible:
            return f"{r.design} -> infeasible: {r.error}"
        shown = ", ".join(f"{k}={v:.4g}" for k, v in r.metrics.items())
        return f"{r.design} -> reward={r.reward:.6g} ({shown})"
