"""COSMA table: ILP vs baselines at the paper's three budgets on the built-in graphs.

Run from the repository root (about 12 minutes on the shared 2-core machine):

    OMP_NUM_THREADS=1 python experiments/scratchpad/table.py --time-limit 60

Writes ``experiments/scratchpad/results/table.md`` and ``table.csv``. Baselines are the eight
combinations of order (topological, memory-aware), eviction (belady, greedy) and allocator
(``hole``: the paper's best-fit arena that evicts a cheapest hole-opening set; ``repack``: the
first pass's allocator); "reduction" is the share of the best baseline's non-compulsory traffic
the ILP removes. Graphs in ``--windows`` are also solved by the divide-and-conquer mode, budgets
in increasing capacity, each seeded with the schedules found at the smaller ones.
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

from archgym.simulators.scratchpad.baselines import baseline_schedules, budgets
from archgym.simulators.scratchpad.ilp import solve
from archgym.simulators.scratchpad.replay import replay
from archgym.simulators.scratchpad.windows import solve_windows

from archgym.workloads.graphs import WORKLOADS

GRAPHS = [
    "nasnet-3cells-graph",
    "resnet50-graph",
    "mobilenetv2-graph",
    "bert-base-layer-graph",
    "nasnet-cell-graph",
    "densenet-block-graph",
    "onnx-squeezenet-graph",
]


def _pct(base: int, ilp: int | None) -> str:
    if ilp is None:
        return "-"
    return "n/a (both 0)" if base == 0 else f"{100 * (base - ilp) / base:.0f}%"


def _fmt(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--graphs", nargs="*", default=GRAPHS)
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--windows", nargs="*", default=["nasnet-3cells-graph"])
    parser.add_argument("--window", type=int, default=6)
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--window-time-limit", type=float, default=60.0)
    parser.add_argument("--out", default="experiments/scratchpad/results")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for name in args.graphs:
        graph = WORKLOADS[name]()
        seeds = []
        for budget, cap in sorted(budgets(graph).items(), key=lambda kv: kv[1]):
            base = {
                k: replay(graph, sched, cap).extra_dram_bytes
                for k, sched in baseline_schedules(graph, cap).items()
            }
            best = min(base.values())
            winner = min(base, key=base.get)
            ilp = solve(graph, cap, time_limit_s=args.time_limit)
            row = {
                "graph": name,
                "ops": len(graph.ops),
                "budget": budget,
                "capacity_bytes": cap,
                **{f"extra.{k}": v for k, v in base.items()},
                "best_baseline": winner,
                "best_hole": min(v for k, v in base.items() if k.endswith("/hole")),
                "best_repack": min(v for k, v in base.items() if k.endswith("/repack")),
                "extra.ilp": ilp.extra_dram_bytes,
                "ilp_status": ilp.status + (" (baseline kept)" if ilp.info.get("fallback") else ""),
                "ilp_bound": ilp.bound,
                "ilp_solve_s": round(ilp.solve_s, 2),
                "reduction_vs_best": _pct(best, ilp.extra_dram_bytes),
                "reduction_vs_mean": _pct(
                    round(sum(base.values()) / len(base)), ilp.extra_dram_bytes
                ),
            }
            if name in args.windows:
                t0 = time.perf_counter()
                dc = solve_windows(
                    graph,
                    cap,
                    window=args.window,
                    time_limit_s=args.window_time_limit,
                    refine_time_limit_s=args.time_limit,
                    passes=args.passes,
                    seeds=seeds,
                )
                seeds.append(dc.schedule)
                row["extra.windows"] = dc.extra_dram_bytes
                row["windows_source"] = dc.info["source"]
                row["windows_s"] = round(time.perf_counter() - t0, 2)
            rows.append(row)
            print(row, flush=True)
    keys = list(dict.fromkeys(k for r in rows for k in r))
    with open(out / "table.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=keys)
        writer.writeheader()
        writer.writerows(rows)
    lines = [
        "| graph | budget | capacity (B) | best baseline (B) | winner | best hole / repack (B) "
        "| worst baseline (B) | ILP (B) | ILP status | ILP solve (s) "
        "| ILP reduction vs best / mean | D&C (B) | D&C reduction vs best | D&C (s) |",
        "|---|---|---:|---:|---|---:|---:|---:|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        bases = [v for k, v in r.items() if k.startswith("extra.") and "/" in k]
        dc = r.get("extra.windows")
        lines.append(
            f"| {r['graph']} | {r['budget']} | {_fmt(r['capacity_bytes'])} | {_fmt(min(bases))} "
            f"| {r['best_baseline']} | {_fmt(r['best_hole'])} / {_fmt(r['best_repack'])} "
            f"| {_fmt(max(bases))} | {_fmt(r['extra.ilp'])} | {r['ilp_status']} "
            f"| {r['ilp_solve_s']} | {r['reduction_vs_best']} / {r['reduction_vs_mean']} "
            f"| {_fmt(dc)} | {_pct(min(bases), dc) if dc is not None else '-'} "
            f"| {r.get('windows_s', '-')} |"
        )
    (out / "table.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
