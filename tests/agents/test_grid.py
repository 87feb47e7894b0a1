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
    assert Grid(space, budget=10).mode == "refine"
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
    assert Grid(space).mode == "refine"


def test_state_dict_resumes_the_enumeration():
    space = toy_space()
    a = Grid(space, seed=3, mode="exhaustive")
    run_loop(a, toy_problem, 100)
    b = Grid(space, seed=99, mode="exhaustive")
    b.load_state_dict(a.state_dict())
    assert [d for d, _ in run_loop(a, toy_problem, 50)] == [
        d for d, _ in run_loop(b, toy_problem, 50)
    ]


def _bowl(design):
    """A smooth single-optimum landscape over a 64 x 64 x 2 grid (optimum at a=37, b=11, c=1)."""
    reward = -((design["a"] - 37) ** 2) - (design["b"] - 11) ** 2 - 50 * (design["c"] != "y")
    return Result(design, {}, float(reward))


def _bowl_space():
    return DesignSpace([Integer("a", 0, 63), Integer("b", 0, 63), Categorical("c", ["x", "y"])])


@pytest.mark.parametrize("seed", range(5))
def test_refine_finds_the_optimum_of_a_bowl_where_the_coarse_grid_alone_does_not(seed):
    space = _bowl_space()
    refine = run_loop(Grid(space, seed=seed, budget=80, mode="refine"), _bowl, 80)
    latin = run_loop(Grid(space, seed=seed, budget=80, mode="latin"), _bowl, 80)
    assert max(r.reward for _, r in refine) == 0.0  # 80 of 8,192 designs
    assert max(r.reward for _, r in latin) < 0.0


def test_refine_never_repeats_a_design_while_unseen_ones_remain():
    space = toy_space()
    budget = int(space.cardinality) // 2
    history = run_loop(Grid(space, seed=0, budget=budget), toy_problem, budget)
    keys = [tuple(d.values()) for d, _ in history]
    assert len(keys) == len(set(keys)) == budget


def test_refine_handles_reals_constraints_and_large_batches():
    space = DesignSpace(
        [Integer("a", 0, 63), Real("x", 0.5, 4.0, log=True)],
        constraints=[lambda d: d["a"] * d["x"] <= 100],
    )
    agent = Grid(space, seed=1, budget=200)
    assert agent.mode == "refine"
    for _ in range(3):  # batches larger than a round: the rest is exploration
        designs = agent.ask_batch(50)
        assert all(not space.violated(d) for d in designs)
        agent.tell_batch(designs, [Result(d, {}, float(d["a"] * d["x"])) for d in designs])
