"""``archgym schedule`` and ``archgym sweep-scratchpad``: scratchpad schedules of DNN graphs.

``archgym schedule --graph FILE.json|NAME --capacity BYTES [--method ilp|belady|greedy]
[--order topological|memory-aware] [--solver highs|cbc] [--time-limit S] [--json]`` prints one
schedule's DRAM traffic (``--json``: status, extra_dram_bytes, compulsory_dram_bytes, order,
spills, reloads, peak_bytes, solve_s and more).

``archgym sweep-scratchpad (--model NAME | --graph FILE.json) --sizes 64KiB..4MiB`` runs the
baselines and the ILP at each size and writes ``sweep.csv`` and ``sweep.png`` (extra DRAM traffic
against scratchpad size, one line per method) into ``--out``.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import re
from pathlib import Path
from typing import Any

from archgym.errors import UserError
from archgym.simulators.scratchpad.methods import CAPACITY_NAMES, METHODS

__all__ = [
    "METHODS",
    "informative_sizes",
    "parse_bytes",
    "parse_sizes",
    "plot_sweep",
    "register",
    "run_method",
    "sweep",
]

_UNITS = {"": 1, "b": 1, "kib": 1024, "mib": 1024**2, "gib": 1024**3}
_UNITS |= {"k": 1024, "m": 1024**2, "g": 1024**3, "kb": 1000, "mb": 1000**2, "gb": 1000**3}


def parse_bytes(text: str) -> int:
    """``"64KiB"`` -> 65536; KiB/MiB/GiB (and K/M/G) are binary, kB/MB/GB decimal."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", str(text))
    unit = m.group(2).lower() if m else None
    if not m or unit not in _UNITS:
        raise UserError(
            f"cannot read the size {text!r}: use bytes or a unit like 64KiB, 2MiB, 512kB"
        )
    value = float(m.group(1)) * _UNITS[unit]
    if value < 1 or value != int(value):
        raise UserError(f"the size {text!r} must be a positive whole number of bytes")
    return int(value)


def parse_sizes(text: str, points: int | None = None) -> list[int]:
    """``A..B`` (doubling from A up to B, or ``points`` log-spaced sizes) or ``a,b,c``."""
    if ".." in text:
        lo_text, hi_text = text.split("..", 1)
        lo, hi = parse_bytes(lo_text), parse_bytes(hi_text)
        if lo > hi:
            raise UserError(f"--sizes {text!r}: the first size must not exceed the last")
        if points:
            if points < 2:
                raise UserError("--points must be at least 2")
            step = (math.log(hi) - math.log(lo)) / (points - 1)
            return sorted({round(math.exp(math.log(lo) + i * step)) for i in range(points)})
        sizes, s = [], lo
        while s <= hi:
            sizes.append(s)
            s *= 2
        return sizes
    return sorted({parse_bytes(t) for t in text.split(",") if t.strip()})


def _graph(args: argparse.Namespace) -> Any:
    from archgym.workloads.graphs import load_graph

    name = getattr(args, "graph", None) or getattr(args, "model", None)
    if not name:
        raise UserError("give a graph: --graph FILE.json or --model NAME")
    try:
        return load_graph(name)
    except ValueError as exc:
        raise UserError(str(exc)) from None


def run_method(
    graph: Any,
    capacity: int | str,
    method: str,
    *,
    order: str | None = None,
    solver: str = "highs",
    time_limit_s: float = 60.0,
    weights: bool = True,
) -> dict[str, Any]:
    """One method at one capacity (bytes or a budget name) -> the JSON of ``schedule --json``."""
    from archgym.simulators.common import InfeasibleDesign
    from archgym.simulators.scratchpad import schedule
    from archgym.simulators.scratchpad.ilp import ModelTooLarge

    if method not in METHODS:
        raise UserError(f"unknown method {method!r}; valid: {', '.join(METHODS)}")
    try:
        sol = schedule(
            graph,
            capacity,
            method,
            order=order,
            solver=solver,
            time_limit_s=time_limit_s,
            weights=weights,
        )
    except (InfeasibleDesign, ModelTooLarge) as exc:
        raise UserError(str(exc)) from None
    return sol.to_dict()


def _cmd_schedule(args: argparse.Namespace) -> int:
    graph = _graph(args)
    cap = args.capacity if args.capacity in CAPACITY_NAMES else parse_bytes(args.capacity)
    rec = run_method(
        graph,
        cap,
        args.method,
        order=args.order,
        solver=args.solver,
        time_limit_s=args.time_limit,
        weights=not args.activations_only,
    )
    cap = rec["capacity_bytes"]
    if args.json:
        print(json.dumps(rec, indent=1))
        return 0
    print(f"graph {graph.name!r}: {len(graph.ops)} ops, capacity {cap} bytes, method {args.method}")
    bound = "-" if rec["bound"] is None else f"{rec['bound']:,.0f}"
    gap = "-" if rec["gap"] is None else f"{rec['gap']:.2%}"
    print(f"status: {rec['status']} (bound {bound} B, gap {gap})")
    if rec["extra_dram_bytes"] is None:
        return 1
    print(f"extra (non-compulsory) DRAM bytes: {rec['extra_dram_bytes']}")
    print(f"compulsory DRAM bytes: {rec['compulsory_dram_bytes']}")
    print(f"peak resident bytes: {rec['peak_bytes']}, arena bytes: {rec['arena_bytes']}")
    print(f"spills: {len(rec['spills'])}, reloads: {len(rec['reloads'])}")
    print(f"order: {' '.join(rec['order'])}")
    print(f"solve time: {rec['solve_s']:.2f} s")
    return 0


def sweep(
    graph: Any,
    sizes: list[int],
    methods: list[str],
    *,
    solver: str = "highs",
    time_limit_s: float = 60.0,
) -> list[dict[str, Any]]:
    """One row per (size, method); sizes below the largest op footprint are ``infeasible``."""
    rows = []
    need = graph.max_op_footprint_bytes()
    for size in sizes:
        for method in methods:
            if size < need:
                rows.append(
                    {
                        "capacity_bytes": size,
                        "method": method,
                        "status": "infeasible",
                        "extra_dram_bytes": None,
                        "compulsory_dram_bytes": None,
                        "peak_bytes": None,
                        "solve_s": 0.0,
                    }
                )
                continue
            rec = run_method(graph, size, method, solver=solver, time_limit_s=time_limit_s)
            keys = (
                "capacity_bytes",
                "method",
                "status",
                "extra_dram_bytes",
                "compulsory_dram_bytes",
                "peak_bytes",
                "solve_s",
            )
            rows.append({k: rec.get(k, method if k == "method" else None) for k in keys})
    return rows


def plot_sweep(rows: list[dict[str, Any]], methods: list[str], title: str, path: Path) -> None:
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for method in methods:
        pts = [
            (r["capacity_bytes"] / 1024, r["extra_dram_bytes"] / 1024)
            for r in rows
            if r["method"] == method and r["extra_dram_bytes"] is not None
        ]
        if pts:
            ax.plot(*zip(*pts, strict=True), marker="o", label=method)
    sizes = [r["capacity_bytes"] for r in rows]
    if max(sizes) >= 4 * min(sizes):  # log axis only for wide ranges; plain numbers on ticks
        ax.set_xscale("log", base=2)
        ax.xaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
    ax.set_xlabel("scratchpad size (KiB)")
    ax.set_ylabel("extra (non-compulsory) DRAM traffic (KiB)")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def informative_sizes(graph: Any, points: int = 8) -> list[int]:
    """``points`` sizes from the ``tight`` budget to the ``min_peak`` one (evenly spaced): the
    range where methods differ (below, nothing fits; above, no method has extra traffic)."""
    from archgym.simulators.scratchpad import budget_bytes

    lo, hi = budget_bytes(graph, "tight")[0], budget_bytes(graph, "min_peak")[0]
    if points < 2 or hi <= lo:
        return [lo]
    return sorted({lo + (hi - lo) * i // (points - 1) for i in range(points)})


def _cmd_sweep(args: argparse.Namespace) -> int:
    graph = _graph(args)
    if args.sizes:
        sizes = parse_sizes(args.sizes, args.points)
    else:
        sizes = informative_sizes(graph, args.points or 8)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    for m in methods:
        if m not in METHODS:
            raise UserError(f"unknown method {m!r}; valid: {', '.join(METHODS)}")
    rows = sweep(graph, sizes, methods, solver=args.solver, time_limit_s=args.time_limit)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "sweep.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"{'size (B)':>12} {'method':>12} {'status':>10} {'extra DRAM (B)':>15} {'solve (s)':>9}")
    for r in rows:
        extra = "-" if r["extra_dram_bytes"] is None else f"{r['extra_dram_bytes']:,}"
        print(
            f"{r['capacity_bytes']:>12,} {r['method']:>12} {r['status']:>10} {extra:>15} "
            f"{r['solve_s']:>9.2f}"
        )
    if not args.no_plot:
        plot_sweep(rows, methods, f"{graph.name}: extra DRAM traffic", out / "sweep.png")
        print(f"wrote {out / 'sweep.csv'} and {out / 'sweep.png'}")
    else:
        print(f"wrote {out / 'sweep.csv'}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``schedule`` and ``sweep-scratchpad``."""
    p = subparsers.add_parser("schedule", help="schedule a DNN graph on a scratchpad")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--graph", help="graph JSON or ONNX file, or built-in graph name")
    src.add_argument("--model", help="built-in graph name (e.g. resnet50)")
    p.add_argument(
        "--capacity",
        required=True,
        help="scratchpad size: bytes, e.g. 2MiB, or a budget: tight, mid, min_peak",
    )
    p.add_argument(
        "--activations-only",
        action="store_true",
        help="schedule activations only (weights streamed from DRAM)",
    )
    p.add_argument("--method", default="ilp", choices=METHODS)
    p.add_argument(
        "--order",
        choices=("topological", "memory-aware"),
        help="operator order of the baselines (default: by method)",
    )
    p.add_argument("--solver", default="highs", choices=("highs", "cbc"))
    p.add_argument("--time-limit", type=float, default=60.0, help="ILP time limit (s)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=_cmd_schedule)

    s = subparsers.add_parser(
        "sweep-scratchpad", help="extra DRAM traffic against scratchpad size, per method"
    )
    src = s.add_mutually_exclusive_group(required=True)
    src.add_argument("--model", help="built-in graph name (e.g. resnet50)")
    src.add_argument("--graph", help="graph JSON file")
    s.add_argument(
        "--sizes",
        help="A..B (doubling) or a,b,c; units like 64KiB (default: --points sizes from the "
        "tight budget to the min_peak one)",
    )
    s.add_argument("--points", type=int, help="with A..B: this many log-spaced sizes")
    s.add_argument(
        "--methods",
        default="belady,greedy,arena,ilp",
        help=f"comma-separated, from {', '.join(METHODS)}",
    )
    s.add_argument("--solver", default="highs", choices=("highs", "cbc"))
    s.add_argument("--time-limit", type=float, default=60.0, help="ILP time limit per size (s)")
    s.add_argument("--out", default="scratchpad-sweep", help="output folder")
    s.add_argument("--no-plot", action="store_true", help="write the CSV only")
    s.set_defaults(func=_cmd_sweep)
