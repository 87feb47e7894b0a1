"""Built-in workloads by name: layer lists of networks, GEMM sets of transformers, DNN graphs.

``get_workload(name)`` returns the workload object (its type depends on the family: a tuple of
``GemmShape`` for GEMM sets, layer tuples for networks, a graph for scheduling);
``list_workloads()`` names them all.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from archgym.errors import unknown_name

__all__ = ["get_workload", "list_workloads", "workload_family"]

# Each module exports WORKLOADS: dict[name, zero-argument factory]. Modules are imported on first
# use so that importing archgym stays fast.
_FAMILIES = ("gemms", "networks", "graphs", "sparse")


def _registry() -> dict[str, tuple[str, Callable[[], Any]]]:
    out: dict[str, tuple[str, Callable[[], Any]]] = {}
    for family in _FAMILIES:
        try:
            module = importlib.import_module(f"archgym.workloads.{family}")
        except ModuleNotFoundError as exc:
            if exc.name != f"archgym.workloads.{family}":
                raise
            continue
        for name, factory in module.WORKLOADS.items():
            out[name] = (family, factory)
    return out


def list_workloads(family: str | None = None) -> list[str]:
    """Names of the built-in workloads, optionally of one family (gemms, networks, graphs)."""
    return sorted(n for n, (f, _) in _registry().items() if family in (None, f))


def workload_family(name: str) -> str:
    """The family (module) a workload name belongs to."""
    reg = _registry()
    if name not in reg:
        raise unknown_name("workload", name, reg)
    return reg[name][0]


def get_workload(name: str) -> Any:
    """The workload called ``name``; raises a did-you-mean error for unknown names."""
    reg = _registry()
    if name not in reg:
        raise unknown_name("workload", name, reg)
    return reg[name][1]()
