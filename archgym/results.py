"""Tables from a dataset: per-agent summaries with units, confidence intervals, regret, hypervolume.

Rewards are higher-is-better numbers with costs negated; tables and figures show the objective
itself instead: ``edp`` as energy x latency in pJ*s (lower is better), ``min:latency_s`` in s,
``max:utilisation`` as it is. Agents are told apart by their ``label`` (or name) and
hyperparameter tag, as in their run ids. Means over seeds carry 95 % bootstrap confidence
intervals. When an env's optimum is known (``optima``, e.g. from enumerating a small space with
:func:`known_optimum`) the table shows the regret to it; otherwise the gap to the best design found
in the dataset, labelled as such. Figures are in :mod:`archgym.plots`.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from archgym.errors import UserError

__all__ = [
    "ObjectiveInfo",
    "best_so_far",
    "bootstrap_ci",
    "default_pareto_metrics",
    "format_table",
    "hypervolume_2d",
    "known_optimum",
    "labels_of",
    "objective_info",
    "pareto_front",
    "plot_all",
    "plot_best_so_far",
    "plot_pareto",
    "report",
    "summary",
    "unit_of",
]

_UNITS = {
    "cycles": "cycles",
    "stall_cycles": "cycles",
    "utilisation": "",
    "latency_s": "s",
    "energy_pj": "pJ",
    "area_mm2": "mm²",
    "dram_bytes": "B",
}
_SUFFIX_UNITS = {"_s": "s", "_ms": "ms", "_us": "µs", "_pj": "pJ", "_nj": "nJ", "_mm2": "mm²",
                 "_bytes": "B", "_kib": "KiB", "_w": "W", "_gbps": "GB/s", "_mhz": "MHz"}  # fmt: skip
_RUN_ID = re.compile(r"^e\d+-(?P<label>.+)-[0-9a-f]{8}-s\d+$")


def unit_of(metric: str) -> str:
    """The unit of a metric from its name (``latency_s`` -> ``s``); empty when unknown."""
    if metric in _UNITS:
        return _UNITS[metric]
    return next((u for suf, u in _SUFFIX_UNITS.items() if metric.endswith(suf)), "")


@dataclass(frozen=True)
class ObjectiveInfo:
    """How to show an env's objective: its value from a reward, label, unit and direction."""

    name: str
    label: str
    unit: str
    lower_is_better: bool
    scale: float
    metrics: tuple[str, ...]
    multi: bool = False

    def value(self, reward: Any) -> Any:
        """The objective's value (e.g. EDP in pJ*s) from a reward (``-value / scale`` for costs)."""
        r = np.asarray(reward, dtype=float)
        return -r * self.scale if self.lower_is_better else r * self.scale

    @property
    def axis(self) -> str:
        unit = f" [{self.unit}]" if self.unit else ""
        return f"{self.label}{unit}, {'lower' if self.lower_is_better else 'higher'} is better"


def objective_info(objective: Any) -> ObjectiveInfo:
    """:class:`ObjectiveInfo` of an :class:`archgym.objective.Objective`."""
    from archgym.objective import Maximize, Minimize, MultiObjective, Product

    metrics = tuple(getattr(objective, "metrics", ()))
    name = getattr(objective, "name", "reward")
    if isinstance(objective, Minimize):
        return ObjectiveInfo(name, objective.metric, unit_of(objective.metric), True,
                             objective.scale, metrics)  # fmt: skip
    if isinstance(objective, Maximize):
        return ObjectiveInfo(name, objective.metric, unit_of(objective.metric), False,
                             objective.scale, metrics)  # fmt: skip
    if isinstance(objective, Product):
        unit = "·".join(u for u in (unit_of(m) for m in metrics) if u)
        label = f"{name} = {' x '.join(metrics)}" if name != "*".join(metrics) else name
        return ObjectiveInfo(name, label, unit, True, objective.scale, metrics)
    multi = isinstance(objective, MultiObjective)
    return ObjectiveInfo(name, f"reward of {name}", "", False, 1.0, metrics, multi=multi)


def _env_of(env_id: str, kwargs_json: str | None) -> Any:
    import archgym

    return archgym.make(env_id, **(json.loads(kwargs_json) if kwargs_json else {}))


def _kwargs_text(kwargs_json: str) -> str:
    try:
        kwargs = json.loads(kwargs_json)
    except ValueError:
        return kwargs_json
    return f" ({', '.join(f'{k}={v}' for k, v in kwargs.items())})" if kwargs else ""


def _env_key(df: pd.DataFrame) -> pd.Series:
    """``env_id (kwarg=value, ...)`` per row: one key per distinct env (cached as ``env``)."""
    if "env" in df.columns:
        return df["env"]
    cols = ["env_id", "env_kwargs"] if "env_kwargs" in df.columns else ["env_id"]
    per_run = df.groupby("run_id", sort=False)[cols].first()  # an env is constant in a run
    texts = per_run["env_id"].astype(str)
    if "env_kwargs" in cols:
        texts = texts + per_run["env_kwargs"].fillna("{}").astype(str).map(_kwargs_text)
    return df["run_id"].map(texts)


def _envs(df: pd.DataFrame) -> dict[str, tuple[str, str | None]]:
    """Env key -> (env id, kwargs JSON) for each env of a dataset."""
    keys = _env_key(df)
    first = df.groupby(keys, sort=True).head(1)
    kw = first["env_kwargs"] if "env_kwargs" in first.columns else [None] * len(first)
    return {k: (e, j) for k, e, j in zip(keys[first.index], first["env_id"], kw, strict=True)}


def _info_for(env_id: str, kwargs_json: str | None) -> ObjectiveInfo:
    """The objective of a dataset's env (a generic reward when the env cannot be rebuilt)."""
    if kwargs_json is None:  # datasets written before env kwargs were recorded
        return ObjectiveInfo("reward", "reward", "", False, 1.0, ())
    try:
        return objective_info(_env_of(env_id, kwargs_json).objective)
    except UserError:
        return ObjectiveInfo("reward", "reward", "", False, 1.0, ())


def _check(df: pd.DataFrame) -> None:
    need = {"run_id", "env_id", "agent", "agent_params", "seed", "step", "reward", "feasible"}
    missing = sorted(need - set(df.columns))
    if missing:
        raise UserError(f"not an archgym dataset: missing columns {missing}")
    if df.empty:
        raise UserError("the dataset has no records")


def _label(run_id: str, agent: str) -> str:
    m = _RUN_ID.match(str(run_id))
    return m.group("label") if m else str(agent)


def labels_of(df: pd.DataFrame) -> pd.Series:
    """Per row, the agent's label from its run id (``label`` of ``[[agents]]``, or its name)."""
    labels = {r: _label(r, a) for r, a in df.groupby("run_id")["agent"].first().items()}
    return df["run_id"].map(labels)


def best_so_far(df: pd.DataFrame) -> pd.DataFrame:
    """Per run and step, the best reward so far (column ``best``) and the agent's ``label``."""
    _check(df)
    out = df[["env_id", "agent", "agent_params", "run_id", "seed", "step", "reward"]].copy()
    out["env"] = _env_key(df)
    out["label"] = labels_of(df)
    out = out.sort_values(["run_id", "step"], kind="stable")
    out["best"] = out.groupby("run_id")["reward"].cummax()
    return out


def bootstrap_ci(
    values: Sequence[float], *, level: float = 0.95, n: int = 2000, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean (NaNs when fewer than two finite values)."""
    x = np.asarray([v for v in values if math.isfinite(v)], dtype=float)
    if len(x) < 2:
        return math.nan, math.nan
    means = np.random.default_rng(seed).choice(x, size=(n, len(x))).mean(axis=1)
    tail = (1 - level) / 2
    return float(np.quantile(means, tail)), float(np.quantile(means, 1 - tail))


def pareto_front(points: np.ndarray) -> np.ndarray:
    """Boolean mask of the non-dominated rows of ``points`` (every column minimised)."""
    pts = np.asarray(points, dtype=float)
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise ValueError(f"pareto_front takes an (n, 2) array, but got shape {pts.shape}")
    order = np.lexsort(pts.T[::-1])  # by the first column, ties by the second
    second = pts[order, 1]
    before = np.concatenate([[math.inf], np.minimum.accumulate(second)[:-1]])
    mask = np.zeros(len(pts), dtype=bool)
    mask[order] = second < before
    return mask


def hypervolume_2d(points: np.ndarray, reference: Sequence[float]) -> float:
    """Area dominated by ``points`` (both columns minimised) and bounded by ``reference``."""
    pts = np.asarray(points, dtype=float).reshape(-1, 2)
    pts = pts[(pts[:, 0] < reference[0]) & (pts[:, 1] < reference[1])]
    if not len(pts):
        return 0.0
    front = pts[pareto_front(pts)]
    front = front[np.argsort(front[:, 0])]
    widths = np.diff(np.append(front[:, 0], reference[0]))
    return float(np.sum(widths * (reference[1] - front[:, 1])))


def _log_normalised(df: pd.DataFrame, metrics: Sequence[str]) -> np.ndarray | None:
    """Feasible rows' metrics mapped to [0, 1] in log space (None if not positive)."""
    cols = [f"m.{m}" for m in metrics]
    if not set(cols) <= set(df.columns):
        return None
    x = df[cols].to_numpy(dtype=float)
    if not np.all(np.isfinite(x)) or np.any(x <= 0):
        return None
    lx = np.log10(x)
    lo, hi = lx.min(axis=0), lx.max(axis=0)
    return (lx - lo) / np.where(hi > lo, hi - lo, 1.0)


def _hypervolumes(sub: pd.DataFrame, info: ObjectiveInfo) -> pd.Series | None:
    """Per run: hypervolume of its front relative to the front of every run of the env."""
    if len(info.metrics) != 2:
        return None
    feas = sub[sub["feasible"]]
    unit = _log_normalised(feas, info.metrics)
    if unit is None or not len(unit):
        return None
    ref = (1.1, 1.1)
    total = hypervolume_2d(unit, ref)
    if total <= 0:
        return None
    ids = feas["run_id"].to_numpy()
    per_run = {r: hypervolume_2d(unit[ids == r], ref) / total for r in np.unique(ids)}
    return pd.Series(per_run).reindex(sub["run_id"].unique()).fillna(0.0)


def known_optimum(env: Any, *, max_designs: int = 50_000) -> float | None:
    """The best reward over every valid design of a small finite space (None otherwise).

    Needs ``env.evaluate_batch`` (enumerating one design at a time would dwarf most runs).
    """
    from archgym.experiment.loop import evaluate_here

    space = env.space
    if not space.is_finite or not hasattr(env, "evaluate_batch") or space.box_size > 10**7:
        return None
    if space.cardinality > max_designs:
        return None
    best = -math.inf
    designs = list(space.grid())
    for i in range(0, len(designs), 4096):
        best = max(best, max(r.reward for r in evaluate_here(env, designs[i : i + 4096])))
    return best


def summary(
    df: pd.DataFrame, *, by_params: bool = False, optima: Mapping[str, float] | None = None
) -> pd.DataFrame:
    """One row per (env, agent label[, hyperparameters]), values in the objective's units.

    Columns: ``env``, ``agent``, ``objective``, ``unit``, ``runs``, ``evals`` (mean per run),
    ``feasible`` (fraction), ``best`` (over its runs), ``mean`` with ``ci_low``/``ci_high`` (the
    best per run, mean over seeds with a 95 % bootstrap interval), ``regret`` (mean relative gap of
    the per-run best to ``optima[env]``, or to the best found in the dataset: ``regret_to`` says
    which), ``hypervolume`` (mean over runs, relative to the front of all runs; two-metric
    objectives) and ``best_design``.
    """
    curves = best_so_far(df)
    envs = _envs(df)
    feasible = df.groupby("run_id")["feasible"].mean()
    keys = ["env", "label", "agent_params"] if by_params else ["env", "label"]
    rows = []
    for env_key, sub in curves.groupby("env", sort=True):
        info = _info_for(*envs[env_key])
        rows += _env_rows(df, sub, info, keys, feasible, (optima or {}).get(env_key))
    table = pd.DataFrame(rows)
    return table.sort_values(["env", "rank"]).drop(columns="rank").reset_index(drop=True)


def _env_rows(df, sub, info, keys, feasible, optimum) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    raw = df[df["run_id"].isin(sub["run_id"].unique())]
    hv = _hypervolumes(raw, info)
    best_reward = float(sub["reward"].max())
    target = optimum if optimum is not None else best_reward
    target_value = float(info.value(target))
    rows = []
    for key, group in sub.groupby(keys, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        per_run = group.groupby("run_id")["best"].max()
        if info.multi:  # a Pareto run: its scalar reward mixes units; the hypervolume counts
            rows.append(_pareto_row(keys, key, info, group, per_run, hv, feasible))
            continue
        values = info.value(per_run.to_numpy())
        finite = values[np.isfinite(values)]
        lo, hi = bootstrap_ci(finite)
        regret = np.abs(finite - target_value) / abs(target_value) if target_value else finite
        runs = raw[raw["run_id"].isin(per_run.index)]
        best_row = runs.loc[runs["reward"].idxmax()]
        rows.append(
            {
                **dict(zip(["env", "agent", "params"][: len(keys)], key, strict=True)),
                "objective": info.label,
                "unit": info.unit,
                "lower_is_better": info.lower_is_better,
                "runs": len(per_run),
                "evals": float(group.groupby("run_id").size().mean()),
                "feasible": float(feasible[per_run.index].mean()),
                "best": float(info.value(per_run.max())),
                "mean": float(finite.mean()) if len(finite) else math.nan,
                "ci_low": lo,
                "ci_high": hi,
                "regret": float(np.mean(regret)) if len(finite) else math.nan,
                "regret_to": "optimum" if optimum is not None else "best found",
                "hypervolume": float(hv[per_run.index].mean()) if hv is not None else math.nan,
                "best_design": _design_text(best_row),
                "rank": -float(per_run.mean())
                if not info.multi
                else -float(hv[per_run.index].mean() if hv is not None else 0.0),
            }
        )
    return rows


def _pareto_row(keys, key, info, group, per_run, hv, feasible) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """A multi-objective agent's row: hypervolume per run, mean over seeds with its CI."""
    hvs = hv[per_run.index].to_numpy() if hv is not None else np.full(len(per_run), np.nan)
    lo, hi = bootstrap_ci(hvs)
    mean = float(np.nanmean(hvs)) if np.isfinite(hvs).any() else math.nan
    return {
        **dict(zip(["env", "agent", "params"][: len(keys)], key, strict=True)),
        "objective": f"hypervolume of ({', '.join(info.metrics)}) vs the front of all runs",
        "unit": "",
        "lower_is_better": False,
        "runs": len(per_run),
        "evals": float(group.groupby("run_id").size().mean()),
        "feasible": float(feasible[per_run.index].mean()),
        "best": float(np.nanmax(hvs)) if np.isfinite(hvs).any() else math.nan,
        "mean": mean,
        "ci_low": lo,
        "ci_high": hi,
        "regret": math.nan,
        "regret_to": "best found",
        "hypervolume": mean,
        "best_design": "a front, not one design (see pareto.png)",
        "rank": -mean if math.isfinite(mean) else math.inf,
    }


def _design_text(row: pd.Series) -> str:
    return " ".join(f"{k[2:]}={v}" for k, v in row.items() if str(k).startswith("p."))


def _num(v: float) -> str:
    return "-" if not math.isfinite(v) else f"{v:.4g}"


def format_table(table: pd.DataFrame) -> str:
    """A fixed-width text rendering of :func:`summary`, one block per env with its objective."""
    blocks = []
    for env, t in table.groupby("env", sort=True):
        first = t.iloc[0]
        unit = f" [{first['unit']}]" if first["unit"] else ""
        shown = pd.DataFrame(
            {
                "agent": t["agent"],
                **({"params": t["params"]} if "params" in t.columns else {}),
                "runs": t["runs"],
                "evals": t["evals"].map(lambda v: f"{v:.0f}"),
                "feasible": t["feasible"].map(lambda v: f"{100 * v:.0f}%"),
                f"best{unit}": t["best"].map(_num),
                f"mean{unit}": t["mean"].map(_num),
                "95% CI": [
                    f"[{_num(a)}, {_num(b)}]"
                    for a, b in zip(t["ci_low"], t["ci_high"], strict=True)
                ],
                f"regret vs {first['regret_to']}": t["regret"].map(
                    lambda v: "-" if not math.isfinite(v) else f"{100 * v:.2f}%"
                ),
            }
        )
        if t["hypervolume"].notna().any():
            shown["hypervolume"] = t["hypervolume"].map(_num)
        pick = t["best"].fillna(np.inf if first["lower_is_better"] else -np.inf)
        best = t.loc[pick.idxmin() if first["lower_is_better"] else pick.idxmax()]
        direction = "lower" if first["lower_is_better"] else "higher"
        blocks.append(
            f"{env}\n  objective: {first['objective']}{unit}, {direction} is better\n"
            + shown.to_string(index=False)
            + f"\n  best design ({best['agent']}): {best['best_design']}"
        )
    return "\n\n".join(blocks)


def default_pareto_metrics(df: pd.DataFrame) -> tuple[str, str] | None:
    """The experiment's own two objective metrics, else latency/energy or the first two."""
    envs = _envs(df)
    if len(envs) == 1:
        info = _info_for(*next(iter(envs.values())))
        if len(info.metrics) == 2:
            return info.metrics  # type: ignore[return-value]
    metrics = [c[2:] for c in df.columns if c.startswith("m.") and df[c].notna().any()]
    for pair in (("latency_s", "energy_pj"), ("cycles", "energy_pj"), ("latency_s", "area_mm2")):
        if set(pair) <= set(metrics):
            return pair
    return (metrics[0], metrics[1]) if len(metrics) >= 2 else None


def plot_all(df: pd.DataFrame, out_dir: str | os.PathLike[str], **kwargs: Any) -> list[Path]:
    """Write ``best_so_far.png`` and ``pareto.png`` (see :func:`archgym.plots.plot_all`)."""
    from archgym.plots import plot_all as _plot_all

    return _plot_all(df, out_dir, **kwargs)


def plot_best_so_far(df: pd.DataFrame, path: str | os.PathLike[str], **kwargs: Any) -> Path:
    """See :func:`archgym.plots.plot_best_so_far`."""
    from archgym.plots import plot_best_so_far as _plot

    return _plot(df, path, **kwargs)


def plot_pareto(df: pd.DataFrame, x: str, y: str, path: str | os.PathLike[str], **kw: Any) -> Path:
    """See :func:`archgym.plots.plot_pareto`."""
    from archgym.plots import plot_pareto as _plot

    return _plot(df, x, y, path, **kw)


def report(dataset: str | os.PathLike[str], out_dir: str | os.PathLike[str]) -> None:
    """What ``archgym run`` prints at the end: the summary table, the figures, the record count.

    Figures are redrawn only when the dataset changed since they were drawn (a resumed, finished
    experiment prints its table and reuses its figures). Optima of small enumerable spaces are
    computed once and kept in ``optima.json``.
    """
    from archgym.dataset import load
    from archgym.experiment.store import parts_digest

    out = Path(out_dir)
    df = load(dataset)
    df["env"] = _env_key(df)
    optima = _optima(df, out / "optima.json")
    print(format_table(summary(df, optima=optima)))
    runs = sorted(p for p in Path(dataset).iterdir() if p.is_dir())
    stamp = "\n".join(f"{p.name}:{parts_digest(p)}" for p in runs)
    stamp_file = out / ".figures"
    names = ("best_so_far.png", "pareto.png")
    if stamp_file.exists() and stamp_file.read_text(encoding="utf-8") == stamp:
        paths = [out / n for n in names if (out / n).exists()]
    else:
        paths = plot_all(df, out, optima=optima)
        stamp_file.write_text(stamp, encoding="utf-8")
    for path in paths:
        print(f"wrote {path}")
    print(f"dataset: {dataset} ({len(df)} records)")


def _optima(df: pd.DataFrame, cache: Path) -> dict[str, float]:
    try:
        known = json.loads(cache.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        known = {}
    changed = False
    for key, (env_id, kwargs_json) in _envs(df).items():
        if key in known or kwargs_json is None:
            continue
        known[key] = known_optimum(_env_of(env_id, kwargs_json))
        changed = True
    if changed:
        cache.write_text(json.dumps(known, indent=1), encoding="utf-8")
    return {k: v for k, v in known.items() if v is not None}
