import math

import gymnasium as gym
import numpy as np
import pytest
from archgym.agents.reinforce import MaskedPolicyGradient, PolicyGradient
from gymnasium import spaces

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


def test_memory_keeps_the_best_distinct_designs():
    space = DesignSpace([Integer("x", 0, 9)])
    agent = PolicyGradient(space, seed=0, memory=3, batch=100)
    rewards = [5.0, 1.0, 7.0, 3.0, 9.0, 2.0]
    for x, r in enumerate(rewards):
        agent.tell({"x": x}, Result({"x": x}, {}, r))
    agent.tell({"x": 4}, Result({"x": 4}, {}, 9.0))  # a repeat does not take two places
    # Top 3 of `rewards` by hand: 9 (x=4), 7 (x=2), 5 (x=0).
    assert [(r, a) for r, a in agent._memory] == [(9.0, [4]), (7.0, [2]), (5.0, [0])]


def test_elite_advantages_are_the_cross_entropy_weights():
    agent = PolicyGradient(DesignSpace([Integer("x", 0, 9)]), seed=0, elite=0.4)
    adv = agent._advantages(np.array([3.0, 1.0, 5.0, 4.0, 2.0]))
    # Top 2 of 5 (5.0 and 4.0) weighted 1, the rest 0, minus the mean weight 0.4.
    assert adv == pytest.approx([-0.4, -0.4, 0.6, 0.6, -0.4])
    tied = agent._advantages(np.array([1.0, 2.0, 2.0, 2.0, 0.0]))
    assert tied.sum() == pytest.approx(0.0) and tied[1] == tied[2] == tied[3] > 0


def test_anneal_stops_learning_when_the_budget_is_spent():
    space = DesignSpace([Integer("x", 0, 9)])
    agent = PolicyGradient(space, seed=0, anneal=True, budget=20, batch=4, memory=0)
    run_loop(agent, lambda d: Result(d, {}, float(d["x"])), 20)
    before = [lg.copy() for lg in agent.logits]
    run_loop(agent, lambda d: Result(d, {}, float(d["x"])), 8)  # past the budget: lr is 0
    assert all(np.array_equal(a, b) for a, b in zip(before, agent.logits, strict=True))
    assert agent.probabilities()[0][5:].sum() > 0.5  # it did learn before


@pytest.mark.parametrize("algorithm", ["reinforce", "ppo"])
def test_large_step_sizes_keep_the_policy_finite(algorithm):
    agent = PolicyGradient(toy_space(), seed=0, algorithm=algorithm, lr=100.0, batch=4)
    run_loop(agent, toy_problem, 40)  # without the logit floor this hit NaN within 24
    assert all(np.isfinite(p).all() and p.min() > 0 for p in agent.probabilities())


@pytest.mark.parametrize("algorithm", ["reinforce", "ppo"])
def test_no_evaluation_is_spent_on_a_duplicate(algorithm):
    # 945-box toy space, a budget of a third of it: a converged policy keeps drawing known
    # designs, which must not be asked again while unseen ones remain (batches included).
    agent = PolicyGradient(toy_space(), seed=0, algorithm=algorithm, lr=3.0)
    asked = [d for d, _ in run_loop(agent, toy_problem, 300)]
    for _ in range(5):
        batch = agent.ask_batch(8)
        agent.tell_batch(batch, [toy_problem(d) for d in batch])
        asked += batch
    keys = [tuple(d.values()) for d in asked]
    assert len(set(keys)) == len(keys)
