"""The README's Python example runs as written."""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.mark.slow
def test_readme_python_example_runs(tmp_path, monkeypatch):
    text = README.read_text()
    block = re.search(r"## Python in ten lines\s+```python\n(.*?)```", text, re.S)
    assert block, "README lost its Python example"
    monkeypatch.chdir(tmp_path)
    exec(compile(block.group(1), "README.md", "exec"), {})
    assert (tmp_path / "runs" / "qs" / "manifest.json").exists()
