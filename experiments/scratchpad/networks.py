"""Per-network table: the exact method against the baselines at the COSMA paper's budgets.

For each graph, budget (``tight``, ``mid``), solver (HiGHS, CBC) and mode (activations +
weights, activations only): the online best-fit baselines (best of Belady/greedy, both orders),
the offline arena planner (best of both orders), and ``schedule(..., "ilp")`` with its status,
proven bound, gap and wall time. Run from the repository root, e.g. (2 cores, ~10 min)::

    OMP_NUM_THREADS=1 python experiments/scratchpad/networks.py --time-limit 600

Writes ``networks.md`` and ``networks.csv`` into ``--out`` (default
``experiments/scratchpad/results``) and prints the machine's load average next to the table:
the times are wall times on a shared machine.
"""

from __future__ import annotations

import argparse
import csv
import os
import time
from pathlib import Path

from archgym.simulators.scratchpad import schedule

from archgym.workloads.graphs import load_graph

GRAPHS = [
    "onnx-resnet50-graph",
    "onnx-inception-v1-graph",
    "onnx-squeezenet-graph",
    "onnx-densenet121-graph",
    "nasnet-cell-graph",
]
ONLINE = ("belady", "greedy", "belady-mem", "greedy-mem")


def _fmt(x: float | None, pct: bool = False) -> str:
    if x is None:
        return "-"
    return f"{x:.2%}" if pct else f"{x:,.0f}"


def rows_for(graph_name: str, budget: str, solver: str, weights: bool, limit: float) -> dict:
    """One table row (see the module docstring)."""
    graph = load_graph(graph_name)
    online = min(
        schedule(graph, budget, m, weights=weights).replay.extra_dram_bytes for m in ONLINE
    )
    try:
        arena = schedule(graph, budget, "arena", weights=weights).replay.extra_dram_bytes
    except ValueError:  # InfeasibleDesign: no packing within the capacity
        arena = None
    t0 = time.perf_counter()
    sol = schedule(graph, budget, "ilp", solver=solver, time_limit_s=limit, weights=weights)
    wall = time.perf_counter() - t0
    return {
        "graph": graph_name,
        "ops": len(graph.ops),
        "mode": "act+weights" if weights else "activations",
        "budget": budget,
        "capacity_bytes": sol.capacity_bytes,
        "budget_exact": sol.info.get("capacity_exact", True),
        "solver": solver,
        "online_best": online,
        "arena_best": arena,
        "exact": sol.replay.extra_dram_bytes,
        "status": sol.status,
        "bound": sol.bound,
        "gap": sol.gap,
        "solve_s": round(wall, 2),
        "source": sol.info.get("source"),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--graphs", nargs="*", default=GRAPHS)
    parser.add_argument("--budgets", nargs="*", default=["tight", "mid"])
    parser.add_argument("--solvers", nargs="*", default=["highs", "cbc"])
    parser.add_argument("--modes", nargs="*", default=["weights", "activations"])
    parser.add_argument("--time-limit", type=float, default=600.0, help="per solve (s)")
    parser.add_argument("--out", default="experiments/scratchpad/results")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for name in args.graphs:
        for mode in args.modes:
            for budget in args.budgets:
                for solver in args.solvers:
                    row = rows_for(name, budget, solver, mode == "weights", args.time_limit)
                    rows.append(row)
                    print(row, flush=True)
    with open(out / "networks.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    lines = [
        f"Load average at the end: {' / '.join(f'{x:.1f}' for x in os.getloadavg())} "
        f"({os.cpu_count()} CPUs); time limit {args.time_limit:g} s per solve.",
        "",
        "| graph | ops | mode | budget | capacity (B) | solver | online best (B) "
        "| arena best (B) | exact (B) | status | bound (B) | gap | time (s) |",
        "|---|---:|---|---|---:|---|---:|---:|---:|---|---:|---:|---:|",
    ]
    for r in rows:
        cap = _fmt(r["capacity_bytes"]) + ("" if r["budget_exact"] else " (heuristic)")
        lines.append(
            f"| {r['graph']} | {r['ops']} | {r['mode']} | {r['budget']} | {cap} | {r['solver']} "
            f"| {_fmt(r['online_best'])} | {_fmt(r['arena_best'])} | {_fmt(r['exact'])} "
            f"| {r['status']} | {_fmt(r['bound'])} | {_fmt(r['gap'], True)} | {r['solve_s']} |"
        )
    (out / "networks.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
