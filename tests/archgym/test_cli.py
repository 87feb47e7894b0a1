"""The command line: listings, run/show/plot, and one-line errors with exit status 2."""

import subprocess
import sys
import textwrap

import pytest

from archgym.cli import main

EXP = textwrap.dedent(
    """
    [experiment]
    name = "cli"
    budget = 30
    seeds = 2

    [env]
    id = "archgym/GemmRoofline-v0"

    [[agents]]
    name = "random_walk"
    """
)


def run_cli(args, capsys):
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_listings(capsys):
    code, out, _ = run_cli(["envs"], capsys)
    assert code == 0 and "archgym/GemmRoofline-v0" in out
    code, out, _ = run_cli(["agents"], capsys)
    assert code == 0 and "random_walk" in out
    code, out, _ = run_cli(["workloads"], capsys)
    assert code == 0 and "bert-base" in out


def test_run_show_plot(tmp_path, capsys):
    exp = tmp_path / "cli.toml"
    exp.write_text(EXP)
    out_dir = tmp_path / "out"
    code, out, _ = run_cli(["run", str(exp), "--out", str(out_dir), "--quiet"], capsys)
    assert code == 0
    assert "random_walk" in out and "objective: edp = energy_pj x latency_s [pJ·s]" in out
    assert "95% CI" in out and "best design (random_walk): rows=" in out
    assert (out_dir / "best_so_far.png").stat().st_size > 0
    assert (out_dir / "pareto.png").stat().st_size > 0
    code, out, _ = run_cli(["show", str(out_dir)], capsys)
    assert code == 0 and "random_walk" in out
    code, out, _ = run_cli(
        ["plot", str(out_dir), "--pareto", "cycles,area_mm2", "--out", str(tmp_path / "figs")],
        capsys,
    )
    assert code == 0 and (tmp_path / "figs" / "pareto.png").exists()


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (('id = "archgym/GemmRoofline-v0"', 'id = "archgym/GemmRofline-v0"'), "unknown env id"),
        (
            ('name = "random_walk"', 'name = "random_wlak"'),
            "unknown agent 'random_wlak'; did you mean 'random_walk'",
        ),
        (("budget = 30", "budgett = 30"), "unknown key 'budgett'; did you mean 'budget'"),
        (
            (
                'id = "archgym/GemmRoofline-v0"',
                'id = "archgym/GemmRoofline-v0"\nkwargs = { max_pes = 1 }',
            ),
            "max_pes. must be an integer >= 64",
        ),
    ],
)
def test_bad_experiment_gives_one_line_error(tmp_path, capsys, edit, message):
    exp = tmp_path / "bad.toml"
    exp.write_text(EXP.replace(*edit))
    code, _out, err = run_cli(["run", str(exp), "--out", str(tmp_path / "o"), "--quiet"], capsys)
    assert code == 2
    assert err.startswith("archgym: error: ") and err.count("\n") == 1
    assert "Traceback" not in err
    assert str(exp) in err or "unknown" in err
    import re

    assert re.search(message, err), err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--budget", "0"], "argument --budget: must be a positive integer"),
        (["--seed", "-1"], "argument --seed: must be a non-negative integer"),
        (["--seed", str(2**64)], "argument --seed: must be a non-negative integer below 2**63"),
        (["--workers", "0"], "argument --workers: must be a positive integer"),
        (["--dask-local", "0"], "argument --dask-local: must be a positive integer"),
    ],
)
def test_parameter_out_of_range_from_the_command_line(capsys, tmp_path, args, message):
    with pytest.raises(SystemExit) as exit_info:
        main(["run", *args, "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and message in err and err.count("\n") == 1


def test_out_pointing_at_a_file(capsys, tmp_path):
    target = tmp_path / "file.txt"
    target.write_text("x")
    code, _, err = run_cli(["run", "--out", str(target), "--quiet"], capsys)
    assert code == 2 and "is a file; give a folder" in err and err.count("\n") == 1


def test_unreadable_dataset(capsys, tmp_path):
    code, _, err = run_cli(["show", str(tmp_path / "missing")], capsys)
    assert code == 2 and "cannot read dataset" in err and err.count("\n") == 1
    junk = tmp_path / "junk.parquet"
    junk.write_text("not parquet")
    code, _, err = run_cli(["show", str(junk)], capsys)
    assert code == 2 and "cannot read dataset file" in err


def test_console_script_exit_status_without_traceback(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "archgym.cli", "show", str(tmp_path / "nothing")],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("archgym: error:") and "Traceback" not in proc.stderr
    proc = subprocess.run(
        [sys.executable, "-m", "archgym.cli", "frobnicate"], capture_output=True, text=True
    )
    assert proc.returncode == 2 and "invalid choice" in proc.stderr


@pytest.mark.slow
def test_quickstart_console_script(tmp_path):
    """`archgym run` with no argument: the quickstart, its table, dataset and plots."""
    import shutil

    exe = shutil.which("archgym")
    cmd = [exe] if exe else [sys.executable, "-m", "archgym.cli"]
    proc = subprocess.run(
        [*cmd, "run", "--out", str(tmp_path / "qs"), "--quiet"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "objective: edp" in proc.stdout and "random_walk" in proc.stdout
    assert (tmp_path / "qs" / "best_so_far.png").exists() and (
        tmp_path / "qs" / "pareto.png"
    ).exists()
    assert list((tmp_path / "qs" / "dataset").rglob("part-*.parquet"))
