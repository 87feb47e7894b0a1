"""Validate the sparse engine's GPU form against measured H100 2:4 kernels, and the MARLIN curve.

    python experiments/sparse/validate_h100.py                  # tables (refits on training)
    python experiments/sparse/validate_h100.py --fit            # + constants for gpu.py
    python experiments/sparse/validate_h100.py --plot docs/sparse_h100_speedup.png

Data: data/gpu/h100_gemm.csv (cuBLAS dense and cuSPARSELt 2:4, fp16 and bf16, same shapes).
Split by shape family as in experiments/gpu/validate.py: the efficiencies are fitted on the
training families only, and the held-out families are reported separately. A shape is
compute-bound when its arithmetic intensity (FLOPs per dense byte moved) is at least the
device's ridge point (peak / HBM bandwidth: 295 FLOP/byte for H100 fp16) and it has at least
1e11 FLOPs (100 us at peak), so the launch cost stays a few percent. The sign check (is 2:4
slower than dense?) runs on every paired shape.
"""

from __future__ import annotations

import argparse
import csv
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np
from archgym.simulators.gpu.devices import get_device, get_dtype
from archgym.simulators.sparse.gpu import (
    H100_SPARSE_EFFICIENCY,
    TensorCoreEfficiency,
    gemm_time_s,
    weight_only_speedup,
)

ROOT = Path(__file__).resolve().parents[2]
GEMM_CSV = ROOT / "data" / "gpu" / "h100_gemm.csv"
TEST_FAMILIES = frozenset(
    {"llm:llama3-8b", "llm:gpt2", "cnn:resnet50", "random:1", "random:3", "random:5"}
)
DTYPES = ("bf16", "fp16")
KINDS = {"dense": "dense", "sparse24": "2:4"}
MIN_FLOPS = 1e11
THRESHOLD = 0.15
# MARLIN on an A10, 73728 x 18432 layer (REFERENCES.md, from the MARLIN paper).
MARLIN_K, MARLIN_N = 18432, 73728
MARLIN_PUBLISHED = {1: 3.87, 2: 3.87, 4: 3.87, 8: 3.87, 16: 3.87, 32: 3.87, 64: 3.09, 128: 1.55}


def load_pairs(path: Path | str = GEMM_CSV) -> dict:
    """Rows of ok measurements keyed by (family, source, m, n, k, dtype, kind)."""
    with open(path) as f:
        rows = [r for r in csv.DictReader(f) if r["status"] == "ok" and r["dtype"] in DTYPES]
    out = {}
    for r in rows:
        if r["kind"] not in KINDS:
            continue
        key = (r["family"], r["source"], int(r["m"]), int(r["n"]), int(r["k"]), r["dtype"])
        out[(*key, KINDS[r["kind"]])] = float(r["time_us"])
    return out


def fit(times: dict, device: str = "h100-sxm") -> dict[tuple[str, str], TensorCoreEfficiency]:
    """Least-squares fit (log time, soft-L1) of each (dtype, kind) on the training families."""
    from scipy.optimize import least_squares

    out = {}
    for dtype in DTYPES:
        for kind in KINDS.values():
            sel = [
                (key[2], key[3], key[4], t)
                for key, t in times.items()
                if key[5] == dtype and key[6] == kind and key[0] not in TEST_FAMILIES
            ]
            m, n, k, t = (np.array(c, dtype=float) for c in zip(*sel, strict=True))

            def residual(x, m=m, n=n, k=k, t=t, dtype=dtype, kind=kind):
                eff = TensorCoreEfficiency(*x)
                pred = gemm_time_s(m, n, k, kind, device=device, dtype=dtype, eff=eff) * 1e6
                return np.log(pred) - np.log(t)

            res = least_squares(
                residual,
                [0.7, 0.8, 6.0],
                bounds=([0.05, 0.1, 0.0], [1.0, 1.0, 40.0]),
                loss="soft_l1",
                f_scale=0.1,
            )
            out[(dtype, kind)] = TensorCoreEfficiency(*(float(x) for x in res.x))
    return out


def speedup_table(times: dict, eff: dict, device: str = "h100-sxm") -> list[dict]:
    """One row per shape measured both dense and 2:4: measured and predicted speedups."""
    dev = get_device(device)
    rows = []
    for key, t_sparse in times.items():
        if key[6] != "2:4" or (*key[:6], "dense") not in times:
            continue
        family, source, m, n, k, dtype = key[:6]
        t_dense = times[(*key[:6], "dense")]
        dt = get_dtype(dtype)
        flops = 2.0 * m * n * k
        intensity = flops / ((m * k + k * n) * dt.in_bytes + m * n * dt.out_bytes)
        pred = [
            float(gemm_time_s(m, n, k, kind, device=dev, dtype=dtype, eff=eff[(dtype, kind)]))
            for kind in ("dense", "2:4")
        ]
        rows.append(
            {
                "family": family,
                "source": source,
                "m": m,
                "n": n,
                "k": k,
                "dtype": dtype,
                "test": family in TEST_FAMILIES,
                "intensity": intensity,
                "compute_bound": intensity >= dev.peak_flops[dtype] / dev.hbm_bytes_per_s
                and flops >= MIN_FLOPS,
                "measured": t_dense / t_sparse,
                "predicted": pred[0] / pred[1],
            }
        )
    return rows


def summarise(rows: list[dict]) -> dict:
    """Speedup errors on compute-bound shapes and the slower-than-dense confusion counts."""
    out = {}
    for split in ("test", "all"):
        for dtype in DTYPES:
            sel = [r for r in rows if r["dtype"] == dtype and (split == "all" or r["test"])]
            cb = [r for r in sel if r["compute_bound"]]
            err = np.array([abs(r["predicted"] - r["measured"]) / r["measured"] for r in cb])
            slow_p = np.array([r["predicted"] < 1 for r in sel])
            slow_m = np.array([r["measured"] < 1 for r in sel])
            out[(split, dtype)] = {
                "shapes": len(sel),
                "compute_bound": len(cb),
                "mean_err": float(err.mean()) if len(err) else float("nan"),
                "max_err": float(err.max()) if len(err) else float("nan"),
                "within": float((err <= THRESHOLD).mean()) if len(err) else float("nan"),
                "measured_median": float(np.median([r["measured"] for r in cb])) if cb else 0.0,
                "predicted_median": float(np.median([r["predicted"] for r in cb])) if cb else 0.0,
                "slower_both": int((slow_p & slow_m).sum()),
                "faster_both": int((~slow_p & ~slow_m).sum()),
                "missed_slower": int((~slow_p & slow_m).sum()),
                "false_slower": int((slow_p & ~slow_m).sum()),
            }
    return out


def marlin_curve(batches=(1, 2, 4, 8, 16, 32, 64, 128, 256)) -> dict[int, dict[str, float]]:
    """Predicted MARLIN (int4, group 128) and Sparse-MARLIN (+2:4) speedups on the A10."""
    int4 = weight_only_speedup(batches, MARLIN_K, MARLIN_N)
    sparse = weight_only_speedup(batches, MARLIN_K, MARLIN_N, pattern="2:4")
    return {
        b: {"int4": float(a), "int4_2:4": float(s), "published": MARLIN_PUBLISHED.get(b, np.nan)}
        for b, a, s in zip(batches, int4, sparse, strict=True)
    }


def run(path: Path | str = GEMM_CSV, refit: bool = True) -> dict:
    times = load_pairs(path)
    eff = fit(times) if refit else dict(H100_SPARSE_EFFICIENCY)
    rows = speedup_table(times, eff)
    return {"efficiency": eff, "rows": rows, "summary": summarise(rows), "marlin": marlin_curve()}


def format_report(report: dict) -> str:
    lines = [
        "| split | dtype | paired shapes | compute-bound | measured speedup (median) "
        "| predicted (median) | mean error % | max error % | within 15 % "
        "| slower: both / missed / false | faster: both |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (split, dtype), s in report["summary"].items():
        lines.append(
            f"| {split} | {dtype} | {s['shapes']} | {s['compute_bound']} "
            f"| {s['measured_median']:.2f} | {s['predicted_median']:.2f} "
            f"| {s['mean_err'] * 100:.1f} | {s['max_err'] * 100:.1f} | {s['within'] * 100:.0f} % "
            f"| {s['slower_both']} / {s['missed_slower']} / {s['false_slower']} "
            f"| {s['faster_both']} |"
        )
    lines += [
        "",
        "| batch | MARLIN model | published (A10) | int4 + 2:4 model |",
        "|---|---|---|---|",
    ]
    for b, s in report["marlin"].items():
        pub = "-" if np.isnan(s["published"]) else f"{s['published']:.2f}"
        lines.append(f"| {b} | {s['int4']:.2f} | {pub} | {s['int4_2:4']:.2f} |")
    return "\n".join(lines)


def format_constants(report: dict) -> str:
    lines = ["H100_SPARSE_EFFICIENCY: dict[tuple[str, str], TensorCoreEfficiency] = {"]
    for key, e in sorted(report["efficiency"].items()):
        args = ", ".join(f"{name}={value:.4g}" for name, value in asdict(e).items())
        lines.append(f"    {key!r}: TensorCoreEfficiency({args}),")
    return "\n".join([*lines, "}"])


def plot(report: dict, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 5))
    for dtype, color in zip(DTYPES, ("tab:blue", "tab:orange"), strict=True):
        for cb, marker in ((True, "o"), (False, ".")):
            sel = [r for r in report["rows"] if r["dtype"] == dtype and r["compute_bound"] == cb]
            ax.scatter(
                [r["measured"] for r in sel],
                [r["predicted"] for r in sel],
                c=color,
                marker=marker,
                s=18 if cb else 8,
                alpha=0.7,
                label=f"{dtype} {'compute-bound' if cb else 'other'}",
            )
    lim = [0.2, 2.0]
    ax.plot(lim, lim, "k-", lw=0.8)
    ax.plot(lim, [x * 1.15 for x in lim], "k:", lw=0.6)
    ax.plot(lim, [x / 1.15 for x in lim], "k:", lw=0.6)
    ax.axhline(1, color="grey", lw=0.5)
    ax.axvline(1, color="grey", lw=0.5)
    ax.set(
        xlim=lim,
        ylim=lim,
        xlabel="measured 2:4 speedup over dense",
        ylabel="predicted",
        title="H100, cuSPARSELt 2:4 vs cuBLAS",
    )
    ax.legend(fontsize=7)
    batches = list(report["marlin"])
    bx.plot(batches, [report["marlin"][b]["int4"] for b in batches], "o-", label="int4 model")
    bx.plot(
        batches, [report["marlin"][b]["int4_2:4"] for b in batches], "s--", label="int4 + 2:4 model"
    )
    pub = [(b, s["published"]) for b, s in report["marlin"].items() if not np.isnan(s["published"])]
    bx.plot(*zip(*pub, strict=True), "kx", label="MARLIN published (A10)")
    bx.set(
        xscale="log",
        xlabel="batch",
        ylabel="speedup over fp16",
        title="weight-only int4, 18432 x 73728, A10 roofline",
    )
    bx.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--csv", default=str(GEMM_CSV))
    p.add_argument("--no-refit", action="store_true", help="use the shipped constants")
    p.add_argument("--fit", action="store_true", help="print the fitted constants as Python")
    p.add_argument("--plot", help="write the validation figure (PNG) here")
    args = p.parse_args(argv)
    report = run(args.csv, refit=not args.no_refit)
    print(format_report(report))
    if args.fit:
        print(format_constants(report))
    if args.plot:
        plot(report, args.plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
