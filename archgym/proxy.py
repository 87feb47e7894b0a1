"""Proxy models wired into archgym: train from a dataset, evaluate, attach to an env.

A proxy learns an env's metrics from any archgym dataset (random designs, or the records of any
agent's search) and then stands in for the simulator::

    model, report = train_proxy("runs/sweep", "archgym/SystolicArray-v0", ["cycles", "energy_pj"])
    model.save("systolic.proxy")
    env = gymnasium.make("archgym/SystolicArray-v0", backend="proxy", proxy="systolic.proxy")

The model file records the env id and class, the design space, the env's reference metrics (a
fingerprint of its workload and simulator), the metrics and the library versions; attaching it to
an env that differs in any of them raises :class:`archgym.cost_models.proxy.ProxyMismatch`.

Multi-fidelity: with ``base_env_kwargs`` (e.g. ``{"fidelity": "analytical"}`` for a proxy of
the cycle-level systolic model) the proxy learns the correction of a cheaper model of the same
env and runs that model at prediction time: far more accurate for the same training data.

Feasibility: constraints of the design space are still checked by the env before the proxy is
asked. If the training data held infeasible designs (e.g. a simulator's buffer-fit failures), a
classifier learnt from them marks a design infeasible when its probability of being feasible is
below one half; otherwise every in-space design is predicted feasible.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from archgym.cost_models.proxy import ProxyMismatch, ProxyModel, fit_proxy, regression_report
from archgym.errors import UserError, unknown_name

__all__ = [
    "ProxyBackend",
    "ProxyMismatch",
    "ProxyModel",
    "attach_proxy",
    "base_values",
    "designs_of",
    "evaluate_proxy",
    "format_report",
    "load_proxy",
    "predict_metrics",
    "train_proxy",
]


def _env_class(env: Any) -> str:
    cls = type(env)
    return f"{cls.__module__}:{cls.__qualname__}"


def _fingerprint(env: Any) -> list[float]:
    # The env's reference metrics come from simulating its reference design on its workload:
    # they differ when the workload, the constructor arguments or the simulator change.
    return [float(v) for v in env._reference]


def designs_of(df: Any, space: Any) -> list[dict[str, Any]]:
    """The designs of dataset rows (``p.<name>`` columns), as canonical values of ``space``."""
    from archgym.space import Categorical

    missing = [f"p.{p.name}" for p in space if f"p.{p.name}" not in df.columns]
    if missing:
        raise UserError(f"the dataset lacks the column(s) {missing} of this env's design space")
    columns = {}
    for p in space:
        col = df[f"p.{p.name}"].tolist()
        if isinstance(p, Categorical):
            # Non-string choices of mixed type are stored as JSON text (see archgym.dataset).
            col = [json.loads(v) if isinstance(v, str) and v not in p.values else v for v in col]
        columns[p.name] = [p.normalise(v) for v in col]
    names = list(columns)
    return [dict(zip(names, row, strict=True)) for row in zip(*columns.values(), strict=True)]


def base_values(
    env: Any, designs: Sequence[Mapping[str, Any]], metrics: Sequence[str]
) -> dict[str, np.ndarray]:
    """``metrics`` of a base env's simulator on ``designs`` (NaN where it cannot run a design),
    batched through the env's vectorised model where it has one."""
    got = env.simulate_batch(list(designs))
    return {m: np.asarray(got[m], dtype=np.float64) for m in metrics}


def _base_env(model: ProxyModel) -> Any:
    """The base env of a multi-fidelity model, built once and checked against the header."""
    import archgym

    env = model.__dict__.get("_base_env")
    if env is None:
        h = model.header
        env = archgym.make(h["env_id"], **{**h["env_kwargs"], **h["base_env_kwargs"]})
        if not np.allclose(_fingerprint(env), h["base_fingerprint"], rtol=1e-9, atol=0):
            raise ProxyMismatch(
                f"the base model {h['base_env_kwargs']} of this proxy differs from the one it "
                "was trained with (another simulator version); retrain it"
            )
        model.__dict__["_base_env"] = env
    return env


def predict_metrics(
    model: ProxyModel, designs: Sequence[Mapping[str, Any]]
) -> dict[str, np.ndarray]:
    """``model.predict(designs)``, running the base model first for a multi-fidelity proxy."""
    if not model.base_metrics:
        return model.predict(designs)
    base = base_values(_base_env(model), designs, model.base_metrics)
    return model.predict(designs, base)


def _rows_for(dataset: Any, env_id: str | None) -> Any:
    from archgym.dataset import load

    df = dataset if hasattr(dataset, "columns") else load(dataset)
    if env_id is not None and "env_id" in df.columns:
        present = sorted(set(df["env_id"]))
        if env_id not in present:
            raise unknown_name("env id in this dataset", env_id, present)
        df = df[df["env_id"] == env_id]
    return df.reset_index(drop=True)


def _dedupe(df: Any, space: Any) -> Any:
    # Searches revisit designs; a design in both the training and the held-out split would make
    # the held-out error look better than it is.
    keys = [f"p.{p.name}" for p in space]
    return df.drop_duplicates(subset=keys, keep="first").reset_index(drop=True)


def _env_kwargs_of_rows(df: Any, env_id: str) -> dict[str, Any]:
    """The env's constructor keywords recorded in the dataset's ``env_kwargs`` column."""
    if "env_kwargs" not in df.columns or df.empty:
        raise UserError(
            f"the dataset does not record the keywords of {env_id} (made by an older archgym); "
            "pass them with --env-kwargs / env_kwargs="
        )
    found = sorted(set(df["env_kwargs"]))
    if len(found) > 1:
        raise UserError(
            f"the dataset holds {env_id} with {len(found)} different keyword sets ({', '.join(found)}); "
            "choose one with --env-kwargs / env_kwargs="
        )
    return json.loads(found[0])


def _split(df: Any, test_fraction: float, max_train: int | None, seed: int) -> tuple[Any, Any]:
    """``(held-out rows, training rows)``: a seeded shuffle, the first ``test_fraction`` held out."""
    order = np.random.default_rng(seed).permutation(len(df))
    n_test = round(len(df) * test_fraction)
    test, train = df.iloc[order[:n_test]], df.iloc[order[n_test:]]
    return test, train if max_train is None else train.iloc[:max_train]


def _plain(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """``kwargs`` as plain JSON values (anything else as its ``str``), for a model header."""
    return json.loads(json.dumps(dict(kwargs), default=str))


def _metric_columns(rows: Any, names: list[str]) -> dict[str, np.ndarray]:
    """Metric name -> its column of ``rows`` (every metric must have one)."""
    values = {m: rows[f"m.{m}"].to_numpy(dtype=float) for m in names if f"m.{m}" in rows}
    absent = [m for m in names if m not in values]
    if absent:
        raise UserError(f"the dataset has no column for metric(s) {absent}")
    return values


def _header(env_id: str, env: Any, env_kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """The model header that ties a proxy to its env (id, class, keywords, fingerprint)."""
    import archgym

    return {
        "env_id": env_id,
        "env_class": _env_class(env),
        "env_kwargs": _plain(env_kwargs),
        "fingerprint": _fingerprint(env),
        "archgym_version": archgym.__version__,
    }


def _base_values(
    base_env: Any, designs: list[dict[str, Any]], names: list[str], feasible: np.ndarray
) -> dict[str, np.ndarray]:
    """The base model's metrics on the training designs; it must not fail on feasible ones."""
    base = base_values(base_env, designs, names)
    bad = [m for m in names if np.isnan(base[m][feasible]).any()]
    if bad:
        raise UserError(f"the base model fails on feasible training designs ({bad})")
    return base


def train_proxy(
    dataset: str | os.PathLike[str] | Any,
    env_id: str,
    metrics: Sequence[str] | None = None,
    *,
    env_kwargs: Mapping[str, Any] | None = None,
    test_fraction: float = 0.2,
    max_train: int | None = None,
    candidates: Sequence[str] = ("hist_gradient_boosting", "random_forest"),
    folds: int = 3,
    seed: int = 0,
    base_env_kwargs: Mapping[str, Any] | None = None,
) -> tuple[ProxyModel, dict[str, Any]]:
    """Train a proxy of ``env_id``'s ``metrics`` from the records of a dataset.

    Args:
        dataset: Anything :func:`archgym.dataset.load` reads, or a loaded DataFrame. Only rows
            of ``env_id`` are used; repeated designs count once.
        env_id: The env the records come from (built once for its space and fingerprint).
        metrics: Metrics to learn (default: every metric of the env).
        env_kwargs: The env's constructor keywords (workload, ...). Default: those the dataset
            records for ``env_id`` (one keyword set; several need a choice).
        test_fraction: Share of the (shuffled) designs held out for the report (0 for none).
        max_train: At most this many training designs (learning curves).
        candidates: Model families compared per metric by CV.
        folds: CV folds.
        seed: Seed of the shuffle, the CV splits and the estimators.
        base_env_kwargs: Multi-fidelity: keywords that turn the env into a cheaper model of
            the same metrics (``{"fidelity": "analytical"}``); the proxy then learns the
            correction of that model's value, and evaluating the proxy runs that model too
            (batched through the env's ``simulate_batch`` when it has one).

    Returns:
        The model (its header holds the report) and the held-out report from
        :func:`evaluate_proxy`.
    """
    import archgym

    if not 0.0 <= test_fraction < 1.0:
        raise ValueError(f"`test_fraction` must be in [0, 1), but got {test_fraction!r}")
    rows = _rows_for(dataset, env_id)
    if env_kwargs is None:
        env_kwargs = _env_kwargs_of_rows(rows, env_id)
    env = archgym.make(env_id, **env_kwargs)
    names = list(metrics) if metrics else list(env.metric_names)
    for m in names:
        if m not in env.metric_names:
            raise unknown_name(f"metric of {env_id}", m, env.metric_names)
    test, train = _split(_dedupe(rows, env.space), test_fraction, max_train, seed)
    feasible = train["feasible"].astype(bool).to_numpy()
    values = _metric_columns(train, names)
    base, extra = None, {}
    if base_env_kwargs is not None:
        base_env = archgym.make(env_id, **{**env_kwargs, **base_env_kwargs})
        base = _base_values(base_env, designs_of(train, env.space), names, feasible)
        extra = {
            "base_env_kwargs": _plain(base_env_kwargs),
            "base_fingerprint": _fingerprint(base_env),
        }
    header = {**_header(env_id, env, env_kwargs), **extra}
    try:
        model = fit_proxy(
            env.space.to_dict(),
            designs_of(train, env.space),
            values,
            feasible=feasible,
            candidates=candidates,
            folds=folds,
            seed=seed,
            header=header,
            base=base,
        )
    except ValueError as exc:
        raise UserError(f"cannot train a proxy of {env_id}: {exc}") from None
    report = evaluate_proxy(model, test, env_id=None) if len(test) else {}
    model.header["report"] = report
    return model, report


def evaluate_proxy(
    model: ProxyModel | str | os.PathLike[str],
    dataset: str | os.PathLike[str] | Any,
    *,
    env_id: str | None = "",
) -> dict[str, Any]:
    """Errors of ``model`` on the feasible records of a dataset (held-out data).

    Returns ``{"metrics": {name: regression_report}, "feasibility_accuracy": float | None,
    "n": rows, "out_of_range": rows outside the training range}``. ``env_id=""`` takes the
    model's env id; ``None`` uses every row.
    """
    from archgym.space import DesignSpace

    model = model if isinstance(model, ProxyModel) else load_proxy(model)
    space = DesignSpace.from_dict(model.header["space"])
    df = _rows_for(dataset, model.header.get("env_id") if env_id == "" else env_id)
    if env_id != "" or not hasattr(dataset, "columns"):
        df = _dedupe(df, space)
    if df.empty:
        raise UserError("no records to evaluate the proxy on")
    designs = designs_of(df, space)
    ok = df["feasible"].astype(bool).to_numpy()
    out: dict[str, Any] = {"n": len(df), "metrics": {}}
    feasible_designs = [d for d, f in zip(designs, ok, strict=True) if f]
    if feasible_designs:
        pred = predict_metrics(model, feasible_designs)
        for m in model.metrics:
            if f"m.{m}" in df.columns:
                truth = df.loc[ok, f"m.{m}"].to_numpy(dtype=float)
                report = regression_report(truth, pred[m])
                out["metrics"][m] = {"model": model.header["models"][m], **report}
    p = model.feasible_probability(designs)
    out["feasibility_accuracy"] = float(np.mean((p >= 0.5) == ok))
    out["out_of_range"] = int(sum(bool(model.out_of_range(d)) for d in designs))
    return out


def format_report(report: Mapping[str, Any]) -> str:
    """A plain-text table of :func:`evaluate_proxy`'s report (percentages for relative errors)."""
    lines = [f"{'metric':16s} {'model':24s} {'rel_rmse':>9s} {'nrmse':>8s} {'mape':>8s} {'r2':>7s}"]
    for name, r in report.get("metrics", {}).items():
        lines.append(
            f"{name:16s} {r['model']:24s} {100 * r['rel_rmse']:8.2f}% {100 * r['nrmse']:7.2f}% "
            f"{100 * r['mape']:7.2f}% {r['r2']:7.4f}"
        )
    lines.append(
        f"{report.get('n', 0)} designs evaluated, feasibility accuracy "
        f"{100 * report.get('feasibility_accuracy', float('nan')):.1f}%, "
        f"{report.get('out_of_range', 0)} outside the training range"
    )
    return "\n".join(lines)


def load_proxy(path: str | os.PathLike[str], env: Any = None) -> ProxyModel:
    """Read a model file; with ``env``, check that it was trained on that env (see module doc)."""
    import archgym

    expect: dict[str, Any] = {}
    if env is not None:
        expect = {
            "env_class": _env_class(env),
            "space": env.space.to_dict(),
            "fingerprint": _fingerprint(env),
            "metrics": list(env.objective.metrics),
            "archgym_version": archgym.__version__,
        }
    return ProxyModel.load(path, expect)


def attach_proxy(env: Any, model: ProxyModel | str | os.PathLike[str]) -> Any:
    """An env like ``env`` (same class and keyword arguments) whose backend is the proxy.

    Prefer ``archgym.make(env_id, backend="proxy", proxy=PATH, **kwargs)``; this helper rebuilds
    ``env`` from its recorded constructor keywords (``env.spec.kwargs``).
    """
    import archgym

    if env.spec is None:
        raise UserError("attach_proxy needs an env made by archgym.make / gymnasium.make")
    kwargs = {k: v for k, v in env.spec.kwargs.items() if k not in ("backend", "proxy")}
    return archgym.make(env.spec.id, backend="proxy", proxy=model, **kwargs)


def _check_model(env: Any, model: ProxyModel | str | os.PathLike[str]) -> ProxyModel:
    import archgym

    if not isinstance(model, ProxyModel):
        return load_proxy(model, env)
    from archgym.cost_models.proxy import check_header

    check_header(
        model.header,
        {
            "env_class": _env_class(env),
            "space": env.space.to_dict(),
            "fingerprint": _fingerprint(env),
            "metrics": list(env.objective.metrics),
            "archgym_version": archgym.__version__,
        },
        "model",
    )
    return model


class ProxyBackend:
    """A learned proxy with the simulator backend's signature: ``designs -> [metrics | reason]``.

    Built by the env for ``backend="proxy", proxy=MODEL_OR_PATH``. The model must have been
    trained on this env (class, design space, workload fingerprint, versions: see
    :func:`load_proxy`); it predicts every design of a batch in one call. :meth:`info` gives the
    ``proxy_out_of_range`` flags that ``step`` adds to ``info``.

    Raises:
        ProxyMismatch: the model was trained on another env class, design space, workload or
            archgym / scikit-learn version, or lacks a metric the objective needs.
    """

    def __init__(self, env: Any, model: ProxyModel | str | os.PathLike[str]) -> None:
        self.model = _check_model(env, model)
        if self.model.base_metrics:
            _base_env(self.model)  # fail now, not at the first step, if the base model changed

    def __call__(self, designs: Sequence[Mapping[str, Any]]) -> list[dict[str, float] | str]:
        if not designs:
            return []
        p_ok = self.model.feasible_probability(designs)
        pred = predict_metrics(self.model, designs)
        out: list[dict[str, float] | str] = []
        for i, p in enumerate(p_ok):
            row = {m: float(v[i]) for m, v in pred.items()}
            if p < 0.5:
                out.append(f"the proxy predicts this design infeasible (p_feasible={p:.2f})")
            elif any(np.isnan(v) for v in row.values()):
                out.append("the proxy's base model cannot run this design")
            else:
                out.append(row)
        return out

    def info(self, design: Mapping[str, Any]) -> dict[str, Any]:
        """Whether ``design`` lies outside the training data (its prediction extrapolates)."""
        reasons = self.model.out_of_range(design)
        return {"proxy_out_of_range": bool(reasons), "proxy_out_of_range_reasons": reasons}
