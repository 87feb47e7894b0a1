"""Design spaces: validation messages, sampling, enumeration, encodings, conversions."""

import math

import numpy as np
import optuna
import pytest
from gymnasium import spaces
from hypothesis import given, settings
from hypothesis import strategies as st

from archgym.space import Categorical, Constraint, DesignSpace, Integer, PowerOfTwo, Real


def accel_space() -> DesignSpace:
    return DesignSpace(
        [
            PowerOfTwo("rows", 4, 256),
            PowerOfTwo("cols", 4, 256),
            Categorical("dataflow", ["os", "ws", "is"]),
            Integer("sram_kib", 16, 1024, step=16),
            Real("bw", 1.0, 64.0, log=True),
        ],
        constraints=["rows * cols <= 16384", "dataflow != 'is' or rows >= 16"],
    )


def finite_space() -> DesignSpace:
    return DesignSpace(
        [PowerOfTwo("rows", 4, 256), PowerOfTwo("cols", 4, 256), Categorical("df", ["os", "ws"])],
        constraints=["rows * cols <= 4096"],
    )


def test_validate_names_parameter_and_value():
    space = accel_space()
    good = {"rows": 8, "cols": 8, "dataflow": "os", "sram_kib": 32, "bw": 2.0}
    assert space.validate(good) == good
    with pytest.raises(
        ValueError, match=r"parameter `rows` must be a power of two in \[4, 256\], but got 100"
    ):
        space.validate({**good, "rows": 100})
    with pytest.raises(
        ValueError,
        match=r"`sram_kib` must be an integer in \[16, 1024\] in steps of 16, but got 20",
    ):
        space.validate({**good, "sram_kib": 20})
    with pytest.raises(ValueError, match=r"unknown parameter 'rowz'; did you mean 'rows'"):
        space.validate({**good, "rowz": 8})
    with pytest.raises(ValueError, match=r"missing parameter `bw`"):
        space.validate({k: v for k, v in good.items() if k != "bw"})
    with pytest.raises(ValueError, match=r"violates constraint `dataflow != 'is' or rows >= 16`"):
        space.validate({**good, "dataflow": "is"})


def test_numpy_values_are_canonicalised():
    space = finite_space()
    d = space.validate({"rows": np.int64(8), "cols": 16.0, "df": np.str_("os")})
    assert d == {"rows": 8, "cols": 16, "df": "os"}
    assert type(d["rows"]) is int and type(d["cols"]) is int


def test_parameter_construction_errors():
    with pytest.raises(
        ValueError, match=r"`low <= high` must hold for `x`, but got \(low=8, high=4\)"
    ):
        Integer("x", 8, 4)
    with pytest.raises(ValueError, match="must be a power of two"):
        PowerOfTwo("x", 3, 16)
    with pytest.raises(ValueError, match="distinct"):
        Categorical("x", ["a", "a"])
    with pytest.raises(ValueError, match="unknown parameter 'colz'"):
        DesignSpace([Integer("rows", 1, 4)], constraints=["colz > 1"])
    with pytest.raises(ValueError, match=r"unsupported syntax|may call only"):
        Constraint("__import__('os').system('true')")
    with pytest.raises(ValueError, match="duplicates"):
        DesignSpace([Integer("a", 1, 2), Integer("a", 1, 3)])


def test_cardinality_and_grid_agree_with_brute_force():
    space = finite_space()
    brute = (
        sum(
            1
            for r in (4, 8, 16, 32, 64, 128, 256)
            for c in (4, 8, 16, 32, 64, 128, 256)
            if r * c <= 4096
        )
        * 2
    )
    grid = list(space.grid())
    assert space.cardinality == brute == len(grid)
    assert len({tuple(d.values()) for d in grid}) == len(grid)
    assert space.box_size == 7 * 7 * 2
    assert math.isinf(accel_space().cardinality)
    with pytest.raises(ValueError, match="real parameters"):
        next(accel_space().grid())


def test_sampling_is_uniform_over_valid_designs():
    space = finite_space()
    rng = np.random.default_rng(0)
    counts: dict[tuple, int] = {}
    n = 20000
    for _ in range(n):
        d = space.sample(rng)
        counts[tuple(d.values())] = counts.get(tuple(d.values()), 0) + 1
    assert len(counts) == space.cardinality
    expected = n / space.cardinality
    chi2 = sum((c - expected) ** 2 / expected for c in counts.values())
    # 69 degrees of freedom: the 99.9th percentile of chi-square(69) is about 111.
    assert chi2 < 111


def test_sample_raises_when_constraints_unsatisfiable():
    space = DesignSpace([Integer("a", 1, 3)], constraints=["a > 5"])
    with pytest.raises(ValueError, match="no design satisfying"):
        space.sample(np.random.default_rng(0))


def test_gymnasium_and_optuna_conversions_round_trip():
    space = accel_space()
    gym_space = space.to_gymnasium()
    assert isinstance(gym_space, spaces.Dict)
    assert gym_space["rows"] == spaces.Discrete(7)
    rng = np.random.default_rng(1)
    for _ in range(50):
        d = space.sample(rng)
        action = space.to_action(d)
        assert gym_space.contains(action)
        assert space.from_action(action) == d
    dists = space.to_optuna()
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(20):
        trial = study.ask(dists)
        d = space.from_optuna(trial.params)
        for p in space:
            assert p.contains(d[p.name])
        study.tell(trial, 0.0)


def test_serialisation_round_trip():
    space = accel_space()
    again = DesignSpace.from_dict(space.to_dict())
    assert again.params == space.params
    assert [c.text for c in again.constraints] == [c.text for c in space.constraints]


def test_callable_constraint_and_vectorised_count_agree():
    expr = DesignSpace([PowerOfTwo("a", 1, 64), Integer("b", 0, 20)], constraints=["a + b <= 30"])
    fn = DesignSpace(
        [PowerOfTwo("a", 1, 64), Integer("b", 0, 20)], constraints=[lambda d: d["a"] + d["b"] <= 30]
    )
    assert expr.cardinality == fn.cardinality == len(list(fn.grid()))


def test_single_value_space():
    space = DesignSpace([Integer("a", 3, 3), Categorical("b", ["x"])])
    assert space.cardinality == 1
    assert space.neighbours({"a": 3, "b": "x"}) == []
    assert space.sample(np.random.default_rng(0)) == {"a": 3, "b": "x"}


@st.composite
def designs(draw, space_factory=accel_space):
    space = space_factory()
    seed = draw(st.integers(0, 2**32 - 1))
    return space, space.sample(np.random.default_rng(seed))


@settings(max_examples=150, deadline=None)
@given(designs())
def test_encode_decode_round_trip(case):
    space, design = case
    assert space.decode(space.encode(design)) == design
    unit = space.to_unit(design)
    assert np.all((unit >= 0) & (unit <= 1))


@settings(max_examples=150, deadline=None)
@given(designs())
def test_sampled_designs_satisfy_constraints(case):
    space, design = case
    assert space.violated(design) == []
    assert space.contains(design)


@settings(max_examples=100, deadline=None)
@given(designs())
def test_neighbours_stay_in_space_and_differ_in_one_parameter(case):
    space, design = case
    for n in space.neighbours(design):
        assert space.contains(n)
        assert sum(n[k] != design[k] for k in design) == 1


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=5, max_size=5))
def test_decode_clips_any_vector_into_the_box(vec):
    space = accel_space()
    d = space.decode(vec)
    for p in space:
        assert p.contains(d[p.name])


def test_cardinality_by_constraint_groups_equals_enumeration():
    space = DesignSpace(
        [
            PowerOfTwo("a", 1, 64),
            Integer("b", 0, 9),
            Categorical("c", ["x", "y", "z"]),
            Integer("d", 1, 6),
            Integer("e", 1, 6),
            Integer("free", 0, 4),
        ],
        constraints=[
            "a * b <= 40",
            "c != 'z' or b > 3",
            "d + e <= 7",
            lambda d: d["free"] != 2 or d["a"] > 1,
        ],
    )
    assert space.cardinality == len(list(space.grid()))
    no_callable = DesignSpace(space.params, constraints=list(space.constraints[:3]))
    assert no_callable.cardinality == len(list(no_callable.grid()))


@st.composite
def _spaces(draw):
    """Random spaces: every parameter kind, expression constraints with and without labels."""
    params = []
    for i in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(["int", "log", "step", "pow2", "cat", "real"]))
        lo = draw(st.integers(1, 20))
        hi = lo + draw(st.integers(0, 40))
        name = f"p{i}"
        if kind == "int":
            params.append(Integer(name, lo, hi))
        elif kind == "log":
            params.append(Integer(name, lo, hi, log=True))
        elif kind == "step":
            params.append(Integer(name, lo, hi + 3, step=3))
        elif kind == "pow2":
            params.append(PowerOfTwo(name, 2 ** (lo % 5), 2 ** (lo % 5 + 3)))
        elif kind == "cat":
            params.append(
                Categorical(
                    name,
                    draw(st.lists(st.sampled_from("abcdef"), min_size=1, max_size=4, unique=True)),
                )
            )
        else:
            params.append(Real(name, float(lo), float(hi) + 0.5, log=draw(st.booleans())))
    numeric = [p.name for p in params if not isinstance(p, Categorical)]
    constraints = []
    if numeric:
        expr = f"{numeric[0]} <= {draw(st.integers(1, 60))}"
        label = draw(st.sampled_from([None, "budget"]))
        constraints.append(Constraint(expr, name=label))
    return DesignSpace(params, constraints=constraints)


@settings(max_examples=150, deadline=None)
@given(_spaces(), st.integers(0, 2**32 - 1))
def test_to_dict_from_dict_round_trips_every_space(space, seed):
    again = DesignSpace.from_dict(space.to_dict())
    assert again.to_dict() == space.to_dict()
    assert [c.text for c in again.constraints] == [c.text for c in space.constraints]
    rng = np.random.default_rng(seed)
    for _ in range(5):
        design = {p.name: p.sample(rng) for p in space}
        assert again.violated(design) == space.violated(design)
        assert again.check_box(design) == space.check_box(design)


def test_a_callable_constraint_refuses_to_be_saved():
    space = DesignSpace([Integer("a", 1, 4)], constraints=[lambda d: d["a"] > 1])
    with pytest.raises(ValueError, match="callable and cannot be saved"):
        space.to_dict()
