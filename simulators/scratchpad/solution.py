"""The outcome of a scratchpad scheduling method (status, schedule, replay, bound, gap), and the
incumbent that methods comparing several candidate schedules keep."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from archgym.simulators.scratchpad.graph import Graph
from archgym.simulators.scratchpad.replay import InvalidSchedule, Replay, Schedule, replay

__all__ = ["Incumbent", "Solution"]


@dataclass(frozen=True)
class Solution:
    """The outcome of one ILP solve.

    Attributes:
        status: ``optimal`` (proven), ``feasible`` (a solution, optimality not proven, e.g. at a
            time limit), ``infeasible`` (proven) or ``timeout`` (no solution within the limit).
        schedule: The schedule (None without a solution).
        replay: The simulator's replay of ``schedule`` at ``capacity_bytes``.
        capacity_bytes: The capacity solved for (in min-peak mode: the arena found).
        objective: The solver's objective (extra DRAM bytes; arena bytes in min-peak mode).
        bound: Best proven lower bound on the objective, if the solver reports one.
        gap: ``(objective - bound) / max(objective, 1)`` when both are known.
        solve_s: Wall time of model building and solving (s).
        mode, solver: As requested. ``info``: model size and solver status strings.
    """

    status: str
    schedule: Schedule | None
    replay: Replay | None
    capacity_bytes: int | None
    objective: float | None
    bound: float | None
    gap: float | None
    solve_s: float
    mode: str
    solver: str
    info: dict[str, Any] = field(default_factory=dict)
    method: str = "ilp-joint"

    @property
    def extra_dram_bytes(self) -> int | None:
        return None if self.replay is None else self.replay.extra_dram_bytes

    def to_dict(self) -> dict[str, Any]:
        """The JSON of ``archgym schedule --json``."""
        r = self.replay
        return {
            "status": self.status,
            "method": self.method,
            "solver": self.solver,
            "mode": self.mode,
            "capacity_bytes": self.capacity_bytes,
            "extra_dram_bytes": None if r is None else r.extra_dram_bytes,
            "compulsory_dram_bytes": None if r is None else r.compulsory_dram_bytes,
            "order": None if r is None else list(r.order),
            "spills": None if r is None else [list(x) for x in r.spills],
            "reloads": None if r is None else [list(x) for x in r.reloads],
            "peak_bytes": None if r is None else r.peak_bytes,
            "arena_bytes": None if r is None else r.arena_bytes,
            "fragmentation": None if r is None else r.fragmentation,
            "objective": self.objective,
            "bound": self.bound,
            "gap": self.gap,
            "solve_s": self.solve_s,
            "schedule": None
            if self.schedule is None
            else [s.to_dict() for s in self.schedule.steps],
            "info": _jsonable(self.info),
        }


def _jsonable(x: Any) -> Any:
    """``x`` with tuples/sets as lists and non-JSON leaves as strings."""
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple, set)):
        return [_jsonable(v) for v in x]
    if x is None or isinstance(x, (bool, int, float, str)):
        return x
    return str(x)


class Incumbent:
    """The best schedule so far among candidates: the least extra DRAM bytes when replayed.

    Candidates are replayed at ``capacity_bytes``; ties keep the earlier one. One that does not
    replay (``InvalidSchedule``) is skipped and, when ``info`` is given, named in
    ``info["rejected"]``.
    """

    def __init__(
        self, graph: Graph, capacity_bytes: int, info: dict[str, Any] | None = None
    ) -> None:
        self.graph, self.capacity_bytes, self.info = graph, capacity_bytes, info
        self.replay: Replay | None = None
        self.schedule: Schedule | None = None
        self.source = ""

    @property
    def extra_dram_bytes(self) -> int | None:
        """The incumbent's extra DRAM bytes (None before the first valid candidate)."""
        return None if self.replay is None else self.replay.extra_dram_bytes

    def adopt(self, schedule: Schedule, source: str) -> None:
        """Take ``schedule`` as the incumbent unconditionally (it must replay)."""
        self.replay = replay(self.graph, schedule, self.capacity_bytes)
        self.schedule, self.source = schedule, source

    def consider(self, schedule: Schedule | None, source: str) -> None:
        """Replace the incumbent if ``schedule`` (None: nothing) has less extra traffic."""
        if schedule is None:
            return
        try:
            result = replay(self.graph, schedule, self.capacity_bytes)
        except InvalidSchedule as exc:
            if self.info is not None:
                self.info.setdefault("rejected", []).append(f"{source}: {exc}")
            return
        if self.replay is None or result.extra_dram_bytes < self.replay.extra_dram_bytes:
            self.replay, self.schedule, self.source = result, schedule, source

    def solution(
        self,
        *,
        status: str,
        bound: float | None,
        gap: float | None,
        solver: str,
        t0: float,
        info: dict[str, Any],
    ) -> Solution:
        """The incumbent as a capacity-mode :class:`Solution` (``t0``: start time, perf_counter)."""
        assert self.replay is not None, "no valid candidate was considered"
        return Solution(
            status=status,
            schedule=self.schedule,
            replay=self.replay,
            capacity_bytes=self.capacity_bytes,
            objective=float(self.replay.extra_dram_bytes),
            bound=bound,
            gap=gap,
            solve_s=time.perf_counter() - t0,
            mode="capacity",
            solver=solver,
            info=info,
        )
