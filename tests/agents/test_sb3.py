import importlib.util
import math

import gymnasium
import numpy as np
import pytest
from archgym.agents.sb3 import BestDesign, DesignActionWrapper, train

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
def test_train_wraps_a_dict_action_env():
    env = _env()
    train(env, algo="PPO", total_timesteps=64, seed=0, n_steps=32, batch_size=32)
    assert env.best is not None


def test_reward_wrappers_never_see_infinite_rewards():
    """Gymnasium's NormalizeReward after infeasible designs: every reward stays finite."""
    env = gymnasium.wrappers.NormalizeReward(
        gymnasium.make("archgym/GemmRoofline-v0", max_pes=1024)
    )
    assert isinstance(env.action_space, gymnasium.spaces.MultiDiscrete)
    env.reset(seed=0)
    infeasible = 0
    for i in range(30):
        action = np.array([5, 5, 0, 0, 0]) if i % 3 == 0 else env.action_space.sample()
        _, reward, _, _, info = env.step(action)
        env.reset()
        infeasible += not info["feasible"]
        assert math.isfinite(reward)
    assert infeasible >= 10  # 256 x 256 > 1024 PEs


def test_best_design_keeps_the_best_objective_reward():
    env = BestDesign(gymnasium.make("archgym/GemmRoofline-v0", max_pes=1024))
    env.reset(seed=0)
    rewards = []
    for _ in range(20):
        _, _, _, _, info = env.step(env.action_space.sample())
        env.reset()
        if info["feasible"]:
            rewards.append(info["objective_reward"])
    assert env.steps == 20 and env.best[1] == max(rewards)
    assert env.unwrapped.evaluate(env.best[0]).reward == env.best[1]


def _random_search_best(env, budget, seed):
    rng = np.random.default_rng(seed)
    results = env.evaluate_batch([env.space.sample(rng) for _ in range(budget)])
    return max(r.reward for r in results if r.feasible)


@pytest.mark.slow
@pytest.mark.skipif(not HAS_SB3, reason="needs stable-baselines3 and torch")
def test_sb3_ppo_learns_through_gymnasium_make_alone():
    """Plain SB3 PPO on `gymnasium.make(id)` (MultiDiscrete actions, log reward: the env's
    defaults; no archgym wrapper) beats uniform random search at the same budget."""
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback

    torch.set_num_threads(1)
    budget = 512

    class BestSeen(BaseCallback):
        def __init__(self):
            super().__init__()
            self.best = -math.inf

        def _on_step(self):
            for info in self.locals["infos"]:
                if info["feasible"]:
                    self.best = max(self.best, info["objective_reward"])
            return True

    plain = gymnasium.make("archgym/GemmRoofline-v0").unwrapped
    random_best = np.median([_random_search_best(plain, budget, s) for s in range(20)])
    for seed in (0, 1):
        env = gymnasium.make("archgym/GemmRoofline-v0")
        seen = BestSeen()
        model = PPO(
            "MlpPolicy",
            env,
            seed=seed,
            n_steps=32,
            batch_size=32,
            learning_rate=3e-3,
            device="cpu",
            verbose=0,
        )
        model.learn(budget, callback=seen)
        assert seen.best > random_best, (seed, seen.best, random_best)
