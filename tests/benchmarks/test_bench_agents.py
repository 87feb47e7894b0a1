"""Smoke test of benchmarks/bench_agents.py (a subset of agents, tiny arguments, subprocess)."""

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_agents.py"


def test_bench_agents_prints_its_table_for_a_subset(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--agents", "grid", "--evals", "20", "--repeats", "1"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert any(line.startswith("random_walk ") for line in lines)
    assert any(line.startswith("grid ") for line in lines)
    assert not any(line.startswith("genetic ") for line in lines)


def test_bench_agents_refuses_an_unknown_agent(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--agents", "nope"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 2 and "unknown agents ['nope']" in proc.stderr
