"""Scratchpad environments: schedule a DNN graph op by op, or size the scratchpad.

``archgym/ScratchpadSchedule-v0`` (multi-step) and ``archgym/ScratchpadSize-v0`` (one step).
Cost accounting is :mod:`archgym.simulators.scratchpad`'s, the traffic comes from the COSMA ILP
(:mod:`archgym.agents.cosma`) or a baseline, area and energy from :mod:`archgym.cost_models.energy`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from archgym.cost_models.energy import DEFAULT_TABLE, TechTable
from archgym.env import ArchGymEnv
from archgym.objective import Objective
from archgym.simulators.common import InfeasibleDesign
from archgym.simulators.graph import Graph
from archgym.simulators.scratchpad import Replayer, replay
from archgym.simulators.scratchpad_baselines import (
    ALLOCATORS,
    EVICTIONS,
    ORDERS,
    EvictionPolicy,
    budgets,
    heuristic_schedule,
)
from archgym.space import Categorical, DesignSpace, Integer
from archgym.workloads.graphs import load_graph

__all__ = ["SIZE_METRICS", "ScratchpadScheduleEnv", "ScratchpadSizeEnv", "scratchpad_traffic"]

SIZE_METRICS = (
    "extra_dram_bytes",
    "compulsory_dram_bytes",
    "dram_bytes",
    "sram_bytes",
    "energy_pj",
    "area_mm2",
    "optimal",
)
METHODS = ("ilp", "belady", "greedy")


def _graph(graph: str | Graph) -> Graph:
    return graph if isinstance(graph, Graph) else load_graph(graph)


class ScratchpadScheduleEnv(gym.Env):
    """Schedule a DNN graph on a scratchpad one operator at a time.

    ## Description
    Each step picks the next operator among the ready ones; the environment then evicts tensors
    with ``eviction`` (Belady with next use estimated from the graph's listed topological order,
    or greedy smallest traffic) and places them best-fit, as the baselines do. The episode is a
    full schedule, replayed step by step by :class:`archgym.simulators.scratchpad.Replayer`.

    ## Action space
    ``Discrete(n_ops)``: the index of an op in ``graph.ops``. ``info["action_mask"]`` (int8)
    marks the ready ops; an action that is not ready runs the first ready op instead and sets
    ``info["invalid_action"]``.

    ## Observation space
    ``Box(0, 1, (n_ops + n_tensors + 1,), float32)``: per op 0 (waiting), 0.5 (ready) or 1 (done);
    per tensor 1 if resident; the fraction of the capacity in use.

    ## Reward
    Minus the non-compulsory DRAM bytes (spills + reloads) of the step, times ``reward_scale``.

    ## Episode end
    ``terminated`` after the last op. Never truncated.

    ## Arguments
    * ``graph``: a built-in graph name or JSON path, or a :class:`Graph`
      (default ``nasnet-cell-graph``).
    * ``capacity_bytes``: scratchpad size; default the midpoint of the largest op footprint and
      the minimum peak (the paper's middle budget).
    * ``eviction``: ``belady`` or ``greedy``. ``reward_scale``: multiplies the reward.

    ## Version history
    * v0: first version.
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(
        self,
        graph: str | Graph = "nasnet-cell-graph",
        capacity_bytes: int | None = None,
        *,
        eviction: str = "belady",
        reward_scale: float = 1.0,
        render_mode: str | None = None,
    ) -> None:
        self.graph = _graph(graph)
        if eviction not in EVICTIONS:
            raise ValueError(f"unknown eviction {eviction!r}; valid: {', '.join(EVICTIONS)}")
        self.capacity = capacity_bytes if capacity_bytes is not None else budgets(self.graph)["mid"]
        EvictionPolicy(self.graph, self.capacity, eviction)  # validates the capacity
        self.eviction, self.reward_scale, self.render_mode = eviction, reward_scale, render_mode
        self.op_names = [op.name for op in self.graph.ops]
        self.tensor_names = list(self.graph.tensors)
        self._rank = {n: i for i, n in enumerate(self.graph.topological_order())}
        self.action_space = spaces.Discrete(len(self.op_names))
        size = len(self.op_names) + len(self.tensor_names) + 1
        self.observation_space = spaces.Box(0.0, 1.0, (size,), dtype=np.float32)
        self._reset_state()

    def _reset_state(self) -> None:
        self.player = Replayer(self.graph, self.capacity)
        self.policy = EvictionPolicy(self.graph, self.capacity, self.eviction)

    def action_mask(self) -> np.ndarray:
        ready = set(self.player.ready())
        return np.array([n in ready for n in self.op_names], dtype=np.int8)

    def _obs(self) -> np.ndarray:
        ready = set(self.player.ready())
        ops = [1.0 if n in self.player.done else 0.5 if n in ready else 0.0 for n in self.op_names]
        res = [1.0 if t in self.player.resident else 0.0 for t in self.tensor_names]
        used = sum(self.graph.size(t) for t in self.player.resident) / self.capacity
        return np.array([*ops, *res, min(used, 1.0)], dtype=np.float32)

    def _info(self, **extra: Any) -> dict[str, Any]:
        return {"action_mask": self.action_mask(), **extra}

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        self._reset_state()
        return self._obs(), self._info()

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        ready = self.player.ready()
        if not ready:
            raise RuntimeError("the episode has ended; call reset()")
        name = self.op_names[int(action)]
        invalid = name not in ready
        if invalid:
            name = ready[0]
        done = self.player.done

        def next_use(t: str) -> float:
            later = [self._rank[c] for c in self.graph.consumers[t] if c not in done and c != name]
            return min(later, default=float("inf"))

        extra = self.player.apply(self.policy.step(name, next_use))
        terminated = len(self.player.done) == len(self.op_names)
        info = self._info(op=name, invalid_action=invalid, extra_dram_bytes=extra)
        if terminated:
            info["replay"] = self.player.result()
        return self._obs(), -float(extra) * self.reward_scale, terminated, False, info

    def render(self) -> str | None:
        if self.render_mode != "ansi":
            return None
        r = self.player.result()
        return f"{len(r.order)}/{len(self.op_names)} ops, extra DRAM {r.extra_dram_bytes} B"


def scratchpad_traffic(
    graph: Graph, capacity_bytes: int, method: str = "ilp", *, time_limit_s: float = 10.0
) -> tuple[Any, bool]:
    """``(Replay, proven_optimal)`` of ``method`` at ``capacity_bytes``.

    The baselines run first (both orders; ``ilp`` tries both evictions and allocators); zero extra traffic
    is optimal, so the ILP is solved only when they leave some. ``ilp`` keeps the best baseline
    when the solver finds nothing better in time. Proven optimal: ILP ``optimal`` or zero.
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; valid: {', '.join(METHODS)}")
    evictions = EVICTIONS if method == "ilp" else (method,)
    best = None
    for ev in evictions:
        for order in ORDERS:
            for allocator in ALLOCATORS if method == "ilp" else ("hole",):
                sched = heuristic_schedule(
                    graph, capacity_bytes, order=order, eviction=ev, allocator=allocator
                )
                r = replay(graph, sched, capacity_bytes)
                if best is None or r.extra_dram_bytes < best.extra_dram_bytes:
                    best = r
    if method == "ilp" and best.extra_dram_bytes > 0:  # zero is optimal: no solve needed
        from archgym.agents.cosma import solve

        sol = solve(graph, capacity_bytes, time_limit_s=time_limit_s)
        if sol.replay is not None and sol.replay.extra_dram_bytes <= best.extra_dram_bytes:
            return sol.replay, sol.status == "optimal"
    return best, best.extra_dram_bytes == 0


class ScratchpadSizeEnv(ArchGymEnv):
    """Choose the scratchpad size and banking for a DNN graph.

    ## Description
    A one-step env. For a scratchpad of ``sram_kib`` KiB in ``banks`` banks, the DRAM traffic of
    the graph comes from the COSMA ILP (default) or a baseline; energy is DRAM bytes x DRAM
    energy per byte plus SRAM bytes x the per-byte energy of one bank (``sram_kib / banks`` KiB,
    from the tech table); SRAM bytes are every op's inputs and outputs plus every DRAM
    transfer. Area is the table's SRAM area plus ``bank_overhead`` (a stated assumption, default
    5 %) of it per extra bank for decoders and sense amplifiers.

    ## Action space
    ``Dict``: ``sram_kib`` (``Integer(low_kib, high_kib, step=step_kib)``), ``banks``
    (1, 2, 4, 8, 16).

    ## Observation space
    The metrics ``extra_dram_bytes, compulsory_dram_bytes, dram_bytes, sram_bytes, energy_pj,
    area_mm2, optimal`` divided by their values at the largest size with one bank.

    ## Reward
    The objective (default ``"energy_pj"``: minus the energy in pJ). Sizes below the largest
    single-op footprint are infeasible results.

    ## Episode end
    After one step.

    ## Arguments
    * ``graph``: a built-in graph name, a JSON path or a :class:`Graph`
      (default ``densenet-block-graph``).
    * ``method``: ``ilp``, ``belady`` or ``greedy``; ``time_limit_s``: per ILP solve.
    * ``low_kib``, ``high_kib``, ``step_kib``: the size range; ``table``: a :class:`TechTable`.

    ## Version history
    * v0: first version.
    """

    def __init__(
        self,
        graph: str | Graph = "densenet-block-graph",
        objective: Objective | str | Mapping[str, Any] = "energy_pj",
        *,
        method: str = "ilp",
        time_limit_s: float = 10.0,
        low_kib: int = 256,
        high_kib: int = 4096,
        step_kib: int = 64,
        bank_overhead: float = 0.05,
        table: TechTable = DEFAULT_TABLE,
        **options: Any,
    ) -> None:
        if method not in METHODS:
            raise ValueError(f"unknown method {method!r}; valid: {', '.join(METHODS)}")
        if not 0 <= bank_overhead < 1:
            raise ValueError(f"`bank_overhead` must be in [0, 1), but got {bank_overhead!r}")
        self.graph = _graph(graph)
        self.method, self.time_limit_s = method, time_limit_s
        self.bank_overhead, self.table = bank_overhead, table
        self._cache: dict[int, tuple[Any, bool]] = {}
        self._op_bytes = sum(self.graph.footprint_bytes(op.name) for op in self.graph.ops)
        space = DesignSpace(
            [
                Integer("sram_kib", low_kib, high_kib, step=step_kib),
                Categorical("banks", [1, 2, 4, 8, 16]),
            ]
        )
        top = low_kib + (high_kib - low_kib) // step_kib * step_kib
        super().__init__(
            space=space,
            objective=objective,
            metric_names=SIZE_METRICS,
            reference_design={"sram_kib": top, "banks": 1},
            **options,
        )

    def config_from_design(self, design: Mapping[str, Any]) -> tuple[int, int]:
        kib, banks = int(design["sram_kib"]), int(design["banks"])
        if kib * 1024 < self.graph.max_op_footprint_bytes():
            raise InfeasibleDesign(
                f"{kib} KiB is below the largest single-op footprint "
                f"({self.graph.max_op_footprint_bytes()} bytes)"
            )
        return kib, banks

    def evaluate_config(self, config: tuple[int, int]) -> dict[str, float]:
        kib, banks = config
        cap = kib * 1024
        if cap not in self._cache:
            self._cache[cap] = scratchpad_traffic(
                self.graph, cap, self.method, time_limit_s=self.time_limit_s
            )
        r, optimal = self._cache[cap]
        dram = r.compulsory_dram_bytes + r.extra_dram_bytes
        sram = self._op_bytes + dram
        t = self.table
        energy = dram * t.dram_energy_pj_per_byte + sram * t.sram_pj_per_byte(kib / banks)
        area = t.sram_area(kib) * (1 + self.bank_overhead * (banks - 1))
        return {
            "extra_dram_bytes": float(r.extra_dram_bytes),
            "compulsory_dram_bytes": float(r.compulsory_dram_bytes),
            "dram_bytes": float(dram),
            "sram_bytes": float(sram),
            "energy_pj": float(energy),
            "area_mm2": float(area),
            "optimal": 1.0 if optimal else 0.0,
        }
