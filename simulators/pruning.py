"""Magnitude pruning to structured-sparsity patterns, and a checker for the patterns a matrix has.

Matrices are weights ``W[K, N]`` (reduction dimension first, as the systolic model's filter);
pass ``axis=1`` for ``[N, K]`` (PyTorch ``Linear.weight``) layouts. Groups of M run along K.

>>> import numpy as np
>>> w = np.arange(1.0, 9.0).reshape(8, 1)
>>> nm_mask(w, 2, 4).ravel().astype(int).tolist()
[0, 0, 1, 1, 0, 0, 1, 1]
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from archgym.simulators.sparse.patterns import VENOM_SELECT, Pattern, parse_pattern

__all__ = ["check_pattern", "nm_mask", "patterns_satisfied", "prune", "pruning_mask", "venom_mask"]

#: Patterns :func:`patterns_satisfied` tries by default.
DEFAULT_CANDIDATES = ("1:2", "2:4", "1:4", "4:8", "2:8", "1:8", "2:16", "1:16")


def _as_k_first(weights: np.ndarray, axis: int) -> np.ndarray:
    w = np.asarray(weights)
    if w.ndim != 2:
        raise ValueError(f"`weights` must be a 2-D matrix, but got shape {w.shape}")
    if axis not in (0, 1):
        raise ValueError(f"`axis` must be 0 (K first) or 1 (K last), but got {axis!r}")
    return w if axis == 0 else w.T


def _groups(w: np.ndarray, m: int) -> np.ndarray:
    """``[K, N]`` as ``[K / m, m, N]``; raises when K is not a multiple of m."""
    k, n = w.shape
    if k % m:
        raise ValueError(f"K={k} must be a multiple of M={m} to prune or check {m}-groups")
    return w.reshape(k // m, m, n)


def nm_mask(weights: np.ndarray, n: int, m: int, axis: int = 0) -> np.ndarray:
    """Boolean mask keeping the ``n`` largest-magnitude weights of every ``m`` along K (ties go
    to the earlier position)."""
    Pattern(n, m)  # validates n <= m
    w = _as_k_first(weights, axis)
    g = np.abs(_groups(w, m))
    # Stable sort of -|w| ranks ties by position; the first n ranks are kept.
    order = np.argsort(-g, axis=1, kind="stable")
    keep = np.zeros(g.shape, dtype=bool)
    np.put_along_axis(keep, order[:, :n, :], True, axis=1)
    mask = keep.reshape(w.shape)
    return mask if axis == 0 else mask.T


def venom_mask(weights: np.ndarray, v: int, n: int, m: int, axis: int = 0) -> np.ndarray:
    """Boolean V:N:M mask: for each block of ``v`` columns and group of ``m`` K positions keep
    the 4 positions of largest L1 norm over the block, then ``n`` of 4 per column by magnitude."""
    Pattern(n, m, v)
    w = _as_k_first(weights, axis)
    k, cols = w.shape
    if cols % v:
        raise ValueError(f"N={cols} columns must be a multiple of V={v} for V:N:M blocks")
    g = np.abs(_groups(w, m))  # [K/m, m, N]
    blocks = g.reshape(k // m, m, cols // v, v)
    score = blocks.sum(axis=3)  # [K/m, m, N/v]
    chosen = np.argsort(-score, axis=1, kind="stable")[:, :VENOM_SELECT, :]
    selected = np.zeros(score.shape, dtype=bool)
    np.put_along_axis(selected, chosen, True, axis=1)
    sel = np.repeat(selected, v, axis=2)  # [K/m, m, N]
    masked = np.where(sel, g, -1.0)  # unselected positions never win
    order = np.argsort(-masked, axis=1, kind="stable")
    keep = np.zeros(g.shape, dtype=bool)
    np.put_along_axis(keep, order[:, :n, :], True, axis=1)
    mask = (keep & sel).reshape(w.shape)
    return mask if axis == 0 else mask.T


def pruning_mask(weights: np.ndarray, pattern: str | Pattern, axis: int = 0) -> np.ndarray:
    """Magnitude mask for any pattern (all True for dense)."""
    p = parse_pattern(pattern)
    if p.is_dense:
        return np.ones(np.shape(weights), dtype=bool)
    if p.v is None:
        return nm_mask(weights, p.n, p.m, axis)
    return venom_mask(weights, p.v, p.n, p.m, axis)


def prune(weights: np.ndarray, pattern: str | Pattern, axis: int = 0) -> np.ndarray:
    """``weights`` with everything outside :func:`pruning_mask` set to zero."""
    w = np.asarray(weights)
    return np.where(pruning_mask(w, pattern, axis), w, np.zeros_like(w))


def check_pattern(weights: np.ndarray, pattern: str | Pattern, axis: int = 0) -> bool:
    """Whether the matrix's nonzeros fit ``pattern`` (False when K or N does not divide)."""
    p = parse_pattern(pattern)
    w = _as_k_first(weights, axis)
    if p.is_dense:
        return True
    k, cols = w.shape
    if k % p.m or (p.v is not None and cols % p.v):
        return False
    nz = _groups(w, p.m) != 0  # [K/m, m, N]
    if np.any(nz.sum(axis=1) > p.n):
        return False
    if p.v is None:
        return True
    # Each block may touch at most 4 positions per group; "at most n per column inside them"
    # is the count above.
    used = nz.reshape(k // p.m, p.m, cols // p.v, p.v).any(axis=3)
    return bool(np.all(used.sum(axis=1) <= VENOM_SELECT))


def patterns_satisfied(
    weights: np.ndarray, candidates: Iterable[str | Pattern] = DEFAULT_CANDIDATES, axis: int = 0
) -> list[Pattern]:
    """The candidate patterns the matrix already has, sparsest first."""
    found = [parse_pattern(c) for c in candidates if check_pattern(weights, c, axis)]
    return sorted(found, key=lambda p: (p.density, str(p)))
