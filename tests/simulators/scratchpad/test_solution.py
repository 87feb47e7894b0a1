"""The incumbent that the scratchpad methods comparing candidate schedules keep."""

from __future__ import annotations

import time

import pytest
from archgym.simulators.scratchpad.replay import InvalidSchedule, Schedule, Step
from archgym.simulators.scratchpad.solution import Incumbent

from .test_replay_baselines import chain

# chain(): f(x, w) -> a; g(x) -> b; h(a, b, w) -> y. At 11 bytes, spilling a and dropping w
# costs 8 extra bytes (3 spilled + 5 reloaded); keeping everything resident at 15 costs none.
SPILLING = Schedule(
    (
        Step("f", load={"x": 0, "w": 4}, alloc={"a": 6}),
        Step("g", evict=("w", "a"), alloc={"b": 4}),
        Step("h", load={"a": 0, "w": 9}, alloc={"y": 3}),
    )
)
RESIDENT = Schedule(
    (
        Step("f", load={"x": 0, "w": 4}, alloc={"a": 6}),
        Step("g", alloc={"b": 9}),
        Step("h", alloc={"y": 14}),
    )
)


def test_the_least_extra_traffic_wins_and_ties_keep_the_first() -> None:
    best = Incumbent(chain(), 15)
    assert best.extra_dram_bytes is None
    best.consider(None, "nothing")
    best.consider(SPILLING, "spilling")
    assert (best.extra_dram_bytes, best.source) == (8, "spilling")
    best.consider(RESIDENT, "resident")
    best.consider(RESIDENT, "resident again")
    assert (best.extra_dram_bytes, best.source) == (0, "resident")
    sol = best.solution(
        status="feasible", bound=None, gap=None, solver="x", t0=time.perf_counter(), info={}
    )
    assert sol.objective == 0.0 and sol.schedule is RESIDENT and sol.capacity_bytes == 15


def test_a_candidate_that_does_not_replay_is_skipped_and_named() -> None:
    info: dict = {}
    best = Incumbent(chain(), 11, info)
    best.consider(RESIDENT, "too big")  # needs 15 bytes
    assert best.replay is None and info["rejected"][0].startswith("too big: ")
    Incumbent(chain(), 11).consider(RESIDENT, "silent")  # no info: skipped quietly
    with pytest.raises(InvalidSchedule):
        best.adopt(RESIDENT, "must replay")
