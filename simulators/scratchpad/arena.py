"""Offline placement: residency intervals packed into an arena, and the TFLite-style planner.

Given an operator order and, per step, the set of resident tensors (a *residency plan*), the
addresses are an interval-packing problem: each maximal run of steps a tensor stays resident is
a rectangle (steps x bytes) that keeps its address; rectangles that share a step must not share
a byte. :func:`pack` places them offline with TensorFlow Lite's greedy-by-size arena strategy
(largest first, each at the lowest offset free over its whole run) and two other orderings,
keeping the first that fits. :func:`schedule_from_plan` turns a packed plan into a
:class:`~archgym.simulators.scratchpad.replay.Schedule`.

The offline planner baseline (:func:`arena_schedule`) decides residency by the summed sizes
alone (Belady: evict the resident tensor read furthest in the future when the sum exceeds the
effective capacity), packs it, and lowers the effective capacity until the packing fits the
real one: TFLite's arena planner (no traffic when the arena fits) extended with spills.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence

from archgym.simulators.common import InfeasibleDesign
from archgym.simulators.scratchpad.graph import Graph
from archgym.simulators.scratchpad.replay import Schedule, Step

__all__ = ["Plan", "arena_schedule", "belady_plan", "pack", "schedule_from_plan"]

Plan = list[set[str]]
"""Per step of an order: the tensors resident while that step's op runs."""

Interval = tuple[str, int, int]  # (tensor, first step, last step), inclusive


def intervals(plan: Plan) -> list[Interval]:
    """Maximal runs of consecutive steps in which a tensor is resident."""
    out: list[Interval] = []
    open_at: dict[str, int] = {}
    for t, resident in enumerate([*plan, set()]):
        for a in [a for a in open_at if a not in resident]:
            out.append((a, open_at.pop(a), t - 1))
        for a in resident:
            open_at.setdefault(a, t)
    return out


def _place(graph: Graph, runs: list[Interval], capacity: int) -> dict[Interval, int] | None:
    placed: list[tuple[int, int, int, int]] = []  # (addr, end, first, last)
    out = {}
    for run in runs:
        a, lo, hi = run
        size = graph.size(a)
        busy = sorted((p, e) for p, e, f, la in placed if f <= hi and lo <= la)
        addr = 0
        for p, e in busy:
            if addr + size <= p:
                break
            addr = max(addr, e)
        if addr + size > capacity:
            return None
        placed.append((addr, addr + size, lo, hi))
        out[run] = addr
    return out


def pack(graph: Graph, plan: Plan, capacity: int) -> dict[Interval, int] | None:
    """Addresses for every residency run of ``plan`` within ``capacity`` bytes, or None.

    Tries largest-first (TFLite's greedy by size), largest area (bytes x steps) first and
    earliest-first; None when none of them fits (fragmentation: a plan whose summed sizes fit
    may still not pack, and these orderings are heuristics, so None proves nothing).
    """
    runs = intervals(plan)
    keys = (
        lambda r: (-graph.size(r[0]), r[1], r[0]),
        lambda r: (-graph.size(r[0]) * (r[2] - r[1] + 1), r[1], r[0]),
        lambda r: (r[1], -graph.size(r[0]), r[0]),
    )
    for key in keys:
        found = _place(graph, sorted(runs, key=key), capacity)
        if found is not None:
            return found
    return None


def schedule_from_plan(
    graph: Graph, order: Sequence[str], plan: Plan, addresses: dict[Interval, int]
) -> Schedule:
    """The schedule that keeps exactly ``plan[t]`` resident at step ``t`` at the packed addresses.

    A tensor leaving the plan is evicted at the step it leaves (the replay frees it anyway
    after its last reader); one re-entering it is loaded.
    """
    addr_at: dict[tuple[str, int], int] = {}
    for (a, lo, hi), addr in addresses.items():
        for t in range(lo, hi + 1):
            addr_at[a, t] = addr
    remaining = {a: len(c) for a, c in graph.consumers.items()}
    resident: set[str] = set()
    steps = []
    for t, name in enumerate(order):
        op = graph.op_by_name[name]
        want = plan[t]
        evict = tuple(sorted(a for a in resident if a not in want))
        resident -= set(evict)
        load = {a: addr_at[a, t] for a in sorted(want - resident - set(op.outputs))}
        alloc = {a: addr_at[a, t] for a in op.outputs}
        steps.append(Step(name, evict, load, alloc))
        resident |= set(load) | set(alloc)
        for a in op.inputs:
            remaining[a] -= 1
        resident = {a for a in resident if remaining[a] > 0}
    return Schedule(tuple(steps))


def belady_plan(graph: Graph, order: Sequence[str], capacity: int) -> Plan:
    """Residency by summed sizes: keep what fits, evict the furthest next use first.

    Each op's inputs and outputs are resident at its step; other live tensors stay while the
    sum fits ``capacity``. Raises InfeasibleDesign when one op's own tensors do not fit.
    """
    uses: dict[str, list[int]] = {a: [] for a in graph.tensors}
    for t, name in enumerate(order):
        for a in graph.op_by_name[name].inputs:
            uses[a].append(t)
    resident: set[str] = set()
    plan: Plan = []
    for t, name in enumerate(order):
        op = graph.op_by_name[name]
        need = set(op.inputs) | set(op.outputs)
        resident |= need
        used = sum(graph.size(a) for a in resident)
        if sum(graph.size(a) for a in need) > capacity:
            raise InfeasibleDesign(f"op {name!r} alone needs more than {capacity} bytes")

        def next_use(a: str, t: int = t) -> int:
            k = bisect.bisect_right(uses[a], t)
            return uses[a][k] if k < len(uses[a]) else len(order)

        for a in sorted(resident - need, key=lambda a: (-next_use(a), -graph.size(a), a)):
            if used <= capacity:
                break
            resident.discard(a)
            used -= graph.size(a)
        plan.append(set(resident))
        resident = {a for a in resident if next_use(a) < len(order)}
    return plan


def arena_schedule(
    graph: Graph, order: Sequence[str], capacity: int, *, steps: int = 24
) -> Schedule | None:
    """The offline planner's schedule for ``order`` at ``capacity`` bytes (module docstring).

    The effective capacity for the residency decisions starts at ``capacity`` and drops
    geometrically towards the largest op footprint in ``steps`` tries; None if no try packs.
    """
    floor = max(graph.footprint_bytes(n) for n in order)
    if capacity < floor:
        raise InfeasibleDesign(f"capacity {capacity} bytes is below the largest op footprint")
    for k in range(steps + 1):
        effective = capacity - (capacity - floor) * k // steps
        plan = belady_plan(graph, order, effective)
        addresses = pack(graph, plan, capacity)
        if addresses is not None:
            return schedule_from_plan(graph, order, plan, addresses)
    return None
