"""Size limits of ../shared/STYLE.md, checked on the source of the four packages.

No module over ``MAX_MODULE_LINES`` lines and no function or method over ``MAX_FUNCTION_LINES``
lines (from its ``def`` line to its last line, docstring included) in archgym/, simulators/,
cost_models/ and agents/, except the entries of ``ALLOWED``, each with its reason. An entry
that is no longer over the limit fails the test too, so the list only shrinks.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("archgym", "simulators", "cost_models", "agents")
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80

#: ``path`` (a module) or ``path::qualname`` (a function) -> why it may be over the limit.
ALLOWED: dict[str, str] = {}


def _functions(tree: ast.AST, prefix: str = ""):
    """``(qualname, node)`` of every function and method, nested ones included."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            name = f"{prefix}{node.name}"
            if not isinstance(node, ast.ClassDef):
                yield name, node
            yield from _functions(node, f"{name}.")
        else:
            yield from _functions(node, prefix)


def oversized(root: Path, packages: tuple[str, ...] = PACKAGES) -> dict[str, int]:
    """Every module and function of ``packages`` under ``root`` over its limit -> its lines."""
    found = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            rel = path.relative_to(root).as_posix()
            source = path.read_text()
            lines = len(source.splitlines())
            if lines > MAX_MODULE_LINES:
                found[rel] = lines
            for name, node in _functions(ast.parse(source, filename=rel)):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    found[f"{rel}::{name}"] = length
    return found


def test_no_module_or_function_over_the_limits():
    over = oversized(ROOT)
    new = {k: v for k, v in over.items() if k not in ALLOWED}
    assert not new, "over the size limits (split them, or add a reason to ALLOWED): " + ", ".join(
        f"{k} ({v} lines)" for k, v in sorted(new.items())
    )
    stale = sorted(set(ALLOWED) - set(over))
    assert not stale, f"no longer over the limits: remove from ALLOWED: {stale}"


def test_every_allowed_entry_states_a_reason():
    assert all(reason.strip() for reason in ALLOWED.values())


def test_the_size_test_catches_a_long_function_and_module(tmp_path):
    pkg = tmp_path / "simulators"
    pkg.mkdir()
    body = "\n".join(f"        x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    (pkg / "fine.py").write_text(
        f"def short():\n    return 1\n\n\nclass A:\n    def f(self):\n{body}\n"
    )
    assert oversized(tmp_path, ("simulators",)) == {
        "simulators/fine.py::A.f": MAX_FUNCTION_LINES + 1
    }
    filler = "\n".join(f"y{i} = {i}" for i in range(MAX_MODULE_LINES + 1))
    (pkg / "long.py").write_text(filler + "\n")
    assert oversized(tmp_path, ("simulators",))["simulators/long.py"] == MAX_MODULE_LINES + 1
