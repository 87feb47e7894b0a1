"""Figures of a dataset: best-so-far curves and Pareto scatters, labelled with units.

* ``best_so_far.png``: per env, the objective's value of the best design so far against
  evaluations (median over seeds, 25-75 % band), one colour and line style per agent label, the
  axis titled with the objective, its unit, direction and the workload; a log axis when values
  span more than a decade; with a known optimum, the regret to it (relative, log axis) instead.
* ``pareto.png``: the experiment's own two objective metrics (or the pair asked for), feasible
  designs per agent (at most 20,000 drawn per agent, so figures of million-design runs stay
  light), the front of all of them, and the hypervolume per agent (mean over seeds) in the legend.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from archgym.errors import UserError
from archgym.results import (
    _envs,
    _hypervolumes,
    _info_for,
    best_so_far,
    default_pareto_metrics,
    labels_of,
    pareto_front,
    unit_of,
)

__all__ = ["plot_all", "plot_best_so_far", "plot_pareto"]

_STYLES = ("-", "--", "-.", ":")
_MAX_POINTS = 20_000


def _figure() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(plt: Any, fig: Any, path: str | os.PathLike[str]) -> Path:
    fig.tight_layout()
    fig.savefig(Path(path), dpi=120)
    plt.close(fig)
    return Path(path)


def _title(env_id: str, kwargs_json: str | None) -> str:
    kwargs = json.loads(kwargs_json) if kwargs_json else {}
    shown = ", ".join(f"{k}={v}" for k, v in kwargs.items() if k != "objective")
    return f"{env_id.removeprefix('archgym/')}" + (f"\n{shown}" if shown else "")


def _log_steps(n: int) -> np.ndarray:
    """At most ~300 step indices, log-spaced, always including the last."""
    if n <= 300:
        return np.arange(n)
    return np.unique(np.concatenate([np.geomspace(1, n, 300).astype(int) - 1, [n - 1]]))


def plot_best_so_far(
    df: pd.DataFrame,
    path: str | os.PathLike[str],
    *,
    optima: Mapping[str, float] | None = None,
) -> Path:
    """Best-so-far value of the objective against evaluations, per env and agent label."""
    plt = _figure()
    curves = best_so_far(df)
    envs = _envs(df)
    fig, axes = plt.subplots(1, len(envs), figsize=(6.4 * len(envs), 4.4), squeeze=False)
    for ax, (key, (env_id, kwargs_json)) in zip(axes[0], envs.items(), strict=True):
        info = _info_for(env_id, kwargs_json)
        optimum = (optima or {}).get(key)
        sub = curves[curves["env"] == key]
        lows, highs = [], []
        shown_steps = _log_steps(int(sub["step"].max()) + 1)
        sub = sub[sub["step"].isin(shown_steps)]  # a few hundred steps per run are drawn
        for i, (label, group) in enumerate(sub.groupby("label", sort=True)):
            pivot = group.pivot_table(index="step", columns="run_id", values="best").ffill()
            values = pd.DataFrame(info.value(pivot.to_numpy()), index=pivot.index)
            if optimum is not None:
                best = float(info.value(optimum))
                values = (values - best).abs() / abs(best) if best else values
            values = values.replace([np.inf, -np.inf], np.nan)
            v = values
            steps = v.index.to_numpy() + 1
            med = v.median(axis=1)
            line = ax.plot(
                steps, med, _STYLES[(i // 10) % 4], label=f"{label} ({pivot.shape[1]} seeds)"
            )
            ax.fill_between(steps, v.quantile(0.25, axis=1), v.quantile(0.75, axis=1),
                            alpha=0.15, color=line[0].get_color())  # fmt: skip
            finite = v.to_numpy()[np.isfinite(v.to_numpy())]
            if len(finite):
                lows.append(finite.min())
                highs.append(finite.max())
        ax.set_xscale("log")
        ax.set_xlabel("evaluations")
        if optimum is not None:
            ax.set_ylabel(f"relative regret of {info.name} to the optimum")
            ax.set_yscale("symlog", linthresh=1e-3)  # regret reaches 0 at the optimum
            ax.set_ylim(bottom=0)
        else:
            ax.set_ylabel(f"best so far: {info.axis}")
            if lows and min(lows) > 0 and max(highs) / min(lows) > 10:
                ax.set_yscale("log")
        ax.set_title(_title(env_id, kwargs_json), fontsize="medium")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize="small")
    return _save(plt, fig, path)


def plot_pareto(
    df: pd.DataFrame, x: str, y: str, path: str | os.PathLike[str], *, log: bool = True
) -> Path:
    """Feasible designs on two metrics per agent label, the front, hypervolume per agent."""
    plt = _figure()
    cols = {x: f"m.{x}", y: f"m.{y}"}
    for name, col in cols.items():
        if col not in df.columns:
            metrics = sorted(c[2:] for c in df.columns if c.startswith("m."))
            raise UserError(
                f"metric {name!r} is not in the dataset (metrics: {', '.join(metrics)})"
            )
    df = df.assign(label=labels_of(df))
    sub = df[df["feasible"]].dropna(subset=list(cols.values()))
    if sub.empty:
        raise UserError("no feasible evaluations to plot")
    hv = _pareto_hypervolumes(df, (x, y))
    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    rng = np.random.default_rng(0)
    for label, group in sub.groupby("label", sort=True):
        if len(group) > _MAX_POINTS:
            group = group.iloc[np.sort(rng.choice(len(group), _MAX_POINTS, replace=False))]
        extra = f", HV {hv[label]:.3f}" if label in hv else ""
        ax.scatter(group[cols[x]], group[cols[y]], s=6, alpha=0.4, label=f"{label}{extra}")
    pts = sub[[cols[x], cols[y]]].to_numpy()
    front = pts[pareto_front(pts)]
    front = front[np.argsort(front[:, 0])]
    ax.step(front[:, 0], front[:, 1], where="post", color="black", lw=1.2, label="front of all")
    if log and (pts > 0).all():
        ax.set_xscale("log")
        ax.set_yscale("log")
    ax.set_xlabel(f"{x} [{unit_of(x)}]" if unit_of(x) else x)
    ax.set_ylabel(f"{y} [{unit_of(y)}]" if unit_of(y) else y)
    envs = _envs(df)
    if len(envs) == 1:
        ax.set_title(_title(*next(iter(envs.values()))), fontsize="medium")
    ax.legend(fontsize="small", title="HV: hypervolume vs front of all" if hv else None)
    return _save(plt, fig, path)


def _pareto_hypervolumes(df: pd.DataFrame, pair: Sequence[str]) -> dict[str, float]:
    """Mean hypervolume per agent label over its runs (one env only)."""
    from archgym.results import ObjectiveInfo

    if df["env_id"].nunique() != 1:
        return {}
    info = ObjectiveInfo("pair", "pair", "", True, 1.0, tuple(pair))
    per_run = _hypervolumes(df, info)
    if per_run is None:
        return {}
    labels = df.groupby("run_id")["label"].first()
    return per_run.groupby(labels.reindex(per_run.index)).mean().to_dict()


def plot_all(
    df: pd.DataFrame,
    out_dir: str | os.PathLike[str],
    *,
    pareto: Sequence[str] | None = None,
    optima: Mapping[str, float] | None = None,
) -> list[Path]:
    """Write ``best_so_far.png`` and ``pareto.png`` into ``out_dir``; returns the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [plot_best_so_far(df, out / "best_so_far.png", optima=optima)]
    pair = tuple(pareto) if pareto else default_pareto_metrics(df)
    if pair is not None:
        if len(pair) != 2:
            raise UserError(f"--pareto takes two metric names, but got {list(pair)}")
        paths.append(plot_pareto(df, pair[0], pair[1], out / "pareto.png"))
    return paths
