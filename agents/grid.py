"""Grid search: exhaustive over finite spaces, strided or Latin hypercube under a budget."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from archgym.agents._util import MAX_TRIES, design_key
from archgym.agents.base import Agent, HyperParam, register_agent

from archgym.result import Result
from archgym.space import Design, Real

__all__ = ["Grid"]

# Largest box (product of parameter sizes) whose visiting order is shuffled in memory
# (an int64 permutation: 8 bytes per design).
_MAX_SHUFFLED_BOX = 50_000_000


@register_agent("grid")
class Grid(Agent):
    """Enumerate the space, or spread a budget evenly over it.

    Modes:

    * ``exhaustive``: every valid design exactly once, lexicographically (last parameter
      fastest) or in a seeded random order (``order="shuffled"``, the better any-time choice);
      :attr:`finished` turns True after the last one. Finite spaces only.
    * ``strided``: ``points`` designs evenly spaced along the lexicographic enumeration (each
      the first valid design at or after its position); finished after them.
    * ``latin``: Latin hypercube batches of ``points`` designs: each parameter's range is cut
      into ``points`` strata and every stratum is used once per batch (works with reals).
      Designs that violate a constraint are redrawn; batches repeat with new draws.
    * ``auto`` (default): ``exhaustive`` when the space is finite and the budget (if any)
      covers it, ``latin`` otherwise.
    """

    hyperparams = {
        "mode": HyperParam(
            "auto", choices=("auto", "exhaustive", "strided", "latin"), doc="see the class doc"
        ),
        "order": HyperParam(
            "shuffled",
            choices=("shuffled", "lexicographic"),
            doc="visiting order of the exhaustive mode",
        ),
        "points": HyperParam(
            0,
            low=0,
            high=1_000_000_000,
            doc="designs per strided/Latin design; 0: the budget (64 without one)",
        ),
    }

    def __init__(self, space, *, seed=None, budget=None, **hyperparams) -> None:
        super().__init__(space, seed=seed, budget=budget, **hyperparams)
        mode = self.params["mode"]
        if mode == "auto":
            covers = space.is_finite and (budget is None or budget >= space.cardinality)
            mode = "exhaustive" if covers else "latin"
        if mode in ("exhaustive", "strided") and not space.is_finite:
            reals = [p.name for p in space.params if not p.is_finite]
            raise ValueError(
                f"grid mode {mode!r} needs a finite space, but parameters {reals} are real; "
                "use mode='latin'"
            )
        self.mode = mode
        self.n_points = self.params["points"] or budget or 64
        self._sizes = [1 if isinstance(p, Real) else p.size for p in space.params]  # type: ignore[attr-defined]
        self._box = math.prod(self._sizes)
        self._order: np.ndarray | None = None
        self._cursor = 0  # position in the visiting order (exhaustive / strided)
        self._batch: list[Design] = []  # pending Latin designs
        self._seen: set[tuple] = set()
        if mode == "exhaustive":
            if self.params["order"] == "shuffled":
                if self._box > _MAX_SHUFFLED_BOX:
                    raise ValueError(
                        f"order='shuffled' keeps a permutation of the {self._box:,} box designs; "
                        f"use order='lexicographic' above {_MAX_SHUFFLED_BOX:,}"
                    )
                self._order = self.rng.permutation(self._box)
        elif mode == "strided":
            n = min(self.n_points, self._box)
            self._order = np.unique(np.linspace(0, self._box - 1, n).round().astype(np.int64))
        self._next = self._advance() if mode != "latin" else None

    # -- enumeration --------------------------------------------------------------------------
    def _design_at(self, flat: int) -> Design:
        idx = np.unravel_index(int(flat), self._sizes)
        return {
            p.name: p.values[int(i)]  # type: ignore[attr-defined]
            for p, i in zip(self.space.params, idx, strict=True)
        }

    def _advance(self) -> Design | None:
        """The next valid design of the exhaustive/strided order, or None when done."""
        if self.mode == "exhaustive":
            while self._cursor < self._box:
                flat = self._cursor if self._order is None else self._order[self._cursor]
                self._cursor += 1
                design = self._design_at(flat)
                if not self.space.violated(design):
                    return design
            return None
        # strided: from each position, the first valid design not yet taken
        order = self._order if self._order is not None else np.zeros(0, dtype=np.int64)
        while self._cursor < len(order):
            flat = int(order[self._cursor])
            self._cursor += 1
            for f in range(flat, self._box):
                design = self._design_at(f)
                if (
                    not self.space.violated(design)
                    and design_key(self.space, design) not in self._seen
                ):
                    return design
        return None

    # -- Latin hypercube ----------------------------------------------------------------------
    def _unit_value(self, p: Any, u: float) -> Any:
        if isinstance(p, Real) and not p.is_finite:
            if p.log:
                return p.decode(
                    math.exp(math.log(p.low) + u * (math.log(p.high) - math.log(p.low)))
                )
            return p.decode(p.low + u * (p.high - p.low))
        return p.values[min(p.size - 1, int(u * p.size))]

    def _latin_batch(self) -> list[Design]:
        n = self.n_points
        strata = [self.rng.permutation(n) for _ in self.space.params]
        out = []
        for j in range(n):
            design = {
                p.name: self._unit_value(p, (perm[j] + self.rng.uniform()) / n)
                for p, perm in zip(self.space.params, strata, strict=True)
            }
            tries = 0
            # Redraw designs that violate a constraint or repeat one already asked (while the
            # space may still hold unseen designs).
            while tries < MAX_TRIES and (
                self.space.violated(design) or design_key(self.space, design) in self._seen
            ):
                design = {
                    p.name: self._unit_value(p, self.rng.uniform()) for p in self.space.params
                }
                tries += 1
            if self.space.violated(design):
                design = self.space.sample(self.rng)
            self._seen.add(design_key(self.space, design))
            out.append(design)
        return out

    # -- protocol -----------------------------------------------------------------------------
    @property
    def finished(self) -> bool:
        return self.mode != "latin" and self._next is None

    def ask(self) -> Design:
        if self.mode == "latin":
            if not self._batch:
                self._batch = self._latin_batch()[::-1]
            return self._batch.pop()
        if self._next is None:
            # Exhausted: callers should have checked `finished`; keep going with uniform draws.
            return self.space.sample(self.rng)
        design = self._next
        if self.mode == "strided":
            self._seen.add(design_key(self.space, design))
        self._next = self._advance()
        return design

    def tell(self, design: Design, result: Result) -> None:
        # A grid does not adapt to results; the runner keeps the best.
        return None
