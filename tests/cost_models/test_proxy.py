"""Proxy models without archgym: features, fit quality on known functions, files, range flags."""

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("sklearn")

from archgym.cost_models.proxy import (
    ProxyMismatch,
    ProxyModel,
    SpaceEncoder,
    fit_proxy,
    read_header,
    regression_report,
)

SPACE = {
    "params": [
        {"type": "poweroftwo", "name": "a", "low": 1, "high": 64},
        {"type": "integer", "name": "b", "low": 1, "high": 10, "step": 1, "log": False},
        {"type": "categorical", "name": "c", "choices": ["x", "y"]},
        {"type": "categorical", "name": "d", "choices": [1.5, 3.0]},
        {"type": "categorical", "name": "e", "choices": [True, False]},
    ],
    "constraints": [],
}
HGB = ("hist_gradient_boosting",)


def sample(n: int, seed: int, a_max: int = 64) -> list[dict]:
    rng = np.random.default_rng(seed)
    a_values = [2**i for i in range(int(math.log2(a_max)) + 1)]
    return [
        {
            "a": int(rng.choice(a_values)),
            "b": int(rng.integers(1, 11)),
            "c": str(rng.choice(["x", "y"])),
            "d": float(rng.choice([1.5, 3.0])),
            "e": bool(rng.integers(2)),
        }
        for _ in range(n)
    ]


def cost(design: dict) -> float:
    """A multiplicative 'cycles-like' metric spanning about three decades."""
    return design["a"] * design["b"] * (3.0 if design["c"] == "y" else 1.0) * design["d"]


def test_encoder_features():
    enc = SpaceEncoder(SPACE)
    assert enc.feature_names == ["a:log2", "b:identity", "c=x", "c=y", "d:identity", "e:bool"]
    x = enc.encode([{"a": 8, "b": 3, "c": "y", "d": 1.5, "e": True}])
    np.testing.assert_array_equal(x, [[3.0, 3.0, 0.0, 1.0, 1.5, 1.0]])


def test_encoder_rejects_missing_parameter_and_bad_space():
    with pytest.raises(ValueError, match="missing parameter `e`"):
        SpaceEncoder(SPACE).encode([{"a": 1, "b": 1, "c": "x", "d": 1.5}])
    with pytest.raises(ValueError, match="non-empty 'params'"):
        SpaceEncoder({"params": []})


@settings(max_examples=20, deadline=None)
@given(st.integers(min_value=1, max_value=30), st.integers(min_value=0, max_value=10_000))
def test_batch_encoding_equals_row_by_row(n, seed):
    enc = SpaceEncoder(SPACE)
    designs = sample(n, seed)
    rows = np.vstack([enc.encode([d]) for d in designs])
    np.testing.assert_array_equal(enc.encode(designs), rows)


def test_regression_report_by_hand():
    from sklearn.metrics import r2_score

    y, p = np.array([1.0, 2.0, 4.0]), np.array([1.1, 1.8, 4.0])
    r = regression_report(y, p)
    # Relative errors +0.1, -0.1, 0 (worked by hand).
    assert r["rel_rmse"] == pytest.approx(math.sqrt(0.02 / 3))
    assert r["mape"] == pytest.approx(0.2 / 3)
    assert r["nrmse"] == pytest.approx(math.sqrt(0.05 / 3) / (7 / 3))
    assert r["r2"] == pytest.approx(r2_score(y, p))
    assert r["n"] == 3


@pytest.fixture(scope="module")
def model() -> ProxyModel:
    designs = sample(600, 0)
    return fit_proxy(
        SPACE, designs, {"cost": [cost(d) for d in designs]}, candidates=HGB, header={"env": "t"}
    )


def test_fits_a_known_function_on_held_out_designs(model):
    test = sample(300, 1)
    pred = model.predict(test)["cost"]
    report = regression_report(np.array([cost(d) for d in test]), pred)
    # The function is exactly additive in log space over 5 discrete inputs: a log-target model
    # must get within a few percent (measured 3.5% relative RMSE, 1.6% MAPE).
    assert report["rel_rmse"] < 0.05
    assert model.models["cost"].log_target


def test_cv_picks_the_candidate_with_the_lowest_cv_error():
    designs = sample(200, 2)
    m = fit_proxy(SPACE, designs, {"cost": [cost(d) for d in designs]}, folds=2)
    scores = m.header["cv_rel_rmse"]["cost"]
    assert set(scores) == {"hist_gradient_boosting", "random_forest"}
    assert m.header["models"]["cost"] == min(scores, key=scores.get)


def test_metric_with_zeros_is_fitted_on_its_own_scale():
    designs = sample(100, 3)
    m = fit_proxy(SPACE, designs, {"z": [d["b"] - 1.0 for d in designs]}, candidates=HGB)
    assert not m.models["z"].log_target


def test_feasibility_classifier_learns_the_infeasible_region():
    designs = sample(600, 4)
    ok = [d["a"] * d["b"] <= 64 for d in designs]
    m = fit_proxy(SPACE, designs, {"cost": [cost(d) for d in designs]}, feasible=ok, candidates=HGB)
    test = sample(300, 5)
    truth = np.array([d["a"] * d["b"] <= 64 for d in test])
    assert np.mean((m.feasible_probability(test) >= 0.5) == truth) > 0.9
    # Ranges come from the feasible designs only.
    assert m.header["ranges"]["a"]["max"] == 64.0
    assert m.header["n_train_feasible"] == sum(ok)


def test_out_of_range_flags_numeric_and_unseen_categorical():
    designs = [d for d in sample(400, 6, a_max=16) if d["c"] == "x"]
    m = fit_proxy(SPACE, designs, {"cost": [cost(d) for d in designs]}, candidates=HGB)
    inside = {"a": 8, "b": 5, "c": "x", "d": 1.5, "e": True}
    assert m.out_of_range(inside) == []
    reasons = m.out_of_range({**inside, "a": 64, "c": "y"})
    assert len(reasons) == 2
    assert "`a`=64 outside training range [1.0, 16.0]" in reasons[0]
    assert "never seen" in reasons[1]


def test_save_load_round_trip_and_header_checks(model, tmp_path):
    path = model.save(tmp_path / "m.proxy")
    header = read_header(path)
    assert header["env"] == "t" and header["metrics"] == ["cost"]
    loaded = ProxyModel.load(path, {"space": SPACE, "metrics": ["cost"], "env": "t"})
    designs = sample(50, 7)
    np.testing.assert_array_equal(loaded.predict(designs)["cost"], model.predict(designs)["cost"])
    with pytest.raises(ProxyMismatch, match="trained for env 't'"):
        ProxyModel.load(path, {"env": "other"})
    with pytest.raises(ProxyMismatch, match=r"does not predict metric\(s\) \['energy'\]"):
        ProxyModel.load(path, {"metrics": ["cost", "energy"]})
    other = json.loads(json.dumps(SPACE))
    other["params"][1]["high"] = 20
    with pytest.raises(ProxyMismatch, match="parameter `b` is"):
        ProxyModel.load(path, {"space": other})
    with pytest.raises(ProxyMismatch, match="reference metrics differ"):
        ProxyModel.load(path, {"fingerprint": [1.0]})


def test_other_sklearn_version_or_foreign_file_is_refused(model, tmp_path):
    path = model.save(tmp_path / "m.proxy")
    magic, line, payload = path.read_bytes().split(b"\n", 2)
    header = json.loads(line)
    header["sklearn_version"] = "0.1"
    path.write_bytes(magic + b"\n" + json.dumps(header).encode() + b"\n" + payload)
    with pytest.raises(ProxyMismatch, match=r"scikit-learn 0\.1 .*retrain"):
        ProxyModel.load(path)
    junk = tmp_path / "junk.proxy"
    junk.write_bytes(b"hello\n")
    with pytest.raises(ProxyMismatch, match="not an archgym proxy"):
        ProxyModel.load(junk)


def test_fit_validates_arguments():
    designs = sample(20, 8)
    y = {"cost": [cost(d) for d in designs]}
    with pytest.raises(ValueError, match="unknown model 'random_forrest'; did you mean"):
        fit_proxy(SPACE, designs, y, candidates=("random_forrest",))
    with pytest.raises(ValueError, match="`folds` must be an integer >= 2"):
        fit_proxy(SPACE, designs, y, folds=1)
    with pytest.raises(ValueError, match="need at least 6 feasible designs"):
        fit_proxy(SPACE, designs[:4], {"cost": y["cost"][:4]})
    with pytest.raises(ValueError, match="NaN"):
        fit_proxy(SPACE, designs, {"cost": [math.nan] * 20}, candidates=HGB)


def test_multi_fidelity_learns_the_correction_of_a_base_model():
    """Truth = base x a bounded correction: learning the correction beats learning it all."""

    def truth(d: dict) -> float:
        return cost(d) * (1.0 + 0.05 * math.sin(d["b"]) * (1.5 if d["e"] else 1.0))

    designs, test = sample(300, 9), sample(300, 10)
    y = {"cost": [truth(d) for d in designs]}
    base = {"cost": [cost(d) for d in designs]}
    multi = fit_proxy(SPACE, designs, y, candidates=HGB, base=base)
    plain = fit_proxy(SPACE, designs, y, candidates=HGB)
    assert multi.base_metrics == ["cost"] and multi.header["base_metrics"] == ["cost"]
    with pytest.raises(ValueError, match="base model's values"):
        multi.predict(test)
    expected = np.array([truth(d) for d in test])
    err_multi = regression_report(
        expected, multi.predict(test, {"cost": [cost(d) for d in test]})["cost"]
    )["rel_rmse"]
    err_plain = regression_report(expected, plain.predict(test)["cost"])["rel_rmse"]
    # The correction spans +-7.5%; the base alone is off by that much.
    assert err_multi < 0.02
    assert err_multi < err_plain
    with pytest.raises(ValueError, match="must be positive"):
        fit_proxy(SPACE, designs, y, candidates=HGB, base={"cost": [0.0] * len(designs)})
