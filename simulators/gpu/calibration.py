"""Efficiency constants calibrated on the H100 training split, and the fit that makes them.

The constants below were produced by ``python experiments/gpu/validate.py --fit`` (second
pass of issue 5: kernel paths, nvjet tiles, dirty-L2 term) from the TRAINING families of
data/gpu/h100_gemm.csv and data/gpu/h100_triton_tiles.csv only (see docs/gpu.md); the
held-out families never enter the fit.
"""

from __future__ import annotations

from dataclasses import asdict, replace

import numpy as np
from archgym.simulators.gpu.model import Efficiency

__all__ = ["H100_EFFICIENCY", "fit_efficiency"]

H100_EFFICIENCY: dict[tuple[str, str, str], Efficiency] = {
    ("bf16", "dense", "library"): Efficiency(
        mma=0.807,
        hbm=0.8805,
        sm_load_bytes_per_clk=73.34,
        launch_us=5.288,
        reduce_us=3.71,
        misaligned=0.1976,
        spill=20,
        misaligned_us=0.8929,
        l2_scale=1.892,
        k_iter_ns=0,
        latency_us=0.7205,
        compressed_hbm=1,
        legacy_bytes_per_clk=10.56,
        legacy_latency_us=0.9375,
        l2_dirty=0.4091,
    ),
    ("bf16", "sparse24", "library"): Efficiency(
        mma=0.7309,
        hbm=0.5462,
        sm_load_bytes_per_clk=128,
        launch_us=8.297,
        reduce_us=2,
        misaligned=0.2,
        spill=20,
        misaligned_us=1e-10,
        l2_scale=1.978,
        k_iter_ns=0,
        latency_us=1.864,
        compressed_hbm=0.9192,
        legacy_bytes_per_clk=16,
        legacy_latency_us=0.6,
        l2_dirty=0.3104,
    ),
    ("fp16", "dense", "library"): Efficiency(
        mma=0.7719,
        hbm=0.8803,
        sm_load_bytes_per_clk=67.97,
        launch_us=5.179,
        reduce_us=4.374,
        misaligned=0.1896,
        spill=20,
        misaligned_us=2.655e-06,
        l2_scale=2.171,
        k_iter_ns=0,
        latency_us=0.5403,
        compressed_hbm=1,
        legacy_bytes_per_clk=9.441,
        legacy_latency_us=0.9679,
        l2_dirty=0.4229,
    ),
    ("fp16", "dense", "triton"): Efficiency(
        mma=0.8582,
        hbm=0.8803,
        sm_load_bytes_per_clk=51.15,
        launch_us=4.588,
        reduce_us=4.374,
        misaligned=0.1896,
        spill=70.18,
        misaligned_us=2.655e-06,
        l2_scale=2.135,
        k_iter_ns=125.5,
        latency_us=0.5403,
        compressed_hbm=1,
        legacy_bytes_per_clk=9.441,
        legacy_latency_us=0.9679,
        l2_dirty=0.4229,
    ),
    ("fp16", "sparse24", "library"): Efficiency(
        mma=0.5935,
        hbm=0.7814,
        sm_load_bytes_per_clk=129.9,
        launch_us=10.51,
        reduce_us=0.7562,
        misaligned=0.0209,
        spill=20,
        misaligned_us=0.002535,
        l2_scale=2.116,
        k_iter_ns=0,
        latency_us=1.582,
        compressed_hbm=0.5372,
        legacy_bytes_per_clk=16,
        legacy_latency_us=0.6,
        l2_dirty=0.5372,
    ),
    ("fp32", "dense", "library"): Efficiency(
        mma=0.776,
        hbm=0.8318,
        sm_load_bytes_per_clk=463.6,
        launch_us=7.815,
        reduce_us=2.807,
        misaligned=0.8745,
        spill=20,
        misaligned_us=2.302e-05,
        l2_scale=0.5184,
        k_iter_ns=0,
        latency_us=0.1,
        compressed_hbm=1,
        legacy_bytes_per_clk=16,
        legacy_latency_us=0.6,
        l2_dirty=0.5517,
    ),
    ("fp8", "dense", "library"): Efficiency(
        mma=0.739,
        hbm=0.7171,
        sm_load_bytes_per_clk=123.9,
        launch_us=5.721,
        reduce_us=1.732,
        misaligned=0.2,
        spill=20,
        misaligned_us=1e-10,
        l2_scale=1.711,
        k_iter_ns=0,
        latency_us=0.7686,
        compressed_hbm=1,
        legacy_bytes_per_clk=16,
        legacy_latency_us=0.6,
        l2_dirty=0.09998,
    ),
    ("int8", "dense", "library"): Efficiency(
        mma=0.4986,
        hbm=0.6854,
        sm_load_bytes_per_clk=128.6,
        launch_us=5.46,
        reduce_us=6.786,
        misaligned=0.4217,
        spill=20,
        misaligned_us=8.726,
        l2_scale=1.052,
        k_iter_ns=0,
        latency_us=1.571,
        compressed_hbm=1,
        legacy_bytes_per_clk=16,
        legacy_latency_us=0.6,
        l2_dirty=0.2348,
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
    "legacy_bytes_per_clk": (1.0, 256.0),
    "legacy_latency_us": (0.1, 10.0),
    "l2_dirty": (0.0, 1.0),
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
