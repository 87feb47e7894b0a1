"""Tables and figures of ``archgym bench`` (see :mod:`archgym.bench`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["hv_table", "leaderboard", "lottery_table", "write_reports"]

# A run "finds the optimum" when its regret is below this (percent): float noise only.
FOUND_PCT = 1e-9


def _ci(values: Any) -> tuple[float, float, float]:
    from archgym.bench import bootstrap_ci

    x = np.asarray(values, dtype=float)
    x = np.where(np.isfinite(x), x, 1e6)  # nothing feasible found: a huge regret, not NaN
    return bootstrap_ci(x)


def _fmt(mean: float, lo: float, hi: float) -> str:
    return f"{mean:.3g} [{lo:.3g}, {hi:.3g}]"


def _markdown(table: pd.DataFrame) -> str:
    cols = [str(c) for c in table.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in table.itertuples(False)]
    return "\n".join(lines)


def leaderboard(df: pd.DataFrame) -> str:
    """Markdown: per env, each default agent's mean regret with its 95% bootstrap CI."""
    d = df[df["default"] & ~df["env"].str.endswith("pareto")]
    parts, ranks = [], {}
    for env, g in d.groupby("env", sort=False):
        stats = {lab: _ci(x["regret_pct"]) for lab, x in g.groupby("label", sort=False)}
        rnd = stats.get("random_walk")
        rows = []
        order = sorted(stats, key=lambda lab: stats[lab][0])
        for rank, lab in enumerate(order, 1):
            x = g[g["label"] == lab]
            ranks.setdefault(lab, []).append(rank)
            m, lo, hi = stats[lab]
            vs = "-"
            if rnd is not None and lab != "random_walk":
                vs = "worse" if lo > rnd[2] else ("better" if hi < rnd[1] else "same")
            rows.append(
                {
                    "rank": rank,
                    "agent": lab,
                    "mean regret % [95% CI]": _fmt(m, lo, hi),
                    "median regret %": f"{np.median(x['regret_pct']):.3g}",
                    "found optimum": f"{int((x['regret_pct'] <= FOUND_PCT).sum())}/{len(x)}",
                    "vs random (CI)": vs,
                    "agent s/run": f"{x['agent_s'].mean():.2f}",
                }
            )
        budget, seeds = int(g["budget"].iloc[0]), g["seed"].nunique()
        parts.append(
            f"**{env}** ({budget} evaluations, {seeds} seeds)\n\n" + _markdown(pd.DataFrame(rows))
        )
    if not parts:
        return "No single-objective env in this run.\n"
    overall = pd.DataFrame(
        [{"agent": k, "mean rank": f"{np.mean(v):.2f}", "envs": len(v)} for k, v in ranks.items()]
    ).sort_values("mean rank", key=lambda s: s.astype(float))
    return (
        "Mean rank over envs (1 = lowest mean regret):\n\n"
        + _markdown(overall)
        + "\n\n"
        + "\n\n".join(parts)
        + "\n"
    )


def lottery_table(df: pd.DataFrame) -> str:
    """Markdown: per agent and env, the default against the best and worst grid setting."""
    rows = []
    for (env, agent), g in df[~df["env"].str.endswith("pareto")].groupby(["env", "agent"]):
        per = g.groupby(["label", "default"])["regret_pct"].apply(
            lambda x: float(np.mean(np.where(np.isfinite(x), x, 1e6)))
        )
        if len(per) < 2:
            continue
        best, worst = per.idxmin(), per.idxmax()
        dflt = per[[k for k in per.index if k[1]]]
        rows.append(
            {
                "env": env,
                "agent": agent,
                "settings": len(per),
                "default": f"{dflt.iloc[0]:.3g}" if len(dflt) else "-",
                "best setting": f"{per[best]:.3g} ({_short(best[0], agent)})",
                "worst setting": f"{per[worst]:.3g} ({_short(worst[0], agent)})",
                "default's rank": f"{int((per < dflt.iloc[0]).sum()) + 1}" if len(dflt) else "-",
            }
        )
    if not rows:
        return "No lottery runs (run `archgym bench --lottery`).\n"
    return (
        "Mean regret % over seeds of each agent's default, best and worst setting of its grid:\n\n"
        + _markdown(pd.DataFrame(rows))
        + "\n"
    )


def _short(label: str, agent: str) -> str:
    rest = label[len(agent) :].strip()
    return rest or "defaults"


def hv_table(df: pd.DataFrame) -> str:
    """Markdown: hypervolume as a fraction of the enumerated front's, mean and 95% CI."""
    if "hv_ratio" not in df:
        return "No multi-objective env in this run.\n"
    parts = []
    for env, g in df[df["hv_ratio"].notna()].groupby("env"):
        rows = []
        for lab, x in g.groupby("label", sort=False):
            m, lo, hi = _ci(x["hv_ratio"])
            rows.append({"agent": lab, "hypervolume / front's [95% CI]": _fmt(m, lo, hi)})
        rows.sort(key=lambda r: -float(r["hypervolume / front's [95% CI]"].split()[0]))
        budget, seeds = int(g["budget"].iloc[0]), g["seed"].nunique()
        parts.append(
            f"**{env}** ({budget} evaluations, {seeds} seeds)\n\n" + _markdown(pd.DataFrame(rows))
        )
    return "\n\n".join(parts) + "\n"


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_regret(df: pd.DataFrame, path: Path) -> None:
    """Per env: each default agent's mean regret with its 95% CI (log scale)."""
    plt = _plt()
    d = df[df["default"] & ~df["env"].str.endswith("pareto")]
    envs = list(dict.fromkeys(d["env"]))
    fig, axes = plt.subplots(1, len(envs), figsize=(4.2 * len(envs), 4), squeeze=False)
    for ax, env in zip(axes[0], envs, strict=True):
        g = d[d["env"] == env]
        labels = list(dict.fromkeys(g["label"]))
        stats = [_ci(g.loc[g["label"] == lab, "regret_pct"]) for lab in labels]
        means = np.array([s[0] for s in stats]) + 1e-3
        err = np.array([[s[0] - s[1], s[2] - s[0]] for s in stats]).T
        ax.errorbar(means, range(len(labels)), xerr=err, fmt="o", capsize=3)
        ax.set_yticks(range(len(labels)), labels, fontsize=8)
        ax.set_xscale("log")
        ax.set_xlabel("regret after budget (% of optimum, +0.001)")
        ax.set_title(f"{env} ({int(g['budget'].iloc[0])} evals)")
        ax.invert_yaxis()
    fig.suptitle("Agent defaults: mean regret and 95% bootstrap CI over seeds")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_curves(df: pd.DataFrame, path: Path) -> None:
    """Per env: mean best-so-far regret of each default agent against evaluations."""
    plt = _plt()
    d = df[df["default"] & ~df["env"].str.endswith("pareto")]
    envs = list(dict.fromkeys(d["env"]))
    fig, axes = plt.subplots(1, len(envs), figsize=(4.2 * len(envs), 4), squeeze=False)
    for ax, env in zip(axes[0], envs, strict=True):
        g = d[d["env"] == env]
        for lab in dict.fromkeys(g["label"]):
            curves = np.array(g.loc[g["label"] == lab, "curve"].tolist(), dtype=float)
            curves = np.where(np.isfinite(curves), curves, np.nan)
            ax.plot(np.arange(1, curves.shape[1] + 1), np.nanmean(curves, axis=0) + 1e-3, label=lab)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("evaluations")
        ax.set_ylabel("best-so-far regret (% of optimum, +0.001)")
        ax.set_title(env)
    axes[0][-1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_reports(df: pd.DataFrame, out: Path) -> list[Path]:
    """Write the leaderboard, lottery and hypervolume tables and the two figures."""
    written = []
    for name, text in (
        ("leaderboard.md", leaderboard(df)),
        ("lottery.md", lottery_table(df)),
        ("hypervolume.md", hv_table(df)),
    ):
        (out / name).write_text(text)
        written.append(out / name)
    if (df["default"] & ~df["env"].str.endswith("pareto")).any():
        plot_regret(df, out / "regret.png")
        plot_curves(df, out / "curves.png")
        written += [out / "regret.png", out / "curves.png"]
    return written
