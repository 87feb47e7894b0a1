"""Tables and figures: objective values with units, labels, CIs, regret and hypervolume."""

import math
import textwrap

import numpy as np
import pytest

from archgym.dataset import load
from archgym.experiment import parse_experiment, run_experiment
from archgym.objective import make_objective
from archgym.plots import plot_all
from archgym.results import (
    bootstrap_ci,
    format_table,
    hypervolume_2d,
    objective_info,
    summary,
    unit_of,
)

EXP = textwrap.dedent(
    """
    [experiment]
    name = "results"
    budget = 24
    seeds = 3
    batch = 6

    [env]
    id = "archgym/GemmRoofline-v0"
    kwargs = { workload = "gpt2-decode", objective = "edp" }

    [[agents]]
    name = "random_walk"
    label = "rw-dedupe"

    [[agents]]
    name = "random_walk"
    label = "rw-plain"
    hyperparams = { dedupe = false }
    """
)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("results") / "out"
    run_experiment(parse_experiment(EXP), out, workers=1, show_progress=False)
    return load(out)


def test_units_and_objective_values():
    assert unit_of("latency_s") == "s" and unit_of("energy_pj") == "pJ"
    assert unit_of("sram_kib") == "KiB" and unit_of("mystery") == ""
    edp = objective_info(make_objective("edp"))
    assert edp.unit == "pJ·s" and edp.lower_is_better
    assert edp.value(-2.5e8) == pytest.approx(2.5e8)
    lat = objective_info(make_objective("min:latency_s"))
    assert lat.axis == "latency_s [s], lower is better"
    util = objective_info(make_objective("max:utilisation"))
    assert not util.lower_is_better and util.value(0.5) == pytest.approx(0.5)


def test_bootstrap_ci_brackets_the_mean_and_needs_two_values():
    lo, hi = bootstrap_ci([1.0, 2.0, 3.0, 4.0])
    assert lo < 2.5 < hi and lo >= 1.0 and hi <= 4.0
    assert all(math.isnan(v) for v in bootstrap_ci([1.0]))


def test_hypervolume_of_a_known_front():
    pts = np.array([[1.0, 3.0], [2.0, 2.0], [3.0, 1.0], [3.0, 3.0]])
    assert hypervolume_2d(pts, (4.0, 4.0)) == pytest.approx(3 + 2 + 1)
    assert hypervolume_2d(np.array([[5.0, 5.0]]), (4.0, 4.0)) == 0.0


def test_summary_separates_labels_and_shows_objective_units(dataset):
    table = summary(dataset)
    assert sorted(table["agent"]) == ["rw-dedupe", "rw-plain"]
    assert set(table["unit"]) == {"pJ·s"} and table["runs"].tolist() == [3, 3]
    assert (table["best"] > 0).all() and (table["ci_low"] <= table["mean"]).all()
    assert (table["mean"] <= table["ci_high"]).all()
    assert table["regret_to"].eq("best found").all() and (table["regret"] >= 0).all()
    assert table["hypervolume"].between(0, 1).all()
    text = format_table(table)
    assert "objective: edp = energy_pj x latency_s [pJ·s], lower is better" in text
    assert "best design (" in text and "regret vs best found" in text


def test_regret_to_a_known_optimum(dataset):
    env = summary(dataset)["env"].iloc[0]
    best_reward = float(dataset["reward"].max())
    table = summary(dataset, optima={env: best_reward * 0.5})  # an optimum twice as good
    assert table["regret_to"].eq("optimum").all()
    assert (table["regret"] >= 1.0 - 1e-9).all()


def test_figures_are_written(dataset, tmp_path):
    paths = plot_all(dataset, tmp_path)
    assert [p.name for p in paths] == ["best_so_far.png", "pareto.png"]
    assert all(p.stat().st_size > 10_000 for p in paths)


def test_pareto_runs_report_hypervolume_not_a_mixed_unit_best(tmp_path):
    text = EXP.replace(
        'objective = "edp"',
        'objective = { type = "multi", objectives = ["latency_s", "energy_pj"] }',
    ).replace('name = "random_walk"\nlabel = "rw-plain"', 'name = "nsga2"\nlabel = "nsga2"')
    text = text.replace("hyperparams = { dedupe = false }", "")
    out = tmp_path / "mo"
    run_experiment(parse_experiment(text), out, workers=1, show_progress=False)
    table = summary(load(out))
    assert table["objective"].str.startswith("hypervolume of (latency_s, energy_pj)").all()
    assert table["mean"].between(0, 1).all() and table["unit"].eq("").all()
    assert "a front, not one design" in format_table(table)
