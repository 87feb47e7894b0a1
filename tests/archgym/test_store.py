"""The record store: skipping finished runs, growth, the folder lock, damaged folders."""

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import pandas as pd
import pytest

from archgym.cli import main
from archgym.dataset import WALL_TIME_COLUMNS, load
from archgym.errors import DatasetError, FolderInUseError, UserError
from archgym.experiment import OutputFolder, parse_experiment, run_experiment, with_overrides

EXP = textwrap.dedent(
    """
    [experiment]
    name = "store"
    budget = 30
    seeds = [0, 1]
    batch = 4
    flush_every = 8

    [env]
    id = "archgym/GemmRoofline-v0"
    kwargs = { workload = "gpt2-decode" }

    [[agents]]
    name = "random_walk"

    [[agents]]
    name = "genetic"
    """
)


def records(path):
    return load(path).drop(columns=list(WALL_TIME_COLUMNS))


def test_finished_runs_are_skipped_without_reading_records(tmp_path, monkeypatch):
    exp = parse_experiment(EXP)
    run_experiment(exp, tmp_path / "out", show_progress=False)
    import archgym.experiment.loop as loop

    def no_reading(*args, **kwargs):
        raise AssertionError("a finished run was read again")

    monkeypatch.setattr(loop, "_recorded", no_reading)
    monkeypatch.setattr(loop, "_make_agent", no_reading)
    run_experiment(exp, tmp_path / "out", show_progress=False)


def test_a_changed_part_file_is_not_trusted(tmp_path):
    exp = parse_experiment(EXP)
    dataset = run_experiment(exp, tmp_path / "out", show_progress=False)
    run_dir = sorted(dataset.iterdir())[0]
    first = sorted(run_dir.glob("part-*.parquet"))[0]
    shutil.copy(first, run_dir / "part-000000-copy.parquet")  # the digest no longer matches
    with pytest.raises(DatasetError, match=r"part-000000.*repeats steps 0-7"):
        run_experiment(exp, tmp_path / "out", show_progress=False)


def test_budget_and_seeds_grow_into_the_same_folder(tmp_path):
    exp = parse_experiment(EXP)
    run_experiment(exp, tmp_path / "grown", show_progress=False)
    bigger = with_overrides(exp, budget=50)
    run_experiment(bigger, tmp_path / "grown", show_progress=False)
    more_seeds = parse_experiment(EXP.replace("seeds = [0, 1]", "seeds = [0, 1, 2]"))
    run_experiment(with_overrides(more_seeds, budget=50), tmp_path / "grown", show_progress=False)
    grown = records(tmp_path / "grown")
    assert grown.groupby("run_id").size().tolist() == [50] * 6
    # The same growth again (a resume) changes nothing.
    run_experiment(with_overrides(more_seeds, budget=50), tmp_path / "grown", show_progress=False)
    pd.testing.assert_frame_equal(records(tmp_path / "grown"), grown)
    # Random search grown from 30 to 50 equals a fresh run of 50 with the same batch cuts.
    fresh = with_overrides(parse_experiment(EXP.replace("budget = 30", "budget = 50")), seed=0)
    first = records(run_experiment(fresh, tmp_path / "fresh", show_progress=False))
    params = [c for c in grown.columns if c.startswith("p.")]
    rw = grown[grown["run_id"].str.contains("random_walk") & (grown["seed"] == 0)]
    rw_fresh = first[first["run_id"].str.contains("random_walk")]
    assert len(rw) == 50
    assert rw[params].to_numpy()[:28].tolist() == rw_fresh[params].to_numpy()[:28].tolist()


def test_a_second_writer_gets_a_clear_error(tmp_path):
    with OutputFolder(tmp_path / "out"), pytest.raises(FolderInUseError, match="in use by another"):
        run_experiment(parse_experiment(EXP), tmp_path / "out", show_progress=False)


def test_two_concurrent_cli_runs_then_a_resume_lose_and_duplicate_nothing(tmp_path):
    exp_file = tmp_path / "exp.toml"
    exp_file.write_text(EXP.replace("budget = 30", "budget = 400"))
    cmd = [sys.executable, "-m", "archgym.cli", "run", str(exp_file), "--out",
           str(tmp_path / "out"), "--quiet", "--workers", "1"]  # fmt: skip
    first = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (tmp_path / "out" / "manifest.json").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    # Hold the first run mid-way (it keeps the folder's lock) while the second starts: without
    # the pause a fast first run could finish before the second has imported archgym.
    os.kill(first.pid, signal.SIGSTOP)
    try:
        assert first.poll() is None, "the first run ended before the second started"
        second = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    finally:
        os.kill(first.pid, signal.SIGCONT)
    first.communicate(timeout=300)
    assert first.returncode == 0
    assert second.returncode == 2, second.stderr
    assert "is in use by another archgym run (pid" in second.stderr
    assert "Traceback" not in second.stderr and "Errno" not in second.stderr
    subprocess.run(cmd, check=True, capture_output=True, timeout=300)
    df = records(tmp_path / "out")
    assert df.groupby("run_id")["step"].apply(lambda s: s.tolist() == list(range(400))).all()
    assert len(df) == 4 * 400


def test_show_and_load_report_a_duplicated_part_file(tmp_path, capsys):
    exp = parse_experiment(EXP)
    dataset = run_experiment(exp, tmp_path / "out", show_progress=False)
    run_dir = sorted(dataset.iterdir())[1]
    part = sorted(run_dir.glob("part-*.parquet"))[1]
    shutil.copy(part, run_dir / "part-000008 (copy).parquet")
    with pytest.raises(DatasetError, match=r"repeats steps 8-15"):
        load(tmp_path / "out")
    assert main(["show", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "damaged dataset" in err and run_dir.name in err and err.count("\n") == 1
    assert len(load(tmp_path / "out", check_folder=False)) == 4 * 30 + 8


def test_load_reports_a_missing_part_and_a_foreign_run(tmp_path):
    exp = parse_experiment(EXP)
    dataset = run_experiment(exp, tmp_path / "out", show_progress=False)
    other = run_experiment(
        parse_experiment(EXP.replace('name = "store"', 'name = "other"')),
        tmp_path / "other",
        show_progress=False,
    )
    foreign = sorted(other.iterdir())[0]
    shutil.copytree(foreign, dataset / "e0-foreign")
    with pytest.raises(DatasetError, match=r"not part of experiment 'store'"):
        load(tmp_path / "out")
    shutil.rmtree(dataset / "e0-foreign")
    run_dir = sorted(dataset.iterdir())[0]
    sorted(run_dir.glob("part-*.parquet"))[1].unlink()
    with pytest.raises(DatasetError, match=r"steps 8-15 are missing"):
        load(dataset)


def test_out_must_be_a_folder(tmp_path):
    target = tmp_path / "f"
    target.write_text("x")
    with pytest.raises(UserError, match="is a file"):
        run_experiment(parse_experiment(EXP), target, show_progress=False)
