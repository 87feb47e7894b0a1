"""COSMA-style ILP: operator order, tensor addresses and spills/reloads solved jointly.

The model is built in :mod:`.ilp_model` and converted to and from schedules in
:mod:`.ilp_schedule`; this module checks a request, solves and reports.

After Li, Gupta and Malik, "Optimal Scheduling of Memory Access in DNN Accelerators"
(COSMA, arXiv 2311.18246), built on PuLP and solved with HiGHS (default) or CBC.

The model's variables, constraints and objective are described in :mod:`.ilp_model`.

Every solution is turned into a :class:`~archgym.simulators.scratchpad.Schedule` and replayed by the
scratchpad simulator; the replay's figures are the ones reported. The divide-and-conquer mode
for large graphs is :func:`archgym.simulators.scratchpad.windows.solve_windows`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from archgym.simulators.scratchpad import ilp_schedule
from archgym.simulators.scratchpad.baselines import best_baseline, heuristic_schedule
from archgym.simulators.scratchpad.graph import Graph
from archgym.simulators.scratchpad.ilp_model import (
    MAX_VARIABLES,
    IlpModel,
    IlpState,
    ModelTooLarge,
    check_inputs,
)
from archgym.simulators.scratchpad.ilp_schedule import decode_steps
from archgym.simulators.scratchpad.replay import Replay, Schedule, replay
from archgym.simulators.scratchpad.solution import Solution
from archgym.simulators.scratchpad.solvers import SOLVERS, gap, make_solver, run

__all__ = ["MAX_VARIABLES", "MODES", "SOLVERS", "ModelTooLarge", "Solution", "make_solver", "solve"]

MODES = ("capacity", "min-peak")


def solve(
    graph: Graph,
    capacity_bytes: int | None = None,
    *,
    mode: str = "capacity",
    order: Sequence[str] | None = None,
    solver: str = "highs",
    time_limit_s: float | None = 60.0,
    addresses: bool = True,
    warm_start: bool | Schedule = False,
    fallback: bool = True,
    threads: int = 1,
    max_variables: int = MAX_VARIABLES,
) -> Solution:
    """Solve the joint order + address + replacement ILP for ``graph``.

    Args:
        graph: The operator graph.
        capacity_bytes: Scratchpad size in bytes (mode ``capacity``; ignored in ``min-peak``).
        mode: ``capacity`` minimises non-compulsory DRAM bytes at ``capacity_bytes``;
            ``min-peak`` minimises the scratchpad size (arena bytes) with no extra traffic.
        order: A fixed operator order (fixed-order mode); None lets the ILP choose.
        solver: ``highs`` (highspy) or ``cbc`` (bundled with PuLP).
        time_limit_s: Solver wall-time limit in seconds (None: no limit).
        addresses: Model addresses and fragmentation (True) or only summed sizes (False; the
            schedule then places tensors with the replay's addresses left at 0 and is not
            replayed).
        warm_start: A schedule to start from, True for the best baseline (both orders, or
            ``order``, x both evictions), False (default) for none. The solver starts with it
            as incumbent, so a time limit still returns a solution at least as good; off by
            default because HiGHS searched 3-4x longer with it on nasnet-cell-graph.
        fallback: When the solver finds no schedule in time (status ``timeout``), attach the
            best baseline's schedule and replay (``info["fallback"]``); the status stays
            ``timeout`` and ``objective`` None.
        threads: Solver threads.
        max_variables: Size guard: raise ModelTooLarge before building a bigger model.

    Raises:
        InfeasibleDesign: ``capacity_bytes`` is below the largest single-op footprint.
        ValueError: an unknown mode or solver, or an order that is not topological.
    """
    t0 = time.perf_counter()
    _check_request(graph, capacity_bytes, mode, order, solver)
    ops = list(order) if order is not None else graph.topological_order()
    total = sum(t.bytes for t in graph.tensors.values())
    cap = capacity_bytes if mode == "capacity" else None
    model = IlpModel(
        graph,
        ops,
        capacity=cap,
        upper=replay(graph, heuristic_schedule(graph, total), total).arena_bytes,
        fixed_order=order is not None,
        addresses=addresses,
        start=IlpState(in_dram=set(graph.unproduced())),
        live_out=set(),
        max_variables=max_variables,
    )
    warm = False
    if warm_start is not False:
        start = warm_start
        if start is True:
            start = _best_baseline(graph, capacity_bytes if mode == "capacity" else total, order)
        warm = ilp_schedule.warm_start(model, start)
    out = run(model.prob, solver, time_limit_s, threads, warm=warm, nonnegative=model.peak is None)
    schedule, result, cap = _outcome(model, out, cap, order, addresses=addresses, fallback=fallback)
    return Solution(
        status=out["status"],
        schedule=schedule,
        replay=result,
        capacity_bytes=cap,
        objective=out["objective"],
        bound=out["bound"],
        gap=gap(out["objective"], out["bound"]),
        solve_s=time.perf_counter() - t0,
        mode=mode,
        solver=solver,
        info=out["info"],
    )


def _check_request(
    graph: Graph,
    capacity_bytes: int | None,
    mode: str,
    order: Sequence[str] | None,
    solver: str,
) -> None:
    """Refuse an unknown mode or solver, a bad capacity or an order that is not topological."""
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; valid: {', '.join(MODES)}")
    if mode == "capacity" and capacity_bytes is None:
        raise ValueError("mode 'capacity' needs `capacity_bytes`")
    check_inputs(graph, capacity_bytes if mode == "capacity" else None, solver)
    if order is not None and not graph.is_topological(order):
        raise ValueError("`order` must list every op once, producers before consumers")


def _outcome(
    model: IlpModel,
    out: dict[str, Any],
    capacity_bytes: int | None,
    order: Sequence[str] | None,
    *,
    addresses: bool,
    fallback: bool,
) -> tuple[Schedule | None, Replay | None, int | None]:
    """``(schedule, replay, capacity)`` of a solve (``capacity_bytes`` None: min-peak mode).

    A solution becomes a schedule (replayed when addresses were modelled; in min-peak mode at
    the arena found); a timeout without one falls back to the best baseline if asked to.
    """
    graph = model.g
    if out["objective"] is not None:
        schedule = Schedule(tuple(decode_steps(model, IlpState(in_dram=set(graph.unproduced())))))
        cap = capacity_bytes if capacity_bytes is not None else round(out["objective"])
        return schedule, replay(graph, schedule, cap) if addresses else None, cap
    if out["status"] == "timeout" and fallback and capacity_bytes is not None:
        schedule = _best_baseline(graph, capacity_bytes, order)
        out["info"]["fallback"] = "best baseline (the solver found no schedule in time)"
        return schedule, replay(graph, schedule, capacity_bytes), capacity_bytes
    return None, None, capacity_bytes


def _best_baseline(graph: Graph, capacity_bytes: int, order: Sequence[str] | None) -> Schedule:
    """The baseline schedule with the least extra traffic (a warm start or a fallback)."""
    return best_baseline(graph, capacity_bytes, order=order)[1]
