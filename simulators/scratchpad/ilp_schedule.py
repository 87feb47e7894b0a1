"""Between the COSMA MILP and schedules: warm starts from a schedule, schedules from a solution.

A solved :class:`~archgym.simulators.scratchpad.ilp_model.IlpModel` becomes a
:class:`~archgym.simulators.scratchpad.replay.Schedule` (with integer addresses no higher than the
solver's) that the scratchpad simulator replays; the replay's figures are the ones reported.
"""

from __future__ import annotations

from typing import Any

from archgym.simulators.scratchpad.ilp_model import IlpModel, IlpState, value_of
from archgym.simulators.scratchpad.replay import Schedule, Step, retire

__all__ = ["decode_steps", "warm_start"]


def warm_start(model: IlpModel, schedule: Schedule) -> bool:
    """Set every variable's initial value from a valid whole-graph ``schedule`` of these ops.

    Returns False (and sets nothing) when the schedule does not fit the model (another op
    set, a tensor resident outside its window, a window model with boundary state).
    """
    g = model.g
    if model.start.resident or model.live_out:
        return False
    if sorted(s.op for s in schedule.steps) != sorted(model.ops):
        return False
    values: dict[Any, float] = {}
    resident: dict[str, int] = {}
    top = 0
    remaining = {a: len(g.consumers[a]) for a in g.tensors}
    spilled: set[str] = set()
    in_dram = set(model.start.in_dram)
    for t, step in enumerate(schedule.steps):
        if model.y:
            if (step.op, t) not in model.y:
                return False
            for o in model.ops:
                if (o, t) in model.y:
                    values[model.y[o, t]] = float(o == step.op)
        elif model.ops[t] != step.op:
            return False
        for a in step.evict:
            del resident[a]
            if remaining[a] > 0 and a not in in_dram:
                spilled.add(a)
                in_dram.add(a)
        resident.update(step.load)
        resident.update(step.alloc)
        for a in resident:
            if (a, t) not in model.m:
                return False
            top = max(top, resident[a] + g.size(a))
        for a, w in model.twin.items():
            if t in w:
                values[model.m[a, t]] = float(a in resident)
                values[model.r[a, t]] = float(a in step.load)
                if model.addresses:
                    values[model.L[a, t]] = float(resident.get(a, 0))
        if model.addresses:
            for (a, b, u), z in model.z.items():
                if u == t:
                    values[z] = float(a in resident and b in resident and resident[a] < resident[b])
        retire(g, g.op_by_name[step.op], resident, remaining, in_dram)
    for a, s in model.spill.items():
        values[s] = float(a in spilled)
    if model.peak is not None:
        values[model.peak] = float(top)
    for v in model.prob.variables():
        v.setInitialValue(values.get(v, 0.0))
    return True


def decode_steps(model: IlpModel, state: IlpState) -> list[Step]:
    """The window's schedule from the solved values; advances ``state``."""
    g = model.g
    val = {k: (v.varValue or 0) > 0.5 for k, v in model.m.items()}
    moved = {k: (v.varValue or 0) > 0.5 for k, v in model.r.items()}
    at = {}
    for t in range(model.n):
        at[t] = next(o for o in model.ops if value_of(model.Y(o, t)) > 0.5)
    addr = _integer_addresses(model, val, moved) if model.addresses else None
    remaining = {a: sum(1 for o in g.consumers[a]) for a in g.tensors}
    for a in g.tensors:  # readers before this window are done
        remaining[a] -= sum(1 for o in g.consumers[a] if o in state.done)
    steps = []
    for t in range(model.n):
        o = at[t]
        op = g.op_by_name[o]
        want = {a for a in model.twin if val.get((a, t))}
        evict, load, alloc = [], {}, {}
        for a in list(state.resident):
            if a not in want or (moved.get((a, t)) and a not in op.outputs):
                evict.append(a)
                del state.resident[a]
                if remaining[a] > 0:
                    state.in_dram.add(a)
        for a in sorted(want):
            if a in op.outputs or a in state.resident:
                continue
            load[a] = addr[a, t] if addr else 0
            state.loaded_once.add(a)
        for a in op.outputs:
            alloc[a] = addr[a, t] if addr else 0
        steps.append(Step(o, tuple(evict), load, alloc))
        state.resident.update(load)
        state.resident.update(alloc)
        retire(g, op, state.resident, remaining, state.in_dram)
        state.done.add(o)
    return steps


def _integer_addresses(model: IlpModel, val: dict, moved: dict) -> dict[tuple[str, int], int]:
    """Integer addresses no higher than the solver's: stack each residency interval on the
    time-overlapping intervals below it (longest path in the below/above order)."""
    g = model.g
    intervals = []  # (solver address, tensor, first step, last step)
    for a, w in model.twin.items():
        start = None
        for t in [*w, w[-1] + 1]:
            on = t in w and val[a, t]
            if start is not None and (not on or moved[a, t]):
                intervals.append((model.L[a, start].varValue or 0.0, a, start, t - 1))
                start = None
            if on and start is None:
                start = t
    intervals.sort()
    placed: list[tuple[int, int, int, int]] = []  # (addr, size, first, last)
    out = {}
    for _, a, lo, hi in intervals:
        base = a in model.start.resident and lo == 0 and not moved[a, 0]
        if base:
            addr = model.start.resident[a]
        else:
            addr = max([p + s for p, s, l2, h2 in placed if l2 <= hi and lo <= h2], default=0)
        placed.append((addr, g.size(a), lo, hi))
        for t in range(lo, hi + 1):
            out[a, t] = addr
    return out
