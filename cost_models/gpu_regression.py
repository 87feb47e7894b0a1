"""A GPPerf-style learned baseline for GEMM time: tree ensembles on shape features.

GPPerf (random forest on Ada GPUs) predicts kernel time from problem features; this is the same
idea on our GEMM rows, to compare with the analytical model on the same held-out split. The
target is log(time); features are the log sizes, log FLOPs, log bytes, arithmetic intensity,
alignment flags, B's storage order and one-hot dtype and kind. scikit-learn is imported lazily.
Its inputs are plain names and sizes (this package does not import the GPU simulator).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["GemmRegressor", "gemm_features"]

MODELS = ("random_forest", "gradient_boosting")
# Bytes per input and per output element of each GEMM operand type.
DTYPE_BYTES = {"bf16": (2, 2), "fp16": (2, 2), "fp32": (4, 4), "fp8": (1, 2), "int8": (1, 4)}
KINDS = ("dense", "sparse24")


def _check(values: Sequence[str], valid, what: str) -> None:
    bad = sorted(set(values) - set(valid))
    if bad:
        raise ValueError(f"unknown {what} {bad[0]!r}; valid: {', '.join(valid)}")


def gemm_features(
    m, n, k, dtypes: Sequence[str], kinds: Sequence[str], b_majors: Sequence[str] | None = None
) -> np.ndarray:
    """Feature matrix (rows x features) of GEMM shapes; see the module docstring.

    ``b_majors``: storage order of B per row (``row`` / ``col``; default ``row``).
    """
    m, n, k = (np.asarray(x, dtype=float) for x in (m, n, k))
    b_majors = ["row"] * len(m) if b_majors is None else list(b_majors)
    if not len(m) == len(n) == len(k) == len(dtypes) == len(kinds) == len(b_majors):
        raise ValueError("`m`, `n`, `k`, `dtypes` and `kinds` must have the same length")
    _check(dtypes, DTYPE_BYTES, "dtype")
    _check(kinds, KINDS, "kind")
    _check(b_majors, ("row", "col"), "b_major")
    in_b = np.array([DTYPE_BYTES[d][0] for d in dtypes], dtype=float)
    out_b = np.array([DTYPE_BYTES[d][1] for d in dtypes], dtype=float)
    sparse = np.array([x == "sparse24" for x in kinds], dtype=float)
    flops = 2.0 * m * n * k
    nbytes = (m * k + k * n * (1.0 - 0.4375 * sparse)) * in_b + m * n * out_b
    step = np.maximum(1, (16 // in_b).astype(int))
    cols = [
        np.log2(m),
        np.log2(n),
        np.log2(k),
        np.log2(flops),
        np.log2(nbytes),
        np.log2(flops / nbytes),
        (n % step == 0) & (k % step == 0),
        m % 64 == 0,
        n % 128 == 0,
        sparse,
        np.array([b == "col" for b in b_majors]),
    ]
    cols += [np.array([d == name for d in dtypes]) for name in DTYPE_BYTES]
    cols += [np.array([x == name for x in kinds]) for name in KINDS]
    return np.column_stack(cols).astype(float)


class GemmRegressor:
    """Tree-ensemble regressor of GEMM time in microseconds.

    Args:
        model: ``random_forest`` (GPPerf's choice) or ``gradient_boosting``.
        seed: random seed of the ensemble.
    """

    def __init__(self, model: str = "random_forest", *, seed: int = 0) -> None:
        if model not in MODELS:
            raise ValueError(f"unknown model {model!r}; valid: {', '.join(MODELS)}")
        self.model = model
        self.seed = seed
        self._est = None

    def fit(self, m, n, k, dtypes, kinds, b_majors=None, time_us=None) -> GemmRegressor:
        """Fit on shapes and measured times (us); ``b_majors`` as in ``gemm_features``."""
        from sklearn.ensemble import GradientBoostingRegressor, RandomForestRegressor

        if self.model == "random_forest":
            est = RandomForestRegressor(
                n_estimators=300, min_samples_leaf=2, random_state=self.seed, n_jobs=1
            )
        else:
            est = GradientBoostingRegressor(
                n_estimators=400, max_depth=4, learning_rate=0.05, random_state=self.seed
            )
        if time_us is None:  # fit(m, n, k, dtypes, kinds, time_us), the layout-free form
            b_majors, time_us = None, b_majors
        x = gemm_features(m, n, k, dtypes, kinds, b_majors)
        est.fit(x, np.log(np.asarray(time_us, float)))
        self._est = est
        return self

    def predict_us(self, m, n, k, dtypes, kinds, b_majors=None) -> np.ndarray:
        """Predicted times in microseconds."""
        if self._est is None:
            raise RuntimeError("call fit() before predict_us()")
        return np.exp(self._est.predict(gemm_features(m, n, k, dtypes, kinds, b_majors)))
