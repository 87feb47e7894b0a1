"""Efficiency constants calibrated on the H100 training split, and the fit that makes them.

The constants below were produced by ``python experiments/gpu/validate.py --fit`` from the
TRAINING families of data/gpu/h100_gemm.csv and data/gpu/h100_triton_tiles.csv only (see
docs/gpu.md); the held-out families never enter the fit.
"""

from __future__ import annotations

from dataclasses import asdict, replace

import numpy as np

from simulators.gpu.model import Efficiency

__all__ = ["H100_EFFICIENCY", "fit_efficiency"]

H100_EFFICIENCY: dict[tuple[str, str, str], Efficiency] = {
    ("bf16", "dense", "library"): Efficiency(
        mma=0.8205,
        hbm=0.7438,
        sm_load_bytes_per_clk=122.3,
        launch_us=6.178,
        reduce_us=3.297,
        misaligned=0.1362,
        spill=20,
        misaligned_us=0.01416,
        l2_scale=2.291,
        k_iter_ns=0,
        latency_us=0.6524,
        compressed_hbm=1,
    ),
    ("bf16", "sparse24", "library"): Efficiency(
        mma=0.7318,
        hbm=0.7076,
        sm_load_bytes_per_clk=137.1,
        launch_us=8.533,
        reduce_us=2,
        misaligned=0.2,
        spill=20,
        misaligned_us=1e-10,
        l2_scale=1.967,
        k_iter_ns=0,
        latency_us=1.874,
        compressed_hbm=0.6162,
    ),
    ("fp16", "dense", "library"): Efficiency(
        mma=0.7839,
        hbm=0.739,
        sm_load_bytes_per_clk=509.7,
        launch_us=5.798,
        reduce_us=2.741,
        misaligned=0.1385,
        spill=20,
        misaligned_us=0.0001359,
        l2_scale=2.168,
        k_iter_ns=0,
        latency_us=0.6297,
        compressed_hbm=1,
    ),
    ("fp16", "dense", "triton"): Efficiency(
        mma=0.8207,
        hbm=0.739,
        sm_load_bytes_per_clk=44.85,
        launch_us=4.552,
        reduce_us=2.741,
        misaligned=0.1385,
        spill=67.15,
        misaligned_us=0.0001359,
        l2_scale=2.002,
        k_iter_ns=90.87,
        latency_us=0.6297,
        compressed_hbm=1,
    ),
    ("fp16", "sparse24", "library"): Efficiency(
        mma=0.5204,
        hbm=1,
        sm_load_bytes_per_clk=510.9,
        launch_us=10.89,
        reduce_us=4.416,
        misaligned=0.02001,
        spill=20,
        misaligned_us=1e-10,
        l2_scale=4,
        k_iter_ns=0,
        latency_us=1.631,
        compressed_hbm=0.3632,
    ),
    ("fp32", "dense", "library"): Efficiency(
        mma=0.7757,
        hbm=0.8286,
        sm_load_bytes_per_clk=399.3,
        launch_us=7.874,
        reduce_us=2.748,
        misaligned=0.9082,
        spill=20,
        misaligned_us=9.333e-13,
        l2_scale=0.5102,
        k_iter_ns=0,
        latency_us=0.1001,
        compressed_hbm=1,
    ),
    ("fp8", "dense", "library"): Efficiency(
        mma=0.7436,
        hbm=0.6714,
        sm_load_bytes_per_clk=390.6,
        launch_us=6.389,
        reduce_us=1.197,
        misaligned=0.9951,
        spill=20,
        misaligned_us=1e-10,
        l2_scale=2.062,
        k_iter_ns=0,
        latency_us=0.6728,
        compressed_hbm=1,
    ),
    ("int8", "dense", "library"): Efficiency(
        mma=0.4998,
        hbm=0.5389,
        sm_load_bytes_per_clk=183,
        launch_us=5.694,
        reduce_us=6.961,
        misaligned=0.4192,
        spill=20,
        misaligned_us=5.316,
        l2_scale=1.054,
        k_iter_ns=0,
        latency_us=1.642,
        compressed_hbm=1,
    ),
}

# Parameters fitted and their bounds; the rest keep their given values.
_BOUNDS = {
    "mma": (0.05, 1.0),
    "hbm": (0.2, 1.0),
    "sm_load_bytes_per_clk": (8.0, 512.0),
    "launch_us": (0.5, 30.0),
    "reduce_us": (0.0, 30.0),
    "misaligned": (0.02, 1.0),
    "spill": (0.0, 200.0),
    "l2_scale": (0.25, 4.0),
    "misaligned_us": (0.0, 30.0),
    "k_iter_ns": (0.0, 500.0),
    "latency_us": (0.1, 10.0),
    "compressed_hbm": (0.1, 1.0),
}


def fit_efficiency(
    predict_us, measured_us, start: Efficiency, params: tuple[str, ...]
) -> Efficiency:
    """Least-squares fit of ``params`` minimising log(predicted / measured) (robust loss).

    ``predict_us(eff) -> array`` predicts the training rows for a candidate ``Efficiency``.
    """
    from scipy.optimize import least_squares

    measured = np.log(np.asarray(measured_us, dtype=float))
    lo = np.array([_BOUNDS[p][0] for p in params])
    hi = np.array([_BOUNDS[p][1] for p in params])
    x0 = np.clip([asdict(start)[p] for p in params], lo, hi)

    def residual(x):
        pred = predict_us(replace(start, **dict(zip(params, x, strict=True))))
        return np.log(np.maximum(pred, 1e-3)) - measured

    fit = least_squares(
        residual, x0, bounds=(lo, hi), loss="soft_l1", f_scale=0.1, diff_step=1e-3, max_nfev=400
    )
    return replace(start, **{p: float(v) for p, v in zip(params, fit.x, strict=True)})
