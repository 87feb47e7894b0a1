"""Validation of the GEMM model against measurements: ``archgym gpu validate``.

Every table puts the model next to two baselines on the same rows: the naive roofline
(``measurements.roofline_us``) and a learned baseline (``cost_models.gpu_regression``, a random
forest trained on the other rows: the training families of the same device's packaged data).
The measured data ship with the package (``simulators/gpu/data/*.csv``, copies of data/gpu/).

* ``device_report``: held-out families of one device's campaign, with the shipped constants
  (or constants refitted on the training families, ``refit``); for a device calibrated from
  the H100 the zero-shot (H100 constants) column is added;
* ``csv_report``: every row of a new CSV against the frozen model (prospective check);
* ``few_shot_report``: calibrate from at most N kernels of a device starting from the H100
  constants, errors on the rest;
* ``triton_report``: whether the tile the model ranks best runs within 10 % of the best.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
from archgym.simulators.gpu.calibration import load_calibration
from archgym.simulators.gpu.fitting import calibrate, predict_rows, row_key
from archgym.simulators.gpu.measurements import (
    error_stats,
    load_measurements,
    roofline_us,
    shape_class,
    tile_of,
)
from archgym.simulators.gpu.predictor import GemmModel

__all__ = [
    "DATASETS",
    "add_baselines",
    "csv_report",
    "data_path",
    "device_report",
    "few_shot_model",
    "few_shot_report",
    "format_tables",
    "triton_report",
    "zero_shot_model",
]

# Packaged measurement sets per device: (dense library CSV, Triton tiles CSV, prospective CSVs).
DATASETS = {
    "h100-sxm": (
        "h100_gemm.csv",
        "h100_triton_tiles.csv",
        ("h100_gemm_prospective.csv", "h100_gemm_prospective2.csv"),
    ),
    # h200_dense_prospective2.csv: measured after the v3 freeze (data/gpu/README.md).
    "h200-sxm": ("h200_dense.csv", "h200_triton_tiles.csv", ("h200_dense_prospective2.csv",)),
}
COLUMNS = ("model", "zero_shot", "few_shot", "full", "roofline", "learned")


def data_path(name: str) -> Path | None:
    """Path of a packaged measurement CSV, or None if not shipped."""
    entry = resources.files("archgym.simulators.gpu").joinpath("data", name)
    return Path(str(entry)) if entry.is_file() else None


def _layout(r: dict) -> str:
    return f"{r['a_major'][0]}{r['b_major'][0]}"  # rr, rc, cr, cc


def add_baselines(rows: list[dict], train: list[dict], device: str, learned: bool = True) -> None:
    """``pred_roofline`` and ``pred_learned`` (random forest on ``train``) on every row."""
    from archgym.cost_models.gpu_regression import GemmRegressor

    for key in {(r["dtype"], r["kind"]) for r in rows}:
        sel = [r for r in rows if (r["dtype"], r["kind"]) == key]
        for r, p in zip(sel, roofline_us(device, *_mnk(sel), *key), strict=True):
            r["pred_roofline"] = float(p)
    lib = [r for r in train if r["backend"] != "triton"]
    if not learned or len(lib) < 10:
        return
    reg = GemmRegressor("random_forest", seed=0).fit(*_features(lib), [r["time_us"] for r in lib])
    for r, p in zip(rows, reg.predict_us(*_features(rows)), strict=True):
        r["pred_learned"] = float(p)


def _mnk(rows):
    return tuple(np.array([r[x] for r in rows], float) for x in ("m", "n", "k"))


def _features(rows):
    return (
        *_mnk(rows),
        [r["dtype"] for r in rows],
        [r["kind"] for r in rows],
        [r["b_major"] for r in rows],
    )


def zero_shot_model(device: str) -> GemmModel:
    """The H100 constants only (no constants borrowed from another device's campaign)."""
    return GemmModel(device, efficiency=load_calibration("h100-sxm", borrow=False))


def _predict(model: GemmModel, rows: list[dict], column: str) -> None:
    for r, p in zip(rows, predict_rows(model, rows), strict=True):
        r[f"pred_{column}"] = float(p)


def _tables(rows: list[dict], by=("dtype", "kind", "layout")) -> dict:
    """Error statistics per group and predictor column present on the rows."""
    out: dict = {}
    for r in rows:
        r["layout"] = _layout(r)
        r["shape_class"] = shape_class(r)
    for key in sorted({tuple(r[b] for b in by) for r in rows}):
        sel = [r for r in rows if tuple(r[b] for b in by) == key]
        meas = [r["time_us"] for r in sel]
        out[key] = {
            col: error_stats([r[f"pred_{col}"] for r in sel], meas)
            for col in COLUMNS
            if all(f"pred_{col}" in r for r in sel)
        }
    return out


def device_report(device: str = "h100-sxm", *, refit: bool = False, baseline: bool = True) -> dict:
    """Held-out errors on one device's packaged campaign (see the module docstring)."""
    dense_name, triton_name, prospective = DATASETS[device]
    path = data_path(dense_name)
    if path is None:
        raise FileNotFoundError(f"no packaged measurements for {device} ({dense_name})")
    rows = load_measurements(path)
    if refit:
        constants, _ = calibrate(rows, device, start=load_calibration(device))
        model = GemmModel(device, efficiency={**load_calibration(device), **constants})
    else:
        model = GemmModel(device)
    _predict(model, rows, "model")
    if device != "h100-sxm":
        _predict(zero_shot_model(device), rows, "zero_shot")
    train = [r for r in rows if not r["test"]]
    add_baselines(rows, train, device, baseline)
    test = [r for r in rows if r["test"]]
    report = {
        "device": device,
        "test": _tables(test),
        "train": _tables(train),
        "families": _tables(test, by=("family", "dtype")),
        "class_summary": _tables(test, by=("shape_class",)),
        "classes": _tables(test, by=("dtype", "shape_class")),
    }
    tri = data_path(triton_name)
    if tri is not None:
        report["triton"] = triton_report(model, load_measurements(tri))
    for name in prospective:
        report[f"prospective {name}"] = csv_report(data_path(name), device, baseline=baseline)[
            "all"
        ]
    return report


def csv_report(
    csv_path, device: str, *, baseline: bool = True, few_shot: int | None = None, seed: int = 0
) -> dict:
    """Every row of a measurement CSV (all treated as held out) against the frozen model.

    Library rows get the model, the zero-shot column (H100 constants) for another device, the
    roofline and the learned baseline; with ``few_shot`` also the model calibrated from that
    many kernels of the device's packaged training families (``few_shot_report``'s fit).
    Triton rows (a tile sweep) get ``triton_report``.
    """
    every = load_measurements(csv_path, holdout=())
    rows = [r for r in every if r["backend"] != "triton"]
    tiles = [r for r in every if r["backend"] == "triton"]
    model = GemmModel(device)
    report: dict = {"device": device}
    if tiles:
        report["triton"] = triton_report(model, tiles)
    if not rows:
        return report
    _predict(model, rows, "model")
    if device != "h100-sxm":
        _predict(zero_shot_model(device), rows, "zero_shot")
    if few_shot:
        _predict(few_shot_model(device, few_shot, seed)[0], rows, "few_shot")
    dense_name = DATASETS.get(device, DATASETS["h100-sxm"])[0]
    train_path = data_path(dense_name) or data_path(DATASETS["h100-sxm"][0])
    add_baselines(rows, load_measurements(train_path, holdout=()), device, baseline)
    return {
        **report,
        "pooled": _tables(rows, ("kind",)),
        "by_dtype": _tables(rows, ("dtype",)),
        "all": _tables(rows),
        "families": _tables(rows, ("family",)),
        "class_summary": _tables(rows, ("shape_class",)),
        "classes": _tables(rows, ("dtype", "shape_class")),
    }


def few_shot_model(
    device: str, max_kernels: int, seed: int
) -> tuple[GemmModel, list[dict], list[dict]]:
    """(model, sample, rows): ``device`` calibrated from <= ``max_kernels`` of its packaged
    training kernels, starting from the H100 constants."""
    rows = load_measurements(data_path(DATASETS[device][0]))
    start = load_calibration("h100-sxm", borrow=False)
    constants, sample = calibrate(rows, device, start=start, max_kernels=max_kernels, seed=seed)
    return GemmModel(device, efficiency={**start, **constants}), sample, rows


def few_shot_report(
    device: str = "h200-sxm", *, max_kernels: int = 50, seed: int = 0, baseline: bool = True
) -> dict:
    """Calibrate ``device`` from <= ``max_kernels`` of its kernels from the H100 constants.

    The kernels are drawn from the training families; errors are on the held-out families,
    next to the zero-shot model (H100 constants), the full calibration (shipped constants,
    fitted on every training row), the roofline and the learned baseline (trained on the
    same few kernels).
    """
    model, sample, rows = few_shot_model(device, max_kernels, seed)
    test = [r for r in rows if r["test"] and r["kind"] == "dense" and r["backend"] != "triton"]
    _predict(model, test, "model")
    _predict(zero_shot_model(device), test, "zero_shot")
    _predict(GemmModel(device), test, "full")
    add_baselines(test, sample, device, baseline)
    return {
        "device": device,
        "kernels": len(sample),
        "heldout": _tables(test, ("dtype", "kind")),
        "class_summary": _tables(test, ("shape_class",)),
    }


def triton_report(model: GemmModel, rows: list[dict]) -> dict:
    """Per Triton shape: measured best, time of the model's pick, pick / best, model MAPE."""
    _predict(model, rows, "model")
    out = {}
    for source in sorted({r["source"] for r in rows}):
        sel = [r for r in rows if r["source"] == source]
        best = min(r["time_us"] for r in sel)
        r0 = sel[0]
        order = model.rank_tiles(r0["m"], r0["n"], r0["k"], r0["dtype"], [tile_of(r) for r in sel])
        pick = sel[order[0]]
        out[source] = {
            "test": sel[0]["test"],
            "best_us": best,
            "picked_us": pick["time_us"],
            "picked_over_best": pick["time_us"] / best,
            "stats": error_stats([r["pred_model"] for r in sel], [r["time_us"] for r in sel]),
        }
    return out


def _stats_lines(title: str, tables: dict, by: tuple[str, ...]) -> list[str]:
    cols = [c for c in COLUMNS if any(c in t for t in tables.values())]
    head = " | ".join(by)
    lines = [
        "",
        f"{title}: MAPE % per predictor; model bias % and Spearman",
        "",
        f"| {head} | n | " + " | ".join(cols) + " | model bias | model Spearman |",
        "|" + "---|" * (len(by) + len(cols) + 3),
    ]
    for key, t in tables.items():
        n = t["model"]["n"]
        cells = " | ".join(f"{t[c]['mape']:.1f}" if c in t else "-" for c in cols)
        lines.append(
            f"| {' | '.join(map(str, key))} | {n} | {cells} "
            f"| {t['model']['bias']:+.1f} | {t['model']['spearman']:.3f} |"
        )
    return lines


def format_tables(report: dict) -> str:
    """A report (any of the ``*_report`` functions) as Markdown tables."""
    dev = report.get("device", "")
    lines: list[str] = [
        f"Device {dev}; columns: model, zero_shot (H100 constants), few_shot (calibrated "
        "from N of the device's training kernels), full (the device's shipped calibration), "
        "roofline (datasheet peaks), learned (random forest on other rows)"
    ]
    names = {
        "test": ("Held-out families", ("dtype", "kind", "layout")),
        "train": ("Training families (fitted on)", ("dtype", "kind", "layout")),
        "families": ("Held-out by family", ("family", "dtype")),
        "pooled": ("Every row of the CSV pooled", ("kind",)),
        "by_dtype": ("Per dtype, every layout", ("dtype",)),
        "all": ("Every row of the CSV", ("dtype", "kind", "layout")),
        "heldout": (
            f"Few-shot ({report.get('kernels')} kernels of the training families; model = "
            "few-shot, full = every training row), held-out families",
            ("dtype", "kind"),
        ),
        "class_summary": ("By shape class (size/alignment bytes), every dtype", ("shape_class",)),
        "classes": ("By dtype and shape class", ("dtype", "shape_class")),
    }
    for key, (title, by) in names.items():
        if report.get(key):
            by = ("family",) if key == "families" and "all" in report else by
            lines += _stats_lines(title, report[key], by)
    for key in sorted(k for k in report if k.startswith("prospective")):
        lines += _stats_lines(key, report[key], ("dtype", "kind", "layout"))
    if report.get("triton"):
        lines += [
            "",
            "| Triton shape | held out | best (us) | model's pick (us) | pick/best | MAPE % |",
            "|---|---|---|---|---|---|",
        ]
        for source, s in report["triton"].items():
            lines.append(
                f"| {source} | {'yes' if s['test'] else 'no'} | {s['best_us']:.1f} "
                f"| {s['picked_us']:.1f} | {s['picked_over_best']:.3f} | {s['stats']['mape']:.1f} |"
            )
        ok = sum(s["picked_over_best"] <= 1.10 for s in report["triton"].values())
        lines.append(
            f"\nModel's best tile within 10 % of the measured best: "
            f"{ok}/{len(report['triton'])} shapes"
        )
    return "\n".join(lines)


def row_keys(rows: list[dict]) -> list:
    """Calibration keys present in rows (for reports)."""
    return sorted({row_key(r) for r in rows})
