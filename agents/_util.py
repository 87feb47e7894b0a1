"""Small helpers shared by the built-in agents (not part of the public API)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from archgym.result import Result
from archgym.space import Design, DesignSpace, Real

# Draws before an agent gives up proposing a constraint-satisfying design its own way and falls
# back to the space's uniform (rejection) sampler.
MAX_TRIES = 32


def design_key(space: DesignSpace, design: Mapping[str, Any]) -> tuple:
    """A hashable key of a design (values in parameter order, numpy scalars cast)."""
    return tuple(p.normalise(design[p.name]) for p in space.params)


def score(result: Result) -> float:
    """The reward an agent ranks by: ``-inf`` for infeasible results (whatever they carry)."""
    if not result.feasible:
        return -math.inf
    r = float(result.reward)
    return r if not math.isnan(r) else -math.inf


def first_valid(
    space: DesignSpace, propose: Callable[[], Design], rng: np.random.Generator
) -> Design:
    """The first of up to :data:`MAX_TRIES` proposals that satisfies the constraints.

    Falls back to a uniform sample when every proposal violates them, so an agent never loops
    forever on a tightly constrained space.
    """
    for _ in range(MAX_TRIES):
        design = propose()
        if not space.violated(design):
            return design
    return space.sample(rng)


def choice_sizes(space: DesignSpace, real_bins: int) -> list[int]:
    """Number of discrete choices per parameter (reals are split into ``real_bins`` bins)."""
    return [real_bins if isinstance(p, Real) and not p.is_finite else p.size for p in space.params]  # type: ignore[attr-defined]


def choice_value(space_param: Any, index: int, real_bins: int, rng: np.random.Generator) -> Any:
    """The value of choice ``index`` of a parameter (a uniform draw inside a real's bin)."""
    p = space_param
    if isinstance(p, Real) and not p.is_finite:
        lo, hi = (math.log(p.low), math.log(p.high)) if p.log else (p.low, p.high)
        width = (hi - lo) / real_bins
        x = lo + (index + rng.uniform()) * width
        return p.decode(math.exp(x) if p.log else x)
    return p.values[index]


def choice_index(space_param: Any, value: Any, real_bins: int) -> int:
    """Inverse of :func:`choice_value` (the bin of a real value)."""
    p = space_param
    if isinstance(p, Real) and not p.is_finite:
        lo, hi, v = p.low, p.high, float(value)
        if p.log:
            lo, hi, v = math.log(lo), math.log(hi), math.log(v)
        return int(min(real_bins - 1, max(0, math.floor((v - lo) / (hi - lo) * real_bins))))
    return p.index(value)
