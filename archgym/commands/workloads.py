"""``archgym workloads``: list, show and export workloads (built-in names or model files).

``archgym workloads`` lists the built-in names and their families.

``archgym workloads show NAME|PATH [--phase prefill|decode] [--tokens T] [--batch B]
[--context C] [--skip-unsupported] [--json]`` prints the layer table (one row per distinct
layer: shape, runs, GFLOPs) and the totals; ``--json`` prints ``layers`` (the rows),
``weight_flops``, ``attention_flops``, ``activation_flops``, ``total_flops``, the skipped ops
and their FLOPs, and facts about the model (phase, tokens, KV-cache elements, non-GEMM ops).

``archgym workloads export NAME|PATH -o topo.csv [options]`` writes the workload as a
SCALE-Sim topology CSV (GEMM form when every layer is a GEMM, else conv form), each layer
repeated as many times as it runs (SCALE-Sim has no count column).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from archgym.workloads.workload import Workload

__all__ = ["format_workload", "register"]


def _model_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("workload", help="built-in name, topology .csv, .onnx file or config.json")
    p.add_argument("--phase", choices=("prefill", "decode"), help="Hugging Face configs")
    p.add_argument("--tokens", type=int, help="tokens per sequence in this pass")
    p.add_argument("--batch", type=int, help="sequences or images processed together")
    p.add_argument("--context", type=int, help="keys each query attends to (KV-cache length)")
    p.add_argument(
        "--skip-unsupported",
        action="store_true",
        help="skip ONNX ops no layer expresses and report their FLOPs (default: refuse)",
    )


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``workloads`` with its ``show`` and ``export`` subcommands."""
    p = subparsers.add_parser(
        "workloads", help="list built-in workloads; show or export any workload"
    )
    p.set_defaults(func=_cmd_list)
    sub = p.add_subparsers(dest="workloads_command", parser_class=type(p))
    show = sub.add_parser("show", help="the layer table and FLOP totals of a workload")
    _model_options(show)
    show.add_argument("--json", action="store_true", help="print JSON instead of a table")
    show.set_defaults(func=_cmd_show)
    export = sub.add_parser("export", help="write a workload as a SCALE-Sim topology CSV")
    _model_options(export)
    export.add_argument("-o", "--out", required=True, help="topology CSV to write")
    export.set_defaults(func=_cmd_export)


def _resolve(args: argparse.Namespace) -> Workload:
    from archgym.workloads import resolve_workload

    return resolve_workload(
        args.workload,
        phase=args.phase,
        tokens=args.tokens,
        batch=args.batch,
        context=args.context,
        skip_unsupported=args.skip_unsupported,
    )


def _cmd_list(args: argparse.Namespace) -> int:
    from archgym.workloads import list_workloads, workload_family

    for name in list_workloads():
        print(f"{name:28s} {workload_family(name)}")
    return 0


def format_workload(workload: Workload) -> str:
    """The layer table and totals of a :class:`~archgym.workloads.Workload` as text."""
    rows = workload.rows()
    total = max(1, workload.flops())
    lines = [
        f"{'#':>4s} {'layer':30s} {'type':4s} {'kind':10s} {'M':>8s} {'N':>7s} {'K':>7s} "
        f"{'groups':>6s} {'runs':>6s} {'GFLOPs':>10s} {'share':>6s}"
    ]
    for i, r in enumerate(rows):
        lines.append(
            f"{i:4d} {r['name'][:30]:30s} {r['type']:4s} {r['kind']:10s} {r['m']:8d} {r['n']:7d} "
            f"{r['k']:7d} {r['groups']:6d} {r['runs']:6d} {r['flops'] / 1e9:10.3f} "
            f"{100 * r['flops'] / total:5.1f}%"
        )
    s = workload.summary()
    lines.append(
        f"weight_flops {s['weight_flops']:.4g}  attention_flops {s['attention_flops']:.4g}  "
        f"activation_flops {s['activation_flops']:.4g}  total_flops {s['total_flops']:.4g}"
    )
    facts = {k: v for k, v in s.items() if k not in _TOTALS and v not in ({}, None)}
    if s["skipped_ops"]:
        skipped = "unknown" if s["skipped_flops"] is None else f"{s['skipped_flops']:.4g}"
        facts["skipped"] = f"{s['skipped_ops']} ({skipped} FLOPs not counted above)"
    lines.append("  ".join(f"{k} {v}" for k, v in facts.items()))
    return "\n".join(lines)


_TOTALS = {
    "weight_flops",
    "attention_flops",
    "activation_flops",
    "total_flops",
    "skipped_ops",
    "skipped_flops",
}


def _cmd_show(args: argparse.Namespace) -> int:
    workload = _resolve(args)
    if args.json:
        print(json.dumps({**workload.summary(), "layers": workload.rows()}, indent=1))
    else:
        print(format_workload(workload))
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from archgym.simulators.systolic.io import write_topology
    from archgym.simulators.systolic.layers import GemmLayer
    from archgym.workloads.gemms import GemmShape

    workload = _resolve(args)
    if workload.notes.get("built_in") == "sparse":
        from archgym.errors import UserError

        raise UserError(
            f"{args.workload!r} has sparsity patterns, which a dense topology CSV cannot hold; "
            "export its dense network instead"
        )
    layers = []
    for item in workload.items():  # SCALE-Sim splits fields on commas: keep names clean
        if isinstance(item, GemmShape):
            layer = GemmLayer.from_gemm(item)
            layers += [_clean(layer)] * item.count
        else:
            layers.append(_clean(item))
    out = Path(args.out)
    write_topology(out, layers)
    print(f"wrote {out} ({len(layers)} rows, {workload.flops():.4g} FLOPs)")
    return 0


def _clean(layer):
    from dataclasses import replace

    name = layer.name.replace(",", "_").replace(" ", "_") or "layer"
    return layer if name == layer.name else replace(layer, name=name)
