"""A learned correction on top of the dense model: does it generalise beyond one campaign?

Trains a gradient-boosted regressor on log(measured / model) of the H200 dense blind sets two
to thirteen (``data/gpu/h200_dense_prospective{2..13}.csv``: one stratified "classes"
generator, seeds 20261203-20261215; library kernels; the sets measured before dense v19 was
frozen) with the shape, dtype, layout, kernel path and alignment as features, and prints the
model alone and the model times the learned correction on:

* each of those sets left out in turn (trained on the other eleven);
* the sets measured after the v19 freeze, fourteen and fifteen (trained on two to thirteen:
  blind for the correction too; same generator, same GPU);
* rows of other campaigns (trained on two to thirteen): the held-out families of the H200
  training file (same GPU, other shapes) and the two H100 prospective sets (other GPU, the
  H100 model underneath).

Where the correction helps only inside the generator it was trained on, it has learned the
campaign's shape distribution, not the GPU (docs/gpu.md, "Model v19"). The sets are pinned, so
later blind sets do not change the printed figures.

    python experiments/gpu/residual_learner.py        # about 10 s
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
from archgym.simulators.gpu import GemmModel
from archgym.simulators.gpu.fitting import kernel_path, predict_rows
from archgym.simulators.gpu.measurements import error_stats, load_measurements, shape_class
from scipy.stats import ConstantInputWarning

from archgym.threads import limit_threads

DATA = Path(__file__).resolve().parents[2] / "data" / "gpu"
PACKAGED = Path(__file__).resolve().parents[2] / "simulators" / "gpu" / "data"
TRAIN_SETS = tuple(range(2, 14))  # measured before the v19 freeze
#: Every set measured after it (14 onwards), as found in data/gpu.
LATER_SETS = tuple(
    sorted(
        n
        for n in (
            int(p.stem.rsplit("prospective", 1)[1])
            for p in DATA.glob("h200_dense_prospective*.csv")
            if p.stem[-1].isdigit()
        )
        if n > TRAIN_SETS[-1]
    )
)
CATEGORIES = {
    "dtype": ("bf16", "fp16", "fp32", "fp8", "int8"),
    "path": ("tma", "sm80", "sm75", "gemv"),
    "a_major": ("row", "col"),
    "b_major": ("row", "col"),
}


def _rows(path: Path, held_out_only: bool = False) -> list[dict]:
    return [
        r
        for r in load_measurements(path)
        if r["backend"] != "triton" and r["kind"] == "dense" and (r["test"] or not held_out_only)
    ]


def _features(rows: list[dict], device: str, pred: np.ndarray) -> np.ndarray:
    """log2 m, n, k and FLOPs, log predicted time, one-hot categories, alignment bytes."""
    cols = []
    for r, p in zip(rows, pred, strict=True):
        row = {**r, "path": kernel_path(r, device)}
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


def _mape(pred: np.ndarray, rows: list[dict]) -> float:
    return error_stats(pred, [r["time_us"] for r in rows])["mape"]


def _frame(rows: list[dict], device: str) -> tuple[list[dict], np.ndarray, np.ndarray]:
    pred = predict_rows(GemmModel(device), rows)
    return rows, pred, _features(rows, device, pred)


def _target(rows: list[dict], pred: np.ndarray) -> np.ndarray:
    return np.log([r["time_us"] for r in rows]) - np.log(pred)


def _fit(frames: list[tuple]):
    x = np.vstack([f[2] for f in frames])
    y = np.concatenate([_target(f[0], f[1]) for f in frames])
    return _learner().fit(x, y)


def _line(label: str, frame: tuple, fit) -> tuple[int, float, float]:
    rows, pred, x = frame
    hybrid = pred * np.exp(fit.predict(x))
    a, b = _mape(pred, rows), _mape(hybrid, rows)
    print(f"| {label} | {len(rows)} | {a:.2f} | {b:.2f} |")
    return len(rows), a, b


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args(argv)
    limit_threads()  # OpenMP in the regressor: one thread per core oversubscribes small machines
    warnings.filterwarnings("ignore", category=ConstantInputWarning)  # spearmanr, constant column
    sets = {
        n: _frame(_rows(DATA / f"h200_dense_prospective{n}.csv"), "h200-sxm")
        for n in TRAIN_SETS + LATER_SETS
    }
    print("| rows | n | model MAPE % | model x learned correction MAPE % |")
    print("|---|---|---|---|")
    total = [0, 0.0, 0.0]
    for n in TRAIN_SETS:
        fit = _fit([sets[m] for m in TRAIN_SETS if m != n])
        k, a, b = _line(f"H200 blind set {n} (left out)", sets[n], fit)
        total = [total[0] + k, total[1] + a * k, total[2] + b * k]
    print(
        f"| **H200 sets 2-13, each left out** | {total[0]} | {total[1] / total[0]:.2f} | "
        f"{total[2] / total[0]:.2f} |"
    )
    fit = _fit([sets[m] for m in TRAIN_SETS])
    for n in LATER_SETS:
        _line(f"H200 blind set {n} (measured after, trained on 2-13)", sets[n], fit)
    others = [
        ("H200 training file, held-out families", "h200-sxm", PACKAGED / "h200_dense.csv", True),
        ("H100 h100_gemm_prospective", "h100-sxm", DATA / "h100_gemm_prospective.csv", False),
        ("H100 h100_gemm_prospective2", "h100-sxm", DATA / "h100_gemm_prospective2.csv", False),
    ]
    for label, device, path, held_out in others:
        _line(label, _frame(_rows(path, held_out_only=held_out), device), fit)
    return 0


if __name__ == "__main__":
    sys.exit(main())
