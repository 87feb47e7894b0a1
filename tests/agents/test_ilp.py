import math

import numpy as np
import pytest
from archgym.agents.ilp import CosmaILP
from archgym.agents.random_walk import RandomWalk
from archgym.simulators.scratchpad import budget_bytes, schedule

from archgym.envs.scratchpad import ScratchpadSizeEnv
from archgym.testing import AgentContract, run_loop, toy_space


class TestCosmaILPFallbackContract(AgentContract):
    # The contract's toy spaces are not scratchpad-size spaces: this checks the fallback path.
    agent_name = "cosma_ilp"
    agent_cls = CosmaILP
    hyperparams = {"fallback": "random"}


def test_rejects_other_spaces_by_default_naming_the_env():
    with pytest.raises(ValueError, match="ScratchpadSize-v0"):
        CosmaILP(toy_space(), seed=0)


@pytest.fixture(scope="module")
def env():
    # Belady traffic instead of the ILP per size: same space, fast to enumerate.
    return ScratchpadSizeEnv("densenet-block-graph", method="belady")


def test_start_size_is_the_envs_min_peak_below_which_traffic_is_proven(env):
    agent = CosmaILP(env.space, seed=0)
    first = agent.ask()
    agent.tell(first, env.evaluate(first))
    need = budget_bytes(env.graph, "min_peak")[0]
    assert agent.zero_traffic_kib == math.ceil(need / 1024)
    # Independent check: below the exact minimum peak the exact method proves extra traffic.
    below = schedule(env.graph, need - 1024, "ilp", time_limit_s=60)
    assert below.status == "optimal" and below.replay.extra_dram_bytes > 0


def _evals_to_optimum(agent, env, optimum, budget):
    for i, (_, r) in enumerate(run_loop(agent, env.evaluate, budget), start=1):
        if r.feasible and r.reward >= optimum:
            return i
    return math.inf


def test_contract_on_the_scratchpad_size_space(env):
    agent = CosmaILP(env.space, seed=0)
    history = run_loop(agent, env.evaluate, 400)
    keys = [tuple(d.values()) for d, _ in history]
    assert len(set(keys)) == len(keys)  # never re-asks
    for d, _ in history:
        env.space.validate(d)
    assert agent.finished
    # It never proposes sizes below the largest op footprint (infeasible by construction).
    assert all(r.feasible for _, r in history)


def test_reaches_the_optimum_in_fewer_evaluations_than_random_walk(env):
    # Optimum by enumeration of all 305 designs (the independent reference).
    optimum = max(r.reward for r in map(env.evaluate, env.space.grid()) if r.feasible)
    ilp = _evals_to_optimum(CosmaILP(env.space, seed=0), env, optimum, 305)
    walks = [_evals_to_optimum(RandomWalk(env.space, seed=s), env, optimum, 305) for s in range(5)]
    assert ilp <= 10
    assert ilp < np.median(walks)


def test_same_seed_same_designs_and_resume(env):
    a = CosmaILP(env.space, seed=1)
    run_loop(a, env.evaluate, 7)
    b = CosmaILP(env.space, seed=1)
    b.load_state_dict(a.state_dict())
    assert [d for d, _ in run_loop(a, env.evaluate, 12)] == [
        d for d, _ in run_loop(b, env.evaluate, 12)
    ]
