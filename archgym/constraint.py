"""Constraints between design parameters, written as small arithmetic expressions.

``Constraint("rows * cols <= 16384")`` parses the text once with :mod:`ast` and evaluates it
without ``eval``: only parameter names, numbers, strings, arithmetic, comparisons, ``and`` /
``or`` / ``not``, conditional expressions and the functions ``min``, ``max``, ``abs``, ``log2``
are allowed. The same expression evaluates on a design dict or, vectorised, on columns of many
designs (used to count a space's valid designs).
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from archgym.errors import unknown_name

__all__ = ["Constraint"]

_BINOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_CMPOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}


def _log2(x: Any) -> Any:
    return np.log2(np.asarray(x, dtype=float)) if isinstance(x, np.ndarray) else math.log2(x)


def _vmin(*xs: Any) -> Any:
    return np.minimum.reduce(xs) if any(isinstance(x, np.ndarray) for x in xs) else min(xs)


def _vmax(*xs: Any) -> Any:
    return np.maximum.reduce(xs) if any(isinstance(x, np.ndarray) for x in xs) else max(xs)


_FUNCS: dict[str, Callable[..., Any]] = {"min": _vmin, "max": _vmax, "abs": abs, "log2": _log2}


class Constraint:
    """A predicate every valid design satisfies.

    Args:
        expr: An expression over parameter names (see the module docstring) or a callable
            ``design -> bool``.
        name: Label used in messages (defaults to the expression text).
    """

    def __init__(self, expr: str | Callable[[Mapping[str, Any]], bool], name: str | None = None):
        if callable(expr):
            self._fn: Callable[[Mapping[str, Any]], bool] | None = expr
            self._tree: ast.Expression | None = None
            self.text = name or getattr(expr, "__name__", "constraint")
            self.expr: str | None = None
            self.names: frozenset[str] = frozenset()
            return
        if not isinstance(expr, str) or not expr.strip():
            raise ValueError(
                f"a constraint must be an expression string or a callable, but got {expr!r}"
            )
        try:
            tree = ast.parse(expr.strip(), mode="eval")
        except SyntaxError as exc:
            raise ValueError(f"constraint {expr!r} is not a valid expression: {exc.msg}") from None
        self._fn = None
        self._tree = tree
        self.text = name or expr.strip()
        self.expr = expr.strip()
        self.names = frozenset(self._collect_names(tree.body, expr))

    @staticmethod
    def _collect_names(node: ast.AST, expr: str) -> set[str]:
        names: set[str] = set()
        allowed = (
            ast.Expression, ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.Name, ast.Constant,
            ast.Call, ast.IfExp, ast.Load, ast.USub, ast.UAdd, ast.Not, ast.And, ast.Or,
            *_BINOPS, *_CMPOPS,
        )  # fmt: skip
        for sub in ast.walk(node):
            if not isinstance(sub, allowed):
                raise ValueError(
                    f"constraint {expr!r} uses unsupported syntax {type(sub).__name__}"
                )
            if isinstance(sub, ast.Call):
                if not (isinstance(sub.func, ast.Name) and sub.func.id in _FUNCS) or sub.keywords:
                    raise ValueError(
                        f"constraint {expr!r} may call only {sorted(_FUNCS)} with positional arguments"
                    )
            elif isinstance(sub, ast.Name) and sub.id not in _FUNCS:
                names.add(sub.id)
        return names

    def check_names(self, known: Mapping[str, Any]) -> None:
        """Raise if the expression names a parameter that the space lacks."""
        for name in sorted(self.names):
            if name not in known:
                err = unknown_name("parameter", name, known)
                raise ValueError(f"constraint {self.text!r}: {err}") from None

    def __call__(self, design: Mapping[str, Any]) -> bool:
        """Whether ``design`` satisfies the constraint."""
        if self._fn is not None:
            return bool(self._fn(design))
        assert self._tree is not None
        return bool(self._eval(self._tree.body, design, vector=False))

    def evaluate_columns(self, columns: Mapping[str, np.ndarray]) -> np.ndarray:
        """Evaluate on columns of many designs at once; returns a boolean array."""
        n = len(next(iter(columns.values())))
        if self._fn is not None:
            rows = ({k: v[i] for k, v in columns.items()} for i in range(n))
            return np.fromiter((bool(self._fn(r)) for r in rows), dtype=bool, count=n)
        assert self._tree is not None
        cols = {k: _as_numeric(v) for k, v in columns.items()}
        out = self._eval(self._tree.body, cols, vector=True)
        return np.broadcast_to(np.asarray(out, dtype=bool), (n,)).copy()

    def _eval(self, node: ast.AST, env: Mapping[str, Any], *, vector: bool) -> Any:
        ev = self._eval
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            return env[node.id]
        if isinstance(node, ast.BinOp):
            return _BINOPS[type(node.op)](
                ev(node.left, env, vector=vector), ev(node.right, env, vector=vector)
            )
        if isinstance(node, ast.UnaryOp):
            v = ev(node.operand, env, vector=vector)
            if isinstance(node.op, ast.Not):
                return np.logical_not(v) if vector else not v
            return -v if isinstance(node.op, ast.USub) else +v
        if isinstance(node, ast.BoolOp):
            vals = [ev(v, env, vector=vector) for v in node.values]
            if vector:
                red = np.logical_and if isinstance(node.op, ast.And) else np.logical_or
                return red.reduce([np.asarray(v, dtype=bool) for v in vals])
            return all(vals) if isinstance(node.op, ast.And) else any(vals)
        if isinstance(node, ast.Compare):
            left = ev(node.left, env, vector=vector)
            result: Any = True
            for op, comp in zip(node.ops, node.comparators, strict=True):
                right = ev(comp, env, vector=vector)
                step = _CMPOPS[type(op)](left, right)
                result = np.logical_and(result, step) if vector else (result and step)
                left = right
            return result
        if isinstance(node, ast.IfExp):
            test = ev(node.test, env, vector=vector)
            if vector:
                return np.where(
                    test, ev(node.body, env, vector=True), ev(node.orelse, env, vector=True)
                )
            return ev(node.body, env, vector=False) if test else ev(node.orelse, env, vector=False)
        if isinstance(node, ast.Call):
            assert isinstance(node.func, ast.Name)
            return _FUNCS[node.func.id](*(ev(a, env, vector=vector) for a in node.args))
        raise ValueError(f"unsupported node {type(node).__name__} in constraint {self.text!r}")

    def __repr__(self) -> str:
        return f"Constraint({self.text!r})"

    def to_dict(self) -> str | dict[str, str]:
        """The expression (and its label when it has one) for files; callables cannot be saved."""
        if self.expr is None:
            raise ValueError(
                f"constraint {self.text!r} is a Python callable and cannot be saved; "
                "write it as an expression string"
            )
        return self.expr if self.text == self.expr else {"expr": self.expr, "name": self.text}

    @classmethod
    def from_dict(cls, data: str | Mapping[str, str]) -> Constraint:
        """Inverse of :meth:`to_dict`."""
        if isinstance(data, str):
            return cls(data)
        return cls(data["expr"], name=data.get("name"))


def _as_numeric(column: np.ndarray) -> np.ndarray:
    """Object columns of numbers become numeric arrays; strings stay as object arrays."""
    try:
        return np.asarray(column.tolist(), dtype=float) if column.dtype == object else column
    except (TypeError, ValueError):
        return np.asarray(column.tolist(), dtype=object)
