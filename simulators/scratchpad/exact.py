"""Exact scheduling that scales: capacity decisions first, addresses as a checked second stage.

1. **Baselines** (online best-fit and the offline arena planner, both orders) give an upper
   bound and a warm start. Zero extra traffic is optimal: done.
2. **Capacity-first MILP**: the COSMA model without addresses (operator order, residency,
   spills and reloads; the summed sizes of resident tensors fit the capacity at every step),
   warm-started from the best baseline (CBC only: see ``solvers.run``). It relaxes the full problem (every valid schedule
   satisfies it), so its proven bound is a lower bound for the full problem.
3. **Addresses**: the MILP's residency plan is packed offline
   (:func:`~archgym.simulators.scratchpad.arena.pack`) and the schedule is replayed by the
   simulator. If it packs, its traffic equals the MILP's, so a proven-optimal MILP proves the
   schedule optimal.
4. **Fallback when fragmentation binds** (the plan does not pack): the capacity-first MILP is
   re-solved at smaller effective capacities (its plans pack more easily) and the joint model
   with addresses is solved in the first stage's order, warm-started, while time remains.
   Optimality is claimed only when a packed schedule reaches the stage-2 bound.

The result is never worse than the best baseline (it is returned when nothing beats it), and
``bound``/``gap`` are the capacity-first MILP's proven bound against the returned traffic.
"""

from __future__ import annotations

import time
from typing import Any

from archgym.simulators.scratchpad.arena import Plan, belady_plan, pack, schedule_from_plan
from archgym.simulators.scratchpad.baselines import best_baseline, min_peak_bytes
from archgym.simulators.scratchpad.graph import Graph
from archgym.simulators.scratchpad.ilp import (
    MAX_VARIABLES,
    ModelTooLarge,
    Solution,
    _check,
    _Model,
    _State,
    _value,
    solve,
)
from archgym.simulators.scratchpad.replay import InvalidSchedule, Replay, Schedule, replay
from archgym.simulators.scratchpad.solvers import gap, run

__all__ = ["solve_exact"]


def _capacity_model(graph: Graph, capacity: int, max_variables: int) -> _Model:
    return _Model(
        graph,
        graph.topological_order(),
        capacity=capacity,
        upper=capacity,
        fixed_order=False,
        addresses=False,
        start=_State(in_dram=set(graph.unproduced())),
        live_out=set(),
        max_variables=max_variables,
    )


def _plan(model: _Model) -> tuple[list[str], Plan]:
    """The solved order and, per step, the resident tensors."""
    order = [next(o for o in model.ops if _value(model.Y(o, t)) > 0.5) for t in range(model.n)]
    plan: Plan = [set() for _ in range(model.n)]
    for (a, t), v in model.m.items():
        if (v.varValue or 0) > 0.5:
            plan[t].add(a)
    return order, plan


def _reload_costs(graph: Graph) -> dict[str, int]:
    """Tensor -> the least extra traffic of one useful reload of it.

    Reloading a produced tensor that is not a graph output costs its spill too (2 x size); an
    output or an unproduced tensor costs its size. An unproduced tensor read by one op is
    never usefully reloaded (load it once, later), nor is a tensor nobody reads.
    """
    costs = {
        a: graph.size(a) * (1 if a in graph.outputs else 2)
        for a in graph.producer
        if graph.consumers[a]
    }
    costs |= {a: graph.size(a) for a in graph.unproduced() if len(graph.consumers[a]) > 1}
    return costs


def _peak_stage(
    graph: Graph, capacity: int, upper: int, info: dict[str, Any]
) -> tuple[float, Schedule | None]:
    """Exact search over orders (down-set DP): ``(lower bound, zero-traffic schedule or None)``.

    Nonzero extra traffic contains a reload (a spilled tensor is read again). If the minimum
    no-spill peak, with the tensors cheaper than ``c`` to reload counted only at their own
    ops (free to leave and return), exceeds the capacity, every schedule reloads a tensor
    costing at least ``c``: ``c`` is a lower bound. ``c`` is the baseline's ``upper`` first
    (proving it optimal), else the largest cost level that passes (binary search). At or
    above the plain minimum peak the DP's order has no traffic in summed sizes, and a
    packing of it (if found) is an optimal zero-traffic schedule.
    """
    t0 = time.perf_counter()
    peak, order, exact = min_peak_bytes(graph)
    info["min_peak"] = {"bytes": peak, "exact": exact}
    if not exact:
        return 0.0, None
    if capacity >= peak:
        plan = belady_plan(graph, order, capacity)
        addresses = pack(graph, plan, capacity)
        found = None if addresses is None else schedule_from_plan(graph, order, plan, addresses)
        return 0.0, found
    costs = _reload_costs(graph)
    levels = sorted({c for c in costs.values() if c < upper} | {upper})

    def holds(c: int) -> bool:  # every schedule reloads a tensor costing >= c
        free = frozenset(a for a, k in costs.items() if k < c)
        relaxed, _, ok = min_peak_bytes(graph, free=free)
        return ok and relaxed > capacity

    lo, hi = 0, len(levels) - 1  # levels[lo] holds (the cheapest reload: no freed tensor)
    if holds(levels[hi]):
        lo = hi
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if holds(levels[mid]) else (lo, mid)
    info["min_peak"]["solve_s"] = time.perf_counter() - t0
    return float(levels[lo]), None


def _stage(
    graph: Graph,
    capacity: int,
    effective: int,
    solver: str,
    limit: float,
    threads: int,
    warm: Schedule | None,
    max_variables: int,
) -> tuple[dict[str, Any], Schedule | None, list[str] | None]:
    """Solve the capacity-first MILP at ``effective`` bytes; pack the plan at ``capacity``."""
    model = _capacity_model(graph, effective, max_variables)
    used_warm = warm is not None and model.warm_start(warm)
    out = run(model.prob, solver, limit, threads, warm=used_warm)
    if out["objective"] is None:
        return out, None, None
    order, plan = _plan(model)
    addresses = pack(graph, plan, capacity)
    out["info"]["packed"] = addresses is not None
    if addresses is None:
        return out, None, order
    return out, schedule_from_plan(graph, order, plan, addresses), order


def solve_exact(
    graph: Graph,
    capacity_bytes: int,
    *,
    solver: str = "highs",
    time_limit_s: float | None = 600.0,
    threads: int = 1,
    max_variables: int = MAX_VARIABLES,
    baseline: tuple[str, Schedule, int] | None = None,
) -> Solution:
    """The least extra DRAM traffic at ``capacity_bytes`` (module docstring for the method).

    ``baseline``: ``(name, schedule, extra bytes)`` of a precomputed best baseline (computed
    here when None). ``info`` names the ``source`` of the returned schedule and every stage.
    Raises InfeasibleDesign below the largest op footprint and ModelTooLarge over
    ``max_variables``.
    """
    t0 = time.perf_counter()
    deadline = None if time_limit_s is None else t0 + time_limit_s
    _check(graph, capacity_bytes, solver)
    name, base, cost = baseline or best_baseline(graph, capacity_bytes)
    best: list[Any] = [replay(graph, base, capacity_bytes), base, f"baseline {name}"]
    info: dict[str, Any] = {"baseline": name, "baseline_extra_dram_bytes": cost, "stages": []}

    def consider(schedule: Schedule | None, source: str) -> None:
        if schedule is None:
            return
        try:
            r = replay(graph, schedule, capacity_bytes)
        except InvalidSchedule as exc:  # a bug in a stage: never return it, say so
            info.setdefault("rejected", []).append(f"{source}: {exc}")
            return
        if r.extra_dram_bytes < best[0].extra_dram_bytes:
            best[:] = [r, schedule, source]

    def left() -> float | None:
        return None if deadline is None else max(1.0, deadline - time.perf_counter())

    bound, status = 0.0, "feasible"
    if cost > 0:
        bound, zero = _peak_stage(graph, capacity_bytes, cost, info)
        consider(zero, "min-peak order (down-set DP) + packing")
    if best[0].extra_dram_bytes > bound + 0.5:
        out, sched, order = _stage(
            graph, capacity_bytes, capacity_bytes, solver, left(), threads, base, max_variables
        )
        info["stages"].append({"stage": "capacity-first", **out["info"], "status": out["status"]})
        bound = max(bound, out["bound"] or 0.0)
        consider(sched, "capacity-first MILP + packing")
        floor = graph.max_op_footprint_bytes()
        for k in (1, 2, 4, 8):  # fragmentation bound: retry with room for holes
            if sched is not None or best[0].extra_dram_bytes <= bound + 0.5:
                break
            if deadline is not None and time.perf_counter() >= deadline:
                break
            effective = capacity_bytes - (capacity_bytes - floor) * k // 16
            o2, sched, _ = _stage(
                graph, capacity_bytes, effective, solver, left(), threads, None, max_variables
            )
            info["stages"].append({"stage": f"capacity-first at {effective} B", **o2["info"]})
            consider(sched, f"capacity-first MILP at {effective} B + packing")
        if (
            order is not None
            and best[0].extra_dram_bytes > bound + 0.5
            and (deadline is None or time.perf_counter() < deadline)
        ):
            try:
                joint = solve(
                    graph,
                    capacity_bytes,
                    order=order,
                    solver=solver,
                    time_limit_s=left(),
                    warm_start=best[1],
                    fallback=False,
                    threads=threads,
                    max_variables=max_variables,
                )
                info["stages"].append({"stage": "joint, fixed order", "status": joint.status})
                consider(joint.schedule, "joint MILP in the capacity-first order")
            except ModelTooLarge as exc:
                info["stages"].append({"stage": "joint, fixed order", "status": str(exc)})
    if best[0].extra_dram_bytes <= bound + 0.5:  # a schedule reaches a proven bound
        status = "optimal"
    result: Replay = best[0]
    info["source"] = best[2]
    return Solution(
        status=status,
        schedule=best[1],
        replay=result,
        capacity_bytes=capacity_bytes,
        objective=float(result.extra_dram_bytes),
        bound=float(result.extra_dram_bytes) if status == "optimal" else bound,
        gap=0.0 if status == "optimal" else gap(result.extra_dram_bytes, bound),
        solve_s=time.perf_counter() - t0,
        mode="capacity",
        solver=solver,
        info=info,
    )
