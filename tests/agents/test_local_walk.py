import math

from archgym.agents.local_walk import LocalWalk

from archgym.result import Result
from archgym.space import DesignSpace, Integer
from archgym.testing import AgentContract, run_loop, toy_problem, toy_space


class TestLocalWalkContract(AgentContract):
    agent_name = "local_walk"


def _bowl(design):
    # A convex bowl with a unique optimum at (7, 3): hill climbing must reach it.
    return Result(design, {}, -((design["x"] - 7) ** 2) - (design["y"] - 3) ** 2)


def test_hill_climbs_to_the_optimum_of_a_convex_bowl():
    space = DesignSpace([Integer("x", 0, 20), Integer("y", 0, 20)])
    for seed in range(5):
        agent = LocalWalk(space, seed=seed, patience=1000)
        history = run_loop(agent, _bowl, 120)
        assert agent.best[0] == {"x": 7, "y": 3}
        # Only unseen designs are asked.
        keys = [tuple(d.values()) for d, _ in history]
        assert len(keys) == len(set(keys))


def test_asks_neighbours_of_the_current_design_except_restarts():
    space = toy_space()
    agent = LocalWalk(space, seed=0)
    local = restarts = 0
    for _ in range(80):
        design = agent.ask()
        if agent._current is not None and design in space.neighbours(agent._current):
            local += 1
        else:
            restarts += 1
        agent.tell(design, toy_problem(design))
    assert local > 3 * restarts


def test_restarts_after_patience_runs_out():
    space = DesignSpace([Integer("x", 0, 1000)])
    flat = lambda d: Result(d, {}, 0.0)  # noqa: E731 - a plateau: nothing ever improves
    agent = LocalWalk(space, seed=0, patience=5, accept_equal=False)
    history = run_loop(agent, flat, 30)
    # Without improvement the walk restarts every 5 evaluations: designs spread over the range.
    xs = [d["x"] for d, _ in history]
    assert max(xs) - min(xs) > 50


def test_infeasible_start_is_left_behind():
    space = DesignSpace([Integer("x", 0, 10)])

    def half_infeasible(d):
        if d["x"] < 5:
            return Result(d, {}, -math.inf, feasible=False, error="too small")
        return Result(d, {}, float(d["x"]))

    agent = LocalWalk(space, seed=1)
    run_loop(agent, half_infeasible, 11)
    assert agent.best == ({"x": 10}, 10.0)


def test_plateau_of_known_designs_does_not_trap_the_walk():
    # Every design has the same reward: sideways moves among evaluated designs must not cycle.
    space = DesignSpace([Integer("x", 0, 3), Integer("y", 0, 3)])
    agent = LocalWalk(space, seed=0, accept_equal=True)
    history = run_loop(agent, lambda d: Result(d, {}, 1.0), 40)
    assert len(history) == 40
