"""Every Python block of the README runs as a plain script (``python FILE``), as a user saves it.

A block preceded by ``<!-- not-a-script: why -->`` is skipped (it needs files the user writes
first); every other ```python block runs in a fresh interpreter in an empty folder, so a missing
``if __name__ == "__main__"`` guard (process pools spawn) or a missing import fails here.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
_BLOCK = re.compile(r"(<!-- not-a-script[^>]*-->\s*)?```python\n(.*?)```", re.S)


def _blocks() -> list[tuple[int, str]]:
    text = README.read_text()
    out = []
    for m in _BLOCK.finditer(text):
        if m.group(1) is None:
            out.append((text[: m.start()].count("\n") + 1, m.group(2)))
    return out


def test_readme_has_python_examples():
    assert len(_blocks()) >= 3


@pytest.mark.slow
@pytest.mark.parametrize(("line", "code"), _blocks(), ids=[f"line{n}" for n, _ in _blocks()])
def test_readme_block_runs_as_a_script(line, code, tmp_path):
    script = tmp_path / "example.py"
    script.write_text(code)
    done = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, f"README.md:{line}\n{done.stderr[-3000:]}"
