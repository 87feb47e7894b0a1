"""Smoke tests of experiments/compare_agents.{toml,py}: every agent runs from the one TOML."""

import importlib.util
import json
import math
from pathlib import Path

import pytest

from archgym.experiment import load_experiment, run_experiment, with_overrides

ROOT = Path(__file__).resolve().parents[2]
TOML = ROOT / "experiments" / "compare_agents.toml"


def _script():
    spec = importlib.util.spec_from_file_location("compare_agents", TOML.with_suffix(".py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_every_agent_runs_from_the_toml_into_one_dataset(tmp_path):
    from archgym.dataset import load

    experiment = with_overrides(load_experiment(TOML), seed=0, budget=3, workers=1)
    run_experiment(experiment, tmp_path / "run", show_progress=False)
    df = load(tmp_path / "run")
    expected = {a.name for a in experiment.agents}
    assert set(df["agent"]) == expected
    assert set(df["env_id"]) == {e.id for e in experiment.envs}
    written = _script().dataset_figures(tmp_path / "run", tmp_path / "fig", enumerate_envs=False)
    assert all(p.exists() for p in written) and len(written) == 3 * len(experiment.envs)


def test_study_space_size_and_budget():
    ca = _script()
    env = ca.study_env("systolic")
    # Independent count: rows * cols <= 16384 rules out 128x256, 256x128 and 256x256 of the 7x7
    # shapes; times 3 dataflows x 3^3 SRAM sizes x 3 bandwidths.
    assert env.space.cardinality == 46 * 3 * 27 * 3 == 11_178
    assert math.ceil(0.05 * 11_178) - 1 == 558 < 0.05 * 11_178


def test_regret_and_tolerance():
    ca = _script()
    assert ca.regret_pct(-102.0, -100.0) == pytest.approx(2.0)
    assert ca.within(-102.0, -100.0) and not ca.within(-102.1, -100.0)
    assert ca.regret_pct(-math.inf, -100.0) == math.inf


def test_enumerate_optimum_matches_brute_force():
    from archgym.env import FunctionEnv
    from archgym.space import DesignSpace, Integer

    env = FunctionEnv(
        space=DesignSpace([Integer("a", 0, 5), Integer("b", 0, 5)], constraints=["a + b <= 7"]),
        fn=lambda d: {"cycles": float((d["a"] - 4) ** 2 + (d["b"] - 1) ** 2 + 1)},
        objective="cycles",
        metric_names=["cycles"],
    )
    design, reward, count = _script().enumerate_optimum(env)
    # Brute force by hand: cycles = (a-4)^2 + (b-1)^2 + 1 is 1 at (4, 1), which satisfies a+b <= 7;
    # 6 of the 36 pairs have a + b >= 8.
    assert design == {"a": 4, "b": 1} and reward == -1.0 and count == 36 - 6


@pytest.mark.slow
def test_scratchpad_study_runs_the_ilp_agent_only_there(tmp_path):
    ca = _script()
    assert "cosma_ilp" in ca.ONLY_ON and "scratchpad" in ca.STUDY_SPACES
    df = ca.run_study(tmp_path, seeds=1, workers=1, space="scratchpad", workload=None, quick=True)
    # 61 sizes (256..4096 KiB in 64 KiB steps) x 5 bank counts; budget under 5%: 15.
    assert json.loads((tmp_path / "optimum.json").read_text())["designs"] == 61 * 5
    assert len(df) == len(ca.STUDY_AGENTS) and set(df["evals"]) <= set(range(1, 16))
    ilp = df[df["agent"] == "cosma_ilp"].iloc[0]
    assert ilp["within_2pct"] and ilp["evals_to_2pct"] <= 5
