"""Few-shot transfer over sample seeds, on every H200 dense blind set (issue 12).

The few-shot fit (``archgym gpu calibrate --max-kernels 50 --start h100-sxm``) calibrates the
H200 from 50 of its packaged training kernels, starting from the H100 constants. Which 50 it
draws depends on ``--seed``, so one seed's figure says little: this prints, per seed, the
few-shot model's MAPE on the 16-bit rows and on every row of the H200 dense blind sets
(``data/gpu/h200_dense_prospective*.csv``, library kernels; none of them is in any fit), then
the mean and range over the seeds, next to a learned baseline (a random forest trained on the
same 50 kernels, per seed), the zero-shot model (H100 constants), the full transfer (the
shipped H200 calibration, fitted on every training row) and the naive roofline, on the same
rows.

    python experiments/gpu/few_shot_seeds.py            # 8 seeds, about 15 s
    python experiments/gpu/few_shot_seeds.py --seeds 3
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
from archgym.simulators.gpu import GemmModel
from archgym.simulators.gpu.fitting import predict_rows
from archgym.simulators.gpu.measurements import load_measurements, roofline_us
from archgym.simulators.gpu.validation import add_baselines, few_shot_model, zero_shot_model

DATA = Path(__file__).resolve().parents[2] / "data" / "gpu"
DEVICE = "h200-sxm"


def blind_rows() -> list[dict]:
    """Library rows of every H200 dense blind set."""
    paths = sorted(DATA.glob("h200_dense_prospective*.csv"))
    return [
        r
        for p in paths
        for r in load_measurements(p, holdout=())
        if r["backend"] != "triton" and r["kind"] == "dense"
    ]


def mape(pred: np.ndarray | list[float], rows: list[dict]) -> float:
    """Mean |predicted / measured - 1| (%)."""
    t = np.array([r["time_us"] for r in rows])
    return float(np.mean(np.abs(np.asarray(pred) / t - 1.0)) * 100.0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=8, help="seeds 0 .. N-1 (default 8)")
    ap.add_argument("--kernels", type=int, default=50, help="few-shot sample size (default 50)")
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore")  # spearmanr on constant columns in load_measurements
    rows = blind_rows()
    sets = {"16-bit": [r for r in rows if r["dtype"] in ("bf16", "fp16")], "every dtype": rows}

    def both(model) -> list[float]:
        return [mape(predict_rows(model, sel), sel) for sel in sets.values()]

    print(f"H200 dense blind sets: {len(sets['16-bit'])} 16-bit rows, {len(rows)} in all")
    print(f"| predictor | {' MAPE % | '.join(sets)} MAPE % |")
    print("|---|---|---|")
    few, learned = [], []
    for seed in range(args.seeds):
        model, sample, _ = few_shot_model(DEVICE, args.kernels, seed)
        few.append(both(model))
        if len(sample) >= 10:  # the forest needs ten kernels (validation.add_baselines)
            add_baselines(rows, sample, DEVICE)
            learned.append([mape([r["pred_learned"] for r in sel], sel) for sel in sets.values()])
        print(f"| few-shot {args.kernels}, seed {seed} | {few[-1][0]:.2f} | {few[-1][1]:.2f} |")

    def spread(arr) -> str:
        arr = np.array(arr)
        return " | ".join(
            f"{arr[:, i].mean():.2f} ({arr[:, i].min():.2f}-{arr[:, i].max():.2f})"
            for i in range(arr.shape[1])
        )

    print(f"| **few-shot {args.kernels}, mean (range) over {args.seeds} seeds** | {spread(few)} |")
    if learned:
        print(
            f"| learned (random forest on the same {args.kernels}), mean (range) | {spread(learned)} |"
        )
    for name, model in (("zero-shot (H100 constants)", zero_shot_model(DEVICE)),
                        ("full transfer (shipped)", GemmModel(DEVICE))):  # fmt: skip
        print(f"| {name} | {' | '.join(f'{x:.2f}' for x in both(model))} |")
    roof = [
        mape([float(roofline_us(DEVICE, r["m"], r["n"], r["k"], r["dtype"])) for r in sel], sel)
        for sel in sets.values()
    ]
    print(f"| naive roofline | {' | '.join(f'{x:.2f}' for x in roof)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
