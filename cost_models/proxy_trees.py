"""Fast prediction of small batches for scikit-learn tree ensembles.

``HistGradientBoostingRegressor.predict`` and ``RandomForestRegressor.predict`` cost several
milliseconds per call however few rows they get (a Python-level loop or a thread pool over the
trees), which makes one-design-at-a-time use of a proxy (an RL env's ``step``) no faster than
the simulator it replaces. :class:`FlatTrees` copies the fitted trees into padded arrays and walks
all of them at once with numpy: tens of microseconds for one row.

It reads fitted estimators' tree arrays (``_predictors[i][0].nodes`` of histogram gradient
boosting, ``estimators_[i].tree_`` of a random forest). :func:`flatten` checks the copy against
the estimator's own predictions and returns ``None`` when anything differs or is unsupported
(categorical splits, another scikit-learn layout), so callers fall back to ``predict``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["FlatTrees", "flatten"]


class FlatTrees:
    """All trees of an ensemble as ``(n_trees, n_nodes)`` arrays; leaves point to themselves.

    Args:
        feature, threshold, left, right, value: Per-node arrays; a row goes left when
            ``x[feature] <= threshold``.
        depth: Maximum depth (the number of steps of the walk).
        offset, scale: The prediction is ``offset + scale * sum(values of the reached leaves)``.
        float32: Round inputs to float32 first, as scikit-learn's decision trees do.
    """

    def __init__(
        self,
        feature: np.ndarray,
        threshold: np.ndarray,
        left: np.ndarray,
        right: np.ndarray,
        value: np.ndarray,
        depth: int,
        offset: float,
        scale: float,
        float32: bool = False,
    ) -> None:
        self.feature, self.threshold = feature, threshold
        self.left, self.right, self.value = left, right, value
        self.depth, self.offset, self.scale = depth, offset, scale
        self.float32 = float32
        self._trees = np.arange(feature.shape[0])
        # Flat copies with child pointers made global (tree * width + node).
        width = feature.shape[1]
        shift = (self._trees * width)[:, None]
        self._feature, self._threshold = feature.ravel(), threshold.ravel()
        self._left, self._right = (left + shift).ravel(), (right + shift).ravel()
        self._value = value.ravel()

    @property
    def n_trees(self) -> int:
        return int(self.feature.shape[0])

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Predictions for the rows of ``x`` (no NaN allowed)."""
        x = np.asarray(x, dtype=np.float32 if self.float32 else np.float64).astype(np.float64)
        n, width = x.shape[0], self.feature.shape[1]
        # 1-D takes on flat arrays: much cheaper than 2-D fancy indexing.
        first = (self._trees * width)[None, :]  # index of each tree's root
        node = np.broadcast_to(first, (n, self.n_trees)).copy()
        row_start = (np.arange(n) * x.shape[1])[:, None]
        xs = x.ravel()
        for _ in range(self.depth):
            go_left = xs.take(row_start + self._feature.take(node)) <= self._threshold.take(node)
            node = np.where(go_left, self._left.take(node), self._right.take(node))
        return self.offset + self.scale * self._value.take(node).sum(axis=1)


def _pack(
    trees: list[dict[str, np.ndarray]], offset: float, scale: float, float32: bool = False
) -> FlatTrees:
    width = max(len(t["left"]) for t in trees)
    n = len(trees)
    feature = np.zeros((n, width), dtype=np.intp)
    threshold = np.full((n, width), np.inf)
    left = np.tile(np.arange(width), (n, 1))
    right = left.copy()
    value = np.zeros((n, width))
    depth = 0
    for i, t in enumerate(trees):
        k = len(t["left"])
        leaf = t["is_leaf"]
        feature[i, :k] = np.where(leaf, 0, t["feature"])
        threshold[i, :k] = np.where(leaf, np.inf, t["threshold"])
        left[i, :k] = np.where(leaf, np.arange(k), t["left"])
        right[i, :k] = np.where(leaf, np.arange(k), t["right"])
        value[i, :k] = t["value"]
        depth = max(depth, int(t["depth"]))
    return FlatTrees(feature, threshold, left, right, value, depth, offset, scale, float32)


def _hist_gradient_boosting(est: Any) -> FlatTrees | None:
    trees = []
    for (predictor,) in est._predictors:
        nodes = predictor.nodes
        if np.any(nodes["is_categorical"]):
            return None
        trees.append(
            {
                "feature": nodes["feature_idx"],
                "threshold": nodes["num_threshold"],
                "left": nodes["left"],
                "right": nodes["right"],
                "is_leaf": nodes["is_leaf"].astype(bool),
                "value": np.where(nodes["is_leaf"], nodes["value"], 0.0),
                "depth": nodes["depth"].max(),
            }
        )
    return _pack(trees, float(np.ravel(est._baseline_prediction)[0]), 1.0)


def _random_forest(est: Any) -> FlatTrees | None:
    trees = []
    for tree in est.estimators_:
        t = tree.tree_
        leaf = t.children_left < 0
        trees.append(
            {
                "feature": t.feature,
                "threshold": t.threshold,
                "left": t.children_left,
                "right": t.children_right,
                "is_leaf": leaf,
                "value": np.where(leaf, t.value[:, 0, 0], 0.0),
                "depth": t.max_depth,
            }
        )
    return _pack(trees, 0.0, 1.0 / len(trees), float32=True)


def flatten(est: Any, x_check: np.ndarray) -> FlatTrees | None:
    """A :class:`FlatTrees` copy of a fitted regressor, or ``None`` when it cannot be made.

    ``x_check`` (a few training rows) must give the same predictions both ways (to 1e-9
    relative), which guards against any change in scikit-learn's internal tree layout.
    """
    name = type(est).__name__
    try:
        if name == "HistGradientBoostingRegressor":
            flat = _hist_gradient_boosting(est)
        elif name == "RandomForestRegressor":
            flat = _random_forest(est)
        else:
            return None
    except (AttributeError, KeyError, ValueError, TypeError, IndexError):
        return None
    if flat is None or not np.allclose(
        flat.predict(x_check), est.predict(x_check), rtol=1e-9, atol=1e-12
    ):
        return None
    return flat
