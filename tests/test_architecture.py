"""The arrows of ../shared/DESIGN.md, checked on the source: imports point one way.

- simulators/ (archgym.simulators) never imports archgym's upper layers, gymnasium or agents;
- cost_models/ imports only itself and the shared bottom types (archgym.simulators.common,
  archgym.simulators.shapes);
- agents/ imports only the design space, results and errors of archgym, and the schedulers in
  archgym.simulators (never envs, workloads, the runner or gymnasium outside agents/sb3.py's
  adapter);
- archgym's envs never import agents.

Every import counts, also one inside a function (a lazy import is still an arrow).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: folder -> (its import name, allowed archgym prefixes, forbidden third-party roots)
RULES: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "simulators": (
        "archgym.simulators",
        ("archgym.simulators", "archgym.cost_models"),
        ("gymnasium",),
    ),
    "cost_models": (
        "archgym.cost_models",
        ("archgym.cost_models", "archgym.simulators.common", "archgym.simulators.shapes"),
        ("gymnasium",),
    ),
    "agents": (
        "archgym.agents",
        (
            "archgym.agents",
            "archgym.space",
            "archgym.result",
            "archgym.errors",
            "archgym.constraint",
            "archgym.simulators",
        ),
        (),
    ),
    "archgym/envs": ("archgym.envs", ("archgym",), ()),
}
#: Imports an envs module may not make even though they start with "archgym".
ENV_FORBIDDEN = ("archgym.agents", "archgym.experiment", "archgym.cli")


def _imports(path: Path, package: str) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the module's package
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                name = f"{base}.{node.module}" if node.module else base
            else:
                name = node.module or ""
            out.append((node.lineno, name))
    return out


def violations(root: Path) -> list[str]:
    """Every import under ``root`` that breaks :data:`RULES`, as ``file:line: message``."""
    found = []
    for folder, (pkg, allowed, banned) in RULES.items():
        base = root / folder
        for path in sorted(base.rglob("*.py")) if base.is_dir() else []:
            rel = path.relative_to(base).with_suffix("")
            parts = [pkg, *rel.parts[:-1]]  # the package a module (or __init__) belongs to
            package = ".".join(parts)
            for line, name in _imports(path, package):
                where = f"{path.relative_to(root)}:{line}"
                top = name.split(".")[0]
                if top in ("agents", "simulators", "cost_models"):
                    found.append(f"{where}: imports {name!r}: use the single install name archgym")
                elif top == "archgym" and not any(
                    name == a or name.startswith(a + ".") for a in allowed
                ):
                    found.append(f"{where}: {folder}/ may not import {name!r}")
                elif folder == "archgym/envs" and name.startswith(ENV_FORBIDDEN):
                    found.append(f"{where}: envs may not import {name!r}")
                elif top in banned and not (folder == "agents" and path.name == "sb3.py"):
                    found.append(f"{where}: {folder}/ may not import {name!r}")
    return found


def test_the_arrows_point_one_way():
    assert violations(ROOT) == []


def test_the_arrow_test_catches_an_arrow_added_back(tmp_path):
    """A test of the test: each kind of back arrow, added to a copy-like tree, is reported."""
    files = {
        "simulators/gpu/model.py": "import gymnasium\nfrom archgym.envs import build\n",
        "cost_models/fit.py": "def f():\n    from archgym.simulators.gpu import model\n",
        "agents/ilp.py": "from archgym.workloads.graphs import get_graph\nfrom ..envs import X\n",
        "agents/fine.py": "from ..space import DesignSpace\nfrom .base import Agent\n",
        "archgym/envs/scratchpad.py": "from archgym.agents.cosma import solve\n",
        "simulators/ok.py": "from archgym.simulators.common import InfeasibleDesign\nimport numpy\n",
        "agents/old.py": "import agents.base\n",
    }
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    found = violations(tmp_path)
    assert len(found) == 7, found
    assert not any("ok.py" in f or "fine.py" in f for f in found)
    assert any("agents/ilp.py:1" in f for f in found)
    assert any("agents/ilp.py:2" in f and "'archgym.envs'" in f for f in found)
