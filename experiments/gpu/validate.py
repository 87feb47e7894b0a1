"""Validate the analytical GPU GEMM model (and the learned baseline) against the H100 data.

    python experiments/gpu/validate.py                     # table of held-out errors
    python experiments/gpu/validate.py --plot docs/gpu_pred_vs_meas.png
    python experiments/gpu/validate.py --fit               # print constants for calibration.py

Split by shape family: the families in ``TEST_FAMILIES`` are held out; the efficiency constants
are fitted on the other (training) families only, and no (m, n, k) is in both. Per dtype and
kind: MAPE, median, p90 and max absolute percentage error, bias (mean signed error) and
Spearman's rank correlation. The 2:4 check compares predicted and measured speedups over dense
on compute-bound held-out shapes; the Triton check asks whether the tile the model ranks best
runs within 10 % of the measured best tile.
"""

from __future__ import annotations

import argparse
import csv
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np
from archgym.simulators.gpu import GemmModel, TileConfig
from archgym.simulators.gpu.calibration import fit_efficiency
from archgym.simulators.gpu.model import LEGACY_DTYPES, Efficiency, library_path

ROOT = Path(__file__).resolve().parents[2]
GEMM_CSV = ROOT / "data" / "gpu" / "h100_gemm.csv"
TRITON_CSV = ROOT / "data" / "gpu" / "h100_triton_tiles.csv"
PROSPECTIVE_CSV = ROOT / "data" / "gpu" / "h100_gemm_prospective.csv"
# Measured after the second-pass model was frozen (the first prospective set informed it).
PROSPECTIVE2_CSV = ROOT / "data" / "gpu" / "h100_gemm_prospective2.csv"
KERNEL_CSVS = (
    ROOT / "data" / "gpu" / "raw" / "h100_kernels_train.csv",
    ROOT / "data" / "gpu" / "raw" / "h100_kernels_prospective2.csv",
)
TEST_FAMILIES = frozenset(
    {"llm:llama3-8b", "llm:gpt2", "cnn:resnet50", "random:1", "random:3", "random:5"}
)
LIBRARY_PARAMS = (
    "mma",
    "hbm",
    "sm_load_bytes_per_clk",
    "launch_us",
    "reduce_us",
    "misaligned",
    "l2_scale",
    "misaligned_us",
    "latency_us",
    "l2_dirty",
)
LEGACY_PARAMS = ("legacy_bytes_per_clk", "legacy_latency_us")
TRITON_PARAMS = ("mma", "sm_load_bytes_per_clk", "launch_us", "spill", "l2_scale", "k_iter_ns")
TILE_KEYS = ("block_m", "block_n", "block_k", "num_warps", "num_stages")
# Compute-bound for the 2:4 check: at least this many FLOPs per byte moved (the H100 bf16
# ridge point is 989e12 / 3.35e12 = 295) and enough work that fixed costs stay small (1e11
# FLOPs take at least 100 us at the dense peak).
COMPUTE_BOUND_INTENSITY = 295.0
COMPUTE_BOUND_FLOPS = 1e11


def load_rows(path: Path | str) -> list[dict]:
    """Rows of a measurement CSV with status ``ok``, sizes as ints and time as float."""
    with open(path) as f:
        rows = [r for r in csv.DictReader(f) if r["status"] == "ok"]
    for r in rows:
        for key in ("m", "n", "k"):
            r[key] = int(r[key])
        r["time_us"] = float(r["time_us"])
        r["test"] = r["family"] in TEST_FAMILIES
    return rows


def error_stats(pred, meas) -> dict[str, float]:
    """MAPE, median/p90/max APE, bias (mean signed error, %) and Spearman's rho."""
    from scipy.stats import spearmanr

    pred, meas = np.asarray(pred, float), np.asarray(meas, float)
    ape = np.abs(pred - meas) / meas * 100.0
    rho = spearmanr(pred, meas).statistic if len(pred) > 2 else float("nan")
    return {
        "n": len(pred),
        "mape": float(ape.mean()),
        "median_ape": float(np.median(ape)),
        "p90_ape": float(np.percentile(ape, 90)),
        "max_ape": float(ape.max()),
        "bias": float(((pred - meas) / meas).mean() * 100.0),
        "spearman": float(rho),
    }


def _arrays(rows):
    return tuple(np.array([r[key] for r in rows], float) for key in ("m", "n", "k", "time_us"))


def _tiles(rows) -> list[TileConfig]:
    return [TileConfig(*(int(float(r[key])) for key in TILE_KEYS)) for r in rows]


def fit_constants(rows: list[dict], triton_rows: list[dict]) -> dict:
    """Efficiency per (dtype, kind, backend), fitted on the training rows only."""
    out = {}
    groups = sorted({(r["dtype"], r["kind"]) for r in rows})
    for dtype, kind in groups:
        train = [r for r in rows if not r["test"] and (r["dtype"], r["kind"]) == (dtype, kind)]
        m, n, k, t = _arrays(train)

        def predict(eff, m=m, n=n, k=k, dtype=dtype, kind=kind):
            model = GemmModel(efficiency={(dtype, kind, "library"): eff})
            return model.predict_batch_us(m, n, k, dtype, kind)

        start = Efficiency(sm_load_bytes_per_clk=128.0, l2_scale=2.0, misaligned=0.2)
        params = LIBRARY_PARAMS + (("compressed_hbm",) if kind == "sparse24" else ())
        params += LEGACY_PARAMS if dtype in LEGACY_DTYPES and kind == "dense" else ()
        out[(dtype, kind, "library")] = fit_efficiency(predict, t, start, params)
    train = [r for r in triton_rows if not r["test"]]
    if train:
        m, n, k, t = _arrays(train)
        tiles = _tiles(train)
        start = out.get(("fp16", "dense", "library"), Efficiency())

        def predict_t(eff):
            model = GemmModel(efficiency={("fp16", "dense", "triton"): eff})
            return model.predict_batch_us(m, n, k, "fp16", "dense", tiles=tiles)

        out[("fp16", "dense", "triton")] = fit_efficiency(predict_t, t, start, TRITON_PARAMS)
    return out


def run_validation(
    gemm_csv=GEMM_CSV,
    triton_csv=TRITON_CSV,
    *,
    refit: bool = True,
    baseline: bool = True,
    plot: str | None = None,
) -> dict:
    """All validation figures as a dict (see ``format_report``)."""
    rows = load_rows(gemm_csv)
    triton_rows = load_rows(triton_csv) if Path(triton_csv).exists() else []
    model = GemmModel(efficiency=fit_constants(rows, triton_rows)) if refit else GemmModel()
    report: dict = {"model": {}, "baseline": {}, "sparse_speedup": {}, "triton": {}}
    pred_by_key = {}
    for dtype, kind in sorted({(r["dtype"], r["kind"]) for r in rows}):
        sel = [r for r in rows if (r["dtype"], r["kind"]) == (dtype, kind)]
        m, n, k, _ = _arrays(sel)
        for r, p in zip(sel, model.predict_batch_us(m, n, k, dtype, kind), strict=True):
            r["pred_us"] = float(p)
            pred_by_key[(r["m"], r["n"], r["k"], dtype, kind)] = (float(p), r["time_us"])
        test = [r for r in sel if r["test"]]
        train = [r for r in sel if not r["test"]]
        report["model"][(dtype, kind)] = {
            "test": error_stats([r["pred_us"] for r in test], [r["time_us"] for r in test]),
            "train": error_stats([r["pred_us"] for r in train], [r["time_us"] for r in train]),
        }
    report["families"] = {
        (dtype, kind, fam): error_stats(
            [
                r["pred_us"]
                for r in rows
                if (r["dtype"], r["kind"], r["family"]) == (dtype, kind, fam)
            ],
            [
                r["time_us"]
                for r in rows
                if (r["dtype"], r["kind"], r["family"]) == (dtype, kind, fam)
            ],
        )
        for dtype, kind, fam in sorted(
            {(r["dtype"], r["kind"], r["family"]) for r in rows if r["test"]}
        )
    }
    report["sparse_speedup"] = _sparse_check(rows, pred_by_key)
    if baseline:
        report["baseline"] = _baseline(rows)
    if triton_rows:
        report["triton"] = _triton_check(model, triton_rows)
    for key, path in (("prospective", PROSPECTIVE_CSV), ("prospective2", PROSPECTIVE2_CSV)):
        if Path(path).exists():
            report[key] = prospective_check(path)
    report["kernel_paths"] = {
        Path(p).stem: kernel_path_check(p) for p in KERNEL_CSVS if Path(p).exists()
    }
    report["efficiency"] = {key: asdict(e) for key, e in model.efficiency.items()}
    if plot:
        _plot(rows, plot)
    return report


def leave_one_family_out(gemm_csv=GEMM_CSV) -> dict:
    """Each family predicted by constants fitted on all the other families (a second split)."""
    rows = load_rows(gemm_csv)
    preds: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for family in sorted({r["family"] for r in rows}):
        fold = [{**r, "test": r["family"] == family} for r in rows]
        model = GemmModel(efficiency=fit_constants(fold, []))
        for dtype, kind in sorted({(r["dtype"], r["kind"]) for r in fold if r["test"]}):
            sel = [r for r in fold if r["test"] and (r["dtype"], r["kind"]) == (dtype, kind)]
            m, n, k, t = _arrays(sel)
            pred = model.predict_batch_us(m, n, k, dtype, kind)
            preds.setdefault((dtype, kind), []).extend(zip(pred, t, strict=True))
    return {key: error_stats(*zip(*pairs, strict=True)) for key, pairs in sorted(preds.items())}


def prospective_check(path=PROSPECTIVE_CSV, model: GemmModel | None = None) -> dict:
    """Errors of the shipped (frozen) constants on shapes measured after they were fixed."""
    model = model or GemmModel()
    rows = load_rows(path)
    out = {}
    for dtype, kind in sorted({(r["dtype"], r["kind"]) for r in rows}):
        for family in ("all", *sorted({r["family"] for r in rows})):
            sel = [r for r in rows if (r["dtype"], r["kind"]) == (dtype, kind)]
            sel = [r for r in sel if family in ("all", r["family"])]
            if len(sel) < 3:
                continue
            m, n, k, t = _arrays(sel)
            out[(dtype, kind, family)] = error_stats(
                model.predict_batch_us(m, n, k, dtype, kind), t
            )
    return out


def measured_path(kernels: str) -> str:
    """The kernel path of a profiled cuBLAS call, from its kernel names (profile_kernels.py)."""
    if "nvjet" in kernels or "sm90_xmma" in kernels:
        return "tma"
    if any(name in kernels for name in ("gemvx", "gemv2", "dot_kernel")):
        return "gemv"
    if "cutlass_80" in kernels:
        return "sm80"
    if "cutlass_75" in kernels or "gemmSN" in kernels:
        return "sm75"
    return "other"


def kernel_path_check(path) -> dict:
    """How often the model's kernel path matches the kernels cuBLAS ran (bf16 / fp16 dense).

    Returns per dtype the number of profiled shapes, the matches, and the mismatches.
    """
    with open(path) as f:
        rows = [r for r in csv.DictReader(f) if r["status"] == "ok"]
    out: dict = {}
    for r in rows:
        if r["dtype"] not in LEGACY_DTYPES:
            continue
        m, n, k = int(r["m"]), int(r["n"]), int(r["k"])
        pred = str(library_path(n, k, r["dtype"]))
        if m == 1 and pred != "tma":
            pred = "gemv"  # the model's matrix-vector path (gemv_time_s)
        s = out.setdefault(r["dtype"], {"n": 0, "match": 0, "mismatches": []})
        s["n"] += 1
        if pred == measured_path(r["kernels"]):
            s["match"] += 1
        else:
            s["mismatches"].append((m, n, k, pred, measured_path(r["kernels"])))
    return out


def _sparse_check(rows, pred_by_key) -> dict:
    out = {}
    for dtype in ("bf16", "fp16"):
        ratios = []
        for r in rows:
            key = (r["m"], r["n"], r["k"], dtype, "sparse24")
            dense = (r["m"], r["n"], r["k"], dtype, "dense")
            if not r["test"] or r["dtype"] != dtype or r["kind"] != "dense":
                continue
            if key not in pred_by_key or 2.0 * r["m"] * r["n"] * r["k"] < COMPUTE_BOUND_FLOPS:
                continue
            intensity = (
                2.0
                * r["m"]
                * r["n"]
                * r["k"]
                / (2.0 * (r["m"] * r["k"] + r["k"] * r["n"] + r["m"] * r["n"]))
            )
            if intensity < COMPUTE_BOUND_INTENSITY:
                continue
            (pd_, md), (ps, ms) = pred_by_key[dense], pred_by_key[key]
            ratios.append((pd_ / ps, md / ms))
        if ratios:
            pred, meas = np.array(ratios).T
            err = np.abs(pred - meas) / meas * 100.0
            out[dtype] = {
                "n": len(err),
                "mean_err": float(err.mean()),
                "max_err": float(err.max()),
                "within_15": float((err <= 15).mean()),
                "measured_speedup": float(np.median(meas)),
                "predicted_speedup": float(np.median(pred)),
            }
    return out


def _baseline(rows) -> dict:
    from archgym.cost_models.gpu_regression import GemmRegressor

    train = [r for r in rows if not r["test"]]
    test = [r for r in rows if r["test"]]
    m, n, k, t = _arrays(train)
    reg = GemmRegressor("random_forest", seed=0).fit(
        m, n, k, [r["dtype"] for r in train], [r["kind"] for r in train], t
    )
    m, n, k, _ = _arrays(test)
    pred = reg.predict_us(m, n, k, [r["dtype"] for r in test], [r["kind"] for r in test])
    out = {}
    for r, p in zip(test, pred, strict=True):
        r["baseline_us"] = float(p)
    for key in sorted({(r["dtype"], r["kind"]) for r in test}):
        sel = [r for r in test if (r["dtype"], r["kind"]) == key]
        out[key] = error_stats([r["baseline_us"] for r in sel], [r["time_us"] for r in sel])
    return out


def _triton_check(model: GemmModel, rows) -> dict:
    out = {}
    m, n, k, _ = _arrays(rows)
    pred = model.predict_batch_us(m, n, k, "fp16", "dense", tiles=_tiles(rows))
    for r, p in zip(rows, pred, strict=True):
        r["pred_us"] = float(p)
    for source in sorted({r["source"] for r in rows}):
        sel = [r for r in rows if r["source"] == source]
        best = min(r["time_us"] for r in sel)
        pick = min(sel, key=lambda r: r["pred_us"])
        out[source] = {
            "test": sel[0]["test"],
            "best_us": best,
            "picked_us": pick["time_us"],
            "picked_over_best": pick["time_us"] / best,
            "stats": error_stats([r["pred_us"] for r in sel], [r["time_us"] for r in sel]),
        }
    return out


def _plot(rows, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 6))
    for dtype in sorted({r["dtype"] for r in rows}):
        for kind, marker in (("dense", "o"), ("sparse24", "x")):
            sel = [r for r in rows if r["test"] and r["dtype"] == dtype and r["kind"] == kind]
            if sel:
                ax.scatter(
                    [r["time_us"] for r in sel],
                    [r["pred_us"] for r in sel],
                    s=10,
                    marker=marker,
                    label=f"{dtype} {kind}",
                    alpha=0.7,
                )
    lim = [3, 3e4]
    ax.plot(lim, lim, "k-", lw=0.8)
    ax.plot(lim, [x * 1.1 for x in lim], "k:", lw=0.6)
    ax.plot(lim, [x / 1.1 for x in lim], "k:", lw=0.6)
    ax.set(
        xscale="log",
        yscale="log",
        xlim=lim,
        ylim=lim,
        xlabel="measured (us)",
        ylabel="predicted (us)",
        title="H100 GEMM, held-out families",
    )
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def format_report(report: dict) -> str:
    """The validation tables as Markdown."""
    lines = [
        "| dtype | kind | n | MAPE % | median % | p90 % | max % | bias % | Spearman "
        "| train MAPE % | RF baseline MAPE % | RF Spearman |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (dtype, kind), s in report["model"].items():
        t, b = s["test"], report["baseline"].get((dtype, kind))
        base = f"{b['mape']:.1f} | {b['spearman']:.3f}" if b else "- | -"
        lines.append(
            f"| {dtype} | {kind} | {t['n']} | {t['mape']:.1f} | {t['median_ape']:.1f} "
            f"| {t['p90_ape']:.1f} | {t['max_ape']:.0f} | {t['bias']:+.1f} "
            f"| {t['spearman']:.3f} | {s['train']['mape']:.1f} | {base} |"
        )
    lines += [
        "",
        "Held-out MAPE % by family (n):",
        "",
        "| family | " + " | ".join(f"{d} {k}" for d, k in report["model"]) + " |",
        "|---|" + "---|" * len(report["model"]),
    ]
    for fam in sorted({f for _, _, f in report["families"]}):
        cells = []
        for d, k in report["model"]:
            s = report["families"].get((d, k, fam))
            cells.append(f"{s['mape']:.1f} ({s['n']})" if s else "-")
        lines.append(f"| {fam} | " + " | ".join(cells) + " |")
    titles = {
        "prospective": "First prospective set (measured after the first model was frozen; it "
        "informed the second pass, so it is no longer prospective for this model)",
        "prospective2": "Second prospective set (measured after this model was frozen)",
    }
    for key, title in titles.items():
        if not report.get(key):
            continue
        fams = sorted({f for *_, f in report[key] if f != "all"})
        lines += [
            "",
            f"{title}: MAPE % (Spearman, n)",
            "",
            "| dtype | kind | all | " + " | ".join(fams) + " |",
            "|---|---|---|" + "---|" * len(fams),
        ]
        for dtype, kind in sorted({(d, k) for d, k, _ in report[key]}):
            cells = []
            for fam in ("all", *fams):
                s = report[key].get((dtype, kind, fam))
                cells.append(f"{s['mape']:.1f} ({s['spearman']:.3f}, {s['n']})" if s else "-")
            lines.append(f"| {dtype} | {kind} | " + " | ".join(cells) + " |")
        lines += ["", "All shapes of that set:", "", *_stats_table(report[key], "all")]
    for name, per_dtype in report.get("kernel_paths", {}).items():
        cells = ", ".join(f"{d} {s['match']}/{s['n']}" for d, s in per_dtype.items())
        lines += ["", f"Kernel path (tma / sm80 / sm75 / gemv) matches cuBLAS in {name}: {cells}"]
    if report["sparse_speedup"]:
        lines += [
            "",
            "| 2:4 dtype | shapes | measured speedup (median) | predicted (median) "
            "| mean error % | max error % | within 15 % |",
            "|---|---|---|---|---|---|---|",
        ]
        for dtype, s in report["sparse_speedup"].items():
            lines.append(
                f"| {dtype} | {s['n']} | {s['measured_speedup']:.2f} "
                f"| {s['predicted_speedup']:.2f} | {s['mean_err']:.1f} "
                f"| {s['max_err']:.1f} | {s['within_15'] * 100:.0f} % |"
            )
    if report["triton"]:
        lines += [
            "",
            "| Triton shape | held out | best (us) | model's pick (us) | pick/best "
            "| MAPE % | Spearman |",
            "|---|---|---|---|---|---|---|",
        ]
        for source, s in report["triton"].items():
            lines.append(
                f"| {source} | {'yes' if s['test'] else 'no'} | {s['best_us']:.1f} "
                f"| {s['picked_us']:.1f} | {s['picked_over_best']:.3f} "
                f"| {s['stats']['mape']:.1f} | {s['stats']['spearman']:.3f} |"
            )
        ok = sum(s["picked_over_best"] <= 1.10 for s in report["triton"].values())
        lines.append(
            f"\nModel's best tile within 10 % of the measured best: "
            f"{ok}/{len(report['triton'])} shapes"
        )
    return "\n".join(lines)


def _stats_table(stats: dict, family: str) -> list[str]:
    """Markdown rows of every error statistic per (dtype, kind) for one family."""
    lines = [
        "| dtype | kind | n | MAPE % | median % | p90 % | max % | bias % | Spearman |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for (dtype, kind, fam), t in stats.items():
        if fam == family:
            lines.append(
                f"| {dtype} | {kind} | {t['n']} | {t['mape']:.1f} | {t['median_ape']:.1f} "
                f"| {t['p90_ape']:.1f} | {t['max_ape']:.0f} | {t['bias']:+.1f} "
                f"| {t['spearman']:.3f} |"
            )
    return lines


def format_constants(report: dict) -> str:
    """The fitted constants as Python source for simulators/gpu/calibration.py."""
    lines = ["H100_EFFICIENCY: dict[tuple[str, str, str], Efficiency] = {"]
    for key, e in sorted(report["efficiency"].items()):
        args = ", ".join(f"{name}={value:.4g}" for name, value in e.items())
        lines.append(f"    {key!r}: Efficiency({args}),")
    lines.append("}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Validate the GPU GEMM model on held-out families")
    p.add_argument("--gemm-csv", default=str(GEMM_CSV))
    p.add_argument("--triton-csv", default=str(TRITON_CSV))
    p.add_argument("--plot", help="write the predicted-vs-measured PNG here")
    p.add_argument(
        "--no-refit",
        action="store_true",
        help="use the shipped constants instead of fitting on the training split",
    )
    p.add_argument("--no-baseline", action="store_true", help="skip the random-forest baseline")
    p.add_argument("--fit", action="store_true", help="print the fitted constants as Python")
    p.add_argument(
        "--lofo", action="store_true", help="also run leave-one-family-out cross-validation"
    )
    args = p.parse_args(argv)
    report = run_validation(
        args.gemm_csv,
        args.triton_csv,
        refit=not args.no_refit,
        baseline=not args.no_baseline,
        plot=args.plot,
    )
    print(format_report(report))
    if args.lofo:
        print("\nLeave-one-family-out (every family predicted by a fit on the others):\n")
        print("| dtype | kind | n | MAPE % | median % | p90 % | bias % | Spearman |")
        print("|---|---|---|---|---|---|---|---|")
        for (dtype, kind), st in leave_one_family_out(args.gemm_csv).items():
            print(
                f"| {dtype} | {kind} | {st['n']} | {st['mape']:.1f} | {st['median_ape']:.1f} "
                f"| {st['p90_ape']:.1f} | {st['bias']:+.1f} | {st['spearman']:.3f} |"
            )
    if args.fit:
        print(format_constants(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
