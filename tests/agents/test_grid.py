import pytest
from archgym.agents.grid import Grid

from archgym.result import Result
from archgym.space import Categorical, DesignSpace, Integer, PowerOfTwo, Real
from archgym.testing import AgentContract, run_loop, toy_problem, toy_space


class TestGridContract(AgentContract):
    agent_name = "grid"


@pytest.mark.parametrize("order", ["shuffled", "lexicographic"])
def test_enumerates_the_finite_space_exactly_once(order):
    space = toy_space()
    agent = Grid(space, seed=0, mode="exhaustive", order=order)
    history = run_loop(agent, toy_problem, 10_000)
    keys = [tuple(d.values()) for d, _ in history]
    # Independent reference: the space's own enumeration.
    expected = {tuple(d.values()) for d in space.grid()}
    assert len(keys) == len(set(keys)) == len(expected) == space.cardinality
    assert set(keys) == expected
    assert agent.finished
    if order == "lexicographic":
        assert keys == [tuple(d.values()) for d in space.grid()]


def test_auto_is_exhaustive_when_the_budget_covers_the_space():
    space = toy_space()
    assert Grid(space, budget=int(space.cardinality)).mode == "exhaustive"
    assert Grid(space, budget=10).mode == "latin"
    assert Grid(space).mode == "exhaustive"


def test_latin_batch_uses_every_stratum_once():
    space = DesignSpace([Integer("a", 0, 9), Real("x", 0.0, 1.0)])
    agent = Grid(space, seed=0, mode="latin", points=10)
    designs = [agent.ask() for _ in range(10)]
    # 10 strata over 10 values: each value exactly once; each tenth of [0, 1] exactly once.
    assert sorted(d["a"] for d in designs) == list(range(10))
    assert sorted(int(d["x"] * 10) for d in designs) == list(range(10))
    assert not agent.finished


def test_strided_spreads_over_the_space_and_finishes():
    space = DesignSpace([PowerOfTwo("rows", 1, 1024), Categorical("df", ["os", "ws"])])
    agent = Grid(space, mode="strided", points=6)
    history = run_loop(agent, lambda d: Result(d, {}, 0.0), 100)
    assert len(history) == 6
    rows = [d["rows"] for d, _ in history]
    assert rows[0] == 1 and rows[-1] == 1024
    assert agent.finished


def test_exhaustive_refuses_reals():
    space = DesignSpace([Real("x", 0.0, 1.0)])
    with pytest.raises(ValueError, match="finite"):
        Grid(space, mode="exhaustive")
    assert Grid(space).mode == "latin"


def test_state_dict_resumes_the_enumeration():
    space = toy_space()
    a = Grid(space, seed=3, mode="exhaustive")
    run_loop(a, toy_problem, 100)
    b = Grid(space, seed=99, mode="exhaustive")
    b.load_state_dict(a.state_dict())
    assert [d for d, _ in run_loop(a, toy_problem, 50)] == [
        d for d, _ in run_loop(b, toy_problem, 50)
    ]
