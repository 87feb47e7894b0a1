"""Smoke tests: the scratchpad experiment scripts run with tiny arguments."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_networks_table_script_runs(tmp_path: Path) -> None:
    script = ROOT / "experiments/scratchpad/networks.py"
    args = ["--graphs", "nasnet-cell-graph", "--budgets", "tight", "--solvers", "highs", "cbc"]
    args += ["--time-limit", "20", "--out", str(tmp_path)]
    done = subprocess.run(
        [sys.executable, str(script), *args], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    table = (tmp_path / "networks.md").read_text()
    assert table.count("| nasnet-cell-graph |") == 4  # 2 solvers x 2 modes
    assert "Load average" in table
