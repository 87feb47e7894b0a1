"""Smoke tests of the systolic benchmark and reference generator (subprocess, tiny arguments)."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
ENV = dict(os.environ, OMP_NUM_THREADS="1", MPLBACKEND="Agg")


def test_bench_systolic_runs_and_prints_the_table():
    cmd = [sys.executable, str(ROOT / "benchmarks" / "bench_systolic.py"), "--quick"]
    cmd += ["--designs", "20", "--live", "0", "--scalesim-python", "/nonexistent"]
    done = subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=600, check=True)
    assert "batched cycle-level, ResNet-50 designs/s" in done.stdout
    assert "amortised in one batched call" in done.stdout


def test_reference_generator_reuses_stored_runs(tmp_path):
    script = ROOT / "experiments" / "systolic" / "make_scalesim_refs.py"
    cmd = [sys.executable, str(script), "--limit", "2", "--out", str(tmp_path)]
    cmd += ["--reuse", str(ROOT / "tests" / "data" / "scalesim"), "--scalesim-python", "/none"]
    subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=300, check=True)
    with open(tmp_path / "cases.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["case"] for r in rows] == ["0", "1"] and all(r["status"] == "ok" for r in rows)
    with open(tmp_path / "compute.csv") as f:
        assert len(list(csv.DictReader(f))) >= 2
