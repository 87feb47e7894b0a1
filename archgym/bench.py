"""``archgym bench``: every agent family on cheap enumerable envs, regret with confidence intervals.

Each benchmark env is small enough to enumerate (5,000-11,000 designs), so its optimum is known
and every run's result is a *regret*: the relative distance of the best reward found to the
optimum, ``100 * (optimum - best) / |optimum|`` percent. Evaluations go through a table of the
enumerated results (the env is evaluated once per design, then looked up), so the benchmark
measures the agents, not the simulators. Every agent runs with its **defaults** (the leaderboard)
for ``--seeds`` seeds at fixed budgets; ``--lottery`` runs instead a grid of hyperparameter
settings per agent beside its defaults and random search (ArchGym's "hyperparameter lottery":
how much an agent's result and the ranking depend on the setting).
Two references run beside the agents: plain Optuna TPE as a user would write it (independent
and multivariate TPE, Optuna's defaults, every proposal evaluated) and uniform random search.

The multi-objective env reports each run's hypervolume as a fraction of the enumerated
Pareto front's. Outputs (``--out``): ``runs.csv`` (one row per run), ``leaderboard.md``,
``lottery.md``, ``regret.png``, ``curves.png`` and ``hypervolume.md``.

    archgym bench --out runs/bench            # leaderboard, 10 seeds (a few minutes, 2 cores)
    archgym bench --lottery --seeds 5 --out runs/bench-lottery  # the hyperparameter lottery
    archgym bench --quick --out /tmp/b        # smoke test (seconds)
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from itertools import product
from pathlib import Path
from typing import Any

import numpy as np

from archgym.bench_envs import BENCH_ENVS, bench_table, hypervolume
from archgym.bench_report import write_reports

__all__ = [
    "AGENTS",
    "LOTTERY",
    "add_bench_parser",
    "bootstrap_ci",
    "run_bench",
    "run_one",
]

# Benchmark entries: label -> (registered agent or a reference, hyperparameters). Defaults only.
AGENTS: dict[str, tuple[str, dict[str, Any]]] = {
    "random_walk": ("random_walk", {}),
    "local_walk": ("local_walk", {}),
    "grid": ("grid", {}),
    "genetic": ("genetic", {}),
    "aco": ("aco", {}),
    "optuna": ("optuna", {}),
    "nsga2": ("nsga2", {}),
    "reinforce": ("reinforce", {}),
    "plain optuna TPE": ("plain-optuna", {"multivariate": False}),
    "plain optuna TPE (multivariate)": ("plain-optuna", {"multivariate": True}),
}
# Multi-objective agents of the Pareto env (n_objectives set from the env).
MO_AGENTS: dict[str, tuple[str, dict[str, Any]]] = {
    "random_walk": ("random_walk", {}),
    "nsga2": ("nsga2", {}),
    "optuna (MOTPE)": ("optuna", {"sampler": "tpe-multivariate"}),
}
# The lottery: a grid of settings per agent (each axis a list), beside its defaults.
LOTTERY: dict[str, dict[str, list[Any]]] = {
    "local_walk": {"patience": [5, 20, 200], "restart_prob": [0.0, 0.05]},
    "grid": {"mode": ["latin", "strided"]},
    "genetic": {"population": [10, 50], "mutation_rate": [0.05, 0.3]},
    "aco": {"ants": [5, 20], "evaporation": [0.05, 0.3]},
    "optuna": {"sampler": ["tpe", "cmaes", "qmc", "nsga2", "random"]},
    "reinforce": {"algorithm": ["reinforce", "ppo"], "lr": [0.3, 3.0], "batch": [4, 16]},
}


def bootstrap_ci(
    values: Sequence[float], *, level: float = 0.95, n: int = 2000, seed: int = 0
) -> tuple[float, float, float]:
    """Mean of ``values`` and its percentile-bootstrap confidence interval ``(mean, lo, hi)``."""
    x = np.asarray(values, dtype=float)
    if len(x) == 0:
        return math.nan, math.nan, math.nan
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, len(x), size=(n, len(x)))].mean(axis=1)
    alpha = (1 - level) / 2
    return float(x.mean()), float(np.quantile(means, alpha)), float(np.quantile(means, 1 - alpha))


class PlainOptuna:
    """Optuna TPE as a user writes it: ``study.ask(space.to_optuna())``, every proposal
    evaluated (duplicates and constraint violations included), infeasible results as FAIL."""

    def __init__(self, space: Any, seed: int, multivariate: bool) -> None:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        sampler = optuna.samplers.TPESampler(seed=seed, multivariate=multivariate)
        self.space, self.study = space, optuna.create_study(direction="maximize", sampler=sampler)
        self.dists, self.trial = space.to_optuna(), None
        self.finished = False

    def ask(self) -> dict[str, Any]:
        self.trial = self.study.ask(self.dists)
        return self.space.from_optuna(self.trial.params)

    def tell(self, design: dict[str, Any], result: Any) -> None:
        from optuna.trial import TrialState

        if result.feasible and math.isfinite(result.reward):
            self.study.tell(self.trial, float(result.reward))
        else:
            self.study.tell(self.trial, state=TrialState.FAIL)


def _make(agent: str, hp: dict[str, Any], space: Any, seed: int, budget: int, n_obj: int) -> Any:
    if agent == "plain-optuna":
        return PlainOptuna(space, seed, bool(hp.get("multivariate")))
    from archgym.agents import get_agent, make_agent

    cls = get_agent(agent)
    extra = {}
    if "n_objectives" in cls.hyperparams and (cls.multi_objective or n_obj > 1):
        extra["n_objectives"] = n_obj
    return make_agent(agent, space, seed=seed, budget=budget, **{**extra, **hp})


def run_one(job: dict[str, Any]) -> dict[str, Any]:
    """One agent x env x seed run; returns its row (best reward, regret curve, timing)."""
    env, table = bench_table(job["env"], Path(job["cache"]))
    budget = int(job["budget"])
    agent = _make(job["agent"], job["hp"], env.space, job["seed"], budget, env.n_objectives)
    best, curve, points = -math.inf, [], []
    evals, t0 = 0, time.perf_counter()
    while evals < budget and not agent.finished:
        design = agent.ask()
        result = table.lookup(design)
        agent.tell(design, result)
        evals += 1
        if result.feasible:
            best = max(best, float(result.reward))
            if env.n_objectives > 1:
                points.append(tuple(result.values))
        curve.append(table.regret(best))
    curve += [curve[-1]] * (budget - len(curve)) if curve else []
    row = {
        "env": job["env"],
        "label": job["label"],
        "agent": job["agent"],
        "hyperparams": json.dumps(job["hp"], sort_keys=True),
        "default": job["default"],
        "seed": job["seed"],
        "budget": budget,
        "evals": evals,
        "best_reward": best,
        "regret_pct": table.regret(best),
        "agent_s": time.perf_counter() - t0,
        "curve": curve,
    }
    if env.n_objectives > 1:
        pts = table.transform(points) if points else []
        row["hv_ratio"] = hypervolume(pts, table.ref_point) / table.front_hv
    return row


def _jobs(args: argparse.Namespace, cache: Path) -> list[dict[str, Any]]:
    envs = args.envs or list(BENCH_ENVS)
    jobs = []
    for env_name in envs:
        spec = BENCH_ENVS[env_name]
        budget = args.budget or spec.budget
        entries = MO_AGENTS if spec.n_objectives > 1 else AGENTS
        runs: list[tuple[str, str, dict[str, Any], bool]] = [
            (label, a, hp, True) for label, (a, hp) in entries.items()
        ]
        if args.lottery:
            if spec.n_objectives > 1:
                continue
            # The lottery: each gridded agent's defaults and its grid, and the random baseline.
            runs = [r for r in runs if r[1] in LOTTERY or r[1] == "random_walk"]
            for agent, grid in LOTTERY.items():
                for combo in product(*grid.values()):
                    hp = dict(zip(grid, combo, strict=True))
                    runs.append((f"{agent} {json.dumps(hp)}", agent, hp, False))
        if args.agents:
            runs = [r for r in runs if r[1] in args.agents or r[0] in args.agents]
        for label, agent, hp, default in runs:
            for seed in range(args.seeds):
                jobs.append(
                    {
                        "env": env_name,
                        "label": label,
                        "agent": agent,
                        "hp": hp,
                        "default": default,
                        "seed": seed,
                        "budget": budget,
                        "cache": str(cache),
                    }
                )
    return jobs


def add_bench_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``bench`` subcommand to an ``argparse`` subparsers object."""
    p = subparsers.add_parser(
        "bench",
        help="agent benchmark: regret to the enumerated optimum with bootstrap CIs",
        description=__doc__.split("\n\n")[0],
    )
    p.add_argument("--out", default="runs/bench", help="output folder (default runs/bench)")
    p.add_argument("--seeds", type=_positive, default=10, help="seeds per agent (default 10)")
    p.add_argument("--workers", type=_positive, default=2, help="processes (default 2)")
    p.add_argument("--budget", type=_positive, default=None, help="evaluations (default: per env)")
    p.add_argument("--envs", nargs="+", choices=list(BENCH_ENVS), help="subset of the envs")
    p.add_argument("--agents", nargs="+", help="subset of the agents (names or labels)")
    p.add_argument(
        "--lottery",
        action="store_true",
        help="the hyperparameter lottery instead: each gridded agent's defaults and grid",
    )
    p.add_argument("--quick", action="store_true", help="smoke test: 2 seeds, budget 20, 2 envs")
    p.set_defaults(func=run_bench)
    return p


#: The hook `archgym.cli` calls for every module of its COMMAND_MODULES.
register = add_bench_parser


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer, but got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, but got {text!r}")
    return value


def run_bench(args: argparse.Namespace) -> int:
    """Run the benchmark described by parsed ``args``; writes the reports under ``args.out``."""
    import pandas as pd

    if args.quick:
        args.seeds, args.budget = min(args.seeds, 2), args.budget or 20
        args.envs = args.envs or ["roofline", "roofline-pareto"]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    cache = out / "tables"
    t0 = time.perf_counter()
    for env_name in args.envs or list(BENCH_ENVS):
        bench_table(env_name, cache)  # enumerate once, before the workers read the cache
    jobs = _jobs(args, cache)
    if args.workers <= 1:
        rows = [run_one(j) for j in jobs]
    else:
        with ProcessPoolExecutor(max_workers=args.workers) as pool:
            rows = list(pool.map(run_one, jobs, chunksize=1))
    df = pd.DataFrame(rows)
    df.drop(columns="curve").to_csv(out / "runs.csv", index=False)
    written = write_reports(df, out)
    print(f"{len(rows)} runs in {time.perf_counter() - t0:.0f} s; wrote:")
    for path in written:
        print(f"  {path}")
    print((out / "leaderboard.md").read_text())
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m archgym.bench`` (same options as ``archgym bench``)."""
    parser = argparse.ArgumentParser(prog="archgym")
    add_bench_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["bench", *(sys.argv[1:] if argv is None else argv)])
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
