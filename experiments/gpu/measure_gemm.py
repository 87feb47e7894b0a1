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
import json
import os
import subprocess
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

DENSE_DTYPES = ("bf16", "fp16", "fp32", "fp8", "int8")
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
    props = torch.cuda.get_device_properties(0)
    query = "name,driver_version,clocks.sm,clocks.max.sm,clocks.mem,clocks.max.mem,power.limit,"
    query += "temperature.gpu,pstate"
    try:
        smi = subprocess.run(
            ["nvidia-smi", f"--query-gpu={query}", "--format=csv"],
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError) as exc:
        smi = f"nvidia-smi failed: {exc}"
    return {
        "gpu": props.name,
        "sm_count": props.multi_processor_count,
        "l2_bytes": getattr(props, "L2_cache_size", None),
        "total_memory_bytes": props.total_memory,
        "compute_capability": f"{props.major}.{props.minor}",
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "cublas_lt_available": True,
        "cusparselt": str(
            getattr(torch.backends, "cusparselt", None) and torch.backends.cusparselt.version()
        ),
        "triton": triton.__version__,
        "python": sys.version.split()[0],
        "nvidia_smi": smi,
        "warmup_ms": WARMUP_MS,
        "rep_ms": REP_MS,
        "timing": "triton.testing.do_bench, median, L2 flushed, CUDA events",
        "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


class Clock:
    """SM clock through NVML (cheap enough to read after every point)."""

    def __init__(self):
        try:
            import pynvml

            pynvml.nvmlInit()
            self._nvml = pynvml
            self._handle = pynvml.nvmlDeviceGetHandleByIndex(0)
        except Exception:  # NVML missing: record an empty clock rather than stop the campaign
            self._nvml = None

    def sm_mhz(self) -> str:
        if self._nvml is None:
            return ""
        return str(self._nvml.nvmlDeviceGetClockInfo(self._handle, self._nvml.NVML_CLOCK_SM))


def rel_err(torch, out, ref) -> float:
    out = out.float()
    return float(torch.linalg.norm(out - ref) / torch.linalg.norm(ref).clamp_min(1e-30))


def make_dense(torch, shape: Shape, dtype: str):
    """Return (fn, check) for one dense library GEMM: fn runs it, check returns rel_err."""
    m, n, k = shape.m, shape.n, shape.k
    dev = "cuda"
    if dtype in ("bf16", "fp16", "fp32"):
        tdt = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}[dtype]
        a = torch.randn(m, k, device=dev, dtype=tdt)
        b = torch.randn(k, n, device=dev, dtype=tdt)

        def fn():
            return torch.mm(a, b)

        def check():
            return rel_err(torch, fn(), a.float() @ b.float())

        return fn, check
    if dtype == "fp8":
        a = torch.randn(m, k, device=dev).to(torch.float8_e4m3fn)
        # cuBLASLt fp8 wants the second operand column-major: a transposed row-major [n, k].
        b = torch.randn(n, k, device=dev).to(torch.float8_e4m3fn).t()
        one = torch.ones((), device=dev)

        def fn():
            return torch._scaled_mm(a, b, scale_a=one, scale_b=one, out_dtype=torch.bfloat16)

        def check():
            return rel_err(torch, fn(), a.float() @ b.float())

        return fn, check
    if dtype == "int8":
        a = torch.randint(-127, 128, (m, k), device=dev, dtype=torch.int8)
        b = torch.randint(-127, 128, (n, k), device=dev, dtype=torch.int8).t()

        def fn():
            return torch._int_mm(a, b)

        def check():
            ref = a.double() @ b.double()
            return float(torch.linalg.norm(fn().double() - ref) / torch.linalg.norm(ref))

        return fn, check
    raise ValueError(dtype)


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

    def call():
        return torch.mm(ws, xt)

    call()  # warm the handle and plan outside capture
    torch.cuda.synchronize()
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        out = call()

    def check():
        graph.replay()
        return rel_err(torch, out, (w.float() @ xt.float()))

    return graph.replay, check


def make_triton(torch, shape: Shape, cfg):
    from triton_gemm import triton_matmul

    a = torch.randn(shape.m, shape.k, device="cuda", dtype=torch.float16)
    b = torch.randn(shape.k, shape.n, device="cuda", dtype=torch.float16)
    c = torch.empty(shape.m, shape.n, device="cuda", dtype=torch.float16)

    def fn():
        return triton_matmul(a, b, c, *cfg)

    def check():
        return rel_err(torch, fn(), a.float() @ b.float())

    return fn, check


def ceilings(torch, do_bench) -> dict:
    """Device-to-device copy bandwidth (bytes read + written per second) of a 1 GiB buffer."""
    src = torch.randn(2**28, device="cuda")
    dst = torch.empty_like(src)
    ms = do_bench(lambda: dst.copy_(src), warmup=WARMUP_MS, rep=REP_MS, return_mode="median")
    return {"copy_bytes_per_s": 2 * src.numel() * 4 / (ms * 1e-3)}


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
    clock = Clock()
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
                q = do_bench(fn, warmup=WARMUP_MS, rep=REP_MS, quantiles=[0.2, 0.5, 0.8])
                p20, med, p80 = (float(v) * 1e3 for v in q)
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
                msg = f"{type(exc).__name__}: {exc}".splitlines()[0][:160]
                row.update(status="skipped: " + msg.replace(",", ";"))
                torch.cuda.synchronize()
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
