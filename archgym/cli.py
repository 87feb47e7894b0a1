"""The ``archgym`` command line.

``archgym run [EXPERIMENT.toml]`` runs an experiment (the built-in quickstart without an
argument), ``archgym envs`` / ``archgym agents`` / ``archgym workloads`` list what is registered,
``archgym show DATASET`` prints the per-agent summary and ``archgym plot DATASET`` writes the
figures. Feature modules in ``archgym/commands/`` add their own subcommands.

User mistakes (a :class:`~archgym.errors.UserError`: a bad file, flag or name) print one line,
``archgym: error: ...``, and exit with status 2; anything else is a bug and shows its traceback.
Compute libraries get one thread each (:func:`archgym.threads.limit_threads`).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from pathlib import Path

from archgym.errors import UserError

__all__ = ["build_parser", "main"]

# Subcommand modules: each has register(subparsers) adding parsers with set_defaults(func=...).
COMMAND_MODULES: list[str] = [
    "archgym.commands.systolic",
    "archgym.commands.gpu",
    "archgym.commands.proxy",
    "archgym.commands.scratchpad",
    "archgym.commands.workloads",
    "archgym.bench",  # `archgym bench` (agent benchmark)
]


def _cmd_run(args: argparse.Namespace) -> int:
    from archgym.experiment import load_experiment, run_experiment, with_overrides

    exp = load_experiment(args.experiment)
    exp = with_overrides(exp, seed=args.seed, budget=args.budget, workers=args.workers)
    out = Path(args.out) if args.out else Path("runs") / exp.name
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {str(out)!r} is a file; give a folder")
    runs = exp.runs()
    where = f"Dask ({args.scheduler or f'{args.dask_local} local workers'})"
    print(
        f"experiment {exp.name!r}: {len(runs)} runs x {exp.budget} evaluations, "
        f"{where if args.scheduler or args.dask_local else f'{exp.workers} worker(s)'} -> {out}"
    )
    if args.scheduler or args.dask_local:
        from archgym.distributed import run_with_dask

        dataset_dir = run_with_dask(
            exp,
            out,
            scheduler=args.scheduler,
            local_workers=args.dask_local,
            overwrite=args.overwrite,
            show_progress=not args.quiet,
        )
    else:
        dataset_dir = run_experiment(
            exp, out, workers=args.workers, overwrite=args.overwrite, show_progress=not args.quiet
        )
    from archgym.results import report

    report(dataset_dir, out)
    return 0


def _cmd_envs(args: argparse.Namespace) -> int:
    import archgym

    for env_id in archgym.list_envs():
        env = archgym.make(env_id)
        first = (type(env).__doc__ or "").strip().splitlines()[0]
        space = getattr(env, "space", None)
        if space is None:  # multi-step envs act through their action space
            size = f"{'multi-step':>12s}        "
        elif space.is_finite:
            size = f"{space.cardinality:>12,.0f} designs"
        else:
            size = f"{'continuous':>12s} designs"
        print(f"{env_id:32s} {size}  {first}")
    return 0


def _cmd_agents(args: argparse.Namespace) -> int:
    from archgym.agents.base import describe_agent, list_agents

    for name in list_agents():
        print(describe_agent(name))
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    from archgym.dataset import load
    from archgym.results import format_table, summary

    df = load(args.dataset)
    print(format_table(summary(df, by_params=args.by_params)))
    return 0


def _cmd_plot(args: argparse.Namespace) -> int:
    from archgym.dataset import load
    from archgym.results import plot_all

    df = load(args.dataset)
    dataset = Path(args.dataset)
    out = Path(args.out) if args.out else (dataset if dataset.is_dir() else dataset.parent)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {str(out)!r} is a file; give a folder")
    pareto = args.pareto.split(",") if args.pareto else None
    for path in plot_all(df, out, pareto=pareto):
        print(f"wrote {path}")
    return 0


_MAX = 2**63 - 1


def _integer(text: str, low: int, what: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {what}, but got {text!r}") from None
    if not low <= value <= _MAX:
        raise argparse.ArgumentTypeError(f"must be {what} below 2**63, but got {text}")
    return value


def _positive(text: str) -> int:
    """argparse type: an integer >= 1."""
    return _integer(text, 1, "a positive integer")


def _seed(text: str) -> int:
    """argparse type: a seed in [0, 2**63)."""
    return _integer(text, 0, "a non-negative integer")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, like every other user error
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = _Parser(prog="archgym", description=__doc__.splitlines()[0])
    from archgym import __version__

    parser.add_argument("--version", action="version", version=f"archgym {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("run", help="run an experiment (default: the built-in quickstart)")
    p.add_argument("experiment", nargs="?", help="experiment TOML file (default: quickstart)")
    p.add_argument("--out", help="output folder (default: runs/<experiment name>)")
    p.add_argument(
        "--workers", type=_positive, help="parallel local processes (overrides the file)"
    )
    p.add_argument("--seed", type=_seed, help="run only this seed (overrides the file's seeds)")
    p.add_argument(
        "--budget",
        type=_positive,
        help="evaluations per run (overrides the file; a larger one continues the runs in --out)",
    )
    p.add_argument(
        "--overwrite", action="store_true", help="replace a different experiment in --out"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run the runs on this Dask scheduler, e.g. tcp://HOST:8786 (needs archgym[dask])",
    )
    p.add_argument(
        "--dask-local",
        type=_positive,
        metavar="N",
        help="run the runs on a local Dask cluster of N processes (needs archgym[dask])",
    )
    p.set_defaults(func=_cmd_run)

    sub.add_parser("envs", help="list registered environments").set_defaults(func=_cmd_envs)
    sub.add_parser("agents", help="list registered agents").set_defaults(func=_cmd_agents)

    p = sub.add_parser("show", help="print the per-agent summary of a dataset")
    p.add_argument("dataset", help="experiment folder, dataset folder or Parquet file")
    p.add_argument("--by-params", action="store_true", help="one row per hyperparameter setting")
    p.set_defaults(func=_cmd_show)

    p = sub.add_parser("plot", help="write best-so-far and Pareto figures of a dataset")
    p.add_argument("dataset", help="experiment folder, dataset folder or Parquet file")
    p.add_argument("--out", help="folder for the PNG files (default: next to the dataset)")
    p.add_argument("--pareto", help="two metrics for the Pareto scatter, e.g. latency_s,energy_pj")
    p.set_defaults(func=_cmd_plot)

    for module in COMMAND_MODULES:
        importlib.import_module(module).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``archgym`` console script; returns the exit status.

    A :class:`UserError` prints one line and returns 2; other exceptions propagate (a bug shows
    its traceback).
    """
    from archgym.threads import limit_threads

    limit_threads()
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except UserError as exc:
        message = " ".join(str(exc).split())  # one line, whatever the message holds
        print(f"archgym: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("archgym: interrupted; run the same command again to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
