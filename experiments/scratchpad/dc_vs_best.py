"""Divide and conquer vs the best schedule known, on the larger graph (nasnet-3cells-graph).

Run from the repository root (about 10 minutes on 2 cores):

    OMP_NUM_THREADS=1 python experiments/scratchpad/dc_vs_best.py --time-limit 120

For each budget it runs the table's divide-and-conquer setting (windows of 6 ops, 60 s per window,
3 passes, 60 s refinement), a longer one (windows of 8, ``--time-limit`` refinement) and the whole-graph
free-order ILP warm-started with the best baseline (``--time-limit``). "Best known" is the least
extra traffic any of them (or a baseline) reached, so the gap is an upper bound on how far the
table's setting is from the best we know, not from the optimum.
"""

from __future__ import annotations

import argparse
import time

from archgym.simulators.scratchpad.baselines import best_baseline, budgets
from archgym.simulators.scratchpad.ilp import solve
from archgym.simulators.scratchpad.windows import solve_windows

from archgym.workloads.graphs import load_graph


def _f(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--graph", default="nasnet-3cells-graph")
    parser.add_argument("--budgets", nargs="*", default=["tight", "mid"])
    parser.add_argument("--time-limit", type=float, default=120.0)
    args = parser.parse_args()
    graph = load_graph(args.graph)
    print(
        "| budget | best baseline | D&C w=6 (table) | D&C w=8 long | whole ILP (status, bound) "
        "| best known | D&C w=6 gap to best known |"
    )
    print("|---|---:|---:|---:|---|---:|---:|")
    for name in args.budgets:
        cap = budgets(graph)[name]
        base = best_baseline(graph, cap)[2]
        t0 = time.perf_counter()
        dc6 = solve_windows(graph, cap, window=6, time_limit_s=60, refine_time_limit_s=60, passes=3)
        t1 = time.perf_counter()
        dc8 = solve_windows(
            graph, cap, window=8, time_limit_s=30, refine_time_limit_s=args.time_limit
        )
        t2 = time.perf_counter()
        whole = solve(graph, cap, time_limit_s=args.time_limit)
        t3 = time.perf_counter()
        known = [base, dc6.extra_dram_bytes, dc8.extra_dram_bytes]
        if whole.extra_dram_bytes is not None:
            known.append(whole.extra_dram_bytes)
        best = min(known)
        gap = (dc6.extra_dram_bytes - best) / best if best else 0.0
        print(
            f"| {name} ({cap:,} B) | {base:,} | {dc6.extra_dram_bytes:,} ({t1 - t0:.0f} s) "
            f"| {dc8.extra_dram_bytes:,} ({t2 - t1:.0f} s) | {_f(whole.extra_dram_bytes)} "
            f"({whole.status}, bound {_f(whole.bound)}, {t3 - t2:.0f} s) | {best:,} "
            f"| {100 * gap:.0f}% |",
            flush=True,
        )


if __name__ == "__main__":
    main()
