"""The environment base: a declarative Gymnasium shell over a simulator that owns the model.

A concrete environment (one per model, in ``archgym/envs/``) declares four things and nothing
else: its :class:`DesignSpace`, how a design becomes the simulator's config
(:meth:`ArchGymEnv.config_from_design`), how the simulator evaluates a config on the env's
workload (:meth:`ArchGymEnv.evaluate_config`, optionally batched in
:meth:`ArchGymEnv.evaluate_configs`) and a reference design whose metrics normalise observations.
Aggregation over a workload, energy and area belong to the simulator, not to the env.

There is one evaluation path: :meth:`ArchGymEnv.evaluate` is :meth:`ArchGymEnv.evaluate_batch`
of one design, and both go through the env's *backend*: the simulator (default) or a learned
proxy with the same signature (``backend="proxy", proxy=PATH``, see :mod:`archgym.proxy`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from archgym.errors import unknown_name
from archgym.objective import Objective, make_objective
from archgym.result import Result
from archgym.simulators.common import InfeasibleDesign
from archgym.space import Design, DesignSpace

__all__ = [
    "ACTION_SPACES",
    "REWARD_SCALES",
    "ArchGymEnv",
    "Backend",
    "FunctionEnv",
    "SimulatorBackend",
]

_OBS_HIGH = 1e12
ACTION_SPACES = ("multidiscrete", "dict")
REWARD_SCALES = ("log", "raw")
#: Step reward of an infeasible design under ``reward_scale="log"``: e^-20 times the reference.
LOG_PENALTY = -20.0

#: ``designs -> [metrics dict | reason the design cannot run]``, one entry per design.
Backend = Callable[[Sequence[Design]], list[Mapping[str, float] | str]]


class SimulatorBackend:
    """The env's own simulator as a backend (batched when the env has a batched model)."""

    def __init__(self, env: ArchGymEnv) -> None:
        self.env = env

    def __call__(self, designs: Sequence[Design]) -> list[Mapping[str, float] | str]:
        env = self.env
        if len(designs) > 1:
            columns = env.evaluate_designs(designs)
            if columns is not None:
                return _rows(columns, len(designs))
        out: list[Mapping[str, float] | str] = []
        configs, index = [], []
        for d in designs:
            try:
                config = env.config_from_design(d)
            except InfeasibleDesign as exc:
                out.append(str(exc))
                continue
            reason = env.config_error(config)
            if reason is not None:
                out.append(reason)
                continue
            configs.append(config)
            index.append(len(out))
            out.append("")
        batched = env.evaluate_configs(configs) if len(configs) > 1 else None
        if batched is not None:
            for i, row in zip(index, _rows(batched, len(configs)), strict=True):
                out[i] = row
        else:
            for config, i in zip(configs, index, strict=True):
                try:
                    out[i] = env.evaluate_config(config)
                except InfeasibleDesign as exc:
                    out[i] = str(exc)
        return out


def _rows(columns: Mapping[str, Any], n: int) -> list[dict[str, float]]:
    """Per-design metric dicts of a batched model's columns (each of length ``n``)."""
    names = list(columns)
    values = [np.asarray(columns[m], dtype=np.float64) for m in names]
    if any(v.shape != (n,) for v in values):
        raise RuntimeError(
            f"a batched model returned columns of shapes {[v.shape for v in values]}"
        )
    return [
        dict(zip(names, row, strict=True))
        for row in zip(*(v.tolist() for v in values), strict=True)
    ]


class ArchGymEnv(gym.Env):
    """A one-step (bandit) design-space environment.

    ## Description
    Each episode is one design: the action is a whole design, the simulator evaluates it on the
    workload, and the episode ends.

    ## Action space
    ``action_space="multidiscrete"`` (default for spaces of finite parameters): a flat
    ``MultiDiscrete`` of one index per parameter, in the space's order, which every RL library
    accepts. ``action_space="dict"``: a ``Dict`` with one ``Discrete`` index per finite
    parameter and a ``Box`` per real one (needed for spaces with real parameters).
    :meth:`design_of_action` / :meth:`action_of_design` convert.

    ## Observation space
    ``Box(0, 1e12, (len(metric_names),), float64)``: each metric divided by its value for the
    reference design (1.0 means "as the reference design"); all zeros after ``reset`` and for
    infeasible designs.

    ## Reward
    :meth:`evaluate` returns the objective's reward (higher is better; ``reward_on_error``,
    often ``-inf``, when infeasible): agents and datasets use it. ``step`` returns a reward that
    learning algorithms can use: with ``reward_scale="log"`` (default),
    ``sign * ln(reward / reference_reward)`` (positive when better than the reference design,
    on a scale of e-folds) and a finite ``-20`` for an infeasible design; ``"raw"`` returns
    the objective's reward as it is.

    ## Episode end
    ``terminated=True`` after every step; ``truncated`` is always False.

    ## Info
    ``design``, ``metrics``, ``feasible``, ``error``, ``values`` (multi-objective vector) and
    ``objective_reward`` (the raw reward); backends may add keys (a proxy adds its range flags).
    The wall time stays out of ``info`` so steps are deterministic (``env.last_result.eval_s``).

    ## Arguments (of every env, after its own)
    * ``backend``: ``"simulator"`` (default) or ``"proxy"`` with ``proxy=`` a model or its path.
    * ``action_space``: ``"multidiscrete"`` or ``"dict"``; ``reward_scale``: ``"log"`` or ``"raw"``.
    * ``restrict``: ``{parameter: [values]}`` keeps only those values of a parameter (a smaller
      space for studies: ``restrict={"bandwidth": [4, 16]}``).
    * ``render_mode``: ``None`` or ``"ansi"``.
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(
        self,
        *,
        space: DesignSpace,
        objective: Objective | str | Mapping[str, Any],
        metric_names: Sequence[str],
        reference_design: Mapping[str, Any],
        backend: str = "simulator",
        proxy: Any = None,
        action_space: str | None = None,
        reward_scale: str = "log",
        restrict: Mapping[str, Sequence[Any]] | None = None,
        render_mode: str | None = None,
    ) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise unknown_name("render_mode", render_mode, self.metadata["render_modes"])
        if reward_scale not in REWARD_SCALES:
            raise unknown_name("reward_scale", reward_scale, REWARD_SCALES)
        # The reference normalises observations; it may lie outside a restricted space.
        self.reference_design = space.validate(reference_design)
        if restrict:
            space = space.restricted(restrict)
        action_space = action_space or ("multidiscrete" if space.is_finite else "dict")
        if action_space not in ACTION_SPACES:
            raise unknown_name("action_space", action_space, ACTION_SPACES)
        if action_space == "multidiscrete" and not space.is_finite:
            raise ValueError(
                "`action_space='multidiscrete'` needs a space of finite parameters; "
                "use 'dict' for spaces with real parameters"
            )
        self.space = space
        self.objective = make_objective(objective)
        self.metric_names = tuple(metric_names)
        missing = [m for m in self.objective.metrics if m not in self.metric_names]
        if missing:
            raise ValueError(
                f"objective {self.objective.name!r} needs metric(s) {missing} that this env does not "
                f"report (available: {', '.join(self.metric_names)})"
            )
        self.simulator = SimulatorBackend(self)
        self.reference_metrics = self._checked(self.evaluate_config(self.reference_config()))
        self._reference = np.array(
            [abs(self.reference_metrics.get(m, 1.0)) or 1.0 for m in self.metric_names]
        )
        self._reference_reward = float(self.objective.reward(self.reference_metrics))
        self.reward_scale = reward_scale
        self.render_mode = render_mode
        self.action_kind = action_space
        if action_space == "multidiscrete":
            self.action_space = spaces.MultiDiscrete([p.size for p in space])  # type: ignore[attr-defined]
        else:
            self.action_space = space.to_gymnasium()
        self.observation_space = spaces.Box(
            low=0.0, high=_OBS_HIGH, shape=(len(self.metric_names),), dtype=np.float64
        )
        self.last_result: Result | None = None
        self.backend_name = backend
        self.proxy = None
        self.backend: Backend = self.simulator
        self._info_extra: Callable[[Design], dict[str, Any]] | None = None
        if backend == "proxy":
            from archgym.proxy import ProxyBackend  # lazy: scikit-learn

            if proxy is None:
                raise ValueError("`backend='proxy'` needs `proxy=` (a trained model or its path)")
            proxy_backend = ProxyBackend(self, proxy)
            self.proxy = proxy_backend.model
            self.backend = proxy_backend
            self._info_extra = proxy_backend.info
        elif backend != "simulator":
            raise unknown_name("backend", backend, ["simulator", "proxy"])
        elif proxy is not None:
            raise ValueError("`proxy=` is only used with `backend='proxy'`")

    # -- the declarative part: what a concrete env provides ------------------------------------
    def config_from_design(self, design: Design) -> Any:
        """The simulator's config for a (valid) design; ``InfeasibleDesign`` if it has none."""
        raise NotImplementedError

    def evaluate_config(self, config: Any) -> Mapping[str, float]:
        """The simulator's metrics of ``config`` on the env's workload."""
        raise NotImplementedError

    def evaluate_configs(self, configs: Sequence[Any]) -> Mapping[str, np.ndarray] | None:
        """Metrics of many configs in one vectorised call, or None where the model has none."""
        return None

    def config_error(self, config: Any) -> str | None:
        """Why the model cannot run ``config`` on the env's workload, or None (the default:
        :meth:`evaluate_config` says so by raising). Checked before a batched call, so that
        :meth:`evaluate_configs` gets runnable configs only."""
        return None

    def evaluate_designs(self, designs: Sequence[Design]) -> Mapping[str, np.ndarray] | None:
        """Metrics of many valid designs straight from their columns (no per-design config),
        or None. Only for envs where every valid design has a config."""
        return None

    def reference_config(self) -> Any:
        """The config whose metrics normalise observations (that of :attr:`reference_design`)."""
        return self.config_from_design(self.reference_design)

    # -- black-box interface ----------------------------------------------------------------------
    def evaluate(self, design: Mapping[str, Any]) -> Result:
        """Evaluate one design and score it (see :meth:`evaluate_batch`)."""
        return self.evaluate_batch([design])[0]

    def evaluate_batch(self, designs: Sequence[Mapping[str, Any]]) -> list[Result]:
        """Evaluate designs through the backend, batched where the model allows.

        A design outside the space (unknown or missing parameter, value out of range) raises
        ``ValueError``; a design that violates a constraint or that the model cannot run comes
        back as an infeasible :class:`Result` with the reason, so a search goes on. Any other
        exception of the simulator is a bug and propagates.
        """
        start = time.perf_counter()
        canonical = [self.space.check_box(d) for d in designs]
        reasons: list[str | None] = [
            f"violates constraint `{bad[0]}`" if bad else None
            for bad in self.space.violated_batch(canonical)
        ]
        todo = [i for i, r in enumerate(reasons) if r is None]
        outcome: list[Mapping[str, float] | str] = list(reasons)  # type: ignore[arg-type]
        if todo:
            for i, got in zip(todo, self.backend([canonical[i] for i in todo]), strict=True):
                outcome[i] = got
        share = (time.perf_counter() - start) / max(1, len(canonical))
        results = [self._result(d, got, share) for d, got in zip(canonical, outcome, strict=True)]
        if results:
            self.last_result = results[-1]
        return results

    def simulate(self, design: Mapping[str, Any]) -> dict[str, float]:
        """The metrics of one design from the backend; ``InfeasibleDesign`` if it cannot run."""
        got = self.backend([self.space.check_box(design)])[0]
        if isinstance(got, str):
            raise InfeasibleDesign(got)
        return self._checked(got)

    def simulate_batch(self, designs: Sequence[Mapping[str, Any]]) -> dict[str, np.ndarray]:
        """Every metric of many designs from the simulator (NaN where a design cannot run)."""
        out = {m: np.full(len(designs), np.nan) for m in self.metric_names}
        got = self.simulator([self.space.check_box(d) for d in designs])
        for i, row in enumerate(got):
            if not isinstance(row, str):
                for m in self.metric_names:
                    out[m][i] = float(row[m])
        return out

    def _checked(self, raw: Mapping[str, float]) -> dict[str, float]:
        metrics = {k: float(v) for k, v in raw.items()}
        bad = [k for k, v in metrics.items() if math.isnan(v)]
        if bad:  # a simulator bug, not an infeasible design
            raise RuntimeError(f"{type(self).__name__}: the model returned NaN for {bad}")
        return metrics

    def _result(self, design: Design, got: Mapping[str, float] | str, eval_s: float) -> Result:
        if isinstance(got, str):
            return Result(
                design=design,
                metrics={},
                reward=float(self.objective.reward_on_error),
                feasible=False,
                error=got,
                eval_s=eval_s,
                values=self.objective.error_values(),
            )
        metrics = self._checked(got)
        return Result(
            design=design,
            metrics=metrics,
            reward=float(self.objective.reward(metrics)),
            feasible=True,
            eval_s=eval_s,
            values=tuple(float(v) for v in self.objective.values(metrics)),
        )

    # -- Gymnasium interface ----------------------------------------------------------------------
    def design_of_action(self, action: Any) -> Design:
        """The design of an action of :attr:`action_space` (not validated)."""
        if self.action_kind == "dict":
            return self.space.from_action(action)
        index = np.asarray(action).ravel()
        if index.shape != (len(self.space),):
            raise ValueError(
                f"action must be {len(self.space)} indices (one per parameter: "
                f"{', '.join(self.space.names)}), but got {action!r}"
            )
        return {p.name: p.decode(float(i)) for p, i in zip(self.space, index, strict=True)}

    def action_of_design(self, design: Mapping[str, Any]) -> Any:
        """The action of :attr:`action_space` that selects ``design``."""
        if self.action_kind == "dict":
            return self.space.to_action(design)
        d = self.space.validate(design)
        return np.array([p.index(d[p.name]) for p in self.space], dtype=np.int64)  # type: ignore[attr-defined]

    def observation_of(self, result: Result) -> np.ndarray:
        """The normalised metric vector of a result (zeros when infeasible)."""
        if not result.feasible:
            return np.zeros(len(self.metric_names), dtype=np.float64)
        raw = np.array([result.metrics.get(m, 0.0) for m in self.metric_names], dtype=np.float64)
        return np.clip(np.abs(raw) / self._reference, 0.0, _OBS_HIGH)

    def step_reward(self, result: Result) -> float:
        """The reward ``step`` returns for ``result`` (see the class docstring, Reward)."""
        if self.reward_scale == "raw":
            return float(result.reward)
        ref = self._reference_reward
        ratio = result.reward / ref if result.feasible and ref != 0 else math.nan
        if not ratio > 0 or not math.isfinite(ratio):
            return LOG_PENALTY
        # A cost (negative reward) is better when the ratio is below one; a gain when above.
        return max(LOG_PENALTY, -math.log(ratio) if ref < 0 else math.log(ratio))

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        self.last_result = None
        return np.zeros(len(self.metric_names), dtype=np.float64), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        result = self.evaluate(self.design_of_action(action))
        info = {
            "design": result.design,
            "metrics": result.metrics,
            "feasible": result.feasible,
            "error": result.error,
            "values": result.values,
            "objective_reward": result.reward,
        }
        if self._info_extra is not None:
            info.update(self._info_extra(result.design))
        return self.observation_of(result), self.step_reward(result), True, False, info

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


class FunctionEnv(ArchGymEnv):
    """An env over a plain function ``design -> metrics`` (bring your own simulator).

    ``fn`` receives a valid design (a dict) and returns its metrics; it raises
    :class:`~archgym.simulators.common.InfeasibleDesign` for a design it cannot run.
    ``reference_design`` (default: the first design of a seeded sample) normalises observations.
    Every option of :class:`ArchGymEnv` applies.
    """

    def __init__(
        self,
        *,
        space: DesignSpace,
        fn: Callable[[Design], Mapping[str, float]],
        objective: Objective | str | Mapping[str, Any],
        metric_names: Sequence[str],
        reference_design: Mapping[str, Any] | None = None,
        **options: Any,
    ) -> None:
        self.fn = fn
        if reference_design is None:
            reference_design = space.sample(np.random.default_rng(0))
        super().__init__(
            space=space,
            objective=objective,
            metric_names=metric_names,
            reference_design=reference_design,
            **options,
        )

    def config_from_design(self, design: Design) -> Design:
        return design

    def evaluate_config(self, config: Design) -> Mapping[str, float]:
        return self.fn(config)
