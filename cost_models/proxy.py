"""Learned proxy (surrogate) models of a simulator's metrics.

A :class:`ProxyModel` predicts each metric of a design from features of the design, one
scikit-learn regressor per metric chosen by K-fold cross-validation among a random forest and
(histogram) gradient boosting. Metrics that are positive on every training row are fitted on
``log(metric)``: cycles and energy span orders of magnitude, and a model of the logarithm has an
error relative to the value, which is the error that matters. If the training data holds
infeasible designs, a classifier of feasibility is fitted too.

This module knows nothing of archgym: a design space comes in as the plain mapping of
``DesignSpace.to_dict()`` and designs as mappings of parameter name to value. ``archgym.proxy``
is the glue that reads datasets and wires a model into an env.

Files: one file per model, ``ARCHGYM-PROXY`` magic line, one JSON header line (env id, space,
metrics, versions, training ranges, held-out report), then a pickle of the estimators. The header
is read and checked *before* anything is unpickled; unpickling runs code, so load only models
you made or trust.
"""

from __future__ import annotations

import json
import math
import pickle
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from archgym.cost_models.proxy_features import SpaceEncoder
from archgym.simulators.common import UserError, unknown_name

__all__ = [
    "CANDIDATES",
    "ProxyMismatch",
    "ProxyModel",
    "SpaceEncoder",
    "fit_proxy",
    "read_header",
    "regression_report",
]

#: Model families tried per metric (``fit_proxy(candidates=...)`` picks a subset).
CANDIDATES = ("hist_gradient_boosting", "random_forest", "gradient_boosting")
_DEFAULT_CANDIDATES = ("hist_gradient_boosting", "random_forest")
_MAGIC = b"ARCHGYM-PROXY\n"
FORMAT_VERSION = 1


class ProxyMismatch(UserError):
    """A proxy model file does not match the env, space or library versions it is used with."""


# -- metrics of fit -------------------------------------------------------------------------------


def regression_report(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """Errors of predictions on the metric's own scale.

    ``rel_rmse``: root mean square of ``(pred - true) / true`` (scale-free, the acceptance
    figure); ``nrmse``: RMSE divided by the mean of ``|true|``; ``r2`` on the raw values;
    ``mape``: mean of ``|pred - true| / |true|``. Relative errors skip rows where ``true == 0``.
    """
    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    err = y_pred - y_true
    nz = y_true != 0
    rel = err[nz] / y_true[nz]
    ss_tot = float(np.sum((y_true - y_true.mean()) ** 2))
    scale = float(np.mean(np.abs(y_true))) if y_true.size else 0.0
    return {
        "n": int(y_true.size),
        "rel_rmse": float(np.sqrt(np.mean(rel**2))) if rel.size else math.nan,
        "nrmse": float(np.sqrt(np.mean(err**2))) / scale if scale > 0 else math.nan,
        "r2": 1.0 - float(np.sum(err**2)) / ss_tot if ss_tot > 0 else math.nan,
        "mape": float(np.mean(np.abs(rel))) if rel.size else math.nan,
    }


# -- models ---------------------------------------------------------------------------------------


def _make_regressor(kind: str, seed: int) -> Any:
    from sklearn.ensemble import (
        GradientBoostingRegressor,
        HistGradientBoostingRegressor,
        RandomForestRegressor,
    )

    if kind == "hist_gradient_boosting":
        # Many shallow-ish rounds: the log-metric is close to a sum of per-parameter terms.
        return HistGradientBoostingRegressor(
            max_iter=600, learning_rate=0.1, max_leaf_nodes=31, min_samples_leaf=5,
            l2_regularization=1e-3, early_stopping=False, random_state=seed,
        )  # fmt: skip
    if kind == "random_forest":
        return RandomForestRegressor(n_estimators=150, n_jobs=1, random_state=seed)
    if kind == "gradient_boosting":
        return GradientBoostingRegressor(n_estimators=400, max_depth=4, random_state=seed)
    raise unknown_name("model", kind, CANDIDATES)


@dataclass
class MetricModel:
    """The fitted regressor of one metric and how its target was transformed.

    With ``uses_base`` the regressor learns ``log(metric / base)`` from the features plus
    ``log(base)``, where ``base`` is a cheaper model's value of the same metric (multi-fidelity:
    the proxy learns the correction, not the whole function).
    """

    estimator: Any
    kind: str
    log_target: bool
    uses_base: bool = False
    cv_rel_rmse: dict[str, float] = field(default_factory=dict)
    #: A numpy copy of the trees for small batches (see :mod:`archgym.cost_models.proxy_trees`).
    flat: Any = None

    def _raw(self, x: np.ndarray) -> np.ndarray:
        # scikit-learn's predict has a per-call cost of milliseconds; the numpy walk of the
        # flattened trees wins below roughly 50k (row, tree) pairs (measured).
        flat = self.flat
        if flat is not None and x.shape[0] * flat.n_trees <= 50_000 and not np.isnan(x).any():
            return flat.predict(x)
        return self.estimator.predict(x)

    def predict(self, x: np.ndarray, base: np.ndarray | None = None) -> np.ndarray:
        if self.uses_base:
            if base is None:
                raise ValueError("this metric's model needs the base model's values (`base`)")
            return base * np.exp(self._raw(_with_base(x, base)))
        y = self._raw(x)
        return np.exp(y) if self.log_target else y


def _with_base(x: np.ndarray, base: np.ndarray) -> np.ndarray:
    return np.column_stack([x, np.log(np.asarray(base, dtype=np.float64))])


def _fit_one(
    kind: str, x: np.ndarray, y: np.ndarray, log_target: bool, seed: int, base: Any = None
) -> MetricModel:
    est = _make_regressor(kind, seed)
    if base is not None:
        est.fit(_with_base(x, base), np.log(y / base))
        return MetricModel(est, kind, True, uses_base=True)
    est.fit(x, np.log(y) if log_target else y)
    return MetricModel(est, kind, log_target)


def _choose(
    x: np.ndarray,
    y: np.ndarray,
    candidates: Sequence[str],
    folds: int,
    seed: int,
    base: np.ndarray | None = None,
) -> MetricModel:
    """K-fold CV of every candidate on rel_rmse (on the metric's scale); refit the best."""
    from sklearn.model_selection import KFold

    log_target = bool(np.all(y > 0))
    scores: dict[str, float] = {}
    if len(candidates) > 1:
        pairs = list(KFold(n_splits=folds, shuffle=True, random_state=seed).split(x))
        for kind in candidates:
            errs = []
            for train, test in pairs:
                b_train, b_test = (None, None) if base is None else (base[train], base[test])
                m = _fit_one(kind, x[train], y[train], log_target, seed, b_train)
                errs.append(regression_report(y[test], m.predict(x[test], b_test))["rel_rmse"])
            scores[kind] = float(np.mean(errs))
        best = min(scores, key=lambda k: (math.isnan(scores[k]), scores[k]))
    else:
        best = candidates[0]
    model = _fit_one(best, x, y, log_target, seed, base)
    model.cv_rel_rmse = scores
    from archgym.cost_models.proxy_trees import flatten

    model.flat = flatten(model.estimator, (x if base is None else _with_base(x, base))[:256])
    return model


# -- the proxy ------------------------------------------------------------------------------------


@dataclass
class ProxyModel:
    """Per-metric regressors (and an optional feasibility classifier) over one design space.

    Attributes:
        header: JSON-able metadata: ``env_id``, ``space``, ``metrics``, versions, ``ranges``
            (training min/max per numeric parameter, seen values per categorical), ``report``.
        models: Metric name -> :class:`MetricModel`.
        feasibility: A classifier of ``feasible`` (``None`` when every training row was
            feasible: then the env's own constraint checks are the only feasibility test).
    """

    header: dict[str, Any]
    models: dict[str, MetricModel]
    feasibility: Any = None

    @property
    def encoder(self) -> SpaceEncoder:
        enc = self.__dict__.get("_encoder")
        if enc is None:
            enc = self.__dict__["_encoder"] = SpaceEncoder(self.header["space"])
        return enc

    @property
    def metrics(self) -> list[str]:
        """The predicted metrics, in training order."""
        return list(self.header["metrics"])

    @property
    def base_metrics(self) -> list[str]:
        """Metrics whose prediction corrects a base model's value (see :class:`MetricModel`)."""
        return [name for name, m in self.models.items() if m.uses_base]

    def predict(
        self,
        designs: Sequence[Mapping[str, Any]],
        base: Mapping[str, Sequence[float]] | None = None,
    ) -> dict[str, np.ndarray]:
        """Predicted metrics of a batch of designs: name -> array of ``len(designs)``.

        ``base`` gives the base model's values of :attr:`base_metrics` for the same designs.
        """
        x = self.encoder.encode(designs)
        base = base or {}
        missing = [m for m in self.base_metrics if m not in base]
        if missing:
            raise ValueError(f"`base` must give the base model's values of {missing}")
        return {
            name: m.predict(x, np.asarray(base[name], dtype=np.float64) if m.uses_base else None)
            for name, m in self.models.items()
        }

    def feasible_probability(self, designs: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """Probability that each design is feasible (all ones without a classifier)."""
        if self.feasibility is None:
            return np.ones(len(designs))
        x = self.encoder.encode(designs)
        classes = list(self.feasibility.classes_)
        return self.feasibility.predict_proba(x)[:, classes.index(True)]

    def out_of_range(self, design: Mapping[str, Any]) -> list[str]:
        """Why ``design`` lies outside the training data (empty when it lies inside).

        Numeric parameters are checked against the training minimum and maximum, categorical
        ones against the values seen in training.
        """
        reasons = []
        for name, rng in self.header["ranges"].items():
            v = design.get(name)
            if "seen" in rng:
                if v not in rng["seen"]:
                    reasons.append(f"`{name}`={v!r} never seen in training")
            elif not rng["min"] <= float(v) <= rng["max"]:
                reasons.append(
                    f"`{name}`={v!r} outside training range [{rng['min']}, {rng['max']}]"
                )
        return reasons

    def save(self, path: str | Path) -> Path:
        """Write the model (magic line, JSON header line, pickle); returns the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = pickle.dumps({"models": self.models, "feasibility": self.feasibility})
        tmp = path.with_name(path.name + ".tmp")
        with tmp.open("wb") as f:
            f.write(_MAGIC)
            f.write(json.dumps(self.header, sort_keys=True).encode() + b"\n")
            f.write(payload)
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path: str | Path, expect: Mapping[str, Any] | None = None) -> ProxyModel:
        """Read a model, checking its header against ``expect`` before unpickling.

        ``expect`` maps header keys (``env_id``, ``space``, ``metrics``, ``archgym_version``,
        ``fingerprint``, ...) to the values the caller needs; ``metrics`` must be a subset of the
        model's. The scikit-learn version must match the one that trained the model (its pickles
        are not portable across versions). Raises :class:`ProxyMismatch` naming what differs.
        """
        path = Path(path)
        header = read_header(path)
        check_header(header, expect or {}, str(path))
        with path.open("rb") as f:
            f.readline()
            f.readline()
            payload = pickle.load(f)
        return cls(header, payload["models"], payload["feasibility"])


def read_header(path: str | Path) -> dict[str, Any]:
    """The JSON header of a model file (nothing is unpickled)."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            magic = f.readline()
            line = f.readline()
    except FileNotFoundError:
        raise FileNotFoundError(f"proxy model {str(path)!r} does not exist") from None
    if magic != _MAGIC:
        raise ProxyMismatch(f"{path} is not an archgym proxy model file")
    header = json.loads(line)
    if header.get("format_version") != FORMAT_VERSION:
        raise ProxyMismatch(
            f"{path} has proxy format {header.get('format_version')!r}; this archgym reads "
            f"format {FORMAT_VERSION}: retrain it"
        )
    return header


def check_header(header: Mapping[str, Any], expect: Mapping[str, Any], source: str) -> None:
    """Raise :class:`ProxyMismatch` when ``header`` disagrees with ``expect`` or sklearn."""
    import sklearn

    if header.get("sklearn_version") != sklearn.__version__:
        raise ProxyMismatch(
            f"proxy {source} was trained with scikit-learn {header.get('sklearn_version')} but "
            f"{sklearn.__version__} is installed; retrain it (`archgym proxy train`)"
        )
    for key, want in expect.items():
        have = header.get(key)
        if key == "metrics":
            missing = [m for m in want if m not in (have or [])]
            if missing:
                raise ProxyMismatch(
                    f"proxy {source} does not predict metric(s) {missing} (it predicts: "
                    f"{', '.join(have or [])})"
                )
        elif key == "fingerprint":
            if have is None or not np.allclose(have, want, rtol=1e-9, atol=0):
                raise ProxyMismatch(
                    f"proxy {source} was trained on an env whose reference metrics differ from "
                    "this env's (another workload, constructor arguments or simulator version)"
                )
        elif key == "space" and json.loads(json.dumps(want)) != have:
            raise ProxyMismatch(
                f"proxy {source} was trained on another design space: "
                f"{_space_diff(have or {}, json.loads(json.dumps(want)))}"
            )
        elif json.loads(json.dumps(want)) != have:
            raise ProxyMismatch(
                f"proxy {source} was trained for {key} {have!r}, but it is used with {want!r}"
            )


def _space_diff(trained: Mapping[str, Any], used: Mapping[str, Any]) -> str:
    """A short description of how two ``DesignSpace.to_dict()`` mappings differ."""
    a = {p["name"]: p for p in trained.get("params", [])}
    b = {p["name"]: p for p in used.get("params", [])}
    parts = [f"parameter `{n}` only in the model" for n in a if n not in b]
    parts += [f"parameter `{n}` only in the env" for n in b if n not in a]
    parts += [f"parameter `{n}` is {a[n]} in the model, {b[n]} in the env" for n in a
              if n in b and a[n] != b[n]]  # fmt: skip
    if trained.get("constraints") != used.get("constraints"):
        parts.append(
            f"constraints {trained.get('constraints')} in the model, "
            f"{used.get('constraints')} in the env"
        )
    return "; ".join(parts) or "parameter order differs"


def _ranges(space: Mapping[str, Any], designs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for p in space["params"]:
        col = [d[p["name"]] for d in designs]
        if p["type"] == "categorical":
            out[p["name"]] = {"seen": [c for c in p["choices"] if c in col]}
        else:
            out[p["name"]] = {"min": float(min(col)), "max": float(max(col))}
    return out


def _check_fit_options(candidates: Sequence[str], folds: int) -> None:
    """Refuse unknown model families, an empty list of them, or fewer than 2 CV folds."""
    for c in candidates:
        if c not in CANDIDATES:
            raise unknown_name("model", c, CANDIDATES)
    if not candidates:
        raise ValueError("`candidates` must name at least one model family")
    if isinstance(folds, bool) or not isinstance(folds, int) or folds < 2:
        raise ValueError(f"`folds` must be an integer >= 2, but got {folds!r}")


def _targets(
    name: str, values: Sequence[float], base: Sequence[float] | None, ok: np.ndarray
) -> tuple[np.ndarray, np.ndarray | None]:
    """Metric ``name``'s values and its base values (None: no base) on the feasible designs."""
    n = len(ok)
    y = np.asarray(values, dtype=np.float64)
    if y.shape != (n,):
        raise ValueError(f"metric `{name}` must have {n} values, but got {y.shape}")
    if not np.all(np.isfinite(y[ok])):
        raise ValueError(f"metric `{name}` has NaN or infinite values on feasible designs")
    if base is None:
        return y[ok], None
    b = np.asarray(base, dtype=np.float64)
    if b.shape != (n,):
        raise ValueError(f"base of `{name}` must have {n} values, but got {b.shape}")
    b = b[ok]
    if not (np.all(b > 0) and np.all(y[ok] > 0)):
        raise ValueError(
            f"metric `{name}` and its base values must be positive on feasible designs"
        )
    return y[ok], b


def fit_proxy(
    space: Mapping[str, Any],
    designs: Sequence[Mapping[str, Any]],
    metrics: Mapping[str, Sequence[float]],
    *,
    feasible: Sequence[bool] | None = None,
    candidates: Sequence[str] = _DEFAULT_CANDIDATES,
    folds: int = 3,
    seed: int = 0,
    header: Mapping[str, Any] | None = None,
    base: Mapping[str, Sequence[float]] | None = None,
) -> ProxyModel:
    """Fit one regressor per metric (choosing the family by ``folds``-fold CV).

    Args:
        space: ``DesignSpace.to_dict()`` of the designs.
        designs: Training designs (feasible and infeasible).
        metrics: Metric name -> values aligned with ``designs`` (ignored where infeasible).
        feasible: Per-design feasibility (default: all feasible). With both classes present, a
            random-forest classifier of feasibility is fitted as well.
        candidates: Model families to compare (:data:`CANDIDATES`).
        folds: CV folds (>= 2) used when there is more than one candidate.
        seed: Seed of the CV splits and of the estimators.
        header: Extra header entries (env id, versions, ...).
        base: Metric name -> a cheaper model's values of that metric on ``designs``
            (positive where feasible): those metrics are learnt as a correction of the base
            value, and predicting them needs the base values again.
    """
    import sklearn

    _check_fit_options(candidates, folds)
    enc = SpaceEncoder(space)
    ok = np.ones(len(designs), bool) if feasible is None else np.asarray(feasible, dtype=bool)
    if ok.shape != (len(designs),):
        raise ValueError(f"`feasible` must have {len(designs)} entries, but got {ok.shape}")
    n_ok = int(ok.sum())
    if n_ok < 2 * folds:
        raise ValueError(
            f"need at least {2 * folds} feasible designs to train a proxy, but got {n_ok}"
        )
    x = enc.encode(designs)
    models = {}
    for name, values in metrics.items():
        y, b = _targets(name, values, None if base is None else base.get(name), ok)
        models[name] = _choose(x[ok], y, candidates, folds, seed, b)
    classifier = None
    if 0 < n_ok < len(designs):
        from sklearn.ensemble import RandomForestClassifier

        classifier = RandomForestClassifier(n_estimators=100, n_jobs=1, random_state=seed)
        classifier.fit(x, ok)
    full_header = {
        "format_version": FORMAT_VERSION,
        "space": json.loads(json.dumps(space)),
        "metrics": list(metrics),
        "features": enc.feature_names,
        "models": {k: m.kind for k, m in models.items()},
        "cv_rel_rmse": {k: m.cv_rel_rmse for k, m in models.items()},
        "log_target": {k: m.log_target for k, m in models.items()},
        "base_metrics": [k for k, m in models.items() if m.uses_base],
        "ranges": _ranges(space, [d for d, f in zip(designs, ok, strict=True) if f]),
        "n_train": len(designs),
        "n_train_feasible": n_ok,
        "feasibility_classifier": classifier is not None,
        "sklearn_version": sklearn.__version__,
        "numpy_version": np.__version__,
        **dict(header or {}),
    }
    return ProxyModel(json.loads(json.dumps(full_header)), models, classifier)
