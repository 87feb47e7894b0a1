"""The COSMA MILP model: operator order, tensor addresses and spills/reloads as one PuLP problem.

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

The model is built here; :mod:`.ilp_schedule` converts between its variables and schedules
(warm starts, solved values to steps) and :mod:`.ilp` checks a request and solves it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulp
from archgym.simulators.common import InfeasibleDesign
from archgym.simulators.scratchpad.graph import Graph
from archgym.simulators.scratchpad.solvers import SOLVERS

__all__ = ["MAX_VARIABLES", "IlpModel", "IlpState", "ModelTooLarge", "check_inputs", "value_of"]

MAX_VARIABLES = 3_000_000
"""Default size guard: a model over this many variables is refused before it is built."""


class ModelTooLarge(ValueError):
    """The MILP would be too large to build (the message gives its size and the way out)."""


@dataclass
class IlpState:
    """Scratchpad state at the start of a window (empty for a whole-graph solve)."""

    resident: dict[str, int] = field(default_factory=dict)
    in_dram: set[str] = field(default_factory=set)
    loaded_once: set[str] = field(default_factory=set)
    done: set[str] = field(default_factory=set)


class IlpModel:
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
        start: IlpState,
        live_out: set[str],
        max_variables: int = MAX_VARIABLES,
    ) -> None:
        self.g, self.ops, self.cap, self.addresses = graph, list(ops), capacity, addresses
        self.start, self.live_out = start, live_out
        self.n = len(self.ops)
        self.win = self._op_windows(fixed_order)
        self.twin = self._tensor_windows()
        self.prob = pulp.LpProblem("cosma", pulp.LpMinimize)
        big = capacity if capacity is not None else upper
        self.peak = None if capacity is not None else self.prob.add_variable("peak", 0, upper)
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

    def _op_windows(self, fixed_order: bool) -> dict[str, tuple[int, int]]:
        """Op -> (first, last) step it can run at, from the sub-DAG of this window."""
        if fixed_order:
            return {o: (i, i) for i, o in enumerate(self.ops)}
        g, inside, n = self.g, set(self.ops), self.n
        anc: dict[str, set[str]] = {}
        for o in self.ops:
            anc[o] = set().union(*(anc[p] | {p} for p in g.predecessors(o) if p in inside))
        desc: dict[str, set[str]] = {}
        for o in reversed(self.ops):
            desc[o] = set().union(*(desc[s] | {s} for s in g.successors(o) if s in inside))
        return {o: (len(anc[o]), n - 1 - len(desc[o])) for o in self.ops}

    def _tensor_windows(self) -> dict[str, range]:
        """Tensor -> the steps it can be resident at (dead start-resident tensors left out)."""
        g, inside, start = self.g, set(self.ops), self.start
        touched: dict[str, list[str]] = {}
        for o in self.ops:
            for a in g.op_by_name[o].inputs + g.op_by_name[o].outputs:
                touched.setdefault(a, []).append(o)
        for a in start.resident:
            touched.setdefault(a, [])
        twin: dict[str, range] = {}
        for a, users in touched.items():
            prod = g.producer.get(a)
            readers = [o for o in users if o != prod]
            if prod in inside:
                lo = self.win[prod][0]
            elif a in start.resident:
                lo = 0
            else:
                lo = min(self.win[o][0] for o in readers)
            if a in self.live_out:
                hi = self.n - 1
            elif readers:
                hi = max(self.win[o][1] for o in readers)
            elif prod in inside:
                hi = self.win[prod][1]
            else:  # resident at the start but dead: dropped before step 0
                continue
            twin[a] = range(lo, hi + 1)
        return twin

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


def value_of(x: Any) -> float:
    """The solved value of a PuLP expression or variable, or the number itself."""
    return float(x) if isinstance(x, (int, float)) else float(x.varValue or 0.0)


def check_inputs(graph: Graph, capacity_bytes: int | None, solver: str) -> None:
    """Check the inputs every MILP method shares (solver name, capacity in bytes).

    Raises:
        ValueError: an unknown solver or a capacity that is not a positive integer.
        InfeasibleDesign: ``capacity_bytes`` is below the largest single-op footprint.
    """
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
