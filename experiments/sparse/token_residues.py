"""Measured 2:4 time over the model without its token-alignment terms, by m mod 16 (2:4 v12).

For every H200 2:4 campaign (the training and probe files in data/gpu, the first run of each
blind set in data/gpu/raw), torch's default kernel, fp16 / bf16, compute-bound rows
(m * n * k >= 2^33): the median over each token count's rows of the measured time over the
shipped model with ``align_frac = 1`` and without the pad kernels (at the padded m, which
differs from m by at most 7 tokens). Token counts off a multiple of 16 sort by m mod 16
(docs/sparse_gpu.md, "2:4 v12"; the pad profile, experiments/sparse/token_residues.csv, says
why).

``--off-tile`` prints instead fp16's off-tile term (the mainloop at ``mis_frac`` where the
padded m is off the 256-wide token tile) by residue class of the padded m: the median measured
time over the model without the term (``mis_frac = 1``) next to the model's own factor, per
class of padded m mod 256 (docs/sparse_gpu.md, the twenty-first set).

``--m-sweep`` prints the token-count sweep (``data/gpu/raw/h200_sparse24_offtile_m_run_*.csv``,
fp16, m = 512 ... 16384 + r at three (n, k)): the time at m + r over the time at m.

``--sweep`` prints the designed off-tile sweep (``data/gpu/h200_sparse24_offtile.csv``, fp16,
m = 1024 / 3072 + r at two (n, k)): measured time over the model without the term, per r.

    python experiments/sparse/token_residues.py
    python experiments/sparse/token_residues.py --off-tile
    python experiments/sparse/token_residues.py --sweep
    python experiments/sparse/token_residues.py --m-sweep
"""

from __future__ import annotations

import argparse
import csv
from dataclasses import replace
from pathlib import Path

import numpy as np
from archgym.simulators.gpu.sparse import (
    _sparse24_params,
    pad_time_s,
    padded_tokens,
    sparse24_time_us,
)

DATA = Path(__file__).resolve().parents[2] / "data" / "gpu"
DEVICE = "h200-sxm"
CLASSES = (("2-7", range(1, 8)), ("8", (8,)), ("9-15", range(9, 16)))


def rows(paths=None) -> list[dict]:
    """The torch-default, compute-bound 16-bit 2:4 rows of every H200 campaign file (or of
    ``paths``)."""
    if paths is None:
        paths = sorted(DATA.glob("h200_sparse24*.csv")) + sorted(
            (DATA / "raw").glob("h200_sparse24_prospective*_run_a.csv")
        )
    out = []
    for path in paths:
        with open(path) as f:
            for r in csv.DictReader(f):
                m, n, k = (int(r[c]) for c in ("m", "n", "k"))
                if (r["kind"], r["variant"], r["status"]) != ("sparse24", "default", "ok"):
                    continue
                if r["dtype"] in ("fp16", "bf16") and m * n * k >= 2**33:
                    out.append(
                        {"m": m, "n": n, "k": k, "dtype": r["dtype"], "t": float(r["time_us"])}
                    )
    return out


def ratios(sel: list[dict]) -> dict[tuple[str, int], float]:
    """(dtype, m) -> median measured / unaligned-term-free model."""
    out: dict[tuple[str, int], list[float]] = {}
    for dtype in ("fp16", "bf16"):
        p = replace(_sparse24_params(DEVICE, dtype, "torch-default")[0], align_frac=1.0)
        part = [r for r in sel if r["dtype"] == dtype]
        m, n, k = (np.array([r[c] for r in part]) for c in ("m", "n", "k"))
        model = sparse24_time_us(DEVICE, m, n, k, dtype, params=p)
        model = model - pad_time_s(m, k, dtype, DEVICE) * 1e6
        for r, pred in zip(part, model, strict=True):
            out.setdefault((dtype, r["m"]), []).append(r["t"] / pred)
    return {key: float(np.median(v)) for key, v in out.items()}


#: Classes of the padded token count's residue r = m mod 256 (m off the tile: r > 0).
OFF_TILE_CLASSES = (
    ("r = 8 mod 16", lambda r: r % 16 == 8),
    ("r = 0 mod 16, r < 128", lambda r: r % 16 == 0 and r < 128),
    ("r = 0 mod 16, r >= 128", lambda r: r % 16 == 0 and r >= 128),
)


def _fp16_over_flat(part: list[dict]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(m, measured / flat, model / flat) of fp16 rows; flat: the model without the off-tile
    term (``mis_frac = 1``)."""
    m, n, k = (np.array([r[c] for r in part]) for c in ("m", "n", "k"))
    p = _sparse24_params(DEVICE, "fp16", "torch-default")[0]
    flat = sparse24_time_us(DEVICE, m, n, k, "fp16", params=replace(p, mis_frac=1.0))
    model = sparse24_time_us(DEVICE, m, n, k, "fp16")
    return m, np.array([r["t"] for r in part]) / flat, model / flat


def off_tile_lines(sel: list[dict]) -> list[str]:
    """fp16 rows whose padded m is off the 256-wide tile: measured and modelled over the model
    without the off-tile term, medians per residue class."""
    part = [r for r in sel if r["dtype"] == "fp16" and padded_tokens(r["m"]) % 256]
    m, meas, model = _fp16_over_flat(part)
    res = padded_tokens(m) % 256
    lines = ["| padded m mod 256 | rows | token counts | measured / flat | model / flat |"]
    lines.append("|---|---|---|---|---|")
    for label, test in OFF_TILE_CLASSES:
        on = np.array([test(int(r)) for r in res])
        lines.append(
            f"| {label} | {int(on.sum())} | {len(set(m[on].tolist()))} | "
            f"{np.median(meas[on]):.2f} | {np.median(model[on]):.2f} |"
        )
    return lines


def sweep_lines() -> list[str]:
    """Per residue r of the designed sweep: measured / model without the off-tile term, for
    each (base m, n, k), then the model's own factor (2:4 v13's ``off_tile_weight`` steps)."""
    sel = [r for r in rows((DATA / "h200_sparse24_offtile.csv",)) if r["dtype"] == "fp16"]
    cols = sorted({(r["m"] // 256 * 256, r["n"], r["k"]) for r in sel})
    _, meas, model = _fp16_over_flat(sel)
    ratio = {
        (r["m"] % 256, r["m"] // 256 * 256, r["n"], r["k"]): (a, b)
        for r, a, b in zip(sel, meas, model, strict=True)
    }
    head = " | ".join(f"m = {b} + r, {n} x {k}" for b, n, k in cols)
    lines = [f"| r | {head} |", "|---" * (len(cols) + 1) + "|"]
    for res in sorted({key[0] for key in ratio}):
        cells = [ratio.get((res, *c)) for c in cols]
        lines.append(
            f"| {res} | "
            + " | ".join(f"{c[0]:.2f} ({c[1]:.2f})" if c else "-" for c in cells)
            + " |"
        )
    return lines


def m_sweep_lines() -> list[str]:
    """The token-count sweep (both runs, ``data/gpu/raw/h200_sparse24_offtile_m_run_*.csv``):
    the default fp16 2:4 kernel's mean time at m + r over its time at m, per base m and (n, k),
    r = 8 / 64 / 160 (2:4 v14, docs/sparse_gpu.md)."""
    times: dict[tuple, list[float]] = {}
    for path in sorted((DATA / "raw").glob("h200_sparse24_offtile_m_run_*.csv")):
        for r in rows((path,)):
            times.setdefault((r["m"], r["n"], r["k"]), []).append(r["t"])
    mean = {key: float(np.mean(v)) for key, v in times.items()}
    cols = list(dict.fromkeys((n, k) for _, n, k in mean))  # the sweep file's order
    lines = ["| m | " + " | ".join(f"{n} x {k}: r = 8 / 64 / 160" for n, k in cols) + " |"]
    lines.append("|---" * (len(cols) + 1) + "|")
    for m in sorted({m for m, _, _ in mean if m % 256 == 0}):
        cells = [
            " / ".join(f"{mean[(m + r, n, k)] / mean[(m, n, k)]:.2f}" for r in (8, 64, 160))
            for n, k in cols
        ]
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    table = ap.add_mutually_exclusive_group()
    table.add_argument("--off-tile", action="store_true", help="fp16's off-tile term by residue")
    table.add_argument("--sweep", action="store_true", help="the designed off-tile sweep, per r")
    table.add_argument("--m-sweep", action="store_true", help="the token-count sweep, per m")
    args = ap.parse_args(argv)
    if args.m_sweep:
        print("\n".join(m_sweep_lines()))
        return 0
    if args.sweep:
        print("\n".join(sweep_lines()))
        return 0
    if args.off_tile:
        print("\n".join(off_tile_lines(rows())))
        return 0
    ratio = ratios(rows())
    print("| m mod 16 | m | bf16 | fp16 |")
    print("|---|---|---|---|")
    for label, residues in CLASSES:
        ms = sorted({m for _, m in ratio if m % 16 in residues})
        span = {d: [ratio[(d, m)] for m in ms if (d, m) in ratio] for d in ("bf16", "fp16")}
        cells = [f"{min(v):.2f}-{max(v):.2f}" for v in span.values()]
        print(f"| {label} | {', '.join(map(str, ms))} | {cells[0]} | {cells[1]} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
