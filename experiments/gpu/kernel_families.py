"""Agreement of the model's kernel family with the kernels cuBLAS ran (profiled names).

A family is the kernel path (``tma`` = sm90 nvjet / xmma with TMA and wgmma, ``sm80`` =
cp.async + mma.sync CUTLASS / xmma kernels, ``sm75`` = scalar-load mma.sync or ``gemmSN``,
``gemv``) plus whether K is split (a ``splitKreduce`` kernel or a ``Memset`` before an
in-place split-K kernel). The measured family comes from the kernel names recorded by
``profile_kernels.py``; the model's from ``GemmModel.breakdown`` (path and chosen split_k).

    python experiments/gpu/kernel_families.py \
        [--csv data/gpu/raw/h200_kernels_train_classes.csv] [--device h200-sxm]

Prints the share of profiled shapes whose family the model predicts, per dtype and layout.
"""

from __future__ import annotations

import argparse
import csv
from collections import defaultdict
from pathlib import Path

from archgym.simulators.gpu import GemmModel

ROOT = Path(__file__).resolve().parents[2]


def measured_family(kernels: str) -> tuple[str, bool]:
    """(path, split) of a profiled call from its kernel names."""
    if "nvjet" in kernels or "sm90_xmma" in kernels:
        path = "tma"
    elif any(name in kernels for name in ("gemvx", "gemv2", "dot_kernel")):
        path = "gemv"
    elif "cutlass_75" in kernels or "gemmSN" in kernels:
        path = "sm75"
    elif "cutlass_80" in kernels or "sm80_xmma" in kernels or "cutlass1x" in kernels:
        path = "sm80"
    else:
        path = "other"
    split = "splitKreduce" in kernels or "Memset" in kernels or "splitK" in kernels
    return path, split


def model_family(model: GemmModel, row: dict) -> tuple[str, bool]:
    """(path, split) the model predicts for one profiled row."""
    m, n, k = int(row["m"]), int(row["n"]), int(row["k"])
    b = model.breakdown(m, n, k, row["dtype"], a_major=row["a_major"], b_major=row["b_major"])
    path = {"wmma": "sm80"}.get(b["path"], b["path"])
    return path, b["path"] != "gemv" and b["split_k"] > 1


def agreement(rows: list[dict], model: GemmModel) -> dict[tuple[str, str], list[int]]:
    """``(dtype, layout) -> [shapes, path matches, path and split matches]``."""
    out: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for r in rows:
        if r["status"] != "ok":
            continue
        meas = measured_family(r["kernels"])
        pred = model_family(model, r)
        key = (r["dtype"], r["a_major"][0] + r["b_major"][0])
        for k in (key, ("all", "")):
            out[k][0] += 1
            out[k][1] += pred[0] == meas[0]
            out[k][2] += pred == meas
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--csv", default=str(ROOT / "data/gpu/raw/h200_kernels_train_classes.csv"))
    p.add_argument("--device", default="h200-sxm")
    p.add_argument("--limit", type=int, default=0, help="first N rows only (0: all)")
    args = p.parse_args(argv)
    with open(args.csv) as f:
        rows = list(csv.DictReader(f))
    rows = rows[: args.limit] if args.limit else rows
    table = agreement(rows, GemmModel(args.device))
    print(f"{'dtype':6} {'layout':6} {'shapes':>6} {'path %':>7} {'path+split %':>13}")
    for (dt, lay), (n, p_ok, s_ok) in sorted(table.items()):
        print(f"{dt:6} {lay:6} {n:6d} {100 * p_ok / n:7.1f} {100 * s_ok / n:13.1f}")


if __name__ == "__main__":
    main()
