"""Stable-Baselines3 on archgym's one-step envs.

The envs themselves fit SB3 (and every RL library): with finite parameters their default
action space is a flat ``MultiDiscrete`` (one index per parameter) and ``step`` returns a
finite log-scale reward (``reward_scale="log"``: e-folds better than the reference design, a
finite penalty for infeasible designs), so ``PPO("MlpPolicy", gymnasium.make(env_id))`` learns
with no wrapper. This module adds :class:`BestDesign` (keeps the best design found, by the
objective's own reward) and :func:`train`; :class:`DesignActionWrapper` serves envs built with
``action_space="dict"`` or ``reward_scale="raw"``. Nothing here needs torch; :func:`train`
imports ``stable_baselines3`` (and so torch) only when called::

    env = BestDesign(gymnasium.make("archgym/GemmRoofline-v0"))
    model = train(env, algo="PPO", total_timesteps=512, seed=0, n_steps=32, batch_size=32)
    env.best  # (design, objective reward)
"""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from archgym.space import Design

__all__ = ["ALGOS", "BestDesign", "DesignActionWrapper", "train"]

# SB3 algorithms that accept MultiDiscrete actions.
ALGOS = ("PPO", "A2C")


class BestDesign(gym.Wrapper):
    """Keeps ``best``: the feasible design with the highest objective reward stepped so far
    (``info["objective_reward"]``, not the learning reward), and ``steps``."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.best: tuple[Design, float] | None = None
        self.steps = 0

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.steps += 1
        value = float(info.get("objective_reward", reward))
        better = self.best is None or value > self.best[1]
        if info.get("feasible", True) and math.isfinite(value) and better:
            self.best = (dict(info["design"]), value)
        return obs, reward, terminated, truncated, info


class DesignActionWrapper(gym.Wrapper):
    """``MultiDiscrete`` actions and finite rewards for an archgym env with a finite space.

    Args:
        env: An env whose ``unwrapped`` is an :class:`~archgym.env.ArchGymEnv`.
        penalty: An infeasible design's reward is the worst feasible reward seen minus
            ``penalty`` times the range of rewards seen (or minus ``penalty * max(1, |worst|)``
            while the range is 0); ``-1.0`` before anything feasible is seen.
    """

    def __init__(self, env: gym.Env, *, penalty: float = 0.1) -> None:
        super().__init__(env)
        space = env.unwrapped.space
        reals = [p.name for p in space.params if not p.is_finite]
        if reals:
            raise ValueError(
                f"SB3's discrete action spaces need a finite design space, but parameters {reals} "
                "are real"
            )
        if penalty < 0:
            raise ValueError(f"`penalty` must be >= 0, but got {penalty}")
        self.design_space = space
        self.penalty = float(penalty)
        self.action_space = spaces.MultiDiscrete([p.size for p in space.params])
        self.best: tuple[Design, float] | None = None
        self._lo, self._hi = math.inf, -math.inf

    def design_of(self, action: Any) -> Design:
        """The design of a ``MultiDiscrete`` action."""
        codes = np.asarray(action, dtype=float).ravel()
        return self.design_space.decode(codes)

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        design = self.design_of(action)
        # Indices, not `to_action`: that validates constraints, and a violating design must
        # reach the env to come back as an infeasible result.
        indices = {p.name: np.int64(p.index(design[p.name])) for p in self.design_space.params}
        obs, reward, terminated, truncated, info = self.env.step(indices)
        reward = float(reward)
        if math.isfinite(reward):
            self._lo, self._hi = min(self._lo, reward), max(self._hi, reward)
            if self.best is None or reward > self.best[1]:
                self.best = (dict(info.get("design", design)), reward)
        else:
            reward = self._penalty_reward()
        return obs, reward, terminated, truncated, info

    def _penalty_reward(self) -> float:
        if self._lo == math.inf:
            return -1.0
        spread = self._hi - self._lo
        return self._lo - self.penalty * (spread if spread > 0 else max(1.0, abs(self._lo)))


def train(
    env: gym.Env,
    *,
    algo: str = "PPO",
    total_timesteps: int = 1024,
    seed: int | None = None,
    **model_kwargs: Any,
) -> Any:
    """Train a Stable-Baselines3 ``algo`` on ``env``; returns the model.

    An env whose action space is not ``MultiDiscrete`` (``action_space="dict"``) is wrapped in
    :class:`DesignActionWrapper`. Needs ``stable-baselines3`` and torch (``pip install
    archgym[rl]``).
    """
    if algo not in ALGOS:
        from archgym.errors import unknown_name

        raise unknown_name("SB3 algorithm", algo, ALGOS)
    try:
        import stable_baselines3
    except ImportError:
        raise ImportError(
            "the SB3 adapter needs stable-baselines3 and torch: pip install 'archgym[rl]'"
        ) from None
    if not isinstance(env.action_space, spaces.MultiDiscrete):
        env = DesignActionWrapper(env)
    model = getattr(stable_baselines3, algo)("MlpPolicy", env, seed=seed, verbose=0, **model_kwargs)
    model.learn(total_timesteps=total_timesteps)
    return model
