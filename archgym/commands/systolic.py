"""``archgym simulate``: run the systolic-array model on SCALE-Sim input files.

``archgym simulate -c scale.cfg -t topology.csv [--gemm] [--fidelity cycle] [--scalesim-compat]
[--replay] [-o DIR]`` writes COMPUTE_REPORT.csv, BANDWIDTH_REPORT.csv and DETAILED_ACCESS_REPORT.csv
with SCALE-Sim's column names into DIR and prints a one-line summary per layer. ``--replay``
(SCALE-Sim mode, CALC bandwidth) replays SCALE-Sim's estimate read buffer on its ifmap request
stream for exact ifmap DRAM reads (``replay.scalesim_calc_analyze``); on a USER cfg it replays
SCALE-Sim's USER memory system for exact stalls and DRAM traffic
(``replay_user.scalesim_user_analyze``). With --scalesim-compat, a cfg with ``[sparsity]
SparsitySupport = true`` runs SCALE-Sim's sparse mode (``sparse_compat``) and also writes
SPARSE_REPORT.csv.
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
    p.add_argument(
        "--replay",
        action="store_true",
        help="with --scalesim-compat: CALC mode, exact ifmap DRAM reads by replaying "
        "SCALE-Sim's read buffer; USER mode, exact stalls and DRAM traffic by replaying its "
        "memory system (slower: grows with the im2col matrix)",
    )
    p.add_argument("-o", "--out", default="scalesim_reports", help="output folder")
    p.set_defaults(func=_cmd_simulate)


def _cmd_simulate(args: argparse.Namespace) -> int:
    import sys

    from archgym.errors import UserError, user_input
    from archgym.simulators.systolic import analyze, simulate
    from archgym.simulators.systolic.io import (
        read_cfg,
        read_read_bandwidths,
        read_sparsity_ratios,
        read_topology,
    )
    from archgym.simulators.systolic.replay import scalesim_calc_analyze
    from archgym.simulators.systolic.replay_user import scalesim_user_analyze
    from archgym.simulators.systolic.reports import write_reports
    from archgym.simulators.systolic.sparse_compat import (
        read_sparsity,
        scalesim_sparse_analyze,
        write_sparse_reports,
    )

    with user_input("", ValueError, OSError):  # the user's files: one-line errors
        compat = args.scalesim_compat
        config = read_cfg(args.config, sparsity=compat, scalesim_compat=compat)
        layers = read_topology(args.topology, gemm=True if args.gemm else None)
        ratios = read_sparsity_ratios(args.topology)
        sparse = read_sparsity(args.config, config) if compat else None
    if sparse is None and any(ratio != (1, 1) for ratio in ratios):
        print(
            f"archgym: note: {args.topology}: the N:M sparsity column runs dense, as SCALE-Sim "
            "does without [sparsity] SparsitySupport = true",
            file=sys.stderr,
        )
    sparse_rows = None
    if sparse is not None:  # SCALE-Sim's sparse mode ([sparsity] SparsitySupport = true)
        if args.replay or args.fidelity != "analytical":
            raise UserError(
                f"{args.config}: SparsitySupport = true is reproduced by the analytical compat "
                "model only: drop --replay and --fidelity cycle"
            )
        metrics, sparse_rows = scalesim_sparse_analyze(config, layers, ratios, sparse)
    elif args.replay:
        if not config.scalesim_compat or args.fidelity != "analytical":
            raise UserError(
                "--replay replays SCALE-Sim's CALC-mode read buffer or its USER-mode memory "
                "system: it needs --scalesim-compat and --fidelity analytical"
            )
        if config.user_bandwidth:
            with user_input("", ValueError, OSError):
                banks = read_read_bandwidths(args.config)
            metrics = scalesim_user_analyze(config, layers, ifmap_bw=banks[0], filter_bw=banks[1])
        else:
            metrics = scalesim_calc_analyze(config, layers)
    elif args.fidelity == "cycle":
        metrics = simulate(config, layers).metrics
    else:
        metrics = analyze(config, layers)
    for i, layer in enumerate(layers):
        if int(metrics["cycles"][i]) == 0:
            raise UserError(
                f"{args.topology}: layer {layer.name!r} takes 0 cycles in SCALE-Sim's count (a "
                "K = 1 GEMM on a 1 x 1 os array), where SCALE-Sim 3.0.0 stops with a division "
                "by zero; run it without --scalesim-compat"
            )
    with user_input(f"cannot write reports to {args.out}", OSError):
        paths = write_reports(Path(args.out), config, layers, metrics)
        if sparse_rows is not None:
            paths.append(write_sparse_reports(Path(args.out), layers, sparse_rows)[0])
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
