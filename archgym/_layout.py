"""Source-checkout layout: the design card's folders beside ``archgym/`` as its subpackages.

The wheel installs ``simulators/``, ``cost_models/`` and ``agents/`` inside ``archgym/`` (a
package-dir mapping in pyproject.toml). When Python imports ``archgym`` from a source checkout
instead (``python -m archgym.cli`` or ``python -c`` run in the repository root), the same
mapping is provided here, so the checkout behaves like the installed package. An installed
``archgym`` (its subpackages inside it) is left alone.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys
from importlib.machinery import ModuleSpec
from pathlib import Path

_HERE = Path(__file__).resolve().parent
_ROOT = _HERE.parent
_FOLDERS = {
    "archgym.simulators": "simulators",
    "archgym.cost_models": "cost_models",
    "archgym.agents": "agents",
}


class _SourceTreeFinder(importlib.abc.MetaPathFinder):
    """Finds ``archgym.simulators`` etc. in the checkout's top-level folders."""

    def find_spec(
        self, fullname: str, path: object = None, target: object = None
    ) -> ModuleSpec | None:
        folder = _FOLDERS.get(fullname)
        if folder is None:
            return None
        init = _ROOT / folder / "__init__.py"
        return importlib.util.spec_from_file_location(
            fullname, init, submodule_search_locations=[str(init.parent)]
        )


def install() -> None:
    """Add the finder when ``archgym`` was imported from a source checkout (idempotent)."""
    if (_HERE / "simulators").is_dir() or not (_ROOT / "pyproject.toml").is_file():
        return  # an installed archgym: its subpackages are inside it
    if not all((_ROOT / f / "__init__.py").is_file() for f in _FOLDERS.values()):
        return
    if not any(isinstance(f, _SourceTreeFinder) for f in sys.meta_path):
        sys.meta_path.append(_SourceTreeFinder())


install()
