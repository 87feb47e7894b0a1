"""Divide and conquer for the COSMA ILP on graphs too large to solve whole.

Windows of consecutive ops are solved exactly from the state the previous windows left, then
the whole graph is re-solved in fixed-order mode with the order found (refinement).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from agents.cosma import Solution, _check, _Model, _run, _State, solve
from simulators.graph import Graph
from simulators.scratchpad import Schedule, Step, replay
from simulators.scratchpad_baselines import EVICTIONS, ORDERS, heuristic_schedule, resolve_order

__all__ = ["solve_windows"]


def solve_windows(
    graph: Graph,
    capacity_bytes: int,
    *,
    window: int = 8,
    order: Sequence[str] | None = None,
    solver: str = "highs",
    time_limit_s: float | None = 10.0,
    refine_time_limit_s: float | None = 60.0,
    threads: int = 1,
) -> Solution:
    """Divide and conquer for graphs too large to solve whole.

    The ops, in ``order`` (default: the better baseline order), are cut into consecutive
    windows of ``window`` ops. Each window is solved exactly (its ops reordered freely within
    it) from the scratchpad state the previous windows left (fixed boundary state); a tensor
    still needed after the window is charged one reload if the window ends without it. The
    concatenated schedule is replayed. Refinement then re-solves the whole graph in fixed-order
    mode with the order the windows chose (addresses and spills optimised globally, a much
    smaller ILP than the free-order one) within ``refine_time_limit_s`` (0 or None skips it);
    the better schedule is kept. The result is never claimed optimal (``feasible``).
    ``time_limit_s`` applies per window.
    """
    t0 = time.perf_counter()
    _check(graph, capacity_bytes, solver)
    if window < 1:
        raise ValueError(f"`window` must be a positive integer, but got {window}")
    if order is None:
        order = _best_baseline_order(graph, capacity_bytes)
    elif not graph.is_topological(order):
        raise ValueError("`order` must list every op once, producers before consumers")
    order = list(order)
    state = _State(in_dram=set(graph.unproduced()))
    steps: list[Step] = []
    statuses = []
    for i in range(0, len(order), window):
        ops = order[i : i + window]
        later = order[i + window :]
        live_out = {a for o in later for a in graph.op_by_name[o].inputs}
        live_out &= {a for o in ops for a in graph.op_by_name[o].outputs} | set(state.resident)
        model = _Model(
            graph,
            ops,
            capacity=capacity_bytes,
            upper=capacity_bytes,
            fixed_order=False,
            addresses=True,
            start=_State(
                dict(state.resident), set(state.in_dram), set(state.loaded_once), set(state.done)
            ),
            live_out=live_out,
        )
        out = _run(model, solver, time_limit_s, threads)
        statuses.append(out["status"])
        if out["objective"] is None:
            return Solution(
                out["status"],
                None,
                None,
                capacity_bytes,
                None,
                None,
                None,
                time.perf_counter() - t0,
                "capacity",
                solver,
                {"windows": statuses},
            )
        steps.extend(model.steps(state))
    schedule = Schedule(tuple(steps))
    result = replay(graph, schedule, capacity_bytes)
    info: dict[str, Any] = {"windows": statuses, "window": window}
    info["windows_extra_dram_bytes"] = result.extra_dram_bytes
    if refine_time_limit_s and result.extra_dram_bytes > 0:
        refined = solve(
            graph,
            capacity_bytes,
            order=list(result.order),
            solver=solver,
            time_limit_s=refine_time_limit_s,
            fallback=False,
            threads=threads,
        )
        info["refine_status"] = refined.status
        if refined.replay is not None and refined.extra_dram_bytes < result.extra_dram_bytes:
            schedule, result = refined.schedule, refined.replay
    return Solution(
        status="feasible",
        schedule=schedule,
        replay=result,
        capacity_bytes=capacity_bytes,
        objective=float(result.extra_dram_bytes),
        bound=None,
        gap=None,
        solve_s=time.perf_counter() - t0,
        mode="capacity",
        solver=solver,
        info=info,
    )


def _best_baseline_order(graph: Graph, capacity_bytes: int) -> list[str]:
    best = None
    for name in ORDERS:
        o = resolve_order(graph, name)
        for ev in EVICTIONS:
            cost = replay(
                graph,
                heuristic_schedule(graph, capacity_bytes, order=o, eviction=ev),
                capacity_bytes,
            ).extra_dram_bytes
            if best is None or cost < best[0]:
                best = (cost, o)
    return best[1]
