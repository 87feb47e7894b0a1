"""``archgym proxy``: train a learned proxy of an env from a dataset, and measure it.

``archgym proxy train DATASET --env ID [--metrics cycles,energy_pj] -o MODEL`` trains one model
per metric (model family chosen by cross-validation), prints the held-out errors and writes
MODEL; ``archgym proxy eval MODEL DATASET`` prints the errors of MODEL on another dataset. An env
then runs on the proxy with ``archgym.make(ID, backend="proxy", proxy=MODEL)``.
"""

from __future__ import annotations

import argparse
import json

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``proxy`` subcommand with its ``train`` and ``eval`` actions."""
    p = subparsers.add_parser(
        "proxy", help="train or evaluate a learned proxy of an env", description=__doc__
    )
    actions = p.add_subparsers(dest="proxy_action", required=True, parser_class=type(p))
    t = actions.add_parser("train", help="train a proxy from a dataset and print its errors")
    t.add_argument("dataset", help="experiment folder, dataset folder or Parquet file")
    t.add_argument("--env", required=True, help="env id whose records to learn")
    t.add_argument("--metrics", help="comma-separated metrics (default: all of the env's)")
    t.add_argument(
        "--env-kwargs",
        help="the env's constructor keywords as JSON (default: from the experiment folder)",
    )
    t.add_argument("-o", "--out", required=True, help="model file to write")
    t.add_argument("--test-fraction", type=float, default=0.2, help="held-out share (0.2)")
    t.add_argument("--max-train", type=int, help="use at most this many training designs")
    t.add_argument(
        "--models",
        default="hist_gradient_boosting,random_forest",
        help="model families compared by CV (also: gradient_boosting)",
    )
    t.add_argument("--folds", type=int, default=3, help="cross-validation folds (3)")
    t.add_argument("--seed", type=int, default=0, help="seed of the split and the models")
    t.set_defaults(func=_cmd_train)
    e = actions.add_parser("eval", help="print a proxy's errors on another dataset")
    e.add_argument("model", help="model file from `archgym proxy train`")
    e.add_argument("dataset", help="experiment folder, dataset folder or Parquet file")
    e.set_defaults(func=_cmd_eval)


def _cmd_train(args: argparse.Namespace) -> int:
    from archgym.errors import UserError
    from archgym.proxy import format_report, train_proxy

    kwargs = None
    if args.env_kwargs:
        try:
            kwargs = json.loads(args.env_kwargs)
        except json.JSONDecodeError as exc:
            raise UserError(f"--env-kwargs must be a JSON object: {exc}") from None
        if not isinstance(kwargs, dict):
            raise UserError(f"--env-kwargs must be a JSON object, but got {args.env_kwargs!r}")
    if args.max_train is not None and args.max_train < 1:
        raise UserError(f"--max-train must be a positive integer, but got {args.max_train}")
    metrics = [m.strip() for m in args.metrics.split(",") if m.strip()] if args.metrics else None
    model, report = train_proxy(
        args.dataset,
        args.env,
        metrics,
        env_kwargs=kwargs,
        test_fraction=args.test_fraction,
        max_train=args.max_train,
        candidates=[c.strip() for c in args.models.split(",") if c.strip()],
        folds=args.folds,
        seed=args.seed,
    )
    h = model.header
    print(
        f"trained on {h['n_train']} designs ({h['n_train_feasible']} feasible) of {args.env}; "
        f"feasibility classifier: {'yes' if h['feasibility_classifier'] else 'no'}"
    )
    if report:
        print(format_report(report))
    print(f"wrote {model.save(args.out)}")
    return 0


def _cmd_eval(args: argparse.Namespace) -> int:
    from archgym.proxy import evaluate_proxy, format_report

    print(format_report(evaluate_proxy(args.model, args.dataset)))
    return 0
