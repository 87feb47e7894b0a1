"""Check the shipped 2:4 model on new H200 measurements it was never fitted on (issue 13).

Reads one or more runs of the same points (campaign CSVs: ``kind`` dense / sparse24, ``variant``
default / search), keeps the lower median time per point and kernel, and prints the mean
|error| and Spearman rho of the predicted 2:4 speedup over dense on the compute-bound fp16/bf16
rows (m*n*k >= 2^33, torch's default kernel), next to the per-dtype constant (mean measured
speedup of the shipped training data's compute-bound rows), the sign rule "2:4 slower iff
m*n*k < 2^33" (all rows) and the model with the measured dense time ("sparse-only").

    python experiments/sparse/check_sparse24.py data/gpu/raw/h200_sparse24_prospective3_run_*.csv
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from archgym.simulators.gpu.sparse import sparse24_time_us

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fit_sparse_gpu as fsg

#: One row per (shape, dtype) with the lower median of the runs (``fit_sparse_gpu.load_runs``).
load_runs = fsg.load_runs


def report(rows: list[dict]) -> list[str]:
    fsg.add_dense_predictions(rows)
    train = [
        r
        for r in fsg.load_sparse24()
        if (r["device"], r["kernel"]) == ("h200-sxm", "torch-default") and fsg._mnk(r) >= fsg.CB
    ]
    lines = ["dtype      rows | model   rho | sparse-only | const | sign: model rule (rows)"]
    for label, dts in (("fp16", ("fp16",)), ("bf16", ("bf16",)), ("fp16+bf16", ("fp16", "bf16"))):
        sel = [r for r in rows if r["dtype"] in dts]
        for r in sel:
            r["sparse_pred"] = float(
                sparse24_time_us("h200-sxm", r["m"], r["n"], r["k"], r["dtype"])
            )
        cb = [r for r in sel if fsg._mnk(r) >= fsg.CB]
        meas = np.array([r["dense"] / r["sparse"] for r in cb])
        pred = np.array([r["dense_pred"] / r["sparse_pred"] for r in cb])
        only = np.array([r["dense"] / r["sparse_pred"] for r in cb])
        const = np.array(
            [
                np.mean([t["dense"] / t["sparse"] for t in train if t["dtype"] == r["dtype"]])
                for r in cb
            ]
        )
        sign_m = np.mean(
            [(r["dense_pred"] > r["sparse_pred"]) == (r["dense"] > r["sparse"]) for r in sel]
        )
        sign_r = np.mean([(fsg._mnk(r) >= fsg.CB) == (r["dense"] > r["sparse"]) for r in sel])
        lines.append(
            f"{label:9s} {len(cb):5d} | {np.mean(np.abs(pred / meas - 1)):5.1%} "
            f"{fsg._spearman(pred, meas):5.2f} | {np.mean(np.abs(only / meas - 1)):5.1%}       | "
            f"{np.mean(np.abs(const / meas - 1)):5.1%} | {sign_m:4.0%} {sign_r:4.0%} ({len(sel)})"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("csv", nargs="+", type=Path, help="runs of the same points (campaign CSVs)")
    ap.add_argument(
        "--rows", action="store_true", help="also print every compute-bound row's 2:4 kernel error"
    )
    args = ap.parse_args(argv)
    for p in args.csv:
        if not p.is_file():
            print(f"error: no such file: {p}", file=sys.stderr)
            return 2
    rows = load_runs(args.csv)
    if not rows:
        print(
            f"error: no fp16/bf16 dense + 2:4 pairs in {', '.join(map(str, args.csv))}",
            file=sys.stderr,
        )
        return 2
    print("\n".join(report(rows)))
    if args.rows:
        print("\n".join(row_lines(rows)))
    return 0


def row_lines(rows: list[dict]) -> list[str]:
    """Per compute-bound row: measured and predicted 2:4 kernel time (us), the error, and the
    error without fp16's off-tile term (``mis_frac`` = 1)."""
    from dataclasses import replace

    from archgym.simulators.gpu.sparse import _sparse24_params

    flat_params = {
        dt: replace(_sparse24_params("h200-sxm", dt, "torch-default")[0], mis_frac=1.0)
        for dt in {r["dtype"] for r in rows}
    }
    lines = ["dtype     m      n      k | 2:4 us measured  model  error | error without off-tile"]
    for r in sorted(rows, key=lambda r: (r["dtype"], r["m"], r["n"], r["k"])):
        if fsg._mnk(r) < fsg.CB:
            continue
        args = ("h200-sxm", r["m"], r["n"], r["k"], r["dtype"])
        pred = float(sparse24_time_us(*args))
        flat = float(sparse24_time_us(*args, params=flat_params[r["dtype"]]))
        lines.append(
            f"{r['dtype']:5s} {r['m']:5d} {r['n']:6d} {r['k']:6d} | {r['sparse']:15.1f} "
            f"{pred:6.1f} {pred / r['sparse'] - 1:+6.1%} | {flat / r['sparse'] - 1:+6.1%}"
        )
    return lines


if __name__ == "__main__":
    sys.exit(main())
