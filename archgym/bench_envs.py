"""The enumerable envs of ``archgym bench``, their lookup tables and hypervolume.

Each env is built with ``archgym.make`` and, where the registered space is too large to
enumerate, restricted to a sub-space of it (the env's ``restrict=`` argument).
:func:`bench_table` enumerates an env once (``evaluate_batch``), caches the results in a JSON
file and serves later evaluations from that table.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from archgym.result import Result
from archgym.space import DesignSpace

__all__ = ["BENCH_ENVS", "BenchEnv", "Table", "bench_table", "hypervolume", "pareto_front"]


@dataclass(frozen=True)
class BenchEnv:
    """A benchmark env: registered id and kwargs, an optional sub-space, the budget."""

    env_id: str
    kwargs: Mapping[str, Any]
    budget: int
    keep: Mapping[str, Sequence[Any]] = field(default_factory=dict)  # param -> values kept
    n_objectives: int = 1
    note: str = ""

    def make(self) -> tuple[Any, DesignSpace]:
        """The env (unwrapped) and its space (restricted to :attr:`keep`)."""
        import archgym

        kwargs = {**self.kwargs, **({"restrict": dict(self.keep)} if self.keep else {})}
        env = archgym.make(self.env_id, **kwargs)
        env = getattr(env, "unwrapped", env)
        return env, env.space


_SRAM = [16, 128, 1024]
BENCH_ENVS: dict[str, BenchEnv] = {
    "systolic": BenchEnv(
        "archgym/SystolicArray-v0",
        {"workload": "resnet18", "objective": "edp"},
        budget=200,
        keep={
            "ifmap_sram_kib": _SRAM,
            "filter_sram_kib": _SRAM,
            "ofmap_sram_kib": _SRAM,
            "bandwidth": [2, 8, 32],
        },
        note="ResNet-18, EDP; SRAMs in {16,128,1024} KiB, bandwidth in {2,8,32}",
    ),
    "roofline": BenchEnv(
        "archgym/GemmRoofline-v0",
        {"workload": "bert-base", "objective": "edp"},
        budget=100,
        note="BERT-base GEMMs, EDP",
    ),
    "gpu": BenchEnv(
        "archgym/GPUGemmTiling-v0", {}, budget=200, note="4096^3 fp16 GEMM on H100, kernel time"
    ),
    "roofline-pareto": BenchEnv(
        "archgym/GemmRoofline-v0",
        {
            "workload": "bert-base",
            "objective": {"type": "multi", "objectives": ["latency_s", "energy_pj"]},
        },
        budget=200,
        n_objectives=2,
        note="BERT-base GEMMs, Pareto of latency and energy",
    ),
}


def pareto_front(points: np.ndarray) -> np.ndarray:
    """The non-dominated rows of ``points`` (every column maximised)."""
    pts = np.unique(np.asarray(points, dtype=float), axis=0)
    keep = np.ones(len(pts), dtype=bool)
    for i, p in enumerate(pts):
        if keep[i]:
            dominated = np.all(pts <= p, axis=1) & np.any(pts < p, axis=1)
            keep &= ~dominated
    return pts[keep]


def hypervolume(points: Sequence[Sequence[float]], ref: Sequence[float]) -> float:
    """Volume dominated by ``points`` (maximised) and bounded below by ``ref``.

    Exact, by slicing along the last objective (fine for the fronts of a benchmark run).
    """
    ref_a = np.asarray(ref, dtype=float)
    pts = np.asarray(points, dtype=float).reshape(-1, len(ref_a))
    pts = pts[np.all(pts > ref_a, axis=1)]
    if len(pts) == 0:
        return 0.0
    pts = pareto_front(pts)
    if len(ref_a) == 1:
        return float(pts[:, 0].max() - ref_a[0])
    order = np.argsort(-pts[:, -1])
    pts = pts[order]
    total = 0.0
    for i in range(len(pts)):
        low = pts[i + 1, -1] if i + 1 < len(pts) else ref_a[-1]
        height = pts[i, -1] - low
        if height > 0:
            total += height * hypervolume(pts[: i + 1, :-1], ref_a[:-1])
    return total


class Table:
    """Enumerated results of one bench env: lookups, regret and the Pareto reference."""

    def __init__(self, space: DesignSpace, rows: list[list[Any]], n_objectives: int) -> None:
        self.space = space
        self.rows = {tuple(r[0]): r for r in rows}
        feasible = [r for r in rows if r[2]]
        if not feasible:
            raise ValueError("no feasible design in the bench env")
        self.optimum = max(r[1] for r in feasible)
        self.size = len(rows)
        self.ref_point: tuple[float, ...] = ()
        self.front_hv = math.nan
        self._log = False
        if n_objectives > 1:
            values = np.array([r[3] for r in feasible], dtype=float)
            self._log = bool(np.all(values < 0))
            front = pareto_front(self.transform(values))
            nadir, ideal = front.min(axis=0), front.max(axis=0)
            # The reference point sits 10% of the front's range beyond its nadir (the usual
            # choice of multi-objective benchmarks), so the front's extreme designs count.
            self.ref_point = tuple(nadir - 0.1 * np.maximum(ideal - nadir, 1e-12))
            self.front_hv = hypervolume(front, self.ref_point)

    def transform(self, values: Any) -> np.ndarray:
        """Objective vectors as the hypervolume sees them: ``-ln(cost)`` for negated costs
        (latency and energy span decades), else as they are."""
        v = np.asarray(values, dtype=float)
        return -np.log(-v) if self._log else v

    def lookup(self, design: Mapping[str, Any]) -> Result:
        """The enumerated result of ``design`` (a design of the searched space)."""
        key = tuple(p.normalise(design[p.name]) for p in self.space.params)
        if key not in self.rows:
            # Only a constraint-violating design is missing from the enumeration (grid() yields
            # valid designs); the plain-Optuna reference proposes those.
            violated = self.space.violated(design)
            if not violated:
                raise KeyError(f"design {design} is not in the enumerated space")
            return Result(dict(design), {}, -math.inf, feasible=False, error=str(violated))
        _, reward, feasible, values, error = self.rows[key]
        return Result(
            design=dict(design),
            metrics={},
            reward=float(reward) if feasible else -math.inf,
            feasible=bool(feasible),
            error=error,
            values=tuple(values) if values else (),
        )

    def regret(self, best: float) -> float:
        """Regret of a best reward in percent of the optimum (inf before anything feasible)."""
        if not math.isfinite(best):
            return math.inf
        return 100.0 * (self.optimum - best) / abs(self.optimum)


_LOADED: dict[str, tuple[Any, Table]] = {}


@dataclass(frozen=True)
class _Info:
    space: DesignSpace
    n_objectives: int


def bench_table(name: str, cache: Path) -> tuple[_Info, Table]:
    """The env ``name`` of :data:`BENCH_ENVS` and its table (enumerated once, then cached)."""
    if name in _LOADED:
        return _LOADED[name]
    spec = BENCH_ENVS[name]
    env, space = spec.make()
    path = Path(cache) / f"{name}.json"
    tag = {"env_id": spec.env_id, "kwargs": spec.kwargs, "keep": spec.keep}
    tag = json.loads(json.dumps(tag, default=str))
    rows: list[list[Any]] | None = None
    if path.exists():
        stored = json.loads(path.read_text())
        if stored.get("tag") == tag:
            rows = stored["rows"]
    if rows is None:
        rows = _enumerate(space, env.evaluate_batch)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"tag": tag, "rows": rows}))
    loaded = (_Info(space, spec.n_objectives), Table(space, rows, spec.n_objectives))
    _LOADED[name] = loaded
    return loaded


def _enumerate(
    space: DesignSpace, evaluate_batch: Callable[[list[dict[str, Any]]], list[Result]]
) -> list:
    rows = []
    designs = list(space.grid())
    for start in range(0, len(designs), 2048):
        chunk = designs[start : start + 2048]
        for design, r in zip(chunk, evaluate_batch(chunk), strict=True):
            key = [p.normalise(design[p.name]) for p in space.params]
            ok = bool(r.feasible) and math.isfinite(float(r.reward))
            values = [float(v) for v in r.values] if ok and r.values else []
            rows.append([key, float(r.reward) if ok else None, ok, values, r.error])
    return rows
