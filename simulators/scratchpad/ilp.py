"""COSMA-style ILP: operator order, tensor addresses and spills/reloads solved jointly.

After Li, Gupta and Malik, "Optimal Scheduling of Memory Access in DNN Accelerators"
(COSMA, arXiv 2311.18246), built on PuLP and solved with HiGHS (default) or CBC.

Model (one op per step ``t``; ``W(x)`` is the range of steps an op or tensor can occupy given
the DAG, so nothing is modelled outside it):

- ``y[o,t]``: op ``o`` runs at step ``t`` (constants in fixed-order mode). Each op runs once,
  each step runs one op ("at most one op per step", left implicit in the paper), producers
  before consumers.
- ``m[a,t]``: tensor ``a`` is resident during step ``t``. It must be when an op at ``t`` reads
  or writes it, cannot be before its producer runs or after its last reader ran.
- ``r[a,t] >= m[a,t] - m[a,t-1] - y[producer(a),t]``: a load at ``t`` (base case: nothing is
  resident before step 0, the third omission of the paper's equations). ``s[a] >= r[a,t]``:
  a produced tensor that is ever reloaded was spilled once.
- ``L[a,t]``: address; it stays fixed between consecutive resident steps unless the tensor is
  reloaded (a move costs a spill and a reload). For each pair of tensors whose windows overlap
  at ``t``, one binary orders them (below/above: the two exclusive choices of the paper, as one
  variable) when both are resident.
- Objective: the non-compulsory bytes ``sum size * (reloads + spills)`` of
  :mod:`archgym.simulators.scratchpad.replay` (first loads of unproduced tensors are compulsory).

Every solution is turned into a :class:`~archgym.simulators.scratchpad.Schedule` and replayed by the
scratchpad simulator; the replay's figures are the ones reported. The divide-and-conquer mode
for large graphs is :func:`archgym.simulators.scratchpad.windows.solve_windows`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulp
from archgym.simulators.common import InfeasibleDesign
from archgym.simulators.scratchpad.baselines import best_baseline, heuristic_schedule
from archgym.simulators.scratchpad.graph import Graph
from archgym.simulators.scratchpad.replay import Schedule, Step, replay
from archgym.simulators.scratchpad.solution import Solution
from archgym.simulators.scratchpad.solvers import SOLVERS, gap, make_solver, run

__all__ = ["MAX_VARIABLES", "MODES", "SOLVERS", "ModelTooLarge", "Solution", "make_solver", "solve"]

MAX_VARIABLES = 3_000_000
"""Default size guard: a model over this many variables is refused before it is built."""


class ModelTooLarge(ValueError):
    """The MILP would be too large to build (the message gives its size and the way out)."""


MODES = ("capacity", "min-peak")


@dataclass
class _State:
    """Scratchpad state at the start of a window (empty for a whole-graph solve)."""

    resident: dict[str, int] = field(default_factory=dict)
    in_dram: set[str] = field(default_factory=set)
    loaded_once: set[str] = field(default_factory=set)
    done: set[str] = field(default_factory=set)


class _Model:
    """The ILP over a window of ops (the whole graph by default) from a given start state."""

    def __init__(
        self,
        graph: Graph,
        ops: Sequence[str],
        *,
        capacity: int | None,
        upper: int,
        fixed_order: bool,
        addresses: bool,
        start: _State,
        live_out: set[str],
        max_variables: int = MAX_VARIABLES,
    ) -> None:
        self.g, self.ops, self.cap, self.addresses = graph, list(ops), capacity, addresses
        self.start, self.live_out = start, live_out
        n = len(self.ops)
        self.n = n
        inside = set(self.ops)
        # step windows of the ops, from the sub-DAG of this window
        if fixed_order:
            self.win = {o: (i, i) for i, o in enumerate(self.ops)}
        else:
            anc: dict[str, set[str]] = {}
            for o in self.ops:
                anc[o] = set().union(*(anc[p] | {p} for p in graph.predecessors(o) if p in inside))
            desc: dict[str, set[str]] = {}
            for o in reversed(self.ops):
                desc[o] = set().union(*(desc[s] | {s} for s in graph.successors(o) if s in inside))
            self.win = {o: (len(anc[o]), n - 1 - len(desc[o])) for o in self.ops}
        self.prob = pulp.LpProblem("cosma", pulp.LpMinimize)
        big = capacity if capacity is not None else upper
        self.peak = None if capacity is not None else self.prob.add_variable("peak", 0, upper)
        # tensor windows
        touched: dict[str, list[str]] = {}
        for o in self.ops:
            for a in graph.op_by_name[o].inputs + graph.op_by_name[o].outputs:
                touched.setdefault(a, []).append(o)
        for a in start.resident:
            touched.setdefault(a, [])
        self.twin: dict[str, range] = {}
        for a, users in touched.items():
            prod = graph.producer.get(a)
            readers = [o for o in users if o != prod]
            if prod in inside:
                lo = self.win[prod][0]
            elif a in start.resident:
                lo = 0
            else:
                lo = min(self.win[o][0] for o in readers)
            if a in live_out:
                hi = n - 1
            elif readers:
                hi = max(self.win[o][1] for o in readers)
            elif prod in inside:
                hi = self.win[prod][1]
            else:  # resident at the start but dead: dropped before step 0
                continue
            self.twin[a] = range(lo, hi + 1)
        self._guard(fixed_order, max_variables)
        self.y = {}
        if not fixed_order:
            for i, o in enumerate(self.ops):
                lo, hi = self.win[o]
                for t in range(lo, hi + 1):
                    self.y[o, t] = self.prob.add_variable(f"y_{i}_{t}", cat="Binary")
        self.m = {
            (a, t): self.prob.add_variable(f"m_{k}_{t}", cat="Binary")
            for k, (a, w) in enumerate(self.twin.items())
            for t in w
        }
        rcat = "Binary" if addresses else "Continuous"
        self.r = {
            (a, t): self.prob.add_variable(f"r_{k}_{t}", 0, 1, cat=rcat)
            for k, (a, w) in enumerate(self.twin.items())
            for t in w
        }
        self.key = {a: k for k, a in enumerate(self.twin)}
        self._constraints(big)
        if addresses:
            self._addresses(big)

    def _guard(self, fixed_order: bool, max_variables: int) -> None:
        """Refuse a model whose variable count would exceed ``max_variables`` (memory)."""
        count = 0 if fixed_order else sum(hi - lo + 1 for lo, hi in self.win.values())
        count += 2 * sum(len(w) for w in self.twin.values())
        if self.addresses:
            alive = [0] * self.n
            for w in self.twin.values():
                for t in w:
                    alive[t] += 1
            count += sum(len(w) for w in self.twin.values()) + sum(k * (k - 1) // 2 for k in alive)
        if count > max_variables:
            raise ModelTooLarge(
                f"the model of {self.n} ops would have {count:,} variables, over the limit of "
                f"{max_variables:,}; use method 'ilp' (capacity first), 'windows', or raise "
                "`max_variables`"
            )

    def Y(self, o: str, t: int) -> Any:
        lo, hi = self.win[o]
        if not lo <= t <= hi:
            return 0
        return self.y[o, t] if self.y else 1

    def M(self, a: str, t: int) -> Any:
        if t in self.twin[a]:
            return self.m[a, t]
        return 1 if t < 0 and a in self.start.resident else 0

    def _constraints(self, big: int) -> None:
        g, P, n = self.g, self.prob, self.n
        inside = set(self.ops)
        if self.y:
            at: dict[int, list[Any]] = {t: [] for t in range(n)}
            for (_o, t), v in self.y.items():
                at[t].append(v)

            def when(o: str) -> Any:
                lo, hi = self.win[o]
                return pulp.lpSum(t * self.y[o, t] for t in range(lo, hi + 1))

            for o in self.ops:
                lo, hi = self.win[o]
                P += pulp.lpSum(self.y[o, t] for t in range(lo, hi + 1)) == 1
            for t in range(n):
                P += pulp.lpSum(at[t]) == 1
            for c in self.ops:
                for p in sorted(g.predecessors(c) & inside):
                    P += when(p) + 1 <= when(c)
        for o in self.ops:
            op = g.op_by_name[o]
            lo, hi = self.win[o]
            for a in op.inputs + op.outputs:
                for t in range(lo, hi + 1):
                    P += self.m[a, t] >= self.Y(o, t)
        cost = []
        self.spill = {}
        for a, w in self.twin.items():
            size = g.size(a)
            prod = g.producer.get(a)
            mine = prod in inside
            readers = [o for o in g.consumers[a] if o in inside]
            for t in w:
                made = self.Y(prod, t) if mine else 0
                P += self.r[a, t] >= self.m[a, t] - self.M(a, t - 1) - made
                if mine:  # not before its producer
                    lo, hi = self.win[prod]
                    P += self.m[a, t] <= pulp.lpSum(
                        self.Y(prod, u) for u in range(lo, min(t, hi) + 1)
                    )
                if a not in self.live_out:  # not after its last reader
                    later = pulp.lpSum(
                        self.Y(c, u)
                        for c in readers
                        for u in range(max(t, self.win[c][0]), self.win[c][1] + 1)
                    )
                    P += self.m[a, t] <= later + made
            loads = pulp.lpSum(self.r[a, t] for t in w)
            first_free = prod is None and a not in self.start.loaded_once and readers
            if self.peak is not None:  # min-peak: no spill, no reload
                P += loads <= (1 if first_free else 0)
                continue
            if first_free:
                P += loads >= 1  # valid: an unproduced tensor is loaded before it is read
            cost.append(size * (loads - (1 if first_free else 0)))
            needs_spill = a not in self.start.in_dram and a not in g.outputs
            if a in self.live_out:  # not resident at the end: reloaded after the window
                gone = self.prob.add_variable(f"u_{self.key[a]}", 0, 1)
                P += gone >= 1 - self.m[a, w[-1]]
                cost.append(size * gone)
            if needs_spill:
                s = self.spill[a] = self.prob.add_variable(f"s_{self.key[a]}", 0, 1)
                for t in w:
                    P += s >= self.r[a, t]
                if a in self.live_out:
                    P += s >= gone
                cost.append(size * s)
        alive: dict[int, list[Any]] = {t: [] for t in range(n)}
        for (a, t), v in self.m.items():
            alive[t].append(g.size(a) * v)
        for t in range(n):
            P += pulp.lpSum(alive[t]) <= (self.cap if self.peak is None else self.peak)
        P += self.peak if self.peak is not None else pulp.lpSum(cost)

    def _addresses(self, big: int) -> None:
        g, P = self.g, self.prob
        top = self.cap if self.peak is None else self.peak
        self.L = {}
        for a, t in self.m:
            self.L[a, t] = self.prob.add_variable(f"L_{self.key[a]}_{t}", 0, big - g.size(a))
            P += self.L[a, t] + g.size(a) <= top
        for a, w in self.twin.items():
            for t in w:
                if t - 1 in w:
                    slack = big * (2 - self.m[a, t] - self.m[a, t - 1] + self.r[a, t])
                    P += self.L[a, t] - self.L[a, t - 1] <= slack
                    P += self.L[a, t - 1] - self.L[a, t] <= slack
                elif t == 0 and a in self.start.resident:
                    slack = big * (1 - self.m[a, 0] + self.r[a, 0])
                    P += self.L[a, 0] - self.start.resident[a] <= slack
                    P += self.start.resident[a] - self.L[a, 0] <= slack
        self.z = {}
        names = list(self.twin)
        for t in range(self.n):
            alive = [a for a in names if t in self.twin[a]]
            for i, a in enumerate(alive):
                for b in alive[i + 1 :]:
                    z = self.z[a, b, t] = self.prob.add_variable(
                        f"z_{self.key[a]}_{self.key[b]}_{t}", cat="Binary"
                    )
                    off = big * (2 - self.m[a, t] - self.m[b, t])
                    P += self.L[a, t] + g.size(a) <= self.L[b, t] + big * (1 - z) + off
                    P += self.L[b, t] + g.size(b) <= self.L[a, t] + big * z + off

    # ----- warm start ------------------------------------------------------------------------------
    def warm_start(self, schedule: Schedule) -> bool:
        """Set every variable's initial value from a valid whole-graph ``schedule`` of these ops.

        Returns False (and sets nothing) when the schedule does not fit the model (another op
        set, a tensor resident outside its window, a window model with boundary state).
        """
        g = self.g
        if self.start.resident or self.live_out:
            return False
        if sorted(s.op for s in schedule.steps) != sorted(self.ops):
            return False
        values: dict[Any, float] = {}
        resident: dict[str, int] = {}
        top = 0
        remaining = {a: len(g.consumers[a]) for a in g.tensors}
        spilled: set[str] = set()
        in_dram = set(self.start.in_dram)
        for t, step in enumerate(schedule.steps):
            if self.y:
                if (step.op, t) not in self.y:
                    return False
                for o in self.ops:
                    if (o, t) in self.y:
                        values[self.y[o, t]] = float(o == step.op)
            elif self.ops[t] != step.op:
                return False
            for a in step.evict:
                del resident[a]
                if remaining[a] > 0 and a not in in_dram:
                    spilled.add(a)
                    in_dram.add(a)
            resident.update(step.load)
            resident.update(step.alloc)
            for a in resident:
                if (a, t) not in self.m:
                    return False
                top = max(top, resident[a] + g.size(a))
            for a, w in self.twin.items():
                if t in w:
                    values[self.m[a, t]] = float(a in resident)
                    values[self.r[a, t]] = float(a in step.load)
                    if self.addresses:
                        values[self.L[a, t]] = float(resident.get(a, 0))
            if self.addresses:
                for (a, b, u), z in self.z.items():
                    if u == t:
                        values[z] = float(
                            a in resident and b in resident and resident[a] < resident[b]
                        )
            op = g.op_by_name[step.op]
            in_dram.update(a for a in op.outputs if a in g.outputs)
            for a in op.inputs:
                remaining[a] -= 1
            for a in [a for a in resident if remaining[a] == 0]:
                del resident[a]
        for a, s in self.spill.items():
            values[s] = float(a in spilled)
        if self.peak is not None:
            values[self.peak] = float(top)
        for v in self.prob.variables():
            v.setInitialValue(values.get(v, 0.0))
        return True

    # ----- solution -> schedule -------------------------------------------------------------------
    def steps(self, state: _State) -> list[Step]:
        """The window's schedule from the solved values; advances ``state``."""
        g = self.g
        val = {k: (v.varValue or 0) > 0.5 for k, v in self.m.items()}
        moved = {k: (v.varValue or 0) > 0.5 for k, v in self.r.items()}
        at = {}
        for t in range(self.n):
            at[t] = next(o for o in self.ops if _value(self.Y(o, t)) > 0.5)
        addr = self._integer_addresses(val, moved) if self.addresses else None
        remaining = {a: sum(1 for o in g.consumers[a]) for a in g.tensors}
        for a in g.tensors:  # readers before this window are done
            remaining[a] -= sum(1 for o in g.consumers[a] if o in state.done)
        steps = []
        for t in range(self.n):
            o = at[t]
            op = g.op_by_name[o]
            want = {a for a in self.twin if val.get((a, t))}
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
            for a in op.outputs:
                if a in g.outputs:
                    state.in_dram.add(a)
            for a in op.inputs:
                remaining[a] -= 1
            for a in list(state.resident):
                if remaining[a] == 0:
                    del state.resident[a]
            state.done.add(o)
        return steps

    def _integer_addresses(self, val: dict, moved: dict) -> dict[tuple[str, int], int]:
        """Integer addresses no higher than the solver's: stack each residency interval on the
        time-overlapping intervals below it (longest path in the below/above order)."""
        g = self.g
        intervals = []  # (solver address, tensor, first step, last step)
        for a, w in self.twin.items():
            start = None
            for t in [*w, w[-1] + 1]:
                on = t in w and val[a, t]
                if start is not None and (not on or moved[a, t]):
                    intervals.append((self.L[a, start].varValue or 0.0, a, start, t - 1))
                    start = None
                if on and start is None:
                    start = t
        intervals.sort()
        placed: list[tuple[int, int, int, int]] = []  # (addr, size, first, last)
        out = {}
        for _, a, lo, hi in intervals:
            base = a in self.start.resident and lo == 0 and not moved[a, 0]
            if base:
                addr = self.start.resident[a]
            else:
                addr = max([p + s for p, s, l2, h2 in placed if l2 <= hi and lo <= h2], default=0)
            placed.append((addr, g.size(a), lo, hi))
            for t in range(lo, hi + 1):
                out[a, t] = addr
        return out


def _value(x: Any) -> float:
    return float(x) if isinstance(x, (int, float)) else float(x.varValue or 0.0)


def _check(graph: Graph, capacity_bytes: int | None, solver: str) -> None:
    if solver not in SOLVERS:
        raise ValueError(f"unknown solver {solver!r}; valid: {', '.join(SOLVERS)}")
    if capacity_bytes is None:
        return
    if (
        isinstance(capacity_bytes, bool)
        or not isinstance(capacity_bytes, int)
        or capacity_bytes <= 0
    ):
        raise ValueError(f"`capacity_bytes` must be a positive integer, but got {capacity_bytes!r}")
    need = graph.max_op_footprint_bytes()
    if capacity_bytes < need:
        op = max(graph.ops, key=lambda o: graph.footprint_bytes(o.name)).name
        raise InfeasibleDesign(
            f"capacity {capacity_bytes} bytes is below the footprint of op {op!r} "
            f"({need} bytes: its inputs plus outputs); no schedule fits"
        )


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
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; valid: {', '.join(MODES)}")
    if mode == "capacity" and capacity_bytes is None:
        raise ValueError("mode 'capacity' needs `capacity_bytes`")
    _check(graph, capacity_bytes if mode == "capacity" else None, solver)
    if order is not None and not graph.is_topological(order):
        raise ValueError("`order` must list every op once, producers before consumers")
    ops = list(order) if order is not None else graph.topological_order()
    total = sum(t.bytes for t in graph.tensors.values())
    upper = replay(graph, heuristic_schedule(graph, total), total).arena_bytes
    model = _Model(
        graph,
        ops,
        capacity=capacity_bytes if mode == "capacity" else None,
        upper=upper,
        fixed_order=order is not None,
        addresses=addresses,
        start=_State(in_dram=set(graph.unproduced())),
        live_out=set(),
        max_variables=max_variables,
    )
    warm = False
    if warm_start is not False:
        start = warm_start
        if start is True:
            start = _best_baseline(graph, capacity_bytes if mode == "capacity" else total, order)
        warm = model.warm_start(start)
    out = run(model.prob, solver, time_limit_s, threads, warm=warm, nonnegative=model.peak is None)
    schedule = result = None
    cap = capacity_bytes if mode == "capacity" else None
    if out["objective"] is not None:
        schedule = Schedule(tuple(model.steps(_State(in_dram=set(graph.unproduced())))))
        if mode == "min-peak":
            cap = round(out["objective"])
        if addresses:
            result = replay(graph, schedule, cap)
    elif out["status"] == "timeout" and fallback and mode == "capacity":
        schedule = _best_baseline(graph, capacity_bytes, order)
        result = replay(graph, schedule, capacity_bytes)
        out["info"]["fallback"] = "best baseline (the solver found no schedule in time)"
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


def _best_baseline(graph: Graph, capacity_bytes: int, order: Sequence[str] | None) -> Schedule:
    """The baseline schedule with the least extra traffic (a warm start or a fallback)."""
    return best_baseline(graph, capacity_bytes, order=order)[1]
