"""Contract tests that every archgym env, built-in or third-party, should pass.

Subclass :class:`EnvContract` in a pytest module and set ``env_id`` (a registered id) and
``env_kwargs``, or override :meth:`EnvContract.make`::

    from archgym.testing import EnvContract

    class TestMyEnv(EnvContract):
        env_id = "archgym/SystolicArray-v0"
        env_kwargs = {"workload": "alexnet"}

The suite checks Gymnasium's ``check_env``, that ``evaluate`` and ``step`` agree on the same
design, that ``evaluate_batch`` equals ``evaluate`` one design at a time, that a violated
constraint is an infeasible result (not an exception), that evaluations are deterministic,
that the design space round-trips through ``to_dict``/``from_dict`` and actions through
``action_of_design``, and that step rewards are finite.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

__all__ = ["EnvContract"]


class EnvContract:
    """Mix-in test suite; pytest collects its ``test_*`` methods in every subclass."""

    env_id: ClassVar[str] = ""
    env_kwargs: ClassVar[dict[str, Any]] = {}
    #: Designs sampled per check (keep small: each is a simulation).
    samples: ClassVar[int] = 6

    def make(self) -> Any:
        """A fresh env (unwrapped)."""
        import archgym

        return archgym.make(self.env_id, **self.env_kwargs)

    def _designs(self, env: Any, n: int | None = None) -> list[dict[str, Any]]:
        rng = np.random.default_rng(0)
        return [env.space.sample(rng) for _ in range(n or self.samples)]

    def test_check_env(self) -> None:
        from gymnasium.utils.env_checker import check_env

        check_env(self.make(), skip_render_check=True)

    def test_evaluate_and_step_agree(self) -> None:
        env = self.make()
        env.reset(seed=0)
        for design in self._designs(env):
            result = env.evaluate(design)
            obs, reward, terminated, truncated, info = env.step(env.action_of_design(design))
            assert terminated and not truncated
            assert info["design"] == result.design and info["feasible"] == result.feasible
            assert info["metrics"] == result.metrics
            assert info["objective_reward"] == result.reward or (
                math.isnan(result.reward) and math.isnan(info["objective_reward"])
            )
            assert math.isfinite(reward) or env.reward_scale == "raw"
            np.testing.assert_array_equal(obs, env.observation_of(result))
            assert env.observation_space.contains(obs)

    def test_batch_equals_one_at_a_time(self) -> None:
        env = self.make()
        designs = self._designs(env)
        batched = env.evaluate_batch(designs)
        single = [env.evaluate(d) for d in designs]
        for a, b in zip(batched, single, strict=True):
            assert (a.design, a.feasible, a.error) == (b.design, b.feasible, b.error)
            assert a.metrics.keys() == b.metrics.keys()
            for k in a.metrics:
                assert math.isclose(a.metrics[k], b.metrics[k], rel_tol=1e-9, abs_tol=1e-12), k

    def test_deterministic(self) -> None:
        first, second = self.make(), self.make()
        for design in self._designs(first, 3):
            a, b = first.evaluate(design), second.evaluate(design)
            assert (a.metrics, a.feasible, a.error) == (b.metrics, b.feasible, b.error)

    def test_reference_design_is_feasible_and_normalises(self) -> None:
        env = self.make()
        metrics = env.reference_metrics
        assert set(env.metric_names) <= set(metrics)
        assert all(math.isfinite(v) for v in metrics.values())

    def test_space_and_actions_round_trip(self) -> None:
        from archgym.space import DesignSpace

        env = self.make()
        again = DesignSpace.from_dict(env.space.to_dict())
        assert again.to_dict() == env.space.to_dict()
        for design in self._designs(env):
            assert again.violated(design) == env.space.violated(design)
            assert env.design_of_action(env.action_of_design(design)) == design
            assert env.action_space.contains(env.action_of_design(design))

    def test_constraint_violation_is_an_infeasible_result(self) -> None:
        env = self.make()
        if not env.space.constraints or not env.space.is_finite:
            return
        rng = np.random.default_rng(1)
        for _ in range(2000):
            design = {p.name: p.sample(rng) for p in env.space}
            if env.space.violated(design):
                result = env.evaluate(design)
                assert not result.feasible and "constraint" in (result.error or "")
                assert math.isfinite(env.step_reward(result)) or env.reward_scale == "raw"
                return
