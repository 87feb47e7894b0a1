"""Proven lower bounds on the extra DRAM traffic of a graph at the paper's budgets.

Run from the repository root:

    OMP_NUM_THREADS=1 python experiments/scratchpad/lower_bound.py --graph nasnet-3cells-graph

The free-order ILP *without addresses* (summed sizes <= capacity, fragmentation ignored) is a
relaxation of the full model: every schedule the full model admits it admits too, so its
optimum, and under a time limit its dual bound, is a lower bound on the optimum with addresses
(and on every method here). Its schedule, when one is found, need not fit with real addresses,
so only the bound is reported.
"""

from __future__ import annotations

import argparse

from archgym.simulators.scratchpad.baselines import budgets
from archgym.simulators.scratchpad.ilp import solve

from archgym.workloads.graphs import load_graph


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--graph", default="nasnet-3cells-graph")
    parser.add_argument("--time-limit", type=float, default=120.0)
    args = parser.parse_args()
    graph = load_graph(args.graph)
    print("| budget | capacity (B) | no-address ILP status | objective (B) | lower bound (B) | s |")
    print("|---|---:|---|---:|---:|---:|")
    for name, cap in budgets(graph).items():
        sol = solve(graph, cap, addresses=False, time_limit_s=args.time_limit, fallback=False)
        bound = sol.bound if sol.status != "optimal" else sol.objective
        obj = "-" if sol.objective is None else f"{sol.objective:,.0f}"
        low = "-" if bound is None else f"{bound:,.0f}"
        print(
            f"| {name} | {cap:,} | {sol.status} | {obj} | {low} | {sol.solve_s:.1f} |", flush=True
        )


if __name__ == "__main__":
    main()
