"""Record which library kernels run for each GEMM shape (names and device times, torch.profiler).

Run on the lent H100 (see data/gpu/README.md):

    cd experiments/gpu && python3 profile_kernels.py --out $OUT --shapes train --tag train
    # the H200 campaign's shape sets with every layout (archgym/gpu_measure.py):
    cd experiments/gpu && python3 profile_kernels.py --out $OUT --campaign train:0,classes:20261203

For every shape and dtype the GEMM is warmed up, then called three times inside one profiler
session between marker kernels (``torch.cuda._sleep``), so the kernels of one call are the ones
between two markers, divided by three. The kernel names tell the tile shape, the split-K or
stream-K variant and whether the TMA (sm90) or the older (sm80, ldg) path was chosen, which the
timing data alone cannot. Device times here are with a warm L2 (no flush) and are only a
cross-check; the timings of record stay in the measurement CSVs.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections import namedtuple
from pathlib import Path

from measure_gemm import DENSE_DTYPES, gm, make_dense, metadata
from shapes import all_shapes, prospective_shapes, prospective_shapes_v2

COLUMNS = [
    "family",
    "source",
    "m",
    "n",
    "k",
    "dtype",
    "a_major",
    "b_major",
    "n_kernels",
    "kernel_us",
    "kernels",
    "status",
]
CALLS = 3


def _shapes(which: str):
    return {
        "train": all_shapes,
        "prospective": prospective_shapes,
        "prospective2": prospective_shapes_v2,
    }[which]()


CampaignShape = namedtuple("CampaignShape", "family source m n k")


def _points(args) -> list[tuple]:
    """(shape, dtype, a_major, b_major) per point: H100 sets in their layouts, or campaigns."""
    dtypes = tuple(args.dtypes.split(","))
    if args.campaign:
        out = []
        for item in args.campaign.split(","):
            set_name, seed = item.split(":")
            shapes = [CampaignShape(*s) for s in gm.standard_shapes(set_name, int(seed))]
            out += gm.dense_plan(shapes, dtypes)
        return out
    shapes = [s for w in args.shapes.split(",") for s in _shapes(w)]
    return [(s, dt, "", "") for s in shapes for dt in dtypes]


def _profile_point(torch, shape, dtype: str, a_major: str, b_major: str) -> dict:
    """One CSV row: the kernels of one call (names, mean device time) or the skip reason."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    row = dict(family=shape.family, source=shape.source, m=shape.m, n=shape.n, k=shape.k)
    row.update(dtype=dtype, a_major=a_major, b_major=b_major)
    row.update(n_kernels="", kernel_us="", kernels="", status="ok")
    try:
        if a_major:
            fn = gm.make_dense(torch, shape.m, shape.n, shape.k, dtype, a_major, b_major)[0]
        else:
            fn = make_dense(torch, shape, dtype)[0]
        fn()
        fn()
        torch.cuda.synchronize()
        with torch_profile(activities=[ProfilerActivity.CUDA]) as prof:
            torch.cuda._sleep(1000)
            for _ in range(CALLS):
                fn()
            torch.cuda._sleep(1000)
            torch.cuda.synchronize()
        events = [
            e
            for e in prof.events()
            if e.device_type.name == "CUDA" and "spin" not in e.name.lower()
        ]
        names: dict[str, float] = {}
        for e in events:
            names[e.name] = names.get(e.name, 0.0) + e.device_time / CALLS
        row.update(
            n_kernels=f"{len(events) / CALLS:g}",
            kernel_us=f"{sum(names.values()):.3f}",
            kernels=" | ".join(f"{n}={t:.2f}" for n, t in names.items()),
        )
    except Exception as exc:  # an unsupported shape is data, not a stop
        row["status"] = "skipped: " + f"{type(exc).__name__}: {exc}".splitlines()[0][:120]
    return row


def profile(args) -> int:
    import torch
    import triton

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.manual_seed(0)
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"meta_profile_{args.tag}.json").write_text(
        json.dumps(metadata(torch, triton), indent=2)
    )
    points = _points(args)
    t0 = time.monotonic()
    with (out_dir / f"kernels_{args.tag}.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        for i, (shape, dtype, a_major, b_major) in enumerate(points):
            if time.monotonic() - t0 > args.budget_s:
                print(f"budget reached after {i} points", flush=True)
                break
            writer.writerow(_profile_point(torch, shape, dtype, a_major, b_major))
            f.flush()
            if i % 100 == 0:
                el = time.monotonic() - t0
                print(f"[{i}/{len(points)} {el:.0f}s] {shape.source}", flush=True)
    print(f"done in {time.monotonic() - t0:.0f}s", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="runs/gpu")
    p.add_argument(
        "--shapes", default="train", help="train, prospective, prospective2 (comma list)"
    )
    p.add_argument("--dtypes", default=",".join(DENSE_DTYPES))
    p.add_argument("--tag", default="run")
    p.add_argument("--campaign", help="SET:SEED list of archgym/gpu_measure.py shape sets")
    p.add_argument("--budget-s", type=float, default=500.0, help="stop starting points after")
    p.add_argument("--dry-run", action="store_true", help="print the number of points")
    args = p.parse_args(argv)
    if args.dry_run:
        print(f"{len(_points(args))} points")
        return 0
    return profile(args)


if __name__ == "__main__":
    sys.exit(main())
