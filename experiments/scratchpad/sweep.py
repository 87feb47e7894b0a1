"""Sweep plots: extra DRAM traffic against scratchpad size, one line per method.

Run from the repository root:

    OMP_NUM_THREADS=1 python experiments/scratchpad/sweep.py --time-limit 60

For each graph, sizes run log-spaced from 0.95x the largest single-op footprint to 1.05x the
minimum peak (``--points`` of them); writes ``experiments/scratchpad/results/sweep-<graph>.csv``
and ``.png``. Equivalent CLI: ``archgym sweep-scratchpad --model densenet-block
--sizes 1180KiB..1280KiB --points 8``.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

from archgym.simulators.scratchpad.baselines import budgets

from archgym.commands.scratchpad import METHODS, plot_sweep, sweep
from archgym.workloads.graphs import load_graph


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--graphs", nargs="*", default=["resnet50", "densenet-block", "bert-base-layer"]
    )
    parser.add_argument("--points", type=int, default=8)
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--out", default="experiments/scratchpad/results")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name in args.graphs:
        graph = load_graph(name)
        b = budgets(graph)
        lo, hi = 0.95 * b["tight"], 1.05 * b["min_peak"]
        sizes = sorted(
            {round(lo * (hi / lo) ** (i / (args.points - 1))) for i in range(args.points)}
            | set(b.values())
        )
        rows = sweep(graph, sizes, list(METHODS), time_limit_s=args.time_limit)
        with open(out / f"sweep-{name}.csv", "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        plot_sweep(
            rows, list(METHODS), f"{graph.name}: extra DRAM traffic", out / f"sweep-{name}.png"
        )
        print(f"{name}: wrote {out / f'sweep-{name}.png'}", flush=True)


if __name__ == "__main__":
    main()
