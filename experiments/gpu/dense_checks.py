"""The dense model on every measured row it was not fitted on, next to the naive roofline.

Prints one table (MAPE %, bias %, model and roofline, rows) with:

* every dense set: the H100 and H200 held-out families of the training CSVs, the H100
  prospective sets and the H200 blind sets (library kernels; Triton tiles are in
  ``archgym gpu validate --csv``), and all of them pooled;
* the 16-bit m = 1 rows of every H200 file (the split-K matrix-vector class);
* the dense baselines of the H200 2:4 campaigns (``torch.mm(w, x^T)``, compute-bound,
  m * n * k >= 2^33) of the third to seventh blind sets and the token stress set, per dtype:
  the denominator of every 2:4 speedup;
* the bf16 baselines of the weight-only campaign (``data/gpu/h200_w4a16.csv``), per batch.

None of these rows is in a fit. ``docs/gpu.md`` quotes the table ("Model v9", "Model v11").

    python experiments/gpu/dense_checks.py        # about 10 s
"""

from __future__ import annotations

import argparse
import csv
import glob
import sys
import warnings
from pathlib import Path

import numpy as np
from archgym.simulators.gpu import GemmModel
from archgym.simulators.gpu.fitting import kernel_path, predict_rows
from archgym.simulators.gpu.measurements import load_measurements, roofline_us

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data" / "gpu"
sys.path.insert(0, str(ROOT / "experiments" / "sparse"))
#: The 2:4 campaigns whose dense baselines ``docs/gpu.md`` quotes (those measured before v9).
SPARSE_SETS = (
    "prospective3",
    "prospective4",
    "prospective5",
    "prospective6",
    "prospective7",
    "tokens",
)


def _row(label: str, pred, meas, roof) -> str:
    pred, meas, roof = (np.asarray(x, dtype=float) for x in (pred, meas, roof))
    err = pred / meas - 1.0
    roof_err = np.abs(roof / meas - 1.0).mean() * 100.0
    return (
        f"| {label} | {len(meas)} | {np.abs(err).mean() * 100:.2f} | {err.mean() * 100:+.1f} | "
        f"{roof_err:.1f} |"
    )


def _set_number(path: Path) -> int:
    """1 for ``..._prospective.csv``, N for ``..._prospectiveN.csv`` (the order measured)."""
    tail = path.stem.rsplit("prospective", 1)[1]
    return int(tail or 1)


def dense_sets() -> list[tuple[str, str, Path, bool]]:
    """(label, device, CSV, held-out families only) of every dense set."""
    out = [("H100 held-out families", "h100-sxm", DATA / "h100_gemm.csv", True)]
    out += [
        (f"H100 {p.stem}", "h100-sxm", p, False) for p in sorted(DATA.glob("h100_gemm_prosp*.csv"))
    ]
    out.append(("H200 held-out families", "h200-sxm", DATA / "h200_dense.csv", True))
    out += [
        (f"H200 {p.stem}", "h200-sxm", p, False)
        for p in sorted(DATA.glob("h200_dense_prosp*.csv"), key=_set_number)
    ]
    return out


def dense_lines() -> list[str]:
    lines, pooled, m1, sm75 = [], [], [], []
    models = {d: GemmModel(d) for d in ("h100-sxm", "h200-sxm")}
    for label, device, path, held_out in dense_sets():
        rows = [
            r
            for r in load_measurements(path, **({} if held_out else {"holdout": ()}))
            if r["backend"] != "triton" and r["kind"] == "dense" and (r["test"] or not held_out)
        ]
        pred = predict_rows(models[device], rows)
        meas = np.array([r["time_us"] for r in rows])
        roof = [float(roofline_us(device, r["m"], r["n"], r["k"], r["dtype"])) for r in rows]
        lines.append(_row(label, pred, meas, roof))
        pooled.append((pred, meas, roof))
        if device == "h200-sxm":  # the 16-bit m = 1 class: every row of every H200 file
            sel = [
                r
                for r in load_measurements(path, holdout=())
                if r["backend"] != "triton" and r["kind"] == "dense"
                and r["m"] == 1 and r["dtype"] in ("bf16", "fp16")
            ]  # fmt: skip
            roof = [float(roofline_us(device, 1, r["n"], r["k"], r["dtype"])) for r in sel]
            m1.append((predict_rows(models[device], sel), [r["time_us"] for r in sel], roof))
        if device == "h200-sxm" and not held_out:  # the blind sets' sm75 kernels (dense v20)
            sel = [r for r in rows if kernel_path(r, device) == "sm75"]
            roof = [float(roofline_us(device, r["m"], r["n"], r["k"], r["dtype"])) for r in sel]
            sm75.append((predict_rows(models[device], sel), [r["time_us"] for r in sel], roof))
    lines.append(
        _row(
            "**all dense sets above, pooled**",
            *(np.concatenate(c) for c in zip(*pooled, strict=True)),
        )
    )
    for label, parts in (
        ("H200 16-bit m = 1 rows, every H200 file", m1),
        ("H200 blind sets, 16-bit rows on the sm75 path", sm75),
    ):
        lines.append(_row(label, *(np.concatenate(c) for c in zip(*parts, strict=True))))
    return lines


def sparse_baseline_lines() -> list[str]:
    import check_sparse24
    import fit_sparse_gpu

    def runs_of(name: str) -> list[dict]:  # both runs of one 2:4 campaign, one row per shape
        paths = glob.glob(str(DATA / "raw" / f"h200_sparse24_{name}_run_*.csv"))
        return check_sparse24.load_runs(sorted(Path(p) for p in paths)) if paths else []

    rows = [r for name in SPARSE_SETS for r in runs_of(name)]
    fit_sparse_gpu.add_dense_predictions(rows)
    lines = []
    for dtype in ("bf16", "fp16"):
        sel = [r for r in rows if r["dtype"] == dtype and r["m"] * r["n"] * r["k"] >= 2**33]
        # the campaigns time W[n, k] @ X^T[k, m]: the dense GEMM is n x m x k
        roof = [float(roofline_us("h200-sxm", r["n"], r["m"], r["k"], dtype)) for r in sel]
        lines.append(_row(f"2:4 campaigns' dense baselines, {dtype}, m*n*k >= 2^33",
                          [r["dense_pred"] for r in sel], [r["dense"] for r in sel], roof))  # fmt: skip
    # the later blind sets' baselines at odd token counts: X^T's rows 2-byte aligned, cuBLAS's
    # sm75 kernels (dense v20, docs/gpu.md)
    odd = [r for n in range(10, 100) for r in runs_of(f"prospective{n}") if r["m"] % 2]
    fit_sparse_gpu.add_dense_predictions(odd)
    sel = [r for r in odd if r["m"] * r["n"] * r["k"] >= 2**33]
    roof = [float(roofline_us("h200-sxm", r["n"], r["m"], r["k"], r["dtype"])) for r in sel]
    lines.append(_row("2:4 blind sets 10+, dense baselines at odd m, m*n*k >= 2^33",
                      [r["dense_pred"] for r in sel], [r["dense"] for r in sel], roof))  # fmt: skip
    return lines


def weight_only_lines() -> list[str]:
    model = GemmModel("h200-sxm")
    by_batch: dict[int, list] = {}
    with open(DATA / "h200_w4a16.csv") as f:
        for r in csv.DictReader(f):
            if r["status"] == "ok" and r["kind"] == "dense":
                m, n, k = int(r["m"]), int(r["n"]), int(r["k"])
                by_batch.setdefault(m, []).append(
                    (
                        model.predict_us(m, n, k, "bf16"),
                        float(r["time_us"]),
                        float(roofline_us("h200-sxm", m, n, k, "bf16")),
                    )
                )
    every = [x for v in by_batch.values() for x in v]
    lines = [_row("weight-only campaign's bf16 baselines, every batch", *zip(*every, strict=True))]
    lines += [_row(f"... batch {m}", *zip(*v, strict=True)) for m, v in sorted(by_batch.items())]
    return lines


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args(argv)
    warnings.filterwarnings("ignore")  # spearmanr on constant columns in load_measurements
    print("| rows | n | model MAPE % | model bias % | roofline MAPE % |")
    print("|---|---|---|---|---|")
    for line in dense_lines() + sparse_baseline_lines() + weight_only_lines():
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
