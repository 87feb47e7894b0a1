"""Measure GEMM kernels on the local GPU and write one CSV row per (shape, dtype, kind, kernel).

Run on the lent H100 (see data/gpu/README.md for the exact commands):

    python3 experiments/gpu/measure_gemm.py --out $OUT --parts dense,sparse --budget-s 520
    python3 experiments/gpu/measure_gemm.py --out $OUT --parts triton --budget-s 520
    python3 experiments/gpu/measure_gemm.py --out $OUT --parts prospective,dense,sparse
    python3 experiments/gpu/measure_gemm.py --out $OUT --parts prospective2,dense,sparse
    python3 experiments/gpu/measure_gemm.py --dry-run          # list the plan, no torch needed

Method: ``triton.testing.do_bench`` (CUDA events, L2 flushed before every repetition, warm-up,
median and 20/80 % quantiles) on random normal data (never zeros). Library kernels are timed
as called from PyTorch; 2:4 sparse kernels are captured in a CUDA graph and the graph replay is
timed, because the semi-structured tensor's Python wrapper costs more host time than the
kernel at small sizes. Every result is checked against an fp32 reference (``rel_err``).
GPU name, SM count, clocks (NVML), versions go to ``meta.json``; the SM clock read after each
point goes in its row.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import os
import sys
import time
from pathlib import Path

from shapes import (
    Shape,
    all_shapes,
    prospective_shapes,
    prospective_shapes_v2,
    triton_configs,
    triton_shapes,
)

HERE = Path(__file__).resolve().parent


def _load_gpu_measure():
    """``archgym/gpu_measure.py``, the one timing method, loaded by path (no install needed)."""
    for path in (HERE / "gpu_measure.py", HERE.parents[1] / "archgym" / "gpu_measure.py"):
        if path.exists():
            spec = importlib.util.spec_from_file_location("gpu_measure", path)
            mod = importlib.util.module_from_spec(spec)
            sys.modules["gpu_measure"] = mod
            spec.loader.exec_module(mod)
            return mod
    raise FileNotFoundError("gpu_measure.py not found next to this script or in archgym/")


gm = _load_gpu_measure()
DENSE_DTYPES = ("bf16", "fp16", "fp32", "fp8", "int8")
# Storage orders this script uses (A, B): fp8 (torch._scaled_mm) needs a column-major B and
# int8 (torch._int_mm) was given w.t(); the rest are row-major (torch.mm on contiguous tensors).
MEASURED_LAYOUT = {"fp8": ("row", "col"), "int8": ("row", "col")}
SPARSE_DTYPES = ("bf16", "fp16")
COLUMNS = [
    "family",
    "source",
    "m",
    "n",
    "k",
    "dtype",
    "kind",
    "backend",
    "block_m",
    "block_n",
    "block_k",
    "num_warps",
    "num_stages",
    "time_us",
    "p20_us",
    "p80_us",
    "tflops",
    "rel_err",
    "sm_clock_mhz",
    "status",
]
WARMUP_MS = 10
REP_MS = 60


def plan(parts: list[str]) -> list[tuple[Shape, str, str, str, tuple | None]]:
    """Every point to measure: (shape, dtype, kind, backend, triton config or None)."""
    points = []
    if "prospective2" in parts:
        shapes = prospective_shapes_v2()
    elif "prospective" in parts:
        shapes = prospective_shapes()
    else:
        shapes = all_shapes()
    if "dense" in parts:
        for dtype in DENSE_DTYPES:
            points += [(s, dtype, "dense", "cublas", None) for s in shapes]
    if "sparse" in parts:
        for dtype in SPARSE_DTYPES:
            points += [(s, dtype, "sparse24", "cusparselt", None) for s in shapes]
    if "triton" in parts:
        for s in triton_shapes():
            points += [(s, "fp16", "dense", "triton", c) for c in triton_configs()]
    return points


def point_key(shape: Shape, dtype: str, kind: str, backend: str, cfg) -> tuple:
    cfg = tuple(cfg) if cfg else ("", "", "", "", "")
    return (shape.m, shape.n, shape.k, dtype, kind, backend, *[str(c) for c in cfg])


def done_keys(paths: list[Path]) -> set[tuple]:
    keys = set()
    for p in paths:
        if not p.exists():
            continue
        with p.open() as f:
            for r in csv.DictReader(f):
                cfg = [r["block_m"], r["block_n"], r["block_k"], r["num_warps"], r["num_stages"]]
                keys.add(
                    (
                        int(r["m"]),
                        int(r["n"]),
                        int(r["k"]),
                        r["dtype"],
                        r["kind"],
                        r["backend"],
                        *cfg,
                    )
                )
    return keys


# --------------------------------------------------------------------------- device side


def metadata(torch, triton) -> dict:
    """``gpu_measure.gpu_metadata`` plus this script's timing settings."""
    meta = gm.gpu_metadata(torch, triton)
    meta.update(warmup_ms=WARMUP_MS, rep_ms=REP_MS)
    return meta


def make_dense(torch, shape: Shape, dtype: str):
    """(fn, check) of one dense library GEMM in this script's layouts (``MEASURED_LAYOUT``)."""
    a_major, b_major = MEASURED_LAYOUT.get(dtype, ("row", "row"))
    return gm.make_dense(torch, shape.m, shape.n, shape.k, dtype, a_major, b_major)


def make_sparse(torch, shape: Shape, dtype: str):
    """2:4 sparse weight W[n, k] (cuSPARSELt) times dense X^T[k, m], timed by graph replay."""
    from torch.sparse import to_sparse_semi_structured

    m, n, k = shape.m, shape.n, shape.k
    tdt = {"bf16": torch.bfloat16, "fp16": torch.float16}[dtype]
    mask = torch.tensor([0, 0, 1, 1], device="cuda", dtype=torch.bool).tile(n, k // 4 + 1)[:, :k]
    w = torch.randn(n, k, device="cuda", dtype=tdt) * mask
    ws = to_sparse_semi_structured(w)
    x = torch.randn(m, k, device="cuda", dtype=tdt)
    xt = x.t().contiguous()

    replay, out = gm.graphed(torch, lambda: torch.mm(ws, xt))

    def check():
        replay()
        return gm.rel_err(torch, out, (w.float() @ xt.float()))

    return replay, check


def make_triton(torch, shape: Shape, cfg):
    from triton_gemm import triton_matmul

    a = torch.randn(shape.m, shape.k, device="cuda", dtype=torch.float16)
    b = torch.randn(shape.k, shape.n, device="cuda", dtype=torch.float16)
    c = torch.empty(shape.m, shape.n, device="cuda", dtype=torch.float16)

    def fn():
        return triton_matmul(a, b, c, *cfg)

    def check():
        return gm.rel_err(torch, fn(), a.float() @ b.float())

    return fn, check


def ceilings(torch, do_bench) -> dict:
    """Device-to-device copy bandwidth (bytes read + written per second) of a 1 GiB buffer."""
    src = torch.randn(2**28, device="cuda")
    dst = torch.empty_like(src)
    ms = do_bench(lambda: dst.copy_(src), warmup=WARMUP_MS, rep=REP_MS, return_mode="median")
    return {"copy_bytes_per_s": 2 * src.numel() * 4 / (ms * 1e-3)}


def measure_point(torch, clock, shape: Shape, dtype: str, kind: str, backend: str, cfg) -> dict:
    """One CSV row: the point's median and 20/80 % quantiles (us), or the library's refusal."""
    row = {c: "" for c in COLUMNS}
    row.update(
        family=shape.family,
        source=shape.source,
        m=shape.m,
        n=shape.n,
        k=shape.k,
        dtype=dtype,
        kind=kind,
        backend=backend,
    )
    if cfg:
        row.update(
            zip(
                ("block_m", "block_n", "block_k", "num_warps", "num_stages"),
                cfg,
                strict=False,
            )
        )
    try:
        if backend == "cublas":
            fn, check = make_dense(torch, shape, dtype)
        elif backend == "cusparselt":
            fn, check = make_sparse(torch, shape, dtype)
        else:
            fn, check = make_triton(torch, shape, cfg)
        err = check()
        torch.cuda.synchronize()
        p20, med, p80 = gm.bench(fn, rep_ms=REP_MS, warmup_ms=WARMUP_MS)
        row.update(
            time_us=f"{med:.3f}",
            p20_us=f"{p20:.3f}",
            p80_us=f"{p80:.3f}",
            tflops=f"{2 * shape.m * shape.n * shape.k / med / 1e6:.2f}",
            rel_err=f"{err:.2e}",
            sm_clock_mhz=clock.sm_mhz(),
            status="ok",
        )
    except Exception as exc:  # an unsupported shape is data (status), not a stop
        row.update(status=gm.error_status(exc))
        torch.cuda.synchronize()
    return row


def measure(args) -> int:
    import torch
    import triton
    from triton.testing import do_bench

    torch.backends.cuda.matmul.allow_tf32 = False  # fp32 rows are true fp32 (no TF32)
    torch.backends.cudnn.allow_tf32 = False
    torch.manual_seed(0)
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    meta = metadata(torch, triton)
    (out_dir / f"meta_{args.tag}.json").write_text(json.dumps(meta, indent=2))
    print(json.dumps(meta, indent=1), flush=True)
    clock = gm.Clock()
    parts = args.parts.split(",")
    if "ceilings" in parts:
        meta["ceilings"] = ceilings(torch, do_bench)
        (out_dir / f"meta_{args.tag}.json").write_text(json.dumps(meta, indent=2))
        print(json.dumps(meta["ceilings"]), flush=True)
    skip = done_keys([Path(p) for p in args.resume]) if args.resume else set()
    points = [p for p in plan(parts) if point_key(*p) not in skip]
    print(f"{len(points)} points to measure ({len(skip)} already done)", flush=True)
    t_start = time.monotonic()
    csv_path = out_dir / f"gemm_{args.tag}.csv"
    counts: dict[str, int] = {}
    with csv_path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        for i, (shape, dtype, kind, backend, cfg) in enumerate(points):
            if time.monotonic() - t_start > args.budget_s:
                print(f"budget reached after {i} points; rerun with --resume", flush=True)
                break
            row = measure_point(torch, clock, shape, dtype, kind, backend, cfg)
            counts[row["status"][:40]] = counts.get(row["status"][:40], 0) + 1
            writer.writerow(row)
            f.flush()
            if i % 50 == 0:
                el = time.monotonic() - t_start
                print(
                    f"[{i}/{len(points)} {el:.0f}s] {row['source']} {dtype} {kind} "
                    f"{backend} {cfg or ''} {row['time_us']} us {row['status'][:60]}",
                    flush=True,
                )
            torch.cuda.empty_cache() if i % 100 == 0 else None
    el = time.monotonic() - t_start
    print(f"done in {el:.0f}s; statuses: {json.dumps(counts, indent=1)}", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=os.environ.get("OUT", "runs/gpu"))
    p.add_argument("--parts", default="dense,sparse,triton")
    p.add_argument("--tag", default="run", help="suffix of the output files")
    p.add_argument("--budget-s", type=float, default=520.0, help="stop starting points after this")
    p.add_argument("--resume", nargs="*", default=[], help="CSVs whose points are skipped")
    p.add_argument("--dry-run", action="store_true", help="print the plan and exit")
    args = p.parse_args(argv)
    if args.dry_run:
        points = plan(args.parts.split(","))
        by: dict[str, int] = {}
        for _s, dtype, kind, backend, _ in points:
            key = f"{backend}/{kind}/{dtype}"
            by[key] = by.get(key, 0) + 1
        fams = sorted({s.family for s, *_ in points})
        print(f"{len(points)} points, {len({(s.m, s.n, s.k) for s, *_ in points})} shapes")
        print(json.dumps(by, indent=1))
        print("families:", fams)
        return 0
    return measure(args)


if __name__ == "__main__":
    sys.exit(main())
