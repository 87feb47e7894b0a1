"""Smoke test of benchmarks/bench_runner.py (tiny arguments, as a subprocess)."""

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_runner.py"


def test_bench_runner_prints_its_table(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--env", "archgym/GemmRoofline-v0", "--workload",
         "gpt2-decode", "--evals", "40", "--batch", "10", "--seeds", "2", "--no-dask"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    for row in ("raw model", "runner without the model", "1 worker", "resume", "2 local workers"):
        assert row in proc.stdout
