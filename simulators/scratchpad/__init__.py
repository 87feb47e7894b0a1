"""Scratchpad scheduling of DNN operator graphs (COSMA-style).

- :mod:`.graph`: operator graphs (JSON, ONNX import, random DAGs).
- :mod:`.replay`: schedules and their replay, the one place where DRAM traffic is counted.
- :mod:`.baselines`: online best-fit baselines, orders and the paper's budgets.
- :mod:`.arena`: offline placement (TFLite-style arena planner, residency packing).
- :mod:`.ilp`: the joint COSMA MILP (model in :mod:`.ilp_model`, schedule conversion in
  :mod:`.ilp_schedule`); :mod:`.exact`: the capacity-first exact method;
  :mod:`.windows`: divide and conquer; :mod:`.solvers`: HiGHS/CBC, run quietly.
- :mod:`.methods`: ``schedule(graph, capacity, method)``, the vocabulary every caller shares.
- :mod:`.evaluate`: a whole-workload model (traffic, energy, area) of a sized scratchpad.
"""

from archgym.simulators.scratchpad.graph import Graph, Op, Tensor, from_onnx, random_dag
from archgym.simulators.scratchpad.methods import CAPACITY_NAMES, METHODS, budget_bytes, schedule
from archgym.simulators.scratchpad.replay import InvalidSchedule, Replay, Schedule, Step, replay

__all__ = [
    "CAPACITY_NAMES",
    "METHODS",
    "Graph",
    "InvalidSchedule",
    "Op",
    "Replay",
    "Schedule",
    "Step",
    "Tensor",
    "budget_bytes",
    "from_onnx",
    "random_dag",
    "replay",
    "schedule",
]
