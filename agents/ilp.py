"""The COSMA ILP as an agent: exact scheduling picks where a scratchpad-size search starts.

On ``archgym/ScratchpadSize-v0`` (a space of exactly ``sram_kib`` and ``banks``) the agent
solves :func:`archgym.agents.cosma.solve` in ``min-peak`` mode once: the smallest arena with no extra
DRAM traffic. It then proposes sizes from that point outward (the zero-traffic size, one step
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

__all__ = ["CosmaILP", "zero_traffic_bytes"]

SUPPORTED_ENV = "archgym/ScratchpadSize-v0"


def _load_graph(graph: Any) -> Any:
    """A :class:`archgym.simulators.graph.Graph` from a graph object, a built-in name or a JSON path."""
    from archgym.simulators.graph import Graph

    if isinstance(graph, Graph):
        return graph
    # Graph names are resolved by the workload registry (lazy: only this agent needs it).
    from archgym.workloads.graphs import load_graph

    return load_graph(str(graph))


def zero_traffic_bytes(graph: Any, *, solver: str = "highs", time_limit_s: float = 60.0) -> int:
    """Smallest scratchpad (bytes) with no extra DRAM traffic: the ILP's min-peak arena.

    When the solver proves nothing in ``time_limit_s`` the arena of the best heuristic schedule
    at unbounded capacity is used instead (an upper bound on the true minimum).
    """
    from archgym.agents.cosma import solve
    from archgym.simulators.scratchpad import replay
    from archgym.simulators.scratchpad_baselines import heuristic_schedule

    sol = solve(graph, mode="min-peak", solver=solver, time_limit_s=time_limit_s)
    if sol.capacity_bytes is not None:
        return int(sol.capacity_bytes)
    total = sum(t.bytes for t in graph.tensors.values())
    return int(replay(graph, heuristic_schedule(graph, total), total).arena_bytes)


def _size_space(space: DesignSpace) -> tuple[Integer, Categorical] | None:
    """The ``(sram_kib, banks)`` parameters when ``space`` is a scratchpad-size space."""
    by_name = {p.name: p for p in space.params}
    size, banks = by_name.get("sram_kib"), by_name.get("banks")
    if len(by_name) != 2 or not isinstance(size, Integer) or not isinstance(banks, Categorical):
        return None
    return size, banks


@register_agent("cosma_ilp")
class CosmaILP(Agent):
    """Scratchpad sizing seeded by the COSMA ILP's zero-traffic size (see the module docstring).

    ``graph`` must be the graph the env evaluates (a built-in name, a JSON path or a
    :class:`~archgym.simulators.graph.Graph`; the env's default is ``densenet-block-graph``). The ILP is
    solved at the first :meth:`ask`. Sizes below the graph's largest single-op footprint are
    never proposed (the env reports them infeasible); when every other design has been asked,
    :attr:`finished` is True.
    """

    hyperparams = {
        "graph": HyperParam("densenet-block-graph", doc="the env's graph (name, JSON path, Graph)"),
        "solver": HyperParam("highs", choices=("highs", "cbc"), doc="ILP solver"),
        "time_limit_s": HyperParam(60.0, low=0.1, high=86_400.0, doc="ILP time limit, seconds"),
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
    def _plan(self) -> None:
        size, _ = self._params
        graph = _load_graph(self.params["graph"])
        need = zero_traffic_bytes(
            graph, solver=self.params["solver"], time_limit_s=self.params["time_limit_s"]
        )
        self.zero_traffic_kib = math.ceil(need / 1024)
        floor_kib = graph.max_op_footprint_bytes() / 1024  # smaller sizes are infeasible
        values = size.values
        start = next(
            (i for i, v in enumerate(values) if v >= self.zero_traffic_kib), len(values) - 1
        )
        order = [start]
        for d in range(1, len(values)):
            order += [i for i in (start + d, start - d) if 0 <= i < len(values)]
        self._order = [i for i in order if values[i] >= floor_kib] or order

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
        if self.zero_traffic_kib is None:
            self._plan()
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
        reward = score(result)
        if reward > self._bank_best.get(design[banks], -math.inf):
            self._bank_best[design[banks]] = reward
