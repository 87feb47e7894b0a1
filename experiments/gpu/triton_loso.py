"""Leave one H200 Triton tile set out: the case for fitting every seeded set (docs/gpu.md, v14).

For each seeded tile set (``recalibrate.H200_TRITON`` but the sweep), two Triton calibrations
are fitted by ``archgym gpu calibrate`` (pinned code paths, so the figures repeat): on the
training sweep alone (the v13 recipe) and on the sweep plus the other seeded sets (v14); each
predicts the left-out set. Prints per set the mean |error| (%), the bias (%) and the shapes
whose model-picked tile runs within 10 % of the best, then the means.

    python experiments/gpu/triton_loso.py      # about 2 minutes
"""

from __future__ import annotations

import argparse
import runpy
import sys
import tempfile
from pathlib import Path

import numpy as np
from archgym.simulators.gpu import GemmModel
from archgym.simulators.gpu.calibration import load_calibration, parse_calibration
from archgym.simulators.gpu.fitting import predict_rows
from archgym.simulators.gpu.measurements import load_measurements, tile_of

from archgym.cli import main as archgym_main

HERE = Path(__file__).resolve().parent
DATA = HERE.parents[1] / "data" / "gpu"
SWEEP, *SETS = runpy.run_path(str(HERE / "recalibrate.py"))["H200_TRITON"]


def _fit(names: list[str], out: Path) -> GemmModel:
    argv = ["gpu", "calibrate", *(str(DATA / n) for n in names), "--device", "h200-sxm"]
    if archgym_main([*argv, "-o", str(out)]) != 0:
        raise SystemExit(2)
    eff = {**load_calibration("h200-sxm"), **parse_calibration(out.read_text())}
    return GemmModel("h200-sxm", efficiency=eff)


def _score(model: GemmModel, name: str) -> tuple[float, float, int, int]:
    """Mean |error| %, bias %, shapes picked within 10 % of the best, shapes."""
    rows = [r for r in load_measurements(DATA / name, holdout=()) if r["backend"] == "triton"]
    err = predict_rows(model, rows) / np.array([r["time_us"] for r in rows]) - 1.0
    ok = shapes = 0
    for source in sorted({r["source"] for r in rows}):
        sel = [r for r in rows if r["source"] == source]
        r0 = sel[0]
        order = model.rank_tiles(r0["m"], r0["n"], r0["k"], r0["dtype"], [tile_of(r) for r in sel])
        ok += sel[order[0]]["time_us"] <= 1.10 * min(r["time_us"] for r in sel)
        shapes += 1
    return float(np.abs(err).mean() * 100), float(err.mean() * 100), ok, shapes


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args(argv)
    tmp = Path(tempfile.mkdtemp())
    lines = [
        "| left out | sweep only: MAPE / bias / picks | sweep + other sets: MAPE / bias / picks |"
    ]
    lines.append("|---|---|---|")
    totals = {"sweep": [], "all": []}
    for name in SETS:
        cells = []
        for mode, names in (("sweep", [SWEEP]), ("all", [SWEEP, *(s for s in SETS if s != name)])):
            score = _score(_fit(names, tmp / f"{mode}.json"), name)
            totals[mode].append(score)
            cells.append(f"{score[0]:.1f} / {score[1]:+.1f} / {score[2]}/{score[3]}")
        lines.append(f"| {name} | {cells[0]} | {cells[1]} |")
    means = []
    for mode in ("sweep", "all"):
        t = np.array(totals[mode])
        means.append(
            f"{t[:, 0].mean():.1f} / {t[:, 1].mean():+.1f} / {int(t[:, 2].sum())}/{int(t[:, 3].sum())}"
        )
    lines.append(f"| mean (picks: sum) | {means[0]} | {means[1]} |")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
