"""Merge two repeated measurement runs (data/gpu/h100_gemm.csv, h200_dense_prospective2.csv).

    python3 experiments/gpu/merge_runs.py data/gpu/raw/h100_gemm_run_a.csv \
        data/gpu/raw/h100_gemm_run_b.csv -o data/gpu/h100_gemm.csv

Each point keeps the run with the lower median (interference on a shared host only ever adds
time; the two medians are kept as ``time_us_a``/``time_us_b`` so the spread stays visible).
A point that either run skipped keeps that run's status and no time.
"""

from __future__ import annotations

import argparse
import csv
import sys

KEY = ("m", "n", "k", "dtype", "kind", "backend")
# Also part of the key where the runs record them: operand layouts and a Triton point's tile
# (every tile of one shape is its own point). Not ``variant``: a 2:4 run records the algorithm
# its search picked there, which differs between runs (2:4 runs: fit_sparse_gpu.load_runs).
OPTIONAL_KEY = (
    "a_major",
    "b_major",
    "block_m",
    "block_n",
    "block_k",
    "num_warps",
    "num_stages",
)


def _keyed(rows: list[dict], key: tuple[str, ...], path: str) -> dict[tuple, dict]:
    """Rows by point; ValueError naming the file and the point where one appears twice."""
    out: dict[tuple, dict] = {}
    for i, r in enumerate(rows, start=2):
        point = tuple(r[c] for c in key)
        if point in out:
            raise ValueError(
                f"{path}:{i}: point {dict(zip(key, point, strict=True))} appears twice"
            )
        out[point] = r
    return out


def _read(path: str) -> list[dict]:
    with open(path) as f:
        return list(csv.DictReader(f))


def merge(path_a: str, path_b: str, out: str) -> int:
    """Write ``out``: each point of run ``path_a`` with the run holding its lower median.

    ValueError (nothing written) where a run holds a point twice, lacks a key column the other
    has, or the two runs do not hold the same points.
    """
    rows_a, rows_b = _read(path_a), _read(path_b)
    key = KEY + tuple(c for c in OPTIONAL_KEY if c in rows_a[0])
    missing = [c for c in key if rows_b and c not in rows_b[0]]
    if missing:
        raise ValueError(f"{path_b}: no column {', '.join(missing)} (which {path_a} has)")
    keyed_a, keyed_b = _keyed(rows_a, key, path_a), _keyed(rows_b, key, path_b)
    if keyed_a.keys() != keyed_b.keys():
        raise ValueError(f"{path_a} and {path_b} do not hold the same points")
    fields = [*list(rows_a[0].keys()), "time_us_a", "time_us_b"]
    with open(out, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        for point, ra in keyed_a.items():
            rb = keyed_b[point]
            if ra["status"] != "ok" or rb["status"] != "ok":
                row = dict(ra if ra["status"] != "ok" else rb)
                row.update(time_us_a=ra["time_us"], time_us_b=rb["time_us"])
            else:
                best = ra if float(ra["time_us"]) <= float(rb["time_us"]) else rb
                row = dict(best, time_us_a=ra["time_us"], time_us_b=rb["time_us"])
            writer.writerow(row)
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run_a")
    p.add_argument("run_b")
    p.add_argument("-o", "--out", required=True)
    args = p.parse_args(argv)
    try:
        return merge(args.run_a, args.run_b, args.out)
    except (OSError, ValueError, KeyError) as exc:
        print(f"merge_runs: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
