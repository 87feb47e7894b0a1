"""``archgym gpu``: predict GEMM kernel times on a GPU, and validate the model.

``archgym gpu predict IN.csv -o OUT.csv [--device h100-sxm]`` reads columns ``m,n,k,dtype,kind``
and optionally ``block_m,block_n,block_k,num_warps,num_stages`` (a given tile; blank: the
library's choice) and writes the same rows with ``predicted_us`` added.
``archgym gpu validate [--plot PNG] [--no-refit]`` prints the held-out validation tables
(needs a source checkout: it reads data/gpu/ and experiments/gpu/validate.py).
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
from pathlib import Path

from archgym.errors import UserError

__all__ = ["read_requests", "register"]

REQUIRED = ("m", "n", "k", "dtype", "kind")
TILE = ("block_m", "block_n", "block_k", "num_warps", "num_stages")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``gpu`` subcommand with ``predict`` and ``validate``."""
    p = subparsers.add_parser("gpu", help="GPU GEMM model: predict kernel times, validate")
    sub = p.add_subparsers(dest="gpu_command", required=True, parser_class=type(p))
    q = sub.add_parser("predict", help="predict the time of each GEMM in a CSV")
    q.add_argument("input", help="CSV with columns m,n,k,dtype,kind[,block_m,...,num_stages]")
    q.add_argument("-o", "--out", required=True, help="output CSV (input columns + predicted_us)")
    q.add_argument("--device", default="h100-sxm", help="h100-sxm (default), h200-sxm, a100-sxm")
    q.set_defaults(func=_cmd_predict)
    v = sub.add_parser("validate", help="held-out validation against the measured H100 data")
    v.add_argument("--plot", help="write the predicted-vs-measured PNG here")
    v.add_argument("--no-baseline", action="store_true", help="skip the random-forest baseline")
    v.add_argument(
        "--no-refit",
        action="store_true",
        help="use the shipped constants instead of refitting them on the training split",
    )
    v.set_defaults(func=_cmd_validate)


def _positive_int(row: dict, field: str, where: str) -> int:
    raw = (row.get(field) or "").strip()
    try:
        value = int(raw)
    except ValueError:
        raise UserError(f"{where}: `{field}` must be a positive integer, but got {raw!r}") from None
    if value <= 0:
        raise UserError(f"{where}: `{field}` must be a positive integer, but got {value}")
    return value


def read_requests(path: str) -> tuple[list[str], list[dict]]:
    """The CSV's columns and its rows, validated; errors name the row (1 = first data row)."""
    from archgym.simulators.gpu import DTYPES, KINDS, TileConfig

    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        columns = list(reader.fieldnames or [])
        missing = [c for c in REQUIRED if c not in columns]
        if missing:
            raise UserError(
                f"{path}: missing column(s) {', '.join(missing)} (need {', '.join(REQUIRED)})"
            )
        rows = []
        for i, row in enumerate(reader, start=1):
            where = f"{path} row {i}"
            req = {f: _positive_int(row, f, where) for f in ("m", "n", "k")}
            for field, valid in (("dtype", DTYPES), ("kind", KINDS)):
                value = (row.get(field) or "").strip()
                if value not in valid:
                    raise UserError(
                        f"{where}: `{field}` must be one of {', '.join(valid)}, but got {value!r}"
                    )
                req[field] = value
            given = [f for f in TILE if (row.get(f) or "").strip()]
            if given and len(given) < len(TILE):
                raise UserError(
                    f"{where}: a tile needs all of {', '.join(TILE)}, "
                    f"but only {', '.join(given)} given"
                )
            tile = None
            if given:
                try:
                    tile = TileConfig(*(_positive_int(row, f, where) for f in TILE))
                except ValueError as exc:
                    raise UserError(f"{where}: {exc}") from None
            rows.append({"raw": row, "req": req, "tile": tile})
    return columns, rows


def _cmd_predict(args: argparse.Namespace) -> int:
    from archgym.simulators.common import InfeasibleDesign
    from archgym.simulators.gpu import GemmModel

    model = GemmModel(args.device)
    columns, rows = read_requests(args.input)
    with open(args.out, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=[*columns, "predicted_us"], extrasaction="ignore")
        writer.writeheader()
        for i, row in enumerate(rows, start=1):
            req = row["req"]
            try:
                t = model.predict_us(
                    req["m"], req["n"], req["k"], req["dtype"], req["kind"], tile=row["tile"]
                )
            except InfeasibleDesign as exc:
                raise UserError(f"{args.input} row {i}: {exc}") from None
            writer.writerow({**row["raw"], "predicted_us": f"{t:.3f}"})
    print(f"wrote {args.out} ({len(rows)} rows, device {model.device.name})")
    return 0


def _find_checkout() -> Path | None:
    """The source checkout holding ``experiments/gpu/validate.py`` and ``data/gpu/``.

    Looked for next to the installed package (editable installs), then in the current folder
    and its parents (a regular install run from inside a clone).
    """
    rel = Path("experiments") / "gpu" / "validate.py"
    candidates = [Path(__file__).resolve().parents[2], *[Path.cwd(), *Path.cwd().parents]]
    return next((c for c in candidates if (c / rel).is_file()), None)


def _load_validate():
    root = _find_checkout()
    if root is None:
        raise UserError(
            "`archgym gpu validate` needs a source checkout (experiments/gpu/validate.py and "
            "data/gpu/); run it from inside a clone of the archgym repository"
        )
    path = root / "experiments" / "gpu" / "validate.py"
    spec = importlib.util.spec_from_file_location("archgym_gpu_validate", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _cmd_validate(args: argparse.Namespace) -> int:
    validate = _load_validate()
    report = validate.run_validation(
        baseline=not args.no_baseline, refit=not args.no_refit, plot=args.plot
    )
    print(validate.format_report(report))
    if args.plot:
        print(f"wrote {args.plot}")
    return 0
