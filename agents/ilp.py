"""Exact scheduling as an agent: the zero-traffic size picks where a scratchpad-size search starts.

On ``archgym/ScratchpadSize-v0`` (a space of exactly ``sram_kib`` and ``banks``) the env's
metrics include ``min_peak_bytes``, the exact minimum no-spill peak of its graph over all
operator orders (computed by the scheduler in :mod:`archgym.simulators.scratchpad`): the
agent's first design is the largest size, and from its result the agent takes that size (it
never loads the graph itself). It then proposes sizes from that point outward (the zero-traffic size, one step
above, one step below, two steps above, ...), every bank count at each size, bank counts in
the order of the best reward seen with them. Below the zero-traffic size the traffic rises;
above it the SRAM grows: on energy, area or EDP objectives the optimum sits at or next to
that point, so the agent reaches it in a handful of evaluations where a blind search needs a
fair fraction of the space.

On any other space the agent cannot use the ILP: with ``fallback="random"`` it samples
uniformly without repeats (so it can sit in a mixed comparison), with ``fallback="error"`` (the
default) construction raises a ``ValueError`` naming the supported env.
"""

from __future__ import annotations

import math
from typing import Any

from archgym.agents._util import design_key, score
from archgym.agents.base import Agent, HyperParam, register_agent
from archgym.agents.random_walk import RandomWalk

from archgym.result import Result
from archgym.space import Categorical, Design, DesignSpace, Integer

__all__ = ["CosmaILP"]

SUPPORTED_ENV = "archgym/ScratchpadSize-v0"


def _size_space(space: DesignSpace) -> tuple[Integer, Categorical] | None:
    """The ``(sram_kib, banks)`` parameters when ``space`` is a scratchpad-size space."""
    by_name = {p.name: p for p in space.params}
    size, banks = by_name.get("sram_kib"), by_name.get("banks")
    if len(by_name) != 2 or not isinstance(size, Integer) or not isinstance(banks, Categorical):
        return None
    return size, banks


@register_agent("cosma_ilp")
class CosmaILP(Agent):
    """Scratchpad sizing seeded by the exact zero-traffic size (see the module docstring).

    The first design is the largest size; its result's ``min_peak_bytes`` (from the env, so
    always the env's own graph) sets the start of the outward walk. When every design has been
    asked, :attr:`finished` is True.
    """

    hyperparams = {
        "fallback": HyperParam(
            "error", choices=("error", "random"), doc="on a space the ILP cannot serve"
        ),
    }

    def __init__(self, space, *, seed=None, budget=None, **hyperparams) -> None:
        super().__init__(space, seed=seed, budget=budget, **hyperparams)
        self._params = _size_space(space)
        self._fallback: RandomWalk | None = None
        if self._params is None:
            if self.params["fallback"] == "error":
                raise ValueError(
                    f"agent 'cosma_ilp' supports only {SUPPORTED_ENV} (a space of `sram_kib` and "
                    f"`banks`), but got parameters {space.names}; pass fallback='random' to "
                    "sample such spaces uniformly instead"
                )
            self._fallback = RandomWalk(space, seed=seed, budget=budget)
        self.zero_traffic_kib: int | None = None  # set at the first ask
        self._order: list[int] = []  # size indices, outward from the zero-traffic size
        self._ring = 0  # position in _order
        self._queue: list[Design] = []
        self._asked: set[tuple] = set()
        self._bank_best: dict[Any, float] = {}

    # -- planning -------------------------------------------------------------------------------
    def _plan(self, need_bytes: float, floor_bytes: float) -> None:
        size, _ = self._params
        self.zero_traffic_kib = math.ceil(need_bytes / 1024)
        values = size.values
        start = next(
            (i for i, v in enumerate(values) if v >= self.zero_traffic_kib), len(values) - 1
        )
        order = [start]
        for d in range(1, len(values)):
            order += [i for i in (start + d, start - d) if 0 <= i < len(values)]
        # sizes below the largest op footprint are infeasible: never proposed
        self._order = [i for i in order if values[i] * 1024 >= floor_bytes] or order

    def _next_ring(self) -> bool:
        """Queue every bank count at the next size; False when the sizes are exhausted."""
        size, banks = self._params
        while self._ring < len(self._order):
            kib = size.values[self._order[self._ring]]
            self._ring += 1
            # Best bank counts first (unseen ones keep the space's order, before the worse).
            ranked = sorted(banks.values, key=lambda b: -self._bank_best.get(b, math.inf))
            fresh = [
                {size.name: kib, banks.name: b}
                for b in ranked
                if design_key(self.space, {size.name: kib, banks.name: b}) not in self._asked
            ]
            if fresh:
                self._queue = fresh[::-1]  # popped from the end
                return True
        return False

    # -- protocol ---------------------------------------------------------------------------------
    @property
    def finished(self) -> bool:
        if self._fallback is not None:
            return self._fallback.finished
        return (
            self.zero_traffic_kib is not None and not self._queue and self._ring >= len(self._order)
        )

    def ask(self) -> Design:
        if self._fallback is not None:
            return self._fallback.ask()
        if self.zero_traffic_kib is None and not self._asked:
            size, banks = self._params
            design = {size.name: size.values[-1], banks.name: banks.values[0]}
            self._asked.add(design_key(self.space, design))
            return design
        if self.zero_traffic_kib is None:  # the first result carried no `min_peak_bytes`
            raise ValueError(
                f"agent 'cosma_ilp' needs the metric `min_peak_bytes` of {SUPPORTED_ENV}"
            )
        if not self._queue and not self._next_ring():
            return self.space.sample(self.rng)  # everything asked: the caller over-ran
        design = self._queue.pop()
        self._asked.add(design_key(self.space, design))
        return design

    def tell(self, design: Design, result: Result) -> None:
        if self._fallback is not None:
            self._fallback.tell(design, result)
            return
        banks = self._params[1].name
        if self.zero_traffic_kib is None and "min_peak_bytes" in result.metrics:
            m = result.metrics
            self._plan(m["min_peak_bytes"], m.get("max_op_footprint_bytes", 0.0))
        reward = score(result)
        if reward > self._bank_best.get(design[banks], -math.inf):
            self._bank_best[design[banks]] = reward
