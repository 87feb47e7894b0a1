"""One vocabulary for scratchpad scheduling: ``schedule(graph, capacity, method)``.

The env, the CLI (``archgym schedule``, ``sweep-scratchpad``) and the experiment scripts all call
:func:`schedule`, so one method name gives the same numbers everywhere.

Methods (``METHODS``):

- ``ilp``: the exact capacity-first method (:mod:`~archgym.simulators.scratchpad.exact`);
  ``optimal`` when proven, else ``feasible`` with the proven ``bound`` and ``gap``.
- ``ilp-joint``: the COSMA paper's joint order + address + spill MILP
  (:func:`~archgym.simulators.scratchpad.ilp.solve`), warm-started from the best baseline.
- ``windows``: divide and conquer (:func:`~archgym.simulators.scratchpad.windows.solve_windows`).
- ``baseline``: the best of every baseline below (both orders).
- ``arena``: the offline TFLite-style planner (:mod:`~archgym.simulators.scratchpad.arena`), the
  better of the two orders.
- ``belady`` / ``greedy``: online best-fit with Belady / least-traffic eviction in the graph's
  topological order; ``belady-mem`` / ``greedy-mem``: the same in the memory-aware order.

Every exact method (``ilp``, ``ilp-joint``, ``windows``) returns the best baseline instead of
anything worse (``info["source"]`` says which). Heuristics claim ``optimal`` only at zero extra
traffic (the lower bound).

Capacities: bytes, or a budget of the COSMA paper by name (``CAPACITY_NAMES``): ``tight`` (the
largest op footprint), ``min_peak`` (the least peak of any order without spills) and ``mid``
(their midpoint). ``weights=False`` schedules activations only (weights streamed from DRAM).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence

from archgym.simulators.common import InfeasibleDesign
from archgym.simulators.scratchpad.arena import arena_schedule
from archgym.simulators.scratchpad.baselines import (
    ORDERS,
    best_baseline,
    heuristic_schedule,
    min_peak_bytes,
    resolve_order,
)
from archgym.simulators.scratchpad.exact import solve_exact
from archgym.simulators.scratchpad.graph import Graph
from archgym.simulators.scratchpad.ilp import MAX_VARIABLES, Solution, solve
from archgym.simulators.scratchpad.ilp_model import check_inputs
from archgym.simulators.scratchpad.replay import Schedule, replay
from archgym.simulators.scratchpad.windows import solve_windows

__all__ = ["CAPACITY_NAMES", "EXACT_METHODS", "METHODS", "budget_bytes", "schedule"]

EXACT_METHODS = ("ilp", "ilp-joint", "windows")
METHODS = (*EXACT_METHODS, "baseline", "arena", "belady", "greedy", "belady-mem", "greedy-mem")
CAPACITY_NAMES = ("tight", "mid", "min_peak")


def budget_bytes(graph: Graph, name: str) -> tuple[int, bool]:
    """``(bytes, exact)`` of the named budget; ``exact`` is False when the minimum peak came
    from a heuristic order (too many orders to search), an upper bound on the true one."""
    if name not in CAPACITY_NAMES:
        raise ValueError(f"unknown budget {name!r}; valid: {', '.join(CAPACITY_NAMES)}")
    tight = graph.max_op_footprint_bytes()
    if name == "tight":
        return tight, True
    peak, _, exact = min_peak_bytes(graph)
    return (peak if name == "min_peak" else (tight + peak) // 2), exact


def _heuristic(
    graph: Graph, capacity: int, method: str, order: str | Sequence[str] | None
) -> tuple[Schedule, str]:
    if method == "baseline":
        name, sched, _ = best_baseline(graph, capacity, order=order)
        return sched, name
    if method == "arena":
        orders = ORDERS if order is None else (order,)
        found = []
        for o in orders:
            sched = arena_schedule(graph, resolve_order(graph, o), capacity)
            if sched is not None:
                found.append((replay(graph, sched, capacity).extra_dram_bytes, str(o), sched))
        if not found:
            raise InfeasibleDesign(
                f"the offline arena planner finds no packing within {capacity} bytes"
            )
        _, label, sched = min(found, key=lambda f: f[0])
        return sched, f"{label}/arena"
    eviction = method.removesuffix("-mem")
    chosen = order or ("memory-aware" if method.endswith("-mem") else "topological")
    sched = heuristic_schedule(graph, capacity, order=chosen, eviction=eviction)
    return sched, f"{chosen if isinstance(chosen, str) else 'given'}/{eviction}/hole"


def schedule(
    graph: Graph,
    capacity: int | str,
    method: str = "ilp",
    *,
    order: str | Sequence[str] | None = None,
    solver: str = "highs",
    time_limit_s: float | None = 600.0,
    threads: int = 1,
    weights: bool = True,
    max_variables: int = MAX_VARIABLES,
) -> Solution:
    """Schedule ``graph`` on a scratchpad of ``capacity`` (bytes or a budget name).

    Args:
        graph: The operator graph.
        capacity: Bytes, or ``tight`` / ``mid`` / ``min_peak``.
        method: One of ``METHODS`` (module docstring).
        order: Operator order for the baselines and ``ilp-joint`` (``topological``,
            ``memory-aware`` or a list of op names); None: each method's default.
        solver: ``highs`` or ``cbc`` (exact methods). ``time_limit_s``: their wall-time limit
            (s, whole method). ``threads``: solver threads.
        weights: False schedules activations only.
        max_variables: Size guard of the MILPs.

    Returns:
        A :class:`~archgym.simulators.scratchpad.ilp.Solution`; ``objective`` is always the
        replayed extra DRAM bytes of ``schedule``.

    Raises:
        InfeasibleDesign: the capacity is below the largest op footprint.
        ValueError: an unknown method, budget, solver or order.
        ModelTooLarge: an exact method's model exceeds ``max_variables``.
    """
    t0 = time.perf_counter()
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; valid: {', '.join(METHODS)}")
    if not weights:
        graph = graph.activations_only()
    info: dict = {"weights": weights, "graph": graph.name}
    if isinstance(capacity, str):
        info["capacity_name"] = capacity
        capacity, info["capacity_exact"] = budget_bytes(graph, capacity)
    check_inputs(graph, capacity, solver)
    if method == "ilp":
        sol = solve_exact(
            graph,
            capacity,
            solver=solver,
            time_limit_s=time_limit_s,
            threads=threads,
            max_variables=max_variables,
        )
    elif method == "windows":
        sol = solve_windows(
            graph, capacity, solver=solver, time_limit_s=time_limit_s, threads=threads
        )
    elif method == "ilp-joint":
        sol = _joint(graph, capacity, order, solver, time_limit_s, threads, max_variables)
    else:
        sched, source = _heuristic(graph, capacity, method, order)
        r = replay(graph, sched, capacity)
        zero = r.extra_dram_bytes == 0
        sol = Solution(
            status="optimal" if zero else "feasible",
            schedule=sched,
            replay=r,
            capacity_bytes=capacity,
            objective=float(r.extra_dram_bytes),
            bound=0.0 if zero else None,
            gap=0.0 if zero else None,
            solve_s=0.0,
            mode="capacity",
            solver="none",
            info={"source": source},
        )
    return dataclasses.replace(
        sol, method=method, solve_s=time.perf_counter() - t0, info={**info, **sol.info}
    )


def _joint(
    graph: Graph,
    capacity: int,
    order: str | Sequence[str] | None,
    solver: str,
    time_limit_s: float | None,
    threads: int,
    max_variables: int,
) -> Solution:
    """The joint MILP, never worse than the best baseline (its warm start and fallback)."""
    fixed = None if order is None else resolve_order(graph, order)
    name, base, cost = best_baseline(graph, capacity, order=fixed)
    sol = solve(
        graph,
        capacity,
        order=fixed,
        solver=solver,
        time_limit_s=time_limit_s,
        warm_start=base,
        fallback=False,
        threads=threads,
        max_variables=max_variables,
    )
    info = {**sol.info, "solver_objective": sol.objective, "baseline": name}
    if sol.replay is None or sol.replay.extra_dram_bytes > cost:
        r = replay(graph, base, capacity)
        info["source"] = f"baseline {name}"
        bound = sol.bound if sol.status != "infeasible" else None
        proven = bound is not None and cost <= bound + 0.5
        return dataclasses.replace(
            sol,
            status="optimal" if proven else "feasible",
            schedule=base,
            replay=r,
            objective=float(cost),
            gap=None
            if bound is None
            else (0.0 if proven else max(0.0, cost - bound) / max(cost, 1)),
            info=info,
        )
    extra = sol.replay.extra_dram_bytes
    info["source"] = "joint MILP"
    g = None if sol.bound is None else max(0.0, extra - sol.bound) / max(extra, 1)
    return dataclasses.replace(sol, objective=float(extra), gap=g, info=info)
