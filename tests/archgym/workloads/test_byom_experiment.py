"""Smoke tests of experiments/byom/ and benchmarks/bench_workloads.py (tiny args)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[3]


@pytest.mark.slow
def test_byom_search_runs_on_a_config_and_an_onnx_cnn(tmp_path):
    pytest.importorskip("onnx")
    out = tmp_path / "search.json"
    args = ["--budget", "3", "--tokens", "1", "--batch", "1", "--context", "32", "--out", str(out)]
    run = subprocess.run(
        [sys.executable, str(ROOT / "experiments" / "byom" / "search.py"), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"},
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    rows = json.loads(out.read_text())
    assert {r["task"].split(":")[0] for r in rows} == {"systolic", "scratchpad"}
    assert all(r["design"] is not None and r["reward"] < 0 for r in rows)


def test_import_benchmark_runs_with_tiny_args():
    pytest.importorskip("onnx")
    script = str(ROOT / "benchmarks" / "bench_workloads.py")
    run = subprocess.run(
        [sys.executable, script, "--layers", "5", "--repeats", "1"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[-1].split()[0] == "5"


def test_coverage_script_runs_on_one_model():
    pytest.importorskip("onnx_tool")
    script = str(ROOT / "experiments" / "byom" / "coverage.py")
    run = subprocess.run(
        [sys.executable, script, "--models", "squeezenet"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[-1].startswith("squeezenet")
