"""Divide and conquer for the COSMA ILP on graphs too large to solve whole.

Windows of consecutive ops are solved exactly from the state the previous windows left, in one
or more passes with shifted window boundaries (overlapping windows); the whole graph is then
re-solved in fixed-order mode with the best order found (refinement). The best baseline and
any schedules the caller passes (``seeds``) compete too: a schedule valid at a smaller
capacity is valid at a larger one, so a sweep can seed each capacity with the schedules found
at smaller ones, which makes the result monotone in the capacity.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence
from typing import Any

from archgym.simulators.scratchpad.baselines import best_baseline
from archgym.simulators.scratchpad.graph import Graph
from archgym.simulators.scratchpad.ilp import solve
from archgym.simulators.scratchpad.ilp_model import IlpModel, IlpState, check_inputs
from archgym.simulators.scratchpad.ilp_schedule import decode_steps
from archgym.simulators.scratchpad.replay import Schedule, Step
from archgym.simulators.scratchpad.solution import Incumbent, Solution
from archgym.simulators.scratchpad.solvers import run

__all__ = ["solve_windows"]


def _windows_pass(
    graph: Graph,
    capacity_bytes: int,
    order: list[str],
    cuts: list[int],
    solver: str,
    time_limit_s: float | None,
    threads: int,
) -> tuple[Schedule | None, list[str]]:
    """Solve the windows ``order[cuts[k]:cuts[k+1]]`` in turn; None if one finds nothing."""
    state = IlpState(in_dram=set(graph.unproduced()))
    steps: list[Step] = []
    statuses = []
    for lo, hi in itertools.pairwise(cuts):
        ops, later = order[lo:hi], order[hi:]
        live_out = {a for o in later for a in graph.op_by_name[o].inputs}
        live_out &= {a for o in ops for a in graph.op_by_name[o].outputs} | set(state.resident)
        model = IlpModel(
            graph,
            ops,
            capacity=capacity_bytes,
            upper=capacity_bytes,
            fixed_order=False,
            addresses=True,
            start=IlpState(
                dict(state.resident), set(state.in_dram), set(state.loaded_once), set(state.done)
            ),
            live_out=live_out,
        )
        out = run(model.prob, solver, time_limit_s, threads)
        statuses.append(out["status"])
        if out["objective"] is None:
            return None, statuses
        steps.extend(decode_steps(model, state))
    return Schedule(tuple(steps)), statuses


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
    passes: int = 1,
    seeds: Sequence[Schedule] = (),
) -> Solution:
    """Divide and conquer for graphs too large to solve whole.

    The ops, in ``order`` (default: the best baseline's order), are cut into consecutive
    windows of ``window`` ops. Each window is solved exactly (its ops reordered freely within
    it) from the scratchpad state the previous windows left (fixed boundary state); a tensor
    still needed after the window is charged one reload if the window ends without it. With
    ``passes`` > 1, further passes start from the best order so far with the boundaries shifted
    by ``window / passes`` ops, so every boundary of one pass lies inside a window of the next
    (overlapping windows). Refinement then re-solves the whole graph in fixed-order mode with
    the best order (addresses and spills optimised globally, a much smaller ILP than the
    free-order one) within ``refine_time_limit_s`` (0 or None skips it). The best baseline and
    the ``seeds`` (schedules from elsewhere, e.g. found at a smaller capacity; those invalid at
    ``capacity_bytes`` are skipped) compete as well. The least extra traffic wins;
    ``info["source"]`` names it. The result is never claimed optimal (``feasible``).
    ``time_limit_s`` applies per window.
    """
    t0 = time.perf_counter()
    check_inputs(graph, capacity_bytes, solver)
    for name, value in (("window", window), ("passes", passes)):
        if value < 1:
            raise ValueError(f"`{name}` must be a positive integer, but got {value}")
    base_name, base_sched, _ = best_baseline(graph, capacity_bytes)
    if order is None:
        order = base_sched.order
    elif not graph.is_topological(order):
        raise ValueError("`order` must list every op once, producers before consumers")
    info: dict[str, Any] = {"window": window, "windows": []}
    best = Incumbent(graph, capacity_bytes)
    kwargs = {"solver": solver, "time_limit_s": time_limit_s, "threads": threads}
    _passes(graph, capacity_bytes, list(order), best, info, window=window, passes=passes, **kwargs)
    best.consider(base_sched, f"baseline {base_name}")
    for k, seed in enumerate(seeds):
        best.consider(seed, f"seed {k}")
    if refine_time_limit_s and best.extra_dram_bytes > 0:
        refined = solve(
            graph,
            capacity_bytes,
            order=list(best.replay.order),
            solver=solver,
            time_limit_s=refine_time_limit_s,
            fallback=False,
            threads=threads,
        )
        info["refine_status"] = refined.status
        best.consider(refined.schedule, "fixed-order refinement")
    info["source"] = best.source
    return best.solution(status="feasible", bound=None, gap=None, solver=solver, t0=t0, info=info)


def _passes(
    graph: Graph,
    capacity_bytes: int,
    order: list[str],
    best: Incumbent,
    info: dict[str, Any],
    *,
    window: int,
    passes: int,
    solver: str,
    time_limit_s: float | None,
    threads: int,
) -> None:
    """The window passes of :func:`solve_windows`, each from the best order so far."""
    n = len(order)
    for p in range(passes):
        shift = (p * window) // passes
        cuts = sorted({0, n, *range(shift or window, n, window)})
        start_order = order if best.replay is None else list(best.replay.order)
        sched, statuses = _windows_pass(
            graph, capacity_bytes, start_order, cuts, solver, time_limit_s, threads
        )
        info["windows"].extend(statuses)
        best.consider(sched, f"windows pass {p + 1}")
        if best.replay is not None:
            info[f"pass{p + 1}_extra_dram_bytes"] = best.extra_dram_bytes
