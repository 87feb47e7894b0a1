"""Calibrate a device from measured kernels: the fit behind ``archgym gpu calibrate``.

Rows are grouped by calibration key ``(dtype, kind, backend)``: ``library`` for cuBLAS /
cuSPARSELt rows, ``wmma`` for int8 with a row-major B (a different kernel), ``triton`` for
Triton tiles (fp16). Each group's constants are fitted by ``fit_efficiency`` on the rows whose
family is not held out (``measurements.TEST_FAMILIES``). A few-shot fit (``max_kernels``)
starts from another device's constants and refits only ``FEW_SHOT_PARAMS`` on a seeded sample
of at most ``max_kernels`` training rows in all.
"""

from __future__ import annotations

import hashlib
import os
import random
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
from archgym.simulators.gpu.calibration import Key, calibration_json, fit_efficiency
from archgym.simulators.gpu.measurements import load_measurements, tile_of
from archgym.simulators.gpu.model import LEGACY_DTYPES, Efficiency, leading_dims, library_path
from archgym.simulators.gpu.predictor import GemmModel

__all__ = [
    "FEW_SHOT_PARAMS",
    "NEW_KEY_PARAMS",
    "calibrate",
    "calibrate_file",
    "calibration_agreement",
    "kernel_path",
    "row_key",
]

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
    "pj_per_flop",
)
LEGACY_PARAMS = ("legacy_bytes_per_clk", "legacy_latency_us")
TRITON_PARAMS = ("mma", "sm_load_bytes_per_clk", "launch_us", "spill", "l2_scale", "k_iter_ns")
# The physical quantities that differ between two GPUs of one architecture (the H100 and the
# H200 share the SM, its clocks and the 700 W limit): the achieved share of the memory's
# bandwidth and the fixed cost per kernel (driver, launch path), plus the extra fixed cost of
# 16-bit split-K matrix-vector kernels (``gemv_us``; an offset) and the rate and load rate of
# the sm80 (cp.async, mma.sync) kernels of 4/8-byte aligned 16-bit rows (``sm80_*``: factors on
# the start's values, or on its sm75 ones where the start has none). A few-shot fit refits
# these device-wide; ``mma`` (math efficiency) can be added for GPUs with other SMs or clocks.
FEW_SHOT_PARAMS = ("hbm", "launch_us", "gemv_us", "sm80_mma", "sm80_bytes_per_clk")
# A transfer fit on every training row of the new device (``--start``) refits these per key,
# and the energy per operation (``pj_per_flop``): the 700 W limit is shared, but the power left
# to the SMs is not (the H200's HBM3e and board differ), so the sustained clock of large
# kernels is the device's own (dense v14: the H200's compute-bound 2:4 baselines, never
# fitted, 4.9 / 6.9 -> 4.6 / 5.6 % for bf16 / fp16).
TRANSFER_PARAMS = ("hbm", "launch_us", "pj_per_flop")
# ... and, for the dense 16-bit library keys, the sm80 kernels' own constants on the new
# device's sm80 rows (the start device's own campaign may have had few large ones).
TRANSFER_LEGACY_PARAMS = ("sm80_mma", "sm80_bytes_per_clk")
# ... and then the sm75 kernels' mma.sync rate (``misaligned``) on the new device's sm75 rows
# (dense v20: the H100's campaign has few large sm75 shapes; on the H200 the fit lands at
# 0.167 x ``mma`` of the bf16 peak, 138 TFLOP/s, where the large unaligned sm75 kernels of
# data/gpu/raw/h200_kernels_unaligned.csv run at 128-148 TFLOP/s in three layouts, 98-108 with a
# row-major A and column-major B); their load rate and latency stay the start's.
TRANSFER_SM75_PARAMS = ("misaligned",)
#: Fewest rows of a kernel path that refit its constants in a transfer (fewer: the start's).
MIN_PATH_ROWS = 4
# The extra fixed cost of 16-bit n = 1 and aligned m = 1 (``Efficiency.gemv_us``: cuBLAS splits
# K over 8-wide tiles there and adds a reduction kernel) is fitted for the dense bf16 / fp16
# library keys, from scratch (the H100's m = 1 rows) and in a transfer fit (the new device's
# m = 1 and n = 1 rows); fp32's matrix-vector kernels stream at the HBM rate without it (the
# H100's m = 1 rows).
GEMV_PARAMS = ("gemv_us",)
# ``sm80_*`` stay 0 (the sm75 values) in a fit from scratch: ``Efficiency``'s defaults
START = Efficiency(sm_load_bytes_per_clk=128.0, l2_scale=2.0, misaligned=0.2, pj_per_flop=0.5)


def row_key(row: dict) -> Key:
    """Calibration key of a measured row."""
    if row["backend"] == "triton":
        return (row["dtype"], row["kind"], "triton")
    if row["dtype"] == "int8" and row["b_major"] == "row":
        return (row["dtype"], row["kind"], "wmma")
    return (row["dtype"], row["kind"], "library")


def predict_rows(model: GemmModel, rows: list[dict]) -> np.ndarray:
    """The model's time (us) of each row, with its layout and (Triton) tile."""
    out = np.empty(len(rows))
    groups: dict[tuple, list[int]] = {}
    for i, r in enumerate(rows):
        triton = r["backend"] == "triton"
        groups.setdefault((r["dtype"], r["kind"], r["a_major"], r["b_major"], triton), []).append(i)
    for (dtype, kind, am, bm, triton), idx in groups.items():
        sel = [rows[i] for i in idx]
        m, n, k = (np.array([r[x] for r in sel], float) for x in ("m", "n", "k"))
        tiles = [tile_of(r) for r in sel] if triton else None
        out[idx] = model.predict_batch_us(m, n, k, dtype, kind, tiles, a_major=am, b_major=bm)
    return out


#: Two fits of one CSV agree when their mean |error| on its rows differs by at most this many
#: percentage points and their row predictions by a median of at most ``AGREE_MEDIAN_PCT``.
#: The CLI fits on pinned code paths (``archgym.numerics``: byte for byte on any x86-64 CPU
#: with AVX2); where nothing can be pinned the fit's flat directions (``pj_per_flop`` against
#: ``mma``, say) can land it on other constants of equal cost, which this accepts.
AGREE_ERR_PP = 0.25
AGREE_MEDIAN_PCT = 1.0


def calibration_agreement(
    device: str,
    shipped: str,
    regenerated: str,
    csv: str | os.PathLike | Sequence[str | os.PathLike],
) -> dict:
    """How two calibration files (JSON text) of ``device`` differ on the rows of ``csv`` (one
    CSV or several):
    ``err_shipped`` / ``err_regenerated``, each one's mean |predicted / measured - 1| (%);
    ``median_pct`` / ``p95_pct``, the median and 95th percentile of |log ratio| of their
    row predictions (%); ``agree``: within ``AGREE_ERR_PP`` and ``AGREE_MEDIAN_PCT``."""
    from archgym.simulators.gpu.calibration import load_calibration, parse_calibration

    rows = [r for path in _csv_paths(csv) for r in load_measurements(path, holdout=())]
    preds = []
    for text in (shipped, regenerated):
        eff = {**load_calibration(device), **parse_calibration(text)}
        preds.append(predict_rows(GemmModel(device, efficiency=eff), rows))
    a, b = preds
    t = np.array([r["time_us"] for r in rows])
    ok = np.isfinite(a) & np.isfinite(b)
    dev = np.abs(np.log(b[ok] / a[ok])) * 100.0
    out = {
        "rows": int(ok.sum()),
        "err_shipped": float(np.mean(np.abs(a[ok] / t[ok] - 1.0)) * 100.0),
        "err_regenerated": float(np.mean(np.abs(b[ok] / t[ok] - 1.0)) * 100.0),
        "median_pct": float(np.median(dev)),
        "p95_pct": float(np.percentile(dev, 95)),
    }
    out["agree"] = (
        abs(out["err_regenerated"] - out["err_shipped"]) <= AGREE_ERR_PP
        and out["median_pct"] <= AGREE_MEDIAN_PCT
    )
    return out


def _params(key: Key, few_shot: bool) -> tuple[str, ...]:
    gemv = GEMV_PARAMS if _library16_key(key) else ()
    if few_shot:
        return TRANSFER_PARAMS + gemv
    if key[2] == "triton":
        return TRITON_PARAMS
    params = LIBRARY_PARAMS + (("compressed_hbm",) if key[1] == "sparse24" else ())
    legacy = (key[0] in LEGACY_DTYPES and key[1] == "dense") or key[2] == "wmma"
    return params + (LEGACY_PARAMS if legacy else ()) + gemv


def _sample(rows: list[dict], max_kernels: int, seed: int, device: str) -> list[dict]:
    """At most ``max_kernels`` rows, spread over the calibration keys and, within a key, over
    the kernel paths the library takes (``kernel_path``: TMA, sm80, sm75, matrix-vector), so that
    every device-wide correction of ``FEW_SHOT_PARAMS`` sees the kernels it acts on (seeded)."""
    rng = random.Random(seed)
    rows = sorted(rows, key=lambda r: (row_key(r), r["m"], r["n"], r["k"], r["b_major"]))
    rng.shuffle(rows)
    group = [(row_key(r), kernel_path(r, device)) for r in rows]
    keys = sorted(set(group))
    per_key = {key: [r for r, g in zip(rows, group, strict=True) if g == key] for key in keys}
    out: list[dict] = []
    while len(out) < max_kernels and any(per_key.values()):
        for key in keys:
            if per_key[key] and len(out) < max_kernels:
                out.append(per_key[key].pop())
    return out


# Device-wide corrections of a few-shot transfer: name -> (initial value, lower, upper bound).
_TRANSFER = {
    "mma": (1.0, 0.5, 1.5),
    "hbm": (1.0, 0.5, 2.0),
    "launch_us": (0.0, -3.0, 10.0),
    "gemv_us": (0.0, -15.0, 15.0),  # an offset: the start's own cost can shrink (not below 0)
    "sm80_mma": (1.0, 0.5, 3.0),
    "sm80_bytes_per_clk": (1.0, 0.3, 3.0),
}
# Constants a few-shot fit refits per key for a kernel the start device never ran (int8 nn).
NEW_KEY_PARAMS = ("misaligned", "legacy_latency_us", "launch_us")


def _scaled(start: Mapping[Key, Efficiency], x, params=FEW_SHOT_PARAMS) -> dict[Key, Efficiency]:
    """``start`` with the device-wide corrections ``x`` (factors on mma and hbm, offsets on
    launch_us and, for the 16-bit dense library keys, gemv_us, and factors on their sm80
    constants, untied from the sm75 ones where the start has none) for the ``params`` given."""
    fix = dict(zip(params, x, strict=True))
    out = {}
    for key, eff in start.items():
        eff = replace(
            eff,
            mma=min(1.0, eff.mma * fix.get("mma", 1.0)),
            hbm=min(1.0, eff.hbm * fix.get("hbm", 1.0)),
            launch_us=max(0.0, eff.launch_us + fix.get("launch_us", 0.0)),
        )
        if _library16_key(key):
            eff = replace(
                eff,
                gemv_us=max(0.0, eff.gemv_us + fix.get("gemv_us", 0.0)),
                sm80_mma=min(1.0, (eff.sm80_mma or eff.misaligned) * fix.get("sm80_mma", 1.0)),
                sm80_bytes_per_clk=(eff.sm80_bytes_per_clk or eff.legacy_bytes_per_clk)
                * fix.get("sm80_bytes_per_clk", 1.0),
            )
        out[key] = eff
    return out


def _library16_key(key: Key) -> bool:
    """The dense bf16 / fp16 library keys: their n = 1 kernels pay ``Efficiency.gemv_us`` and
    their 4/8-byte aligned rows run the sm80 kernels (``sm80_*``)."""
    return key[0] in LEGACY_DTYPES and key[1:] == ("dense", "library")


def _joint_transfer(
    train: list[dict], device: str, start: dict[Key, Efficiency]
) -> dict[Key, Efficiency]:
    """Few-shot: device-wide corrections of ``start`` (``FEW_SHOT_PARAMS``) fitted at once.

    A factor on every HBM efficiency, an offset on every launch cost and, for the bf16 / fp16
    library keys, an offset on the split-K matrix-vector cost and factors on the sm80 kernels'
    rate and load rate (a factor on every math efficiency where ``mma`` is listed): what
    changes between two GPUs of one architecture (memory technology, driver, the pre-Hopper
    kernels' share of the new SM), not per-kernel detail that a few kernels cannot pin down.
    Rows of a kernel that ``start`` has no constants for (the int8 nn kernel where the start
    device never ran it) stay out of that fit; their key then refits ``NEW_KEY_PARAMS`` on
    its own rows, from the same dtype's library constants.
    """
    from scipy.optimize import least_squares

    known = [r for r in train if row_key(r) in start]
    measured = np.log([r["time_us"] for r in known])
    params = FEW_SHOT_PARAMS

    def residual(x):
        model = GemmModel(device, efficiency=_scaled(start, x, params))
        return np.log(np.maximum(predict_rows(model, known), 1e-3)) - measured

    fit = least_squares(
        residual,
        [_TRANSFER[p][0] for p in params],
        bounds=([_TRANSFER[p][1] for p in params], [_TRANSFER[p][2] for p in params]),
        loss="soft_l1",
        f_scale=0.1,
        diff_step=1e-3,
        max_nfev=200,
    )
    keys = {row_key(r) for r in train}
    out = {k: e for k, e in _scaled(start, fit.x, params).items() if k in keys or k[2] != "triton"}
    for key in sorted(keys - set(start)):
        sel = [r for r in train if row_key(r) == key]
        first = out.get((key[0], key[1], "library"), START)

        def predict(eff, sel=sel, key=key):
            return predict_rows(GemmModel(device, efficiency={**out, key: eff}), sel)

        out[key] = fit_efficiency(predict, [r["time_us"] for r in sel], first, NEW_KEY_PARAMS)
    return out


def calibrate(
    rows: list[dict],
    device: str,
    *,
    start: Mapping[Key, Efficiency] | None = None,
    max_kernels: int | None = None,
    seed: int = 0,
    transfer: bool = False,
) -> tuple[dict[Key, Efficiency], list[dict]]:
    """Constants per calibration key fitted on the training rows; also returns those rows.

    ``start``: constants to fall back on for keys without rows; with ``transfer`` (another
    device's constants) the fit starts from them and, where ``start`` has the key, refits only
    ``TRANSFER_PARAMS`` (plus ``gemv_us`` for the 16-bit library keys, then their sm80
    constants, ``TRANSFER_LEGACY_PARAMS``, on their sm80 rows and their sm75 rate,
    ``TRANSFER_SM75_PARAMS``, on their sm75 rows); ``max_kernels``: few-shot mode,
    device-wide corrections ``FEW_SHOT_PARAMS`` on a sample (``_joint_transfer``).
    """
    train = [r for r in rows if not r["test"]]
    few_shot = transfer or max_kernels is not None
    if max_kernels is not None:
        train = _sample(train, max_kernels, seed, device)
        return _joint_transfer(train, device, dict(start or {})), train
    out: dict[Key, Efficiency] = {}
    base = dict(start or {})
    keys = sorted({row_key(r) for r in train}, key=lambda key: key[2] == "triton")
    for key in keys:
        sel = [r for r in train if row_key(r) == key]
        if key[2] == "triton":
            first = base.get(key) if few_shot else None
            first = (
                first
                or out.get(("fp16", "dense", "library"))
                or base.get(("fp16", "dense", "library"), Efficiency())
            )
        else:
            first = base.get(key, START) if few_shot else START

        def fit(first, sel, params, key=key):
            def predict(cand):
                return predict_rows(GemmModel(device, efficiency={**base, **out, key: cand}), sel)

            return fit_efficiency(predict, [r["time_us"] for r in sel], first, params)

        if not (few_shot and key in base and _library16_key(key)):
            out[key] = fit(first, sel, _params(key, few_shot and key in base))
            continue
        # 16-bit transfer: hbm and launch on the TMA and matrix-vector rows, then the sm80
        # kernels' own constants on the sm80 rows, then the sm75 rate on the sm75 rows
        paths = [kernel_path(r, device) for r in sel]
        tiles = [r for r, p in zip(sel, paths, strict=True) if p not in ("sm80", "sm75")]
        out[key] = fit(first, tiles, _params(key, True))
        # the sm80 constants untied from the sm75 ones (``START``'s tie), so that refitting
        # either path's constants never moves the other's
        eff = out[key]
        out[key] = replace(
            eff,
            sm80_mma=eff.sm80_mma or eff.misaligned,
            sm80_bytes_per_clk=eff.sm80_bytes_per_clk or eff.legacy_bytes_per_clk,
        )
        for path, params in (("sm80", TRANSFER_LEGACY_PARAMS), ("sm75", TRANSFER_SM75_PARAMS)):
            on_path = [r for r, p in zip(sel, paths, strict=True) if p == path]
            if len(on_path) >= MIN_PATH_ROWS:
                out[key] = fit(out[key], on_path, params)
    return out, train


def kernel_path(row: dict, device: str) -> str:
    """The kernel path the library runs a row on (``model.PATHS``, or ``gemv`` where m or n
    is 1)."""
    if min(row["m"], row["n"]) == 1:
        return "gemv"
    ld = leading_dims(row["m"], row["n"], row["k"], row["a_major"], row["b_major"])
    return str(library_path(row["n"], row["k"], row["dtype"], row["kind"], ld=ld, device=device))


def _csv_paths(csv: str | os.PathLike | Sequence[str | os.PathLike]) -> list[Path]:
    """One path or several as Paths; ValueError for none or one file given twice."""
    paths = [Path(csv)] if isinstance(csv, (str, os.PathLike)) else [Path(p) for p in csv]
    if not paths:
        raise ValueError("no measurement CSV given")
    seen: set[Path] = set()
    for path in paths:
        if path.resolve() in seen:
            raise ValueError(f"{path}: given twice (its rows would count double)")
        seen.add(path.resolve())
    return paths


def calibrate_file(
    csv_path: str | os.PathLike | Sequence[str | os.PathLike],
    device: str,
    *,
    start: Mapping[Key, Efficiency] | None = None,
    max_kernels: int | None = None,
    seed: int = 0,
    start_device: str | None = None,
) -> str:
    """The calibration file text (``calibration_json``) fitted from measurement CSVs (one
    path, or several whose rows are fitted together; each file is recorded with its hash).

    ``start_device``: the device ``start`` came from, for a transfer fit (recorded).
    """
    paths = _csv_paths(csv_path)
    # 2:4 kernels have their own model and fit (simulators/gpu/sparse.py, sparse-kernels.json):
    # the dense calibration leaves their rows out.
    rows = [r for path in paths for r in load_measurements(path) if r["kind"] != "sparse24"]
    if not rows:
        raise ValueError(f"{'+'.join(map(str, paths))}: no timed rows (status ok, not 2:4) to fit")
    constants, train = calibrate(
        rows,
        device,
        start=start,
        max_kernels=max_kernels,
        seed=seed,
        transfer=start_device is not None,
    )
    library = "triton" if all(r["backend"] == "triton" for r in rows) else "library"
    digests = [hashlib.sha256(path.read_bytes()).hexdigest() for path in paths]
    source = {
        "file": "+".join(path.name for path in paths),
        "sha256": digests[0] if len(paths) == 1 else digests,
        "rows": len(rows),
        "fit_rows": len(train),
        "few_shot": max_kernels,
        "start": start_device,
        "seed": seed if max_kernels is not None else None,
    }
    return calibration_json(constants, device=device, library=library, source=source)
