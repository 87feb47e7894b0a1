"""The runner's batch-ask protocol and its vectorised sampler."""

import numpy as np
import pytest
from archgym.agents.base import make_agent

from archgym.experiment.asking import ask_designs, sample_designs
from archgym.space import Categorical, DesignSpace, Integer, PowerOfTwo, Real

SPACE = DesignSpace(
    [PowerOfTwo("rows", 4, 64), Integer("k", 1, 5), Categorical("df", ["os", "ws", "is"])],
    constraints=["rows * k <= 128"],
)


def test_samples_are_valid_and_cover_the_space_uniformly():
    designs = sample_designs(SPACE, np.random.default_rng(0), 30_000)
    assert all(SPACE.contains(d) for d in designs[:500])
    keys = [tuple(d.values()) for d in designs]
    counts = np.unique(keys, axis=0, return_counts=True)[1]
    assert len(counts) == SPACE.cardinality
    assert counts.min() > 0.8 * counts.mean() and counts.max() < 1.2 * counts.mean()


def test_real_and_log_parameters():
    space = DesignSpace([Real("x", 1e-3, 1.0, log=True), Integer("n", 1, 1000, log=True)])
    designs = sample_designs(space, np.random.default_rng(0), 4000)
    x = np.array([d["x"] for d in designs])
    assert all(space.contains(d) for d in designs[:200])
    assert 0.4 < np.mean(x < 10**-1.5) < 0.6  # log-uniform: half below the geometric middle


def test_dedupe_exhausts_the_space_then_finishes():
    agent = make_agent("random_walk", SPACE, seed=0)
    total = int(SPACE.cardinality)
    first = ask_designs(agent, total - 3)
    rest = ask_designs(agent, 10)
    assert len(rest) == 3 and ask_designs(agent, 5) == []
    keys = {tuple(d.values()) for d in first + rest}
    assert len(keys) == total


def test_same_seed_same_designs():
    a, b = (make_agent("random_walk", SPACE, seed=7) for _ in range(2))
    assert ask_designs(a, 50) == ask_designs(b, 50)


def test_impossible_constraints_fail_with_a_message():
    space = DesignSpace([Integer("a", 1, 3)], constraints=["a > 10"])
    with pytest.raises(ValueError, match="no design satisfying"):
        sample_designs(space, np.random.default_rng(0), 5)
