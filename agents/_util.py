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


# Largest box scanned for an unseen design when random draws keep hitting evaluated ones.
MAX_SCAN = 100_000


def unseen_design(
    space: DesignSpace,
    proposal: Design,
    taken: Callable[[tuple], bool],
    rng: np.random.Generator,
) -> Design:
    """A design not ``taken`` (by its :func:`design_key`): a neighbour of ``proposal`` if one is
    free, else a uniform draw, else (small finite spaces) any free design; when the whole space
    is taken, ``proposal`` itself (a uniform valid design if it violates a constraint).

    Agents call it when their own proposals keep repeating designs already evaluated, so that
    no evaluation is spent on a duplicate while unseen designs remain.
    """
    near = [] if space.violated(proposal) else space.neighbours(proposal)
    near = [d for d in near if not taken(design_key(space, d))]
    if near:
        return near[int(rng.integers(len(near)))]
    for _ in range(8):
        design = space.sample(rng)
        if not taken(design_key(space, design)):
            return design
    if space.is_finite and space.box_size <= MAX_SCAN:
        free = [d for d in space.grid() if not taken(design_key(space, d))]
        if free:
            return free[int(rng.integers(len(free)))]
    return space.sample(rng) if space.violated(proposal) else proposal
