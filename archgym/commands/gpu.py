"""``archgym gpu``: predict GEMM kernel times on a GPU, calibrate a device, validate the model.

``archgym gpu predict IN.csv -o OUT.csv [--device h100-sxm]`` reads columns ``m,n,k,dtype,kind``
(kind ``dense``, ``2:4`` or ``sparse24``, a V:N:M string such as ``64:2:8``, ``w4a16``,
``w8a16``; m = tokens, n = output features, the sparse or quantised operand is the weight) and
optionally ``a_major,b_major`` (dense: ``row``/``col``, blank: row, except fp8's B: col),
``group_size`` (w4a16), ``kernel`` (2:4 ``torch-default``/``search``, V:N:M ``spatha``, w4a16
``marlin``/``sparse-marlin``/``torch-int4pack``, w8a16 ``torch-int8pack``) and
``block_m,block_n,block_k,num_warps,num_stages`` (a given dense tile; blank: the library's
choice), and writes the same rows with ``predicted_us`` added.
``archgym gpu measure -o FILE.csv`` times the standard shape set on this machine's GPU (torch).
``archgym gpu calibrate MEASUREMENTS.csv [MORE.csv ...] --device NAME -o FILE.json`` fits a
calibration file (several CSVs: their rows fitted together).
``archgym gpu validate [--device D] [--csv NEW.csv] [--few-shot N]`` prints validation tables
from the measurements shipped with the package (no source checkout needed).
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

from archgym.errors import UserError

__all__ = ["read_requests", "register"]

REQUIRED = ("m", "n", "k", "dtype", "kind")
TILE = ("block_m", "block_n", "block_k", "num_warps", "num_stages")
LAYOUT = ("a_major", "b_major")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``gpu`` subcommand with ``predict``, ``calibrate`` and ``validate``."""
    p = subparsers.add_parser("gpu", help="GPU GEMM model: predict kernel times, validate")
    sub = p.add_subparsers(dest="gpu_command", required=True, parser_class=type(p))
    q = sub.add_parser("predict", help="predict the time of each GEMM in a CSV")
    q.add_argument(
        "input", help="CSV with columns m,n,k,dtype,kind[,a_major,b_major][,block_m,...]"
    )
    q.add_argument("-o", "--out", required=True, help="output CSV (input columns + predicted_us)")
    q.add_argument(
        "--device", default="h100-sxm", help="h100-sxm (default), h200-sxm, a100-sxm, a10, rtx3090"
    )
    q.set_defaults(func=_cmd_predict)
    from archgym.gpu_measure import add_measure_parser

    add_measure_parser(sub)
    c = sub.add_parser("calibrate", help="fit a device's constants from measured kernels")
    c.add_argument(
        "measurements",
        nargs="+",
        help="measurement CSV(s) (data/gpu format, archgym gpu measure), fitted together",
    )
    c.add_argument("--device", required=True, help="device name (see --device of predict)")
    c.add_argument("-o", "--out", required=True, help="calibration JSON to write")
    c.add_argument(
        "--start",
        help="transfer: start from this device's constants; refit hbm, launch, power, gemv, "
        "the sm80 constants and the sm75 rate",
    )
    c.add_argument(
        "--max-kernels",
        type=int,
        help="few-shot: device-wide hbm, launch, gemv and sm80 corrections from <= N kernels",
    )
    c.add_argument(
        "--seed", type=int, help="seed of the few-shot sample (with --max-kernels; default 0)"
    )
    c.set_defaults(func=_cmd_calibrate)
    v = sub.add_parser("validate", help="model vs measurements, next to roofline and learned")
    v.add_argument("--device", default="h100-sxm", help="h100-sxm (default) or h200-sxm")
    v.add_argument("--csv", help="validate every row of this CSV against the frozen model")
    v.add_argument(
        "--few-shot",
        type=int,
        help="calibrate from N training kernels, report held-out rows (or the --csv rows)",
    )
    v.add_argument("--no-baseline", action="store_true", help="skip the learned baseline")
    v.add_argument(
        "--refit", action="store_true", help="refit the constants on the training families"
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
    from archgym.simulators.gpu import DTYPES, TileConfig

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
            dtype = (row.get("dtype") or "").strip()
            if dtype not in DTYPES:
                raise UserError(
                    f"{where}: `dtype` must be one of {', '.join(DTYPES)}, but got {dtype!r}"
                )
            req["dtype"] = dtype
            req["kind"] = (row.get("kind") or "").strip()
            req["kernel"] = (row.get("kernel") or "").strip() or None
            req["group_size"] = (
                _positive_int(row, "group_size", where)
                if (row.get("group_size") or "").strip()
                else None
            )
            for field in LAYOUT:
                value = (row.get(field) or "").strip()
                if value not in ("", "row", "col"):
                    raise UserError(f"{where}: `{field}` must be row or col, but got {value!r}")
                req[field] = value or None
            req["a_major"] = req["a_major"] or "row"
            if req["kind"] != "dense" and req["b_major"] is None:
                req["b_major"] = "row"
            given = [f for f in TILE if (row.get(f) or "").strip()]
            if given and len(given) < len(TILE):
                raise UserError(
                    f"{where}: a tile needs all of {', '.join(TILE)}, "
                    f"but only {', '.join(given)} given"
                )
            tile = None
            if given and req["kind"] != "dense":
                raise UserError(f"{where}: a tile applies to kind dense, not {req['kind']!r}")
            if given:
                try:
                    tile = TileConfig(*(_positive_int(row, f, where) for f in TILE))
                except ValueError as exc:
                    raise UserError(f"{where}: {exc}") from None
            rows.append({"raw": row, "req": req, "tile": tile})
    return columns, rows


def _predict_row(model, req: dict, tile, device: str) -> float:
    from archgym.simulators.gpu.kinds import predict_kernel_us

    if req["kind"] == "dense" and req["kernel"] is None and req["group_size"] is None:
        return model.predict_us(
            req["m"], req["n"], req["k"], req["dtype"], "dense", tile=tile,
            a_major=req["a_major"], b_major=req["b_major"],
        )  # fmt: skip
    return predict_kernel_us(
        device, req["m"], req["n"], req["k"], req["dtype"], req["kind"],
        group_size=req["group_size"], kernel=req["kernel"],
        a_major=req["a_major"], b_major=req["b_major"],
    )  # fmt: skip


def _cmd_predict(args: argparse.Namespace) -> int:
    from archgym.simulators.common import InfeasibleDesign
    from archgym.simulators.gpu import GemmModel

    try:
        model = GemmModel(args.device)
    except ValueError as exc:
        raise UserError(f"--device: {exc}") from None
    columns, rows = read_requests(args.input)
    with open(args.out, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=[*columns, "predicted_us"], extrasaction="ignore")
        writer.writeheader()
        for i, row in enumerate(rows, start=1):
            try:
                t = _predict_row(model, row["req"], row["tile"], args.device)
            except (InfeasibleDesign, ValueError) as exc:  # a row the model cannot price
                raise UserError(f"{args.input} row {i}: {exc}") from None
            writer.writerow({**row["raw"], "predicted_us": f"{t:.3f}"})
    print(f"wrote {args.out} ({len(rows)} rows, device {model.device.name})")
    return 0


def _device_name(name: str) -> str:
    from archgym.simulators.gpu import get_device

    try:
        return get_device(name).name
    except ValueError as exc:
        raise UserError(f"--device: {exc}") from None


def _cmd_calibrate(args: argparse.Namespace) -> int:
    from archgym.numerics import run_pinned
    from archgym.simulators.gpu.calibration import load_calibration
    from archgym.simulators.gpu.fitting import calibrate_file

    device = _device_name(args.device)
    if args.start:
        _device_name(args.start)  # a bad --start is a user error before any fitting
    if args.seed is not None and args.max_kernels is None:
        raise UserError("--seed: only the few-shot fit (--max-kernels N) samples rows")
    # The fit runs on pinned floating-point code paths (archgym.numerics): the same bytes on
    # every x86-64 CPU with AVX2.
    argv = ["-m", "archgym.cli", "gpu", "calibrate", *map(str, args.measurements), "--device",
            args.device, "-o", str(args.out)]  # fmt: skip
    if args.start:
        argv += ["--start", args.start]
    if args.max_kernels is not None:
        argv += ["--max-kernels", str(args.max_kernels)]
    if args.seed is not None:
        argv += ["--seed", str(args.seed)]
    code = run_pinned(argv)
    if code is not None:
        return code
    start = load_calibration(args.start or device, borrow=False)
    try:
        text = calibrate_file(
            args.measurements,
            device,
            start=start,
            max_kernels=args.max_kernels,
            seed=args.seed or 0,
            start_device=args.start,
        )
    except (OSError, ValueError) as exc:
        raise UserError(str(exc)) from None  # load_measurements and OSError name the file
    try:
        Path(args.out).write_text(text)
    except OSError as exc:
        raise UserError(f"-o {args.out}: {exc.strerror or exc}") from None
    print(f"wrote {args.out} (device {device})")
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    from archgym.simulators.gpu import validation as val

    device = _device_name(args.device)
    baseline = not args.no_baseline
    if args.csv:
        if not Path(args.csv).is_file():
            raise UserError(f"{args.csv}: no such file")
        try:
            report = val.csv_report(args.csv, device, baseline=baseline, few_shot=args.few_shot)
        except ValueError as exc:
            raise UserError(str(exc)) from None
    elif args.few_shot:
        report = val.few_shot_report(device, max_kernels=args.few_shot, baseline=baseline)
    else:
        if device not in val.DATASETS or val.data_path(val.DATASETS[device][0]) is None:
            raise UserError(f"no packaged measurements of {device}; pass --csv FILE")
        report = val.device_report(device, refit=args.refit, baseline=baseline)
    print(val.format_tables(report))
    return 0
