"""Agent comparison: regret against an enumerated optimum, and figures of `archgym run` datasets.

Two parts (``python experiments/compare_agents.py -h``):

``optimum``
    The acceptance study. A finite space of 11,178 systolic-array designs (ResNet-50,
    EDP; the ``archgym/SystolicArray-v0`` model with each SRAM in {16, 128, 1024} KiB and the
    bandwidth in {2, 8, 32} words/cycle) is enumerated to find the global optimum; every agent x
    hyperparameter setting x seed then gets a budget under 5% of the space (558 evaluations).
    Writes ``runs.csv`` (one row per run: best reward, regret, evaluations until within 2% of
    the optimum), ``table.md``, ``lottery.png`` (regret per agent across hyperparameter
    settings) and ``curves.png`` (median best-so-far regret per agent). ``--space gpu`` runs
    the same study on the GPU tiling env (10,500 designs), ``--space scratchpad`` on the
    scratchpad-size env (305 designs, 15 evaluations), where the ``cosma_ilp`` agent joins.

``figures DATASET``
    Tables and figures of a dataset written by ``archgym run experiments/compare_agents.toml``:
    per env, best reward and sample efficiency per agent (``table_<env>.md``), the spread of the
    best reward across hyperparameter settings (``lottery_<env>.png``) and best-so-far curves
    (``curves_<env>.png``). With ``--enumerate`` the finite envs are enumerated for their
    optimum and the tables report regret.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

# Families the acceptance criterion counts ("at least one agent of each family").
FAMILY = {
    "random_walk": "random",
    "local_walk": "local search",
    "grid": "grid",
    "genetic": "evolutionary",
    "aco": "ant colony",
    "optuna": "Bayesian (Optuna)",
    "nsga2": "Bayesian (Optuna)",
    "reinforce": "reinforcement learning",
    "cosma_ilp": "exact (ILP)",
}

# The hyperparameter grids of the optimum study (the "lottery"); each list is a grid axis.
STUDY_AGENTS: list[tuple[str, dict[str, list[Any]]]] = [
    ("random_walk", {}),
    ("local_walk", {"patience": [20, 100], "restart_prob": [0.0, 0.05]}),
    ("grid", {"mode": ["exhaustive", "latin", "strided"]}),
    ("genetic", {"population": [10, 30], "mutation_rate": [0.0, 0.3], "elite": [1, 4]}),
    ("aco", {"ants": [5, 20], "evaporation": [0.05, 0.2], "alpha": [1.0, 2.0]}),
    ("optuna", {"sampler": ["tpe", "tpe-multivariate", "cmaes", "qmc"]}),
    ("nsga2", {"population": [20, 50]}),
    ("reinforce", {"algorithm": ["reinforce", "ppo"], "lr": [0.3, 1.0], "memory": [0, 4]}),
    ("cosma_ilp", {}),  # scratchpad space only (ONLY_ON)
]
# Agents that serve only some study spaces.
ONLY_ON = {"cosma_ilp": ("scratchpad",)}

STUDY_SRAM_KIB = [16, 128, 1024]
STUDY_BANDWIDTH = [2, 8, 32]
TOLERANCE = 0.02  # "within 2% of the optimum reward"
# Largest env (box size) that `figures --enumerate` evaluates design by design for its optimum.
_MAX_ENUMERATE = 100_000


STUDY_SPACES = ("systolic", "gpu", "scratchpad")


def study_env(space: str = "systolic", workload: str | None = None) -> Any:
    """A finite env of at least 10,000 designs for the optimum study.

    ``systolic``: the systolic env (``workload``, default ResNet-50, EDP) on a sub-space of
    11,178 designs (same model). ``gpu``: ``archgym/GPUGemmTiling-v0`` as registered (10,500
    tilings of a 4096^3 fp16 GEMM on an H100, kernel time; ``workload`` must be None).
    ``scratchpad``: ``archgym/ScratchpadSize-v0`` (``workload`` is its graph, default
    ``densenet-block-graph``; 305 designs, energy, ILP traffic), where ``cosma_ilp`` applies.
    """
    if space == "scratchpad":
        import archgym.agents.ilp

        from archgym.envs.scratchpad import ScratchpadSizeEnv

        return ScratchpadSizeEnv(workload or "densenet-block-graph")
    if space == "gpu":
        import gymnasium

        import archgym  # noqa: F401 - registers the ids

        if workload is not None:
            raise ValueError("the gpu study space takes no workload (it is the env's 4096^3 GEMM)")
        return gymnasium.make("archgym/GPUGemmTiling-v0").unwrapped
    if space != "systolic":
        from archgym.errors import unknown_name

        raise unknown_name("study space", space, STUDY_SPACES)
    workload = workload or "resnet50"
    from archgym.envs.systolic import SystolicArrayEnv

    keep = {
        "ifmap_sram_kib": STUDY_SRAM_KIB,
        "filter_sram_kib": STUDY_SRAM_KIB,
        "ofmap_sram_kib": STUDY_SRAM_KIB,
        "bandwidth": STUDY_BANDWIDTH,
    }
    return SystolicArrayEnv(workload, objective="edp", restrict=keep)


def enumerate_optimum(env: Any) -> tuple[dict[str, Any], float, int]:
    """The best design of a finite env by evaluating every design; (design, reward, count)."""
    best: tuple[dict[str, Any], float] | None = None
    count = 0
    for design in env.space.grid():
        r = env.evaluate(design)
        count += 1
        if r.feasible and (best is None or r.reward > best[1]):
            best = (design, r.reward)
    if best is None:
        raise ValueError("no feasible design in the space")
    return best[0], best[1], count


def settings(grid: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Every combination of a hyperparameter grid."""
    import itertools

    keys = list(grid)
    return [dict(zip(keys, c, strict=True)) for c in itertools.product(*grid.values())]


def within(reward: float, optimum: float, tol: float = TOLERANCE) -> bool:
    """Whether ``reward`` is within ``tol`` (relative) of ``optimum``."""
    return reward >= optimum - tol * abs(optimum)


def regret_pct(reward: float, optimum: float) -> float:
    """Relative regret in percent (0 at the optimum; inf when nothing feasible was found)."""
    if not math.isfinite(reward):
        return math.inf
    return 100.0 * (optimum - reward) / abs(optimum)


def _study_run(job: tuple[str, dict[str, Any], int, int, float, str, str | None]) -> dict[str, Any]:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from archgym.agents import get_agent, make_agent

    name, hp, seed, budget, optimum, space, workload = job
    env = study_env(space, workload)
    extra: dict[str, Any] = {}
    if name == "cosma_ilp":
        extra["graph"] = env.graph  # the env's own graph
    cls = get_agent(name)
    if cls.multi_objective and "n_objectives" in cls.hyperparams:
        extra["n_objectives"] = env.objective.n_objectives  # as `archgym run` does
    agent = make_agent(name, env.space, seed=seed, budget=budget, **{**extra, **hp})
    best = -math.inf
    curve = np.full(budget, -math.inf)
    first_hit = math.nan
    agent_s = 0.0
    n = 0
    for step in range(budget):
        if agent.finished:
            curve[step:] = best
            break
        t0 = time.perf_counter()
        design = agent.ask()
        agent_s += time.perf_counter() - t0
        result = env.evaluate(design)
        t0 = time.perf_counter()
        agent.tell(design, result)
        agent_s += time.perf_counter() - t0
        n += 1
        if result.feasible:
            best = max(best, result.reward)
        curve[step] = best
        if math.isnan(first_hit) and within(best, optimum):
            first_hit = step + 1
    return {
        "agent": name,
        "family": FAMILY.get(name, name),
        "hyperparams": json.dumps(hp, sort_keys=True),
        "seed": seed,
        "evals": n,
        "best_reward": best,
        "regret_pct": regret_pct(best, optimum),
        "within_2pct": not math.isnan(first_hit),
        "evals_to_2pct": first_hit,
        "agent_ms_per_eval": 1e3 * agent_s / max(n, 1),
        "curve": [regret_pct(b, optimum) for b in curve],
    }


def run_study(
    out: Path,
    *,
    seeds: int,
    workers: int,
    space: str,
    workload: str | None,
    quick: bool,
    agents: list[tuple[str, dict[str, list[Any]]]] | None = None,
) -> pd.DataFrame:
    """Enumerate the optimum, run every agent setting and seed, write the figures.

    ``agents``: ``(name, grid)`` pairs to run instead of :data:`STUDY_AGENTS` (a tuning study).
    """
    out.mkdir(parents=True, exist_ok=True)
    env = study_env(space, workload)
    cache = out / "optimum.json"
    tag = {"space": space, "workload": workload}
    if cache.exists() and all(json.loads(cache.read_text()).get(k) == v for k, v in tag.items()):
        opt = json.loads(cache.read_text())
    else:
        t0 = time.perf_counter()
        design, reward, count = enumerate_optimum(env)
        opt = {
            **tag,
            "design": design,
            "reward": reward,
            "designs": count,
            "enumerate_s": time.perf_counter() - t0,
        }
        cache.write_text(json.dumps(opt, indent=1))
    size = int(opt["designs"])
    budget = math.ceil(0.05 * size) - 1  # strictly under 5% of the space
    agents = [(n, g) for n, g in agents or STUDY_AGENTS if space in ONLY_ON.get(n, (space,))]
    if quick:
        agents = [(n, {k: v[:1] for k, v in g.items()}) for n, g in agents]
    jobs = [
        (name, hp, seed, budget, float(opt["reward"]), space, workload)
        for name, grid in agents
        for hp in settings(grid)
        for seed in range(seeds)
    ]
    if workers <= 1:
        rows = [_study_run(j) for j in jobs]
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            rows = list(pool.map(_study_run, jobs, chunksize=2))
    df = pd.DataFrame(rows)
    df.drop(columns="curve").to_csv(out / "runs.csv", index=False)
    curves = np.array(df["curve"].tolist(), dtype=float)
    np.save(out / "curves.npy", curves)
    table = study_table(df, opt, budget)
    (out / "table.md").write_text(table)
    plot_lottery(df, out / "lottery.png", budget)
    plot_curves(df, curves, out / "curves.png", budget)
    return df


def study_table(df: pd.DataFrame, opt: dict[str, Any], budget: int) -> str:
    """Markdown: per agent and setting, hits within 2%, median evaluations, regret, overhead."""
    rows = []
    for (agent, hp), g in df.groupby(["agent", "hyperparams"], sort=False):
        hits = g["evals_to_2pct"].dropna()
        rows.append(
            {
                "family": FAMILY.get(agent, agent),
                "agent": agent,
                "hyperparams": hp if hp != "{}" else "defaults",
                "seeds within 2%": f"{int(g['within_2pct'].sum())}/{len(g)}",
                "median evals to 2%": f"{hits.median():.0f}" if len(hits) else "-",
                "median regret %": f"{g['regret_pct'].median():.2f}",
                "worst regret %": f"{g['regret_pct'].max():.2f}",
                "agent ms/eval": f"{g['agent_ms_per_eval'].mean():.2f}",
            }
        )
    t = pd.DataFrame(rows)
    head = (
        f"Space: {opt['designs']:,} designs, optimum reward {opt['reward']:.6g} at "
        f"{opt['design']}; budget {budget} evaluations ({100 * budget / opt['designs']:.2f}% of "
        f"the space).\n\n"
    )
    return head + markdown(t) + "\n"


def markdown(table: pd.DataFrame) -> str:
    """A GitHub-flavoured markdown table (no dependency on `tabulate`)."""
    cols = [str(c) for c in table.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for row in table.itertuples(index=False):
        lines.append("| " + " | ".join(str(v) for v in row) + " |")
    return "\n".join(lines)


def _figure() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_lottery(df: pd.DataFrame, path: Path, budget: int) -> None:
    """Box plot per agent of the final regret over all its settings and seeds."""
    plt = _figure()
    order = list(dict.fromkeys(df["agent"]))
    data = [np.clip(df.loc[df["agent"] == a, "regret_pct"].to_numpy(), 0, 1e3) for a in order]
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.boxplot(data, tick_labels=order, showfliers=True)
    ax.set_yscale("symlog", linthresh=1.0)
    ax.axhline(100 * TOLERANCE, color="tab:red", ls="--", lw=1, label="2% of optimum")
    ax.set_ylabel(f"regret after {budget} evaluations (%)")
    ax.set_title("Spread over hyperparameter settings and seeds (the lottery)")
    ax.legend(loc="upper right")
    fig.autofmt_xdate(rotation=30)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_curves(df: pd.DataFrame, curves: np.ndarray, path: Path, budget: int) -> None:
    """Median (over settings and seeds) best-so-far regret per agent."""
    plt = _figure()
    fig, ax = plt.subplots(figsize=(8, 4.5))
    x = np.arange(1, curves.shape[1] + 1)
    for agent in dict.fromkeys(df["agent"]):
        rows = curves[(df["agent"] == agent).to_numpy()]
        ax.plot(x, np.median(np.clip(rows, 0, 1e4), axis=0), label=agent)
    ax.set_xscale("log")
    ax.set_yscale("symlog", linthresh=1.0)
    ax.set_ylim(bottom=0)
    ax.axhline(100 * TOLERANCE, color="k", ls=":", lw=1)
    ax.set_xlabel("evaluations")
    ax.set_ylabel("best-so-far regret (%), median")
    ax.set_title(f"Best so far, {budget} evaluations")
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


# -- figures of an `archgym run` dataset ------------------------------------------------------
def dataset_figures(dataset: Path, out: Path, *, enumerate_envs: bool) -> list[Path]:
    """Per env: the table, the lottery plot and the best-so-far curves of a dataset."""
    from archgym.dataset import load
    from archgym.results import best_so_far

    df = load(dataset)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    curves = best_so_far(df)
    for env_id, g in curves.groupby("env_id"):
        tag = str(env_id).replace("archgym/", "").replace("/", "_")
        optimum = _env_optimum(dataset, str(env_id)) if enumerate_envs else None
        env_best = float(g["best"].max())
        target = optimum if optimum is not None else env_best
        per_run = g.groupby("run_id").agg(
            agent=("agent", "first"), params=("agent_params", "first"), best=("best", "max")
        )
        hits = g[g["best"] >= target - TOLERANCE * abs(target)].groupby("run_id")["step"].min() + 1
        per_run["evals_to_2pct"] = hits
        rows = []
        for agent, r in per_run.groupby("agent"):
            rows.append(
                {
                    "agent": agent,
                    "runs": len(r),
                    "settings": r["params"].nunique(),
                    "best reward": f"{r['best'].max():.6g}",
                    "median best": f"{r['best'].median():.6g}",
                    "runs within 2%": f"{int(r['evals_to_2pct'].notna().sum())}/{len(r)}",
                    "median evals to 2%": (
                        f"{r['evals_to_2pct'].median():.0f}"
                        if r["evals_to_2pct"].notna().any()
                        else "-"
                    ),
                    "median regret %": f"{np.median([regret_pct(b, target) for b in r['best']]):.2f}",
                }
            )
        ref = "enumerated optimum" if optimum is not None else "best reward found by any agent"
        text = f"{env_id}: regret and the 2% target against the {ref} ({target:.6g}).\n\n"
        path = out / f"table_{tag}.md"
        path.write_text(text + markdown(pd.DataFrame(rows)) + "\n")
        written.append(path)
        per_run["regret_pct"] = [regret_pct(b, target) for b in per_run["best"]]
        lot = per_run.rename(columns={"params": "hyperparams"})
        written.append(out / f"lottery_{tag}.png")
        plot_lottery(lot, written[-1], int(g["step"].max()) + 1)
        steps = int(g["step"].max()) + 1
        mat = np.full((len(per_run), steps), np.nan)
        for i, (_, cg) in enumerate(g.groupby("run_id")):
            mat[i, cg["step"].to_numpy()] = [regret_pct(b, target) for b in cg["best"]]
        mat = pd.DataFrame(mat).ffill(axis=1).to_numpy()
        order = g.groupby("run_id")["agent"].first()
        written.append(out / f"curves_{tag}.png")
        plot_curves(order.reset_index(drop=True).to_frame(), mat, written[-1], steps)
    return written


def _env_optimum(dataset: Path, env_id: str) -> float | None:
    """Enumerate the env of a dataset's manifest (same kwargs) for its optimum reward."""
    import gymnasium

    import archgym  # noqa: F401 - registers the ids
    from archgym.experiment import parse_experiment

    root = dataset if (dataset / "experiment.toml").exists() else dataset.parent
    experiment = parse_experiment((root / "experiment.toml").read_text(), validate=False)
    kwargs = next((e.kwargs for e in experiment.envs if e.id == env_id), {})
    env = gymnasium.make(env_id, **kwargs).unwrapped
    if not env.space.is_finite or env.space.box_size > _MAX_ENUMERATE:
        return None
    return enumerate_optimum(env)[1]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("optimum", help="the regret study against the enumerated optimum")
    s.add_argument("--out", type=Path, default=None, help="default: runs/compare_agents/<space>")
    s.add_argument("--seeds", type=int, default=5)
    s.add_argument("--workers", type=int, default=2)
    s.add_argument("--space", choices=STUDY_SPACES, default="systolic")
    s.add_argument(
        "--workload",
        default=None,
        help="systolic: the network (default resnet50); scratchpad: the graph",
    )
    s.add_argument("--quick", action="store_true", help="first setting of each grid only")
    s.add_argument("--agent", default=None, help="run only this agent (a tuning study)")
    s.add_argument(
        "--grid",
        type=json.loads,
        default=None,
        help="with --agent: its hyperparameter grid as JSON, e.g. '{\"memory\": [0, 4]}'",
    )
    f = sub.add_parser("figures", help="tables and figures of an `archgym run` dataset")
    f.add_argument("dataset", type=Path)
    f.add_argument("--out", type=Path, default=None)
    f.add_argument("--enumerate", action="store_true", help="enumerate finite envs for regret")
    args = parser.parse_args(argv)
    if args.cmd == "optimum":
        if args.grid is not None and args.agent is None:
            parser.error("--grid needs --agent")
        only = None if args.agent is None else [(args.agent, args.grid or {})]
        name = args.space if args.agent is None else f"{args.space}-{args.agent}"
        args.out = args.out or Path("runs/compare_agents") / name
        df = run_study(
            args.out,
            seeds=args.seeds,
            workers=args.workers,
            space=args.space,
            workload=args.workload,
            quick=args.quick,
            agents=only,
        )
        print((args.out / "table.md").read_text())
        print(f"{len(df)} runs; files in {args.out}")
    else:
        out = args.out or (args.dataset / "figures")
        for path in dataset_figures(args.dataset, out, enumerate_envs=args.enumerate):
            print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
