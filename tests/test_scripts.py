"""Every script in experiments/ and benchmarks/ starts: ``python SCRIPT --help`` exits 0.

A floor under the per-script smoke tests (which run most scripts on tiny inputs): a script that
no longer imports, or whose arguments no longer parse, fails here. Modules that scripts import
(shape lists, Triton kernels) have no entry point and are not run.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = sorted(
    p.relative_to(ROOT).as_posix()
    for folder in ("experiments", "benchmarks")
    for p in (ROOT / folder).rglob("*.py")
    if p.name != "__init__.py" and '__name__ == "__main__"' in p.read_text()
)  # modules imported by scripts (shapes, kernels) have no entry point
NEEDS: dict[str, str] = {}


def test_scripts_are_found():
    assert len(SCRIPTS) >= 20


@pytest.mark.slow
@pytest.mark.parametrize("script", SCRIPTS)
def test_script_help_runs(script):
    need = NEEDS.get(script)
    if need and importlib.util.find_spec(need) is None:
        pytest.skip(f"{script} is a kernel module that needs {need}")
    done = subprocess.run(
        [sys.executable, script, "--help"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "usage" in done.stdout.lower()
