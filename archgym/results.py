"""Tables and figures from a dataset: per-agent summaries, best-so-far curves, Pareto scatters."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from archgym.errors import UserError

__all__ = [
    "best_so_far",
    "format_table",
    "pareto_front",
    "plot_all",
    "plot_best_so_far",
    "plot_pareto",
    "summary",
]

_CLOSE = 0.05  # "reaching 95% of the best": within 5% of |best| of the env


def _check(df: pd.DataFrame) -> None:
    need = {"run_id", "env_id", "agent", "agent_params", "seed", "step", "reward", "feasible"}
    missing = sorted(need - set(df.columns))
    if missing:
        raise UserError(f"not an archgym dataset: missing columns {missing}")
    if df.empty:
        raise UserError("the dataset has no records")


def best_so_far(df: pd.DataFrame) -> pd.DataFrame:
    """Per run and step, the best reward so far (column ``best``)."""
    _check(df)
    out = df[["env_id", "agent", "agent_params", "run_id", "seed", "step", "reward"]].copy()
    out = out.sort_values(["run_id", "step"], kind="stable")
    out["best"] = out.groupby("run_id")["reward"].cummax()
    return out


def _evals_to_reach(curve: pd.DataFrame, target: float) -> float:
    hit = curve.loc[curve["best"] >= target, "step"]
    return float(hit.iloc[0] + 1) if len(hit) else math.nan


def summary(df: pd.DataFrame, *, by_params: bool = False) -> pd.DataFrame:
    """One row per (env, agent[, hyperparameters]).

    Columns: ``runs``, ``evals`` (mean per run), ``best`` (best reward over all its runs),
    ``best_mean`` / ``best_std`` (best reward per run, over seeds and settings), ``feasible``
    (fraction of feasible evaluations), ``evals_to_95`` (median evaluations until the best-so-far is
    within 5 % of the env's best reward, over runs that got there) and ``reached_95`` (fraction of
    runs that got there).
    """
    curves = best_so_far(df)
    feasible = df.groupby("run_id")["feasible"].mean()
    rows = []
    keys = ["env_id", "agent", "agent_params"] if by_params else ["env_id", "agent"]
    env_best = curves.groupby("env_id")["reward"].max()
    for key, group in curves.groupby(keys, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        env_id = key[0]
        target_ref = env_best[env_id]
        target = target_ref - _CLOSE * abs(target_ref) if math.isfinite(target_ref) else math.inf
        per_run = group.groupby("run_id")
        bests = per_run["best"].max()
        reach = [_evals_to_reach(c, target) for _, c in per_run]
        finite = bests[np.isfinite(bests)]
        rows.append(
            {
                **dict(zip(keys, key, strict=True)),
                "runs": len(bests),
                "evals": float(per_run.size().mean()),
                "best": float(bests.max()),
                "best_mean": float(finite.mean()) if len(finite) else -math.inf,
                "best_std": float(finite.std(ddof=0)) if len(finite) else math.nan,
                "feasible": float(feasible[bests.index].mean()),
                "evals_to_95": float(np.nanmedian(reach))
                if not all(map(math.isnan, reach))
                else math.nan,
                "reached_95": float(np.mean([not math.isnan(r) for r in reach])),
            }
        )
    table = pd.DataFrame(rows)
    return table.sort_values(["env_id", "best_mean"], ascending=[True, False]).reset_index(
        drop=True
    )


def format_table(table: pd.DataFrame) -> str:
    """A fixed-width text rendering of :func:`summary` for the terminal."""
    shown = table.copy()
    for col in ("best", "best_mean", "best_std"):
        shown[col] = shown[col].map(lambda v: f"{v:.4g}")
    shown["feasible"] = shown["feasible"].map(lambda v: f"{100 * v:.0f}%")
    shown["reached_95"] = shown["reached_95"].map(lambda v: f"{100 * v:.0f}%")
    shown["evals_to_95"] = shown["evals_to_95"].map(lambda v: "-" if math.isnan(v) else f"{v:.0f}")
    shown["evals"] = shown["evals"].map(lambda v: f"{v:.0f}")
    return shown.to_string(index=False)


def pareto_front(points: np.ndarray) -> np.ndarray:
    """Boolean mask of the non-dominated rows of ``points`` (every column minimised)."""
    pts = np.asarray(points, dtype=float)
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise ValueError(f"pareto_front takes an (n, 2) array, but got shape {pts.shape}")
    order = np.lexsort(pts.T[::-1])
    mask = np.zeros(len(pts), dtype=bool)
    best_second = math.inf
    for i in order:  # sorted by first column, ties by the second
        if pts[i, 1] < best_second:
            mask[i] = True
            best_second = pts[i, 1]
    return mask


def _figure():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(plt, fig, path: str | os.PathLike[str]) -> Path:
    fig.tight_layout()
    fig.savefig(Path(path), dpi=120)
    plt.close(fig)
    return Path(path)


def plot_best_so_far(df: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Best reward so far against evaluations: median over runs per agent, 25-75 % band."""
    plt = _figure()
    curves = best_so_far(df)
    envs = sorted(curves["env_id"].unique())
    fig, axes = plt.subplots(1, len(envs), figsize=(6 * len(envs), 4), squeeze=False)
    for ax, env_id in zip(axes[0], envs, strict=True):
        sub = curves[curves["env_id"] == env_id]
        for agent, group in sub.groupby("agent"):
            pivot = group.pivot_table(index="step", columns="run_id", values="best").ffill()
            pivot = pivot.replace(-np.inf, np.nan)
            steps = pivot.index.to_numpy() + 1
            med = pivot.median(axis=1)
            ax.plot(steps, med, label=str(agent))
            ax.fill_between(
                steps, pivot.quantile(0.25, axis=1), pivot.quantile(0.75, axis=1), alpha=0.2
            )
        ax.set_xscale("log")
        ax.set_xlabel("evaluations")
        ax.set_ylabel("best reward so far")
        ax.set_title(env_id)
        ax.legend(fontsize="small")
    return _save(plt, fig, path)


def plot_pareto(
    df: pd.DataFrame, x: str, y: str, path: str | os.PathLike[str], *, log: bool = True
) -> Path:
    """Scatter of two metrics over feasible evaluations, coloured by agent, front highlighted."""
    plt = _figure()
    cols = {x: f"m.{x}", y: f"m.{y}"}
    for name, col in cols.items():
        if col not in df.columns:
            metrics = sorted(c[2:] for c in df.columns if c.startswith("m."))
            raise UserError(
                f"metric {name!r} is not in the dataset (metrics: {', '.join(metrics)})"
            )
    sub = df[df["feasible"]].dropna(subset=list(cols.values()))
    if sub.empty:
        raise UserError("no feasible evaluations to plot")
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for agent, group in sub.groupby("agent"):
        ax.scatter(group[cols[x]], group[cols[y]], s=8, alpha=0.5, label=str(agent))
    pts = sub[[cols[x], cols[y]]].to_numpy()
    front = pts[pareto_front(pts)]
    front = front[np.argsort(front[:, 0])]
    ax.step(front[:, 0], front[:, 1], where="post", color="black", lw=1.2, label="Pareto front")
    if log:
        ax.set_xscale("log")
        ax.set_yscale("log")
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.legend(fontsize="small")
    return _save(plt, fig, path)


def default_pareto_metrics(df: pd.DataFrame) -> tuple[str, str] | None:
    """A sensible pair of metrics to plot: latency/energy, else the first two metrics."""
    metrics = [c[2:] for c in df.columns if c.startswith("m.") and df[c].notna().any()]
    for pair in (("latency_s", "energy_pj"), ("cycles", "energy_pj"), ("latency_s", "area_mm2")):
        if set(pair) <= set(metrics):
            return pair
    return (metrics[0], metrics[1]) if len(metrics) >= 2 else None


def plot_all(
    df: pd.DataFrame, out_dir: str | os.PathLike[str], *, pareto: Sequence[str] | None = None
) -> list[Path]:
    """Write ``best_so_far.png`` and ``pareto.png`` into ``out_dir``; returns the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [plot_best_so_far(df, out / "best_so_far.png")]
    pair = tuple(pareto) if pareto else default_pareto_metrics(df)
    if pair is not None:
        if len(pair) != 2:
            raise UserError(f"--pareto takes two metric names, but got {list(pair)}")
        paths.append(plot_pareto(df, pair[0], pair[1], out / "pareto.png"))
    return paths


def report(dataset: str | os.PathLike[str], out_dir: str | os.PathLike[str]) -> None:
    """What ``archgym run`` prints at the end: the summary table, the figures, the record count.

    Figures are redrawn only when the dataset changed since they were drawn (a resumed, finished
    experiment prints its table and reuses its figures).
    """
    from archgym.dataset import load
    from archgym.experiment.store import parts_digest

    out = Path(out_dir)
    df = load(dataset)
    print(format_table(summary(df)))
    runs = (
        sorted(p for p in Path(dataset).iterdir() if p.is_dir()) if Path(dataset).is_dir() else []
    )
    stamp = "\n".join(f"{p.name}:{parts_digest(p)}" for p in runs)
    stamp_file = out / ".figures"
    names = ("best_so_far.png", "pareto.png")
    if (
        stamp_file.exists()
        and stamp_file.read_text(encoding="utf-8") == stamp
        and (out / names[0]).exists()
    ):
        paths = [out / n for n in names if (out / n).exists()]
    else:
        paths = plot_all(df, out)
        stamp_file.write_text(stamp, encoding="utf-8")
    for path in paths:
        print(f"wrote {path}")
    print(f"dataset: {dataset} ({len(df)} records)")
