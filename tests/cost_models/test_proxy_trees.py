"""The numpy walk of flattened tree ensembles gives scikit-learn's predictions."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("sklearn")

from archgym.cost_models.proxy_trees import flatten


def data(seed: int, n: int = 300) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = np.column_stack([rng.integers(0, 8, n), rng.random(n), rng.integers(0, 2, n)])
    y = np.sin(x[:, 0]) * 3 + x[:, 1] ** 2 + 2 * x[:, 2] + rng.normal(0, 0.1, n)
    return x.astype(float), y


@pytest.fixture(scope="module")
def fitted():
    from sklearn.ensemble import HistGradientBoostingRegressor, RandomForestRegressor

    x, y = data(0)
    return [
        HistGradientBoostingRegressor(max_iter=50, random_state=0).fit(x, y),
        RandomForestRegressor(n_estimators=20, random_state=0, n_jobs=1).fit(x, y),
    ]


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(1, 10_000), n=st.integers(1, 40))
def test_flat_trees_equal_sklearn_on_new_rows(fitted, seed, n):
    x, _ = data(seed, n)
    x[:, 1] *= 1.5  # also rows outside the training range
    for est in fitted:
        flat = flatten(est, data(0)[0][:50])
        assert flat is not None
        np.testing.assert_allclose(flat.predict(x), est.predict(x), rtol=1e-12, atol=1e-12)


def test_unsupported_estimators_are_not_flattened():
    from sklearn.linear_model import LinearRegression

    x, y = data(0)
    assert flatten(LinearRegression().fit(x, y), x[:10]) is None
