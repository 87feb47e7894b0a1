"""The distribution installs one top-level import name, ``archgym``, with every subpackage."""

from __future__ import annotations

import json
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
    # The installed distribution (not an egg-info a build left in the source tree).
    installed = [
        d for d in metadata.distributions(name="archgym")
        if ROOT not in Path(str(d.locate_file(""))).resolve().parents
        and Path(str(d.locate_file(""))).resolve() != ROOT
    ]  # fmt: skip
    if not installed:
        pytest.skip("archgym is not installed (run from the source tree)")
    dist = installed[0]
    direct = json.loads(dist.read_text("direct_url.json") or "{}")
    if direct.get("dir_info", {}).get("editable"):
        pytest.skip("an editable install links the source tree; CI checks a normal install")
    files = dist.files or []
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
    # Every non-Python file of the package folders ships (data the package reads at run time).
    for folder, name in FOLDERS.items():
        for path in (ROOT / folder).rglob("*"):
            if (
                path.is_file()
                and path.suffix not in (".py", ".pyc")
                and "__pycache__" not in path.parts
            ):
                rel = path.relative_to(ROOT / folder).as_posix()
                assert f"{name.replace('.', '/')}/{rel}" in names, rel
