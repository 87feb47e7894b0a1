"""Numeric features of designs for proxy models, from a plain design-space description.

The description is the mapping of ``archgym.space.DesignSpace.to_dict()``; this module (like all
of ``cost_models``) does not import archgym.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["SpaceEncoder"]


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


class SpaceEncoder:
    """Numeric features of designs, from a ``DesignSpace.to_dict()`` mapping.

    Powers of two become their exponent and ``log=True`` parameters their logarithm (sizes act
    multiplicatively); numeric choices stay numbers (ordered); other choices are one-hot columns,
    booleans one 0/1 column.
    """

    def __init__(self, space: Mapping[str, Any]) -> None:
        params = space.get("params")
        if not isinstance(params, Sequence) or not params:
            raise ValueError(f"`space` must hold a non-empty 'params' list, but got {space!r}")
        self.space = json.loads(json.dumps(space))
        self.columns: list[tuple[str, str, Any]] = []  # (param, transform, one-hot value)
        for p in params:
            name, kind = p["name"], p["type"]
            if kind == "poweroftwo":
                self.columns.append((name, "log2", None))
            elif kind in ("integer", "real"):
                self.columns.append((name, "log" if p.get("log") else "identity", None))
            elif kind == "categorical":
                choices = list(p["choices"])
                if all(isinstance(c, bool) for c in choices):
                    self.columns.append((name, "bool", None))
                elif all(_is_number(c) for c in choices):
                    self.columns.append((name, "identity", None))
                else:
                    self.columns += [(name, "onehot", c) for c in choices]
            else:
                raise ValueError(f"parameter `{name}` has unknown type {kind!r}")
        self.param_names = [p["name"] for p in params]

    @property
    def feature_names(self) -> list[str]:
        """One name per feature column (``rows:log2``, ``dataflow=os``, ...)."""
        return [f"{n}={v}" if t == "onehot" else f"{n}:{t}" for n, t, v in self.columns]

    def encode(self, designs: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """Features of ``designs``, shape ``(len(designs), len(feature_names))``.

        Column-wise (one pass per parameter) so that a batch of thousands costs microseconds
        per design. Raises ``ValueError`` when a design lacks a parameter.
        """
        n = len(designs)
        values: dict[str, list[Any]] = {}
        for name in self.param_names:
            try:
                values[name] = [d[name] for d in designs]
            except KeyError:
                raise ValueError(f"a design is missing parameter `{name}`") from None
        out = np.empty((n, len(self.columns)), dtype=np.float64)
        for j, (name, transform, choice) in enumerate(self.columns):
            col = values[name]
            if transform == "onehot":
                out[:, j] = [v == choice for v in col]
                continue
            x = np.asarray(col, dtype=np.float64)
            if transform == "log2":
                x = np.log2(x)
            elif transform == "log":
                x = np.log(x)
            out[:, j] = x
        return out
