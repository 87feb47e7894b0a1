"""Smoke test of experiments/byom/search.py (tiny budget, a short decode)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[3]


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
