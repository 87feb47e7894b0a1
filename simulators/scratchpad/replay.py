"""Scratchpad schedules and their replay: the one place where DRAM traffic is counted.

Cost accounting (used by every method: baselines, the ILP, the envs, the tests):

- Tensors no op produces (graph inputs, weights) start in DRAM. Their first load is
  *compulsory*; every later load is a *reload* (non-compulsory).
- Graph outputs are written to DRAM once, when produced, compulsorily. Their DRAM copy then
  exists, so evicting one later costs nothing; reloading it is non-compulsory.
- An op runs at one step; before it, all its inputs must be resident and its outputs are
  allocated at the same time (inputs and outputs occupy disjoint address ranges).
- Evicting a tensor that is still needed and has no DRAM copy writes it to DRAM (a *spill*,
  non-compulsory, once: the copy stays valid because tensors are immutable). Evicting a tensor
  that has a DRAM copy is free.
- A tensor is freed automatically after its last reader runs (and an output nobody reads,
  right after it is written).

``extra_dram_bytes`` = spill bytes + reload bytes: the quantity every method minimises.
Addresses are byte offsets in ``[0, capacity)``; a tensor keeps its address while resident
(moving it means evicting and reloading it).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from archgym.simulators.common import InfeasibleDesign
from archgym.simulators.scratchpad.graph import Graph, Op

__all__ = [
    "InvalidSchedule",
    "Replay",
    "Replayer",
    "Schedule",
    "Step",
    "live_after",
    "replay",
    "retire",
]


class InvalidSchedule(InfeasibleDesign):
    """A schedule that breaks a rule of the scratchpad (the message says which, at which step)."""


@dataclass(frozen=True)
class Step:
    """One step of a schedule: run ``op`` after evicting ``evict`` and loading ``load``.

    Attributes:
        op: Name of the op that runs at this step.
        evict: Resident tensors dropped before the op (spilled if still needed and not in DRAM).
        load: Tensor -> byte address, tensors read from DRAM before the op.
        alloc: Output tensor -> byte address; must list exactly the op's outputs.
    """

    op: str
    evict: tuple[str, ...] = ()
    load: Mapping[str, int] = field(default_factory=dict)
    alloc: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "evict", tuple(self.evict))
        object.__setattr__(self, "load", dict(self.load))
        object.__setattr__(self, "alloc", dict(self.alloc))

    def to_dict(self) -> dict:
        return {"op": self.op, "evict": list(self.evict), "load": self.load, "alloc": self.alloc}


@dataclass(frozen=True)
class Schedule:
    """A full schedule: one :class:`Step` per op, in execution order."""

    steps: tuple[Step, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "steps", tuple(self.steps))

    @property
    def order(self) -> list[str]:
        return [s.op for s in self.steps]


@dataclass(frozen=True)
class Replay:
    """What a valid schedule costs.

    Attributes:
        compulsory_dram_bytes: First loads of unproduced tensors + writes of graph outputs.
        extra_dram_bytes: Non-compulsory traffic: ``spill_bytes + reload_bytes``.
        spill_bytes / reload_bytes: The two parts of ``extra_dram_bytes``.
        peak_bytes: Largest sum of resident tensor sizes during any op.
        arena_bytes: Highest end address ever used (the scratchpad size the schedule needs).
        fragmentation: ``1 - peak_bytes / arena_bytes`` (0 means no hole at the worst step).
        spills / reloads: ``(tensor, step)`` pairs, in order.
        order: Op names in execution order.
    """

    compulsory_dram_bytes: int
    extra_dram_bytes: int
    spill_bytes: int
    reload_bytes: int
    peak_bytes: int
    arena_bytes: int
    fragmentation: float
    spills: tuple[tuple[str, int], ...]
    reloads: tuple[tuple[str, int], ...]
    order: tuple[str, ...]


def live_after(graph: Graph, order: Sequence[str]) -> list[set[str]]:
    """For each step, the tensors still read by a later step (independent of residency)."""
    last_use: dict[str, int] = {}
    for i, name in enumerate(order):
        for t in graph.op_by_name[name].inputs:
            last_use[t] = i
    return [{t for t, last in last_use.items() if last > i} for i in range(len(order))]


class Replayer:
    """Incremental replay: :meth:`apply` one step at a time (used by the multi-step env).

    ``apply`` returns the non-compulsory bytes of that step; :meth:`result` the totals so far.
    """

    def __init__(self, graph: Graph, capacity_bytes: int) -> None:
        if (
            isinstance(capacity_bytes, bool)
            or not isinstance(capacity_bytes, (int, np.integer))
            or capacity_bytes <= 0
        ):
            raise ValueError(
                f"`capacity_bytes` must be a positive integer, but got {capacity_bytes!r}"
            )
        self.graph, self.capacity = graph, int(capacity_bytes)
        self.remaining = {t: len(graph.consumers[t]) for t in graph.tensors}
        self.unproduced = set(graph.unproduced())
        self.in_dram = set(self.unproduced)
        self.loaded_once: set[str] = set()
        self.resident: dict[str, int] = {}  # tensor -> address
        self.done: set[str] = set()
        self.order: list[str] = []
        self.compulsory = sum(graph.size(t) for t in graph.outputs)
        self.spill_bytes = self.reload_bytes = self.peak = self.arena = 0
        self.frag_at_peak = 0.0
        self.spills: list[tuple[str, int]] = []
        self.reloads: list[tuple[str, int]] = []

    def ready(self) -> list[str]:
        """Ops whose producers have all run, in the graph's listed order."""
        g = self.graph
        return [
            o.name for o in g.ops if o.name not in self.done and g.predecessors(o.name) <= self.done
        ]

    def apply(self, step: Step) -> int:
        """Check and apply one step; return its spill + reload bytes."""
        g, i = self.graph, len(self.order)
        if step.op not in g.op_by_name:
            raise InvalidSchedule(f"step {i} runs unknown op {step.op!r}")
        op = g.op_by_name[step.op]
        where = f"step {i} (op {op.name!r})"
        if op.name in self.done:
            raise InvalidSchedule(f"{where}: the op already ran")
        early = g.predecessors(op.name) - self.done
        if early:
            raise InvalidSchedule(f"{where}: runs before its producer {sorted(early)[0]!r}")
        before = self.spill_bytes + self.reload_bytes
        resident, size = self.resident, g.size
        for t in step.evict:
            if t not in resident:
                raise InvalidSchedule(f"{where}: evicts {t!r}, which is not resident")
            del resident[t]
            if self.remaining[t] > 0 and t not in self.in_dram:
                self.in_dram.add(t)
                self.spill_bytes += size(t)
                self.spills.append((t, i))
        for t, addr in step.load.items():
            if t not in g.tensors:
                raise InvalidSchedule(f"{where}: loads unknown tensor {t!r}")
            if t in resident:
                raise InvalidSchedule(f"{where}: loads {t!r}, which is already resident")
            if t not in self.in_dram:
                raise InvalidSchedule(f"{where}: loads {t!r}, which has no DRAM copy")
            if self.remaining[t] == 0:
                raise InvalidSchedule(f"{where}: loads {t!r}, which no later op reads")
            if t in self.unproduced and t not in self.loaded_once:
                self.compulsory += size(t)
                self.loaded_once.add(t)
            else:
                self.reload_bytes += size(t)
                self.reloads.append((t, i))
            resident[t] = _address(where, t, addr)
        if set(step.alloc) != set(op.outputs):
            raise InvalidSchedule(
                f"{where}: allocates {sorted(step.alloc)}, but the op writes {list(op.outputs)}"
            )
        for t, addr in step.alloc.items():
            resident[t] = _address(where, t, addr)
        for t in op.inputs:
            if t not in resident:
                raise InvalidSchedule(f"{where}: input {t!r} is not resident")
        _check_placement(g, resident, self.capacity, where)
        used = sum(size(t) for t in resident)
        top = max(a + size(t) for t, a in resident.items())
        if used > self.peak:
            self.peak, self.frag_at_peak = used, 1 - used / top
        self.arena = max(self.arena, top)
        retire(g, op, resident, self.remaining, self.in_dram)
        self.done.add(op.name)
        self.order.append(op.name)
        return self.spill_bytes + self.reload_bytes - before

    def result(self) -> Replay:
        return Replay(
            compulsory_dram_bytes=self.compulsory,
            extra_dram_bytes=self.spill_bytes + self.reload_bytes,
            spill_bytes=self.spill_bytes,
            reload_bytes=self.reload_bytes,
            peak_bytes=self.peak,
            arena_bytes=self.arena,
            fragmentation=self.frag_at_peak,
            spills=tuple(self.spills),
            reloads=tuple(self.reloads),
            order=tuple(self.order),
        )


def retire(
    graph: Graph, op: Op, resident: dict[str, int], remaining: dict[str, int], in_dram: set[str]
) -> None:
    """The scratchpad after ``op`` ran: its graph outputs have a DRAM copy, its inputs one
    reader fewer (``remaining``), and tensors nobody reads any more leave ``resident``."""
    in_dram.update(t for t in op.outputs if t in graph.outputs)
    for t in op.inputs:
        remaining[t] -= 1
    for t in list(resident):
        if remaining[t] == 0:
            del resident[t]


def replay(graph: Graph, schedule: Schedule, capacity_bytes: int) -> Replay:
    """Replay ``schedule`` on a scratchpad of ``capacity_bytes``; raise InvalidSchedule if invalid.

    See the module docstring for the cost accounting.
    """
    player = Replayer(graph, capacity_bytes)
    if not graph.is_topological(schedule.order):
        raise InvalidSchedule(_order_problem(graph, schedule.order))
    for step in schedule.steps:
        player.apply(step)
    return player.result()


def _address(where: str, tensor: str, addr: object) -> int:
    if isinstance(addr, bool) or not isinstance(addr, int) or addr < 0:
        raise InvalidSchedule(
            f"{where}: address of {tensor!r} must be a non-negative integer, got {addr!r}"
        )
    return addr


def _check_placement(graph: Graph, resident: dict[str, int], capacity: int, where: str) -> None:
    spans = sorted((a, a + graph.size(t), t) for t, a in resident.items())
    for lo, hi, t in spans:
        if hi > capacity:
            raise InvalidSchedule(
                f"{where}: {t!r} at [{lo}, {hi}) exceeds the capacity of {capacity} bytes"
            )
    for (lo1, hi1, t1), (lo2, _, t2) in itertools.pairwise(spans):
        if lo2 < hi1:
            raise InvalidSchedule(f"{where}: {t1!r} at [{lo1}, {hi1}) overlaps {t2!r} at {lo2}")


def _order_problem(graph: Graph, order: Sequence[str]) -> str:
    names = {op.name for op in graph.ops}
    for n in order:
        if n not in names:
            return f"schedule runs unknown op {n!r}"
    if len(set(order)) != len(order):
        dup = next(n for n in order if list(order).count(n) > 1)
        return f"schedule runs op {dup!r} twice"
    missing = names - set(order)
    if missing:
        return f"schedule never runs op {sorted(missing)[0]!r}"
    seen: set[str] = set()
    for n in order:
        early = graph.predecessors(n) - seen
        if early:
            return f"op {n!r} runs before its producer {sorted(early)[0]!r}"
        seen.add(n)
    return "order is not topological"
