"""Measured GEMM timings: reading the CSVs, error statistics, and the trivial baselines.

A measurement CSV (data/gpu/*.csv, ``archgym gpu measure``) has one kernel per row with columns
``family, m, n, k, dtype, kind, backend, time_us, status`` and optionally ``a_major``,
``b_major`` (operand storage order, ``row`` or ``col``) and a Triton tile (``block_m, block_n,
block_k, num_warps, num_stages``). Rows without layout columns take ``MEASURED_LAYOUT``: the
layouts the H100 harness (experiments/gpu/measure_gemm.py) used, row-major A and B except fp8 and
int8, whose B was column-major (``torch._scaled_mm`` needs it; ``torch._int_mm`` was given
``w.t()``). Only rows with ``status == ok`` are kept.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from archgym.simulators.gpu.devices import GPUSpec, check_kind, get_device, get_dtype

__all__ = [
    "MEASURED_LAYOUT",
    "TEST_FAMILIES",
    "error_stats",
    "load_measurements",
    "roofline_us",
    "shape_class",
]

MEASURED_LAYOUT = {"fp8": ("row", "col"), "int8": ("row", "col")}
# Families held out of every calibration fit: the H100 split of issue 5, plus the H200
# campaign's random draw and LLM layers (data/gpu/h200_dense.csv).
TEST_FAMILIES = frozenset(
    {"llm:llama3-8b", "llm:gpt2", "cnn:resnet50", "random:1", "random:3", "random:5", "random"}
)
_TILE_KEYS = ("block_m", "block_n", "block_k", "num_warps", "num_stages")
LAYOUTS = ("row", "col")


def _where(path, i: int, field: str) -> str:
    return f"{path} row {i}: `{field}`"


def load_measurements(path: Path | str, holdout=TEST_FAMILIES) -> list[dict]:
    """Rows with status ``ok``: sizes as int, ``time_us`` float, layouts filled, ``test`` flag.

    Raises ValueError naming the file, row and field of a malformed value.
    """
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        need = {"family", "m", "n", "k", "dtype", "kind", "time_us", "status"}
        missing = need - set(reader.fieldnames or [])
        if missing:
            raise ValueError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
        rows = []
        for i, r in enumerate(reader, start=1):
            if r["status"] != "ok":
                continue
            try:
                for key in ("m", "n", "k"):
                    r[key] = int(r[key])
                    if r[key] <= 0:
                        raise ValueError
                r["time_us"] = float(r["time_us"])
                get_dtype(r["dtype"])
                check_kind(r["kind"])
            except ValueError as exc:
                raise ValueError(
                    f"{path} row {i}: bad value ({exc or 'not a positive size'})"
                ) from None
            default = MEASURED_LAYOUT.get(r["dtype"], ("row", "row"))
            for j, key in enumerate(("a_major", "b_major")):
                r[key] = (r.get(key) or "").strip() or default[j]
                if r[key] not in LAYOUTS:
                    raise ValueError(f"{_where(path, i, key)} must be row or col, got {r[key]!r}")
            r["backend"] = (r.get("backend") or "").strip() or "cublas"
            r["test"] = r["family"] in holdout
            rows.append(r)
    return rows


def tile_of(row: dict):
    """The Triton tile of a measured row (``TileConfig``)."""
    from archgym.simulators.gpu.model import TileConfig

    return TileConfig(*(int(float(row[key])) for key in _TILE_KEYS))


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


def roofline_us(device: GPUSpec | str, m, n, k, dtype: str, kind: str = "dense") -> np.ndarray:
    """Naive roofline in us: max(FLOPs / datasheet peak, operand + result bytes / datasheet HBM)."""
    dev = get_device(device)
    dt = get_dtype(dtype)
    m, n, k = (np.asarray(x, dtype=float) for x in (m, n, k))
    rate = dev.sparse24_rate(dtype) if kind == "sparse24" else dev.peak_flops[dtype]
    b_fac = 0.5 + 0.125 / dt.in_bytes if kind == "sparse24" else 1.0
    nbytes = (m * k + k * n * b_fac) * dt.in_bytes + m * n * dt.out_bytes
    return np.maximum(2.0 * m * n * k / rate, nbytes / dev.hbm_bytes_per_s) * 1e6


# FLOP bounds of the size classes of ``shape_class``.
TINY_FLOP = 1e8
HUGE_FLOP = 1e12


def shape_class(row: dict) -> str:
    """Size and alignment class of a measured row, for per-class error tables.

    Size: ``gemv-m1`` / ``gemv-n1`` (m or n = 1), ``tiny`` (< 1e8 FLOP: launch-bound),
    ``small-m`` (m <= 32), ``huge`` (>= 1e12 FLOP: power-limited), else ``mid``. Alignment:
    the widest load (bytes, up to 16) at which every row of A, B and C starts for the row's
    layouts (``a16`` = TMA-aligned; ``a8``, ``a4``, ``a2``, ``a1``: legacy kernel paths).
    """
    m, n, k = row["m"], row["n"], row["k"]
    flop = 2.0 * m * n * k
    if n == 1:
        size = "gemv-n1"
    elif m == 1:
        size = "gemv-m1"
    elif flop < TINY_FLOP:
        size = "tiny"
    elif m <= 32:
        size = "small-m"
    elif flop >= HUGE_FLOP:
        size = "huge"
    else:
        size = "mid"
    lda = k if row.get("a_major", "row") == "row" else m
    ldb = n if row.get("b_major", "row") == "row" else k
    ld = int(np.gcd(np.gcd(lda, ldb), n))
    in_bytes = get_dtype(row["dtype"]).in_bytes
    acc = int(min(16, np.gcd(int(ld * in_bytes), 16))) if in_bytes >= 1 else 16
    return f"{size}/a{acc}"
