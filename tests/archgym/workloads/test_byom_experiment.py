"""Smoke tests of experiments/byom/ and benchmarks/bench_workloads.py (tiny args)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[3]


def _run(script: str, *args: str) -> subprocess.CompletedProcess:
    """Run ``script`` (relative to the repository root) with ``args``; it must exit 0."""
    run = subprocess.run(
        [sys.executable, str(ROOT / script), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"},
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    return run


@pytest.mark.slow
def test_byom_search_runs_on_a_config_and_an_onnx_cnn(tmp_path):
    pytest.importorskip("onnx")
    out = tmp_path / "search.json"
    args = ["--budget", "3", "--tokens", "1", "--batch", "1", "--context", "32", "--out", str(out)]
    _run("experiments/byom/search.py", *args)
    rows = json.loads(out.read_text())
    assert {r["task"].split(":")[0] for r in rows} == {"systolic", "scratchpad"}
    assert all(r["design"] is not None and r["reward"] < 0 for r in rows)


def test_import_benchmark_runs_with_tiny_args():
    pytest.importorskip("onnx")
    run = _run("benchmarks/bench_workloads.py", "--layers", "5", "--repeats", "1")
    assert run.stdout.splitlines()[-1].split()[0] == "5"


def test_coverage_script_runs_on_one_model():
    pytest.importorskip("onnx_tool")
    run = _run("experiments/byom/coverage.py", "--models", "squeezenet")
    assert run.stdout.splitlines()[-1].startswith("squeezenet")
