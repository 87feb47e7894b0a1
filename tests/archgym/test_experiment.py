"""Experiment files, the runner, determinism and resuming after a crash or a kill."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

from archgym.dataset import WALL_TIME_COLUMNS, load
from archgym.errors import ConfigError, UserError
from archgym.experiment import load_experiment, parse_experiment, run_experiment

EXP = textwrap.dedent(
    """
    [experiment]
    name = "tiny"
    budget = 40
    seeds = [0, 1]
    workers = 1
    flush_every = 7

    [env]
    id = "archgym/GemmRoofline-v0"
    kwargs = { workload = "gpt2-decode", objective = "edp" }

    [[agents]]
    name = "random_walk"
    hyperparams = { dedupe = [true, false] }
    """
)


def records(path: Path) -> pd.DataFrame:
    return load(path).drop(columns=list(WALL_TIME_COLUMNS))


def write(tmp_path: Path, text: str, name: str = "exp.toml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_parse_expands_grid_and_seeds():
    exp = parse_experiment(EXP, "exp.toml")
    runs = exp.runs()
    assert len(runs) == 2 * 2
    assert {r.seed for r in runs} == {0, 1}
    assert len({r.run_id for r in runs}) == 4


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "budget = 40",
            "budgt = 40",
            r"exp.toml:4: `experiment.budgt`: unknown key 'budgt'; did you mean 'budget'",
        ),
        (
            'id = "archgym/GemmRoofline-v0"',
            'id = "archgym/GemRoofline-v0"',
            r"exp.toml:10: `env.id`: unknown env id .*did you mean 'archgym/GemmRoofline-v0'",
        ),
        (
            'name = "random_walk"',
            'name = "randomwalk"',
            r"exp.toml:14: `agents.name`: unknown agent 'randomwalk'; did you mean 'random_walk'",
        ),
        (
            "dedupe = [true, false]",
            "dedupe = [true, 3]",
            r"exp.toml:15: `agents.hyperparams.dedupe`: hyperparameter `dedupe` of agent 'random_walk' must be one of",
        ),
        (
            "dedupe = [true, false]",
            "dedup = [true]",
            r"exp.toml:15: .*unknown hyperparameter of agent 'random_walk' 'dedup'; did you mean 'dedupe'",
        ),
        (
            'workload = "gpt2-decode"',
            'workload = "gpt3-decode"',
            r"exp.toml:11: `env.kwargs`: unknown workload 'gpt3-decode'",
        ),
        (
            "seeds = [0, 1]",
            "seeds = [0, -1]",
            r"exp.toml:5: `experiment.seeds`: must be a count or a list",
        ),
        (
            "budget = 40",
            "budget = 0",
            r"exp.toml:4: `experiment.budget`: must be a positive integer, but got 0",
        ),
    ],
)
def test_config_errors_name_file_line_and_key(old, new, message):
    with pytest.raises(ConfigError, match=message):
        parse_experiment(EXP.replace(old, new), "exp.toml")


def test_invalid_toml_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match=r"bad.toml: invalid TOML"):
        parse_experiment("[experiment\nname=1", "bad.toml")
    with pytest.raises(UserError, match="does not exist"):
        load_experiment(tmp_path / "nope.toml")


def test_quickstart_is_valid():
    exp = load_experiment()
    assert exp.name == "quickstart" and exp.runs()


def test_same_experiment_and_seed_give_identical_records(tmp_path):
    exp = parse_experiment(EXP, "exp.toml")
    run_experiment(exp, tmp_path / "a", workers=1, show_progress=False)
    run_experiment(exp, tmp_path / "b", workers=2, show_progress=False)  # parallel processes
    a, b = records(tmp_path / "a"), records(tmp_path / "b")
    assert len(a) == 4 * 40
    pd.testing.assert_frame_equal(a, b)
    assert a.groupby("run_id")["step"].apply(list).map(lambda s: s == list(range(40))).all()


@pytest.mark.parametrize("batch", [1, 4])
def test_resume_after_a_crash_loses_and_duplicates_nothing(tmp_path, monkeypatch, batch):
    exp = parse_experiment(
        EXP.replace("flush_every = 7", f"flush_every = 7\nbatch = {batch}"), "exp.toml"
    )
    run_experiment(exp, tmp_path / "clean", show_progress=False)

    import archgym.dataset as ds

    original = ds.RunWriter.add_batch
    calls = {"n": 0}

    def crashing_add(self, step, results):
        calls["n"] += len(results)
        if calls["n"] >= 97:  # mid-way through the third run, between two flushes
            raise RuntimeError("simulated crash")
        original(self, step, results)

    monkeypatch.setattr(ds.RunWriter, "add_batch", crashing_add)
    with pytest.raises(RuntimeError, match="simulated crash"):
        run_experiment(exp, tmp_path / "crashed", show_progress=False)
    partial = records(tmp_path / "crashed")
    assert 0 < len(partial) < 160
    monkeypatch.setattr(ds.RunWriter, "add_batch", original)
    run_experiment(exp, tmp_path / "crashed", show_progress=False)
    pd.testing.assert_frame_equal(records(tmp_path / "crashed"), records(tmp_path / "clean"))


def test_a_different_experiment_in_the_same_folder_is_refused(tmp_path):
    exp = parse_experiment(EXP, "exp.toml")
    run_experiment(exp, tmp_path / "out", show_progress=False)
    other = parse_experiment(EXP.replace('name = "tiny"', 'name = "other"'), "exp.toml")
    with pytest.raises(UserError, match="holds a different experiment"):
        run_experiment(other, tmp_path / "out", show_progress=False)
    changed = parse_experiment(EXP.replace("gpt2-decode", "bert-base"), "exp.toml")
    with pytest.raises(UserError, match=r"run e0-.* was recorded with other settings \(env_kwargs"):
        run_experiment(changed, tmp_path / "out", show_progress=False)


@pytest.mark.slow
def test_kill_and_resume_with_sigkill(tmp_path):
    """A real SIGKILL mid-run, then the same command again: same records as a clean run."""
    big = EXP.replace("budget = 40", "budget = 3000").replace("flush_every = 7", "flush_every = 25")
    exp_file = write(tmp_path, big)
    cmd = [sys.executable, "-m", "archgym.cli", "run", str(exp_file), "--workers", "1", "--quiet"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [*cmd, "--out", str(tmp_path / "killed")], env=env, stdout=subprocess.DEVNULL
    )
    dataset = tmp_path / "killed" / "dataset"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(list(dataset.rglob("part-*.parquet"))) < 20:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial = records(tmp_path / "killed")
    assert 0 < len(partial) < 4 * 3000, "the kill must land mid-experiment"
    subprocess.run(
        [*cmd, "--out", str(tmp_path / "killed")], env=env, check=True, capture_output=True
    )
    subprocess.run(
        [*cmd, "--out", str(tmp_path / "clean")], env=env, check=True, capture_output=True
    )
    pd.testing.assert_frame_equal(records(tmp_path / "killed"), records(tmp_path / "clean"))


def test_pareto_agent_objective_count_must_match_the_env():
    bad = EXP.replace(
        'name = "random_walk"\nhyperparams = { dedupe = [true, false] }',
        'name = "nsga2"\nhyperparams = { n_objectives = 2 }',
    )
    with pytest.raises(
        ConfigError, match=r"asks for 2 objectives but archgym/GemmRoofline-v0's objective has 1"
    ):
        parse_experiment(bad, "exp.toml")


def test_a_script_without_a_main_guard_runs_with_worker_processes(tmp_path):
    """The spawn guard: workers do not re-import the calling script (README's "ten lines")."""
    exp = write(tmp_path, EXP.replace("workers = 1", "workers = 2"))
    script = tmp_path / "script.py"
    script.write_text(
        textwrap.dedent(
            f"""
            from archgym.dataset import load
            from archgym.experiment import load_experiment, run_experiment

            print("script body runs")
            run_experiment(load_experiment({str(exp)!r}), {str(tmp_path / "out")!r},
                           show_progress=False)
            print(len(load({str(tmp_path / "out")!r})))
            """
        )
    )
    proc = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300, cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["script", "body", "runs", "160"]
