"""A learned correction on top of the dense model: does it generalise beyond one campaign?

Trains a gradient-boosted regressor on log(measured / model) of the H200 dense blind sets
(``data/gpu/h200_dense_prospective{2..}.csv``: one stratified "classes" generator, seeds
20261203 onwards; library kernels) with the shape, dtype, layout, kernel path and alignment as
features, and prints the model alone and the model times the learned correction on:

* each blind set left out in turn (trained on the other sets: same generator, same GPU);
* rows of other campaigns, trained on every blind set: the held-out families of the H200
  training file (same GPU, other shapes) and the two H100 prospective sets (other GPU, the
  H100 model underneath).

Where the correction helps only inside the generator it was trained on, it has learned the
campaign's shape distribution, not the GPU (docs/gpu.md, "Model v19").

    python experiments/gpu/residual_learner.py        # about 30 s
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
from archgym.simulators.gpu import GemmModel
from archgym.simulators.gpu.fitting import _path_of, predict_rows
from archgym.simulators.gpu.measurements import load_measurements, shape_class

DATA = Path(__file__).resolve().parents[2] / "data" / "gpu"
PACKAGED = Path(__file__).resolve().parents[2] / "simulators" / "gpu" / "data"
CATEGORIES = {
    "dtype": ("bf16", "fp16", "fp32", "fp8", "int8"),
    "path": ("tma", "sm80", "sm75", "gemv"),
    "a_major": ("row", "col"),
    "b_major": ("row", "col"),
}


def _rows(path: Path, held_out_only: bool = False) -> list[dict]:
    rows = [
        r
        for r in load_measurements(path)
        if r["backend"] != "triton" and r["kind"] == "dense" and (r["test"] or not held_out_only)
    ]
    return rows


def _features(rows: list[dict], device: str, pred: np.ndarray) -> np.ndarray:
    """log2 m, n, k and FLOPs, log predicted time, one-hot categories, alignment bytes."""
    cols = []
    for r, p in zip(rows, pred, strict=True):
        row = {**r, "path": _path_of(r, device)}
        f = [np.log2(r["m"]), np.log2(r["n"]), np.log2(r["k"])]
        f += [np.log2(2.0 * r["m"] * r["n"] * r["k"]), np.log(p)]
        f += [float(row[c] == v) for c, vals in CATEGORIES.items() for v in vals]
        f.append(float(shape_class(r).split("/a")[1]))
        cols.append(f)
    return np.array(cols)


def _learner():
    from sklearn.ensemble import HistGradientBoostingRegressor

    return HistGradientBoostingRegressor(
        max_iter=300, learning_rate=0.05, max_leaf_nodes=15, min_samples_leaf=20, random_state=0
    )


def _mape(pred, rows) -> float:
    t = np.array([r["time_us"] for r in rows])
    return float(np.mean(np.abs(np.asarray(pred) / t - 1.0)) * 100.0)


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args(argv)
    warnings.filterwarnings("ignore")  # spearmanr on constant columns in load_measurements
    h200 = GemmModel("h200-sxm")
    sets = {}
    for p in sorted(DATA.glob("h200_dense_prospective*.csv")):
        tail = p.stem.rsplit("prospective", 1)[1]
        if tail:  # the first set predates the classes generator
            sets[int(tail)] = _rows(p)
    data = {}
    for n, rows in sorted(sets.items()):
        pred = predict_rows(h200, rows)
        data[n] = (rows, pred, _features(rows, "h200-sxm", pred))
    print("| rows | n | model MAPE % | model x learned correction MAPE % |")
    print("|---|---|---|---|")
    loso_model, loso_hybrid, total = 0.0, 0.0, 0
    for n, (rows, pred, x) in data.items():
        others = [m for m in data if m != n]
        fit = _learner().fit(
            np.vstack([data[m][2] for m in others]),
            np.concatenate([np.log([r["time_us"] for r in data[m][0]]) - np.log(data[m][1])
                            for m in others]),
        )  # fmt: skip
        hybrid = pred * np.exp(fit.predict(x))
        a, b = _mape(pred, rows), _mape(hybrid, rows)
        loso_model, loso_hybrid, total = (
            loso_model + a * len(rows),
            loso_hybrid + b * len(rows),
            total + len(rows),
        )
        print(f"| H200 blind set {n} (left out) | {len(rows)} | {a:.2f} | {b:.2f} |")
    print(f"| **H200 blind sets, each left out** | {total} | {loso_model / total:.2f} | "
          f"{loso_hybrid / total:.2f} |")  # fmt: skip
    fit = _learner().fit(
        np.vstack([d[2] for d in data.values()]),
        np.concatenate(
            [np.log([r["time_us"] for r in d[0]]) - np.log(d[1]) for d in data.values()]
        ),
    )
    others = [
        ("H200 training file, held-out families", "h200-sxm", PACKAGED / "h200_dense.csv", True),
        ("H100 h100_gemm_prospective", "h100-sxm", DATA / "h100_gemm_prospective.csv", False),
        ("H100 h100_gemm_prospective2", "h100-sxm", DATA / "h100_gemm_prospective2.csv", False),
    ]
    for label, device, path, held_out in others:
        rows = _rows(path, held_out_only=held_out)
        pred = predict_rows(GemmModel(device), rows)
        hybrid = pred * np.exp(fit.predict(_features(rows, device, pred)))
        print(f"| {label} | {len(rows)} | {_mape(pred, rows):.2f} | {_mape(hybrid, rows):.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
