"""``archgym simulate``: run the systolic-array model on SCALE-Sim input files.

``archgym simulate -c scale.cfg -t topology.csv [--gemm] [--fidelity cycle] [--scalesim-compat]
[-o DIR]`` writes COMPUTE_REPORT.csv, BANDWIDTH_REPORT.csv and DETAILED_ACCESS_REPORT.csv with
SCALE-Sim's column names into DIR and prints a one-line summary per layer.
"""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``simulate`` subcommand."""
    p = subparsers.add_parser(
        "simulate",
        help="run the systolic-array model on a SCALE-Sim cfg and topology",
        description=__doc__.splitlines()[0],
    )
    p.add_argument("-c", "--config", required=True, help="SCALE-Sim .cfg file (v2 or v3)")
    p.add_argument("-t", "--topology", required=True, help="SCALE-Sim topology CSV")
    p.add_argument(
        "--gemm", action="store_true", help="topology rows are M, N, K (SCALE-Sim -i gemm)"
    )
    p.add_argument("--fidelity", choices=("analytical", "cycle"), default="analytical")
    p.add_argument(
        "--scalesim-compat", action="store_true", help="reproduce SCALE-Sim 3.0.0's quirks"
    )
    p.add_argument("-o", "--out", default="scalesim_reports", help="output folder")
    p.set_defaults(func=_cmd_simulate)


def _cmd_simulate(args: argparse.Namespace) -> int:
    from archgym.errors import user_input
    from archgym.simulators.systolic import analyze, simulate
    from archgym.simulators.systolic.io import read_cfg, read_topology
    from archgym.simulators.systolic.reports import write_reports

    with user_input("", ValueError, OSError):  # the user's files: one-line errors
        config = read_cfg(args.config, scalesim_compat=args.scalesim_compat)
        layers = read_topology(args.topology, gemm=True if args.gemm else None)
    if args.fidelity == "cycle":
        metrics = simulate(config, layers).metrics
    else:
        metrics = analyze(config, layers)
    with user_input(f"cannot write reports to {args.out}", OSError):
        paths = write_reports(Path(args.out), config, layers, metrics)
    for path in paths:
        print(f"wrote {path}")
    for i, layer in enumerate(layers):
        print(
            f"{layer.name}: {int(metrics['cycles'][i])} cycles "
            f"({int(metrics['stall_cycles'][i])} stall), "
            f"utilisation {100 * metrics['utilisation'][i]:.1f}%, "
            f"DRAM {int(metrics['dram_words'][i]) * config.word_bytes} bytes"
        )
    return 0
