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
from dataclasses import dataclass
from typing import Any

from archgym.simulators.scratchpad.arena import Plan, belady_plan, pack, schedule_from_plan
from archgym.simulators.scratchpad.baselines import best_baseline, min_peak_bytes
from archgym.simulators.scratchpad.graph import Graph
from archgym.simulators.scratchpad.ilp import solve
from archgym.simulators.scratchpad.ilp_model import (
    MAX_VARIABLES,
    IlpModel,
    IlpState,
    ModelTooLarge,
    check_inputs,
    value_of,
)
from archgym.simulators.scratchpad.ilp_schedule import warm_start
from archgym.simulators.scratchpad.replay import Schedule
from archgym.simulators.scratchpad.solution import Incumbent, Solution
from archgym.simulators.scratchpad.solvers import gap, run

__all__ = ["solve_exact"]


@dataclass(frozen=True)
class _Budget:
    """Solver settings shared by the stages, and the wall-clock deadline (perf_counter s)."""

    solver: str
    threads: int
    max_variables: int
    deadline: float | None

    def left(self) -> float | None:
        """Seconds left (at least 1), None without a deadline."""
        return None if self.deadline is None else max(1.0, self.deadline - time.perf_counter())

    def expired(self) -> bool:
        """Whether the deadline has passed."""
        return self.deadline is not None and time.perf_counter() >= self.deadline


def _capacity_model(graph: Graph, capacity: int, max_variables: int) -> IlpModel:
    return IlpModel(
        graph,
        graph.topological_order(),
        capacity=capacity,
        upper=capacity,
        fixed_order=False,
        addresses=False,
        start=IlpState(in_dram=set(graph.unproduced())),
        live_out=set(),
        max_variables=max_variables,
    )


def _plan(model: IlpModel) -> tuple[list[str], Plan]:
    """The solved order and, per step, the resident tensors."""
    order = [next(o for o in model.ops if value_of(model.Y(o, t)) > 0.5) for t in range(model.n)]
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
    graph: Graph, capacity: int, effective: int, budget: _Budget, warm: Schedule | None
) -> tuple[dict[str, Any], Schedule | None, list[str] | None]:
    """Solve the capacity-first MILP at ``effective`` bytes; pack the plan at ``capacity``."""
    limit = budget.left()
    model = _capacity_model(graph, effective, budget.max_variables)
    used_warm = warm is not None and warm_start(model, warm)
    out = run(model.prob, budget.solver, limit, budget.threads, warm=used_warm)
    if out["objective"] is None:
        return out, None, None
    order, plan = _plan(model)
    addresses = pack(graph, plan, capacity)
    out["info"]["packed"] = addresses is not None
    if addresses is None:
        return out, None, order
    return out, schedule_from_plan(graph, order, plan, addresses), order


def _milp_stages(
    graph: Graph,
    capacity: int,
    base: Schedule,
    best: Incumbent,
    bound: float,
    info: dict[str, Any],
    budget: _Budget,
) -> float:
    """Stages 2-4 of the module docstring; returns the proven lower bound."""
    out, sched, order = _stage(graph, capacity, capacity, budget, base)
    info["stages"].append({"stage": "capacity-first", **out["info"], "status": out["status"]})
    bound = max(bound, out["bound"] or 0.0)
    best.consider(sched, "capacity-first MILP + packing")
    floor = graph.max_op_footprint_bytes()
    for k in (1, 2, 4, 8):  # fragmentation bound: retry with room for holes
        if sched is not None or best.extra_dram_bytes <= bound + 0.5 or budget.expired():
            break
        effective = capacity - (capacity - floor) * k // 16
        o2, sched, _ = _stage(graph, capacity, effective, budget, None)
        info["stages"].append({"stage": f"capacity-first at {effective} B", **o2["info"]})
        best.consider(sched, f"capacity-first MILP at {effective} B + packing")
    if order is not None and best.extra_dram_bytes > bound + 0.5 and not budget.expired():
        _joint_stage(graph, capacity, order, best, info, budget)
    return bound


def _joint_stage(
    graph: Graph,
    capacity: int,
    order: list[str],
    best: Incumbent,
    info: dict[str, Any],
    budget: _Budget,
) -> None:
    """The joint MILP (addresses included) in ``order``, warm-started from the incumbent."""
    try:
        joint = solve(
            graph,
            capacity,
            order=order,
            solver=budget.solver,
            time_limit_s=budget.left(),
            warm_start=best.schedule,
            fallback=False,
            threads=budget.threads,
            max_variables=budget.max_variables,
        )
        info["stages"].append({"stage": "joint, fixed order", "status": joint.status})
        best.consider(joint.schedule, "joint MILP in the capacity-first order")
    except ModelTooLarge as exc:
        info["stages"].append({"stage": "joint, fixed order", "status": str(exc)})


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
    budget = _Budget(solver, threads, max_variables, deadline)
    check_inputs(graph, capacity_bytes, solver)
    name, base, cost = baseline or best_baseline(graph, capacity_bytes)
    info: dict[str, Any] = {"baseline": name, "baseline_extra_dram_bytes": cost, "stages": []}
    best = Incumbent(graph, capacity_bytes, info)
    best.adopt(base, f"baseline {name}")
    bound = 0.0
    if cost > 0:
        bound, zero = _peak_stage(graph, capacity_bytes, cost, info)
        best.consider(zero, "min-peak order (down-set DP) + packing")
    if best.extra_dram_bytes > bound + 0.5:
        bound = _milp_stages(graph, capacity_bytes, base, best, bound, info, budget)
    extra = best.extra_dram_bytes
    info["source"] = best.source
    if extra <= bound + 0.5:  # a schedule reaches a proven bound
        return best.solution(
            status="optimal", bound=float(extra), gap=0.0, solver=solver, t0=t0, info=info
        )
    return best.solution(
        status="feasible", bound=bound, gap=gap(extra, bound), solver=solver, t0=t0, info=info
    )
