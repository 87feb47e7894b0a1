import importlib.util
import math

import gymnasium
import numpy as np
import pytest
from archgym.agents.sb3 import DesignActionWrapper, train

import archgym  # noqa: F401 - registers the env ids

HAS_SB3 = importlib.util.find_spec("stable_baselines3") is not None


def _env():
    env = gymnasium.make(
        "archgym/GemmRoofline-v0", max_pes=1024, action_space="dict", reward_scale="raw"
    )
    return DesignActionWrapper(env)


def test_wrapper_gives_multidiscrete_actions_and_finite_rewards():
    env = _env()
    space = env.unwrapped.space
    assert list(env.action_space.nvec) == [p.size for p in space.params]
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    seen_infeasible = False
    for _ in range(40):
        action = env.action_space.sample() if rng.uniform() < 0.5 else np.array([5, 5, 0, 0, 0])
        _, reward, terminated, _, info = env.step(action)
        assert math.isfinite(reward) and terminated
        seen_infeasible |= not info["feasible"]
        if not info["feasible"] and env.best is not None:
            assert reward < env.best[1]
    assert seen_infeasible  # 256 x 256 > 1024 PEs violates the constraint


def test_wrapper_refuses_real_parameters():
    from archgym.env import ArchGymEnv
    from archgym.space import DesignSpace, Real

    class Line(ArchGymEnv):
        def __init__(self):
            super().__init__(
                space=DesignSpace([Real("x", 0.0, 1.0)]),
                objective="cycles",
                metric_names=["cycles"],
                reference_design={"x": 0.5},
            )

        def config_from_design(self, design):
            return design["x"]

        def evaluate_config(self, config):
            return {"cycles": 1.0 + config}

    env = Line()
    with pytest.raises(ValueError, match="finite"):
        DesignActionWrapper(env)


@pytest.mark.skipif(HAS_SB3, reason="checks the message shown without stable-baselines3")
def test_train_without_sb3_says_what_to_install():
    with pytest.raises(ImportError, match="stable-baselines3"):
        train(_env())


@pytest.mark.skipif(not HAS_SB3, reason="needs stable-baselines3 and torch")
def test_ppo_trains_on_a_one_step_env():
    env = _env()
    train(env, algo="PPO", total_timesteps=128, seed=0, n_steps=64, batch_size=32)
    assert env.best is not None
