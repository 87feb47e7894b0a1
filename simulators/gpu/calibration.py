"""Calibrated efficiency constants as versioned data files, and the least-squares fit.

The constants of each device live in ``simulators/gpu/data/<device>_<library>.json`` (package
data; ``library`` is ``library`` for cuBLAS / cuSPARSELt kernels and ``triton`` for the
Triton tiles). Each file names the measurement CSV it was fitted from (with its SHA-256) and
the command that regenerates it (byte for byte on any x86-64 CPU with AVX2, where the CLI fits
on pinned code paths, ``archgym.numerics``; elsewhere an equally good fit,
``fitting.calibration_agreement``)::

    archgym gpu calibrate data/gpu/h100_gemm.csv --device h100-sxm \
        -o simulators/gpu/data/h100-sxm_library.json

Constants are written rounded to ``SIGNIFICANT`` digits. ``load_calibration(device)`` merges
the device's files over the H100's (the reference: a device without its own file, or without
an entry, borrows the H100 constants, an extrapolation).
"""

from __future__ import annotations

import json
from dataclasses import asdict, fields, replace
from functools import cache
from importlib import resources

import numpy as np
from archgym.simulators.gpu.model import Efficiency

__all__ = [
    "FORMAT",
    "calibration_json",
    "fit_efficiency",
    "load_calibration",
    "parse_calibration",
    "shipped_files",
]

FORMAT = 2
SIGNIFICANT = 4
REFERENCE = "h100-sxm"
LIBRARIES = ("library", "triton")
Key = tuple[str, str, str]


def shipped_files() -> dict[tuple[str, str], str]:
    """``(device, library) -> JSON text`` of every calibration file shipped in the package."""
    out = {}
    for entry in resources.files("archgym.simulators.gpu").joinpath("data").iterdir():
        name = entry.name
        if name.endswith(".json") and "_" in name:
            device, library = name[: -len(".json")].rsplit("_", 1)
            out[(device, library)] = entry.read_text()
    return out


def parse_calibration(text: str, where: str = "calibration") -> dict[Key, Efficiency]:
    """The ``(dtype, kind, backend) -> Efficiency`` entries of a calibration file's JSON text."""
    doc = json.loads(text)
    if doc.get("format") != FORMAT:
        raise ValueError(f"{where}: format {doc.get('format')!r}, expected {FORMAT}")
    names = {f.name for f in fields(Efficiency)}
    out = {}
    for key, values in doc["constants"].items():
        unknown = set(values) - names
        if unknown:
            raise ValueError(f"{where}: {key}: unknown constant(s) {', '.join(sorted(unknown))}")
        dtype, kind, backend = key.split("/")
        out[(dtype, kind, backend)] = Efficiency(**values)
    return out


@cache
def _load(device: str, borrow: bool) -> tuple[tuple[Key, Efficiency], ...]:
    files = shipped_files()
    merged: dict[Key, Efficiency] = {}
    for dev in dict.fromkeys((REFERENCE, device)):
        for lib in LIBRARIES:
            if (dev, lib) in files:
                merged.update(parse_calibration(files[(dev, lib)], f"{dev}_{lib}.json"))
    # The int8 nn (WMMA) kernel is calibrated on whichever Hopper campaign timed it.
    for (dev, lib), text in sorted(files.items()) if borrow else ():
        for key, eff in parse_calibration(text, f"{dev}_{lib}.json").items():
            if key[2] == "wmma":
                merged.setdefault(key, eff)
    return tuple(merged.items())


def load_calibration(device: str = REFERENCE, *, borrow: bool = True) -> dict[Key, Efficiency]:
    """Shipped constants of ``device`` over the H100's (see the module docstring).

    ``borrow``: take the int8 nn (``wmma``) constants from another device's file where the
    device has none (off for the start of a fit, so that a fit never reads its own output).
    """
    return dict(_load(device, borrow))


def _round(value: float) -> float:
    return float(f"{value:.{SIGNIFICANT}g}")


def calibration_json(
    constants: dict[Key, Efficiency], *, device: str, library: str, source: dict
) -> str:
    """The calibration file's text: deterministic (sorted keys, rounded constants)."""
    doc = {
        "format": FORMAT,
        "device": device,
        "library": library,
        "source": source,
        "constants": {
            "/".join(key): {name: _round(v) for name, v in asdict(eff).items()}
            for key, eff in sorted(constants.items())
        },
    }
    return json.dumps(doc, indent=1, sort_keys=True) + "\n"


def __getattr__(name: str):
    if name == "H100_EFFICIENCY":  # the shipped H100 constants (compatibility name)
        return load_calibration(REFERENCE)
    raise AttributeError(name)


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
    "pj_per_flop": (0.0, 5.0),
    "gemv_us": (0.0, 30.0),
    "sm80_mma": (0.02, 1.0),
    "sm80_bytes_per_clk": (1.0, 256.0),
}


def fit_efficiency(
    predict_us, measured_us, start: Efficiency, params: tuple[str, ...], restarts: int = 2
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

    fits = [
        least_squares(
            residual, x, bounds=(lo, hi), loss="soft_l1", f_scale=0.1, diff_step=1e-3, max_nfev=400
        )
        for x in [x0, *_restarts(params, x0, lo, hi, restarts)]
    ]
    # the first of equal costs (within 1e-9): where a parameter does not change the loss (an
    # energy per operation whose power limit never binds) it keeps its start value
    best = min(f.cost for f in fits)
    fit = next(f for f in fits if f.cost <= best * (1.0 + 1e-9))
    return replace(start, **{p: float(v) for p, v in zip(params, fit.x, strict=True)})


def _restarts(params, x0, lo, hi, count: int) -> list[np.ndarray]:
    """Extra starting points: ``pj_per_flop`` (the power model) at 1 and 2 pJ per FLOP, and
    ``k_iter_ns`` (Triton's cost per K step) at 10 and 20 ns.

    The fit has local minima where the power limit is off and other constants absorb the
    slowdown of large kernels, and where Triton's per-step cost is 0 and the load bandwidth
    absorbs it; restarting from each lets the training rows decide.
    """
    out = []
    for name, values in (("pj_per_flop", (1.0, 2.0)), ("k_iter_ns", (10.0, 20.0))):
        if name not in params:
            continue
        i = params.index(name)
        for v in values[:count]:
            x = np.array(x0, dtype=float)
            x[i] = np.clip(v, lo[i], hi[i])
            out.append(x)
    return out
