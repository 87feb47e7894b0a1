import math

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

from agents.reinforce import MaskedPolicyGradient, PolicyGradient
from archgym.result import Result
from archgym.space import DesignSpace, Integer
from archgym.testing import AgentContract, run_loop, toy_problem, toy_space


class TestReinforceContract(AgentContract):
    agent_name = "reinforce"


class TestPPOContract(AgentContract):
    agent_name = "reinforce"
    hyperparams = {"algorithm": "ppo", "batch": 6}


def _mean_reward(agent):
    # Expected reward of the current policy on toy_problem (infeasible counted as cost 10).
    probs = agent.probabilities()
    space = agent.space
    total, mass = 0.0, 0.0
    for d in space.grid():
        p = np.prod([probs[i][q.index(d[q.name])] for i, q in enumerate(space.params)])
        r = toy_problem(d)
        total += p * (r.reward if r.feasible else -10.0)
        mass += p
    return total / mass


@pytest.mark.parametrize("algorithm", ["reinforce", "ppo"])
def test_policy_improves_the_mean_reward(algorithm):
    agent = PolicyGradient(toy_space(), seed=0, algorithm=algorithm, batch=8)
    before = _mean_reward(agent)
    run_loop(agent, toy_problem, 200)
    assert agent.updates > 10
    after = _mean_reward(agent)
    assert after > before + 2.0


def test_infeasible_gets_a_penalty_below_the_worst():
    space = DesignSpace([Integer("x", 0, 9)])
    agent = PolicyGradient(space, seed=0)
    agent.tell({"x": 1}, Result({"x": 1}, {}, -5.0))
    agent.tell({"x": 2}, Result({"x": 2}, {}, -3.0))
    assert agent._penalised(-math.inf) == pytest.approx(-5.0 - 0.1 * 2.0)


def test_policy_avoids_an_infeasible_region():
    space = DesignSpace([Integer("x", 0, 9)])

    def half(d):
        if d["x"] < 5:
            return Result(d, {}, -math.inf, feasible=False, error="x < 5")
        return Result(d, {}, 1.0)

    agent = PolicyGradient(space, seed=0, batch=4, lr=1.0)
    run_loop(agent, half, 40)
    assert agent.probabilities()[0][5:].sum() > 0.8


class PickInOrder(gym.Env):
    """Pick 4 items one per step; the mask hides picked items; reward -|position - item|."""

    def __init__(self):
        self.n = 4
        self.action_space = spaces.Discrete(self.n)
        self.observation_space = spaces.Box(0.0, 1.0, (self.n,), np.float64)

    def _obs(self):
        return self.picked.astype(np.float64)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.picked = np.zeros(self.n, dtype=bool)
        self.t = 0
        return self._obs(), {"action_mask": ~self.picked}

    def step(self, action):
        if self.picked[action]:
            raise ValueError("masked action taken")
        self.picked[action] = True
        reward = -abs(self.t - int(action))
        self.t += 1
        done = self.t == self.n
        return self._obs(), float(reward), done, False, {"action_mask": ~self.picked}


def test_masked_policy_never_takes_masked_actions_and_learns():
    env = PickInOrder()
    policy = MaskedPolicyGradient.for_env(env, seed=0, lr=0.5)
    returns = policy.learn(env, 300, seed=0)  # the env raises on a masked action
    assert np.mean(returns[-50:]) > np.mean(returns[:50]) + 1.0
    assert policy.run_episode(env, learn=False, greedy=True) == 0.0  # the optimum


def test_masked_policy_is_seeded_and_resumable():
    env = PickInOrder()
    a = MaskedPolicyGradient.for_env(env, seed=3)
    b = MaskedPolicyGradient.for_env(env, seed=3)
    assert a.learn(env, 20, seed=1) == b.learn(env, 20, seed=1)
    c = MaskedPolicyGradient.for_env(env, seed=99)
    c.load_state_dict(a.state_dict())
    assert a.learn(env, 5, seed=2) == c.learn(env, 5, seed=2)


def test_masked_policy_rejects_an_empty_mask():
    policy = MaskedPolicyGradient(2, 1, seed=0)
    with pytest.raises(ValueError, match="no action"):
        policy.probabilities(np.ones(2), np.zeros(2, dtype=bool))


def test_masked_policy_drives_the_scratchpad_schedule_env():
    pytest.importorskip("archgym.envs.scratchpad")
    from archgym.envs.scratchpad import ScratchpadScheduleEnv

    env = ScratchpadScheduleEnv()
    invalid = []
    step = env.step

    def recording_step(action):
        out = step(action)
        invalid.append(out[4]["invalid_action"])
        return out

    env.step = recording_step
    policy = MaskedPolicyGradient.for_env(env, seed=0)
    returns = policy.learn(env, 5, seed=0)
    assert len(invalid) == 5 * env.action_space.n  # every op runs once per episode
    assert not any(invalid)  # the mask is respected
    assert all(math.isfinite(r) and r <= 0 for r in returns)
