"""The distribution installs one top-level import name, ``archgym``, with every subpackage."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {"archgym": "archgym", "simulators": "archgym.simulators",
           "cost_models": "archgym.cost_models", "agents": "archgym.agents"}  # fmt: skip


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_every_source_package_is_listed_under_archgym():
    listed = set(_pyproject()["tool"]["setuptools"]["packages"])
    found = set()
    for folder, name in FOLDERS.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder).parts
            found.add(".".join((name, *rel)))
    assert found == listed
    assert all(p == "archgym" or p.startswith("archgym.") for p in listed)


def test_installed_distribution_exposes_only_archgym():
    files = metadata.distribution("archgym").files or []
    tops = {f.parts[0] for f in files if not f.parts[0].endswith((".dist-info", ".pth"))}
    tops = {
        t.removesuffix(".py") for t in tops if not t.startswith(("__editable__", "__pycache__"))
    }
    # A non-editable install holds archgym/ and the console script's folder (bin/) only.
    assert tops <= {"archgym", "..", "bin"}, tops


@pytest.mark.slow
def test_wheel_holds_one_top_level_name(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
         "-w", str(tmp_path), str(ROOT)],
        check=True,
    )  # fmt: skip
    (wheel,) = tmp_path.glob("archgym-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"archgym"}
    for sub in ("simulators/systolic/analytical.py", "agents/base.py", "cost_models/energy.py"):
        assert f"archgym/{sub}" in names
