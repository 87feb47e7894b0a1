"""`archgym bench`: hypervolume, bootstrap intervals, and a smoke run of the CLI."""

import math
import os
import subprocess
import sys

import numpy as np
import pytest

from archgym.bench import bootstrap_ci
from archgym.bench_envs import hypervolume, pareto_front


def test_hypervolume_2d_by_hand():
    # Two points maximised above ref (0, 0): union of [0,3]x[0,1] and [0,1]x[0,2] = 3 + 1 = 4.
    assert hypervolume([(3, 1), (1, 2)], (0, 0)) == pytest.approx(4.0)
    # A dominated point and a point below the reference add nothing.
    assert hypervolume([(3, 1), (1, 2), (1, 1), (-1, 5)], (0, 0)) == pytest.approx(4.0)
    assert hypervolume([], (0, 0)) == 0.0


def test_hypervolume_3d_matches_monte_carlo():
    rng = np.random.default_rng(0)
    pts = rng.uniform(0.2, 1.0, size=(8, 3))
    exact = hypervolume(pts, (0.0, 0.0, 0.0))
    samples = rng.uniform(0, 1, size=(200_000, 3))
    dominated = (samples[:, None, :] <= pts[None, :, :]).all(axis=2).any(axis=1)
    assert exact == pytest.approx(dominated.mean(), abs=0.01)


def test_pareto_front_drops_dominated_rows():
    front = pareto_front(np.array([[1, 1], [2, 0], [0, 2], [0.5, 0.5], [2, 0]]))
    assert sorted(map(tuple, front)) == [(0, 2), (1, 1), (2, 0)]


def test_bootstrap_ci_brackets_the_mean_and_shrinks_with_samples():
    rng = np.random.default_rng(1)
    small = bootstrap_ci(rng.normal(5, 1, 10))
    large = bootstrap_ci(rng.normal(5, 1, 1000))
    assert small[1] <= small[0] <= small[2]
    assert large[2] - large[1] < small[2] - small[1]
    assert large[1] < 5 < large[2]
    assert all(math.isnan(v) for v in bootstrap_ci([]))


def test_bench_quick_runs_from_the_cli(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    cmd = [sys.executable, "-m", "archgym.cli", "bench", "--quick", "--workers", "1"]
    done = subprocess.run(
        [*cmd, "--out", str(tmp_path), "--agents", "random_walk", "local_walk", "nsga2"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    board = (tmp_path / "leaderboard.md").read_text()
    assert "random_walk" in board and "local_walk" in board and "95% CI" in board
    hv = (tmp_path / "hypervolume.md").read_text()
    assert "nsga2" in hv and "hypervolume" in hv
    for name in ("runs.csv", "regret.png", "curves.png", "lottery.md"):
        assert (tmp_path / name).exists()


def test_bench_rejects_a_bad_seed_count(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "archgym.cli", "bench", "--seeds", "0", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert "positive integer" in done.stderr and "Traceback" not in done.stderr
