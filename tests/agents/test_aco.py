import math

import numpy as np
from archgym.agents.aco import AntColony

from archgym.result import Result
from archgym.space import DesignSpace, Integer, Real
from archgym.testing import AgentContract, run_loop, toy_problem, toy_space


class TestAntColonyContract(AgentContract):
    agent_name = "aco"


def test_pheromone_evaporates_without_deposits():
    agent = AntColony(toy_space(), seed=0, ants=5, evaporation=0.25)
    infeasible = lambda d: Result(d, {}, -math.inf, feasible=False, error="no")  # noqa: E731
    run_loop(agent, infeasible, 5)
    for tau in agent.pheromone:
        np.testing.assert_allclose(tau, 0.75)
    run_loop(agent, infeasible, 5)
    for tau in agent.pheromone:
        np.testing.assert_allclose(tau, 0.75**2)


def test_pheromone_concentrates_on_the_optimum():
    agent = AntColony(toy_space(), seed=0, ants=8)
    run_loop(agent, toy_problem, 200)
    probs = agent.probabilities()
    best = {"rows": 64, "banks": 5, "dataflow": "ws", "depth": 20}
    for p, pr in zip(agent.space.params, probs, strict=True):
        assert int(np.argmax(pr)) == p.index(best[p.name])


def test_pheromone_stays_within_bounds():
    agent = AntColony(toy_space(), seed=2, ants=4, tau_min=0.05, evaporation=0.5)
    run_loop(agent, toy_problem, 120)
    for tau in agent.pheromone:
        assert tau.min() >= 0.05 and tau.max() <= 1.0


def test_real_parameters_use_bins():
    space = DesignSpace([Real("x", 0.0, 1.0), Integer("n", 0, 3)])
    agent = AntColony(space, seed=0, real_bins=8, ants=4)
    history = run_loop(agent, lambda d: Result(d, {}, -abs(d["x"] - 0.3)), 80)
    assert len(agent.pheromone[0]) == 8
    assert max(r.reward for _, r in history) > -0.05
