"""Objectives: one direction (higher is better), named specs, errors."""

import math

import pytest

from archgym.errors import UserError
from archgym.objective import (
    Maximize,
    Minimize,
    MultiObjective,
    Product,
    Targets,
    WeightedSum,
    make_objective,
)

M = {"latency_s": 2e-3, "energy_pj": 5e6, "area_mm2": 3.0, "utilisation": 0.5}


def test_directions_and_values():
    assert Minimize("latency_s").reward(M) == -2e-3
    assert Maximize("utilisation").reward(M) == 0.5
    assert make_objective("edp").reward(M) == pytest.approx(-5e6 * 2e-3)
    assert make_objective("edap").reward(M) == pytest.approx(-5e6 * 2e-3 * 3.0)
    assert WeightedSum({"latency_s": 1e3, "area_mm2": 1.0}).reward(M) == pytest.approx(-5.0)
    assert Product(["latency_s", "area_mm2"], scale=2.0).reward(M) == pytest.approx(-3e-3)


def test_smaller_cost_gives_larger_reward():
    for obj in (
        make_objective("latency_s"),
        make_objective("edp"),
        WeightedSum({"energy_pj": 1.0}),
    ):
        better = {**M, "latency_s": 1e-3, "energy_pj": 4e6}
        assert obj.reward(better) > obj.reward(M)


def test_targets_grow_towards_the_target():
    t = Targets({"latency_s": 1e-3})
    assert t.reward({"latency_s": 1e-3}) == 0.0
    assert t.reward({"latency_s": 1.5e-3}) > t.reward({"latency_s": 3e-3})
    below = Targets({"latency_s": 1e-3}, mode="below")
    assert below.reward({"latency_s": 0.5e-3}) == 0.0
    assert below.reward({"latency_s": 2e-3}) == pytest.approx(-1.0)


def test_multi_objective_values_and_error_values():
    mo = make_objective({"type": "multi", "objectives": ["latency_s", "energy_pj"]})
    assert isinstance(mo, MultiObjective)
    assert mo.values(M) == (-2e-3, -5e6)
    assert mo.n_objectives == 2
    assert mo.error_values() == (-math.inf, -math.inf)


def test_spec_errors():
    with pytest.raises(
        UserError, match="unknown objective type 'wieghted'; did you mean 'weighted'"
    ):
        make_objective({"type": "wieghted", "weights": {"a": 1}})
    with pytest.raises(ValueError, match="unknown metric 'latncy_s'; did you mean 'latency_s'"):
        Minimize("latncy_s").reward(M)
    with pytest.raises(ValueError, match="target of 'latency_s' must be a positive number"):
        Targets({"latency_s": 0})
