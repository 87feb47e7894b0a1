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
LAYOUT = ("a_major", "b_major")  # part of the key where the runs record operand layouts


def merge(path_a: str, path_b: str, out: str) -> int:
    with open(path_a) as f:
        rows_a = list(csv.DictReader(f))
    key = KEY + tuple(c for c in LAYOUT if c in rows_a[0])
    with open(path_b) as f:
        rows_b = {tuple(r[c] for c in key): r for r in csv.DictReader(f)}
    fields = [*list(rows_a[0].keys()), "time_us_a", "time_us_b"]
    with open(out, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        for ra in rows_a:
            rb = rows_b[tuple(ra[c] for c in key)]
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
    return merge(args.run_a, args.run_b, args.out)


if __name__ == "__main__":
    sys.exit(main())
