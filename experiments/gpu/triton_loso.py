"""Leave one H200 Triton tile set out: the case for fitting every seeded set (docs/gpu.md, v14).

For each seeded tile set (``recalibrate.H200_TRITON`` but the sweep), two Triton calibrations
are fitted by ``archgym gpu calibrate`` (pinned code paths, so the figures repeat): on the
training sweep alone (the v13 recipe) and on the sweep plus the other seeded sets (v14); each
predicts the left-out set. Prints per set the mean |error| (%), the bias (%) and the shapes
whose model-picked tile runs within 10 % of the best, next to two trivial baselines on the same
rows: the naive roofline's mean |error| and a constant pick (the configuration nearest the best
on average over the fitted sets). Then the shipped model's picks on every Triton file (the
README's count).

    python experiments/gpu/triton_loso.py      # about 2 minutes
"""

from __future__ import annotations

import argparse
import runpy
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import astuple
from pathlib import Path

import numpy as np
from archgym.simulators.gpu import GemmModel
from archgym.simulators.gpu.calibration import load_calibration, parse_calibration
from archgym.simulators.gpu.measurements import load_measurements, roofline_us, tile_of
from archgym.simulators.gpu.validation import triton_report

from archgym.cli import main as archgym_main

HERE = Path(__file__).resolve().parent
DATA = HERE.parents[1] / "data" / "gpu"
SWEEP, *SETS = runpy.run_path(str(HERE / "recalibrate.py"))["H200_TRITON"]
WITHIN = 1.10  # a pick counts within 10 % of the measured best


def _rows(name: str) -> list[dict]:
    return [r for r in load_measurements(DATA / name, holdout=()) if r["backend"] == "triton"]


def _fit(names: list[str], out: Path) -> GemmModel:
    argv = ["gpu", "calibrate", *(str(DATA / n) for n in names), "--device", "h200-sxm"]
    if archgym_main([*argv, "-o", str(out)]) != 0:
        raise SystemExit(2)
    eff = {**load_calibration("h200-sxm"), **parse_calibration(out.read_text())}
    return GemmModel("h200-sxm", efficiency=eff)


def _picks(model: GemmModel, rows: list[dict]) -> tuple[int, int]:
    """Shapes whose model-picked tile runs within ``WITHIN`` of the best, and shapes
    (``triton_report``, which also sets each row's ``pred_model``)."""
    rep = triton_report(model, rows)
    return sum(s["picked_over_best"] <= WITHIN for s in rep.values()), len(rep)


def _score(model: GemmModel, rows: list[dict]) -> tuple[float, float, int, int]:
    """Mean |error| %, bias %, picks and shapes of the model."""
    picks, shapes = _picks(model, rows)
    err = np.array([r["pred_model"] / r["time_us"] - 1.0 for r in rows])
    return float(np.abs(err).mean() * 100), float(err.mean() * 100), picks, shapes


def _by_shape(rows: list[dict]) -> dict[str, dict[tuple, float]]:
    """Time over the shape's best, per configuration, per shape."""
    out: dict[str, dict[tuple, float]] = {}
    for r in rows:
        out.setdefault(r["source"], {})[astuple(tile_of(r))] = r["time_us"]
    return {s: {c: t / min(ts.values()) for c, t in ts.items()} for s, ts in out.items()}


def _baselines(fitted: list[str], left_out: list[dict]) -> tuple[float, int]:
    """Roofline mean |error| % on the left-out rows, and the picks within ``WITHIN`` of the
    one configuration with the lowest mean time-over-best on the fitted sets' shapes."""
    roof = np.array(
        [
            roofline_us("h200-sxm", r["m"], r["n"], r["k"], r["dtype"]) / r["time_us"]
            for r in left_out
        ]
    )
    seen = _by_shape([r for name in fitted for r in _rows(name)])
    configs = set.intersection(*(set(ratios) for ratios in seen.values()))
    const = min(sorted(configs), key=lambda c: np.mean([ratios[c] for ratios in seen.values()]))
    picks = sum(ratios.get(const, np.inf) <= WITHIN for ratios in _by_shape(left_out).values())
    return float(np.abs(roof - 1.0).mean() * 100), picks


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args(argv)
    tmp = Path(tempfile.mkdtemp())
    lines = [
        "| left out | sweep only: MAPE / bias / picks | sweep + other sets: MAPE / bias / picks "
        "| roofline MAPE | constant pick |",
        "|---|---|---|---|---|",
    ]
    totals: dict[str, list] = {"sweep": [], "all": [], "base": []}
    sweep_only = _fit([SWEEP], tmp / "sweep.json")  # the same fit for every left-out set
    # each fit runs in its own pinned child process (archgym.numerics): two at a time
    with ThreadPoolExecutor(max_workers=2) as pool:
        others = {
            name: pool.submit(
                _fit, [SWEEP, *(s for s in SETS if s != name)], tmp / f"all-{name}.json"
            )
            for name in SETS
        }
    for name in SETS:
        rows = _rows(name)
        fits = (("sweep", [SWEEP]), ("all", [SWEEP, *(s for s in SETS if s != name)]))
        cells = []
        for mode, _ in fits:
            model = sweep_only if mode == "sweep" else others[name].result()
            score = _score(model, rows)
            totals[mode].append(score)
            cells.append(f"{score[0]:.1f} / {score[1]:+.1f} / {score[2]}/{score[3]}")
        roof, const = _baselines(fits[1][1], rows)
        totals["base"].append((roof, const))
        lines.append(f"| {name} | {cells[0]} | {cells[1]} | {roof:.1f} | {const}/{score[3]} |")
    means = []
    for mode in ("sweep", "all"):
        t = np.array(totals[mode])
        means.append(
            f"{t[:, 0].mean():.1f} / {t[:, 1].mean():+.1f} / {int(t[:, 2].sum())}/{int(t[:, 3].sum())}"
        )
    b = np.array(totals["base"])
    shapes = int(np.array(totals["all"])[:, 3].sum())
    lines.append(
        f"| mean (picks: sum) | {means[0]} | {means[1]} | {b[:, 0].mean():.1f} "
        f"| {int(b[:, 1].sum())}/{shapes} |"
    )
    ok = total = 0
    for device, pattern in (
        ("h100-sxm", "h100_triton_tiles*.csv"),
        ("h200-sxm", "h200_triton_tiles*.csv"),
    ):
        for path in sorted(DATA.glob(pattern)):
            picks, shapes = _picks(GemmModel(device), _rows(path.name))
            ok, total = ok + picks, total + shapes
    lines.append(
        f"\nShipped model, every Triton file: pick within 10 % of the best on {ok} of {total} shapes"
    )
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
