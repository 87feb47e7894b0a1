"""Time dense GEMM kernels on the local GPU: ``archgym gpu measure -o FILE.csv``.

This module is the single source of the GEMM timing method used for the measured data in
``data/gpu/`` (see ``data/gpu/README.md``): ``triton.testing.do_bench`` (CUDA events, the L2
flushed before every repetition, median and 20/80 % quantiles) on random non-zero data, each
point checked against an fp32 product first. It imports nothing from the rest of archgym, so
``experiments/gpu/campaign_h200.py`` loads it by file path on a machine where archgym is not
installed. torch and triton are imported lazily: without them (or without a CUDA GPU),
``run_measure`` prints one line and returns 2.

Layout convention: ``C[m, n] = A[m, k] @ B[k, n]``; ``a_major``/``b_major`` give the storage
order of A and B (``row``: contiguous as written; ``col``: the transpose is contiguous).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import random
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = [
    "DENSE_COLUMNS",
    "DENSE_DTYPES",
    "add_measure_parser",
    "anchor_shapes",
    "dense_plan",
    "random_shapes",
    "run_measure",
    "standard_shapes",
]

DENSE_DTYPES = ("bf16", "fp16", "fp32", "fp8", "int8")
# (dtype, a_major, b_major) pairs timed by the dense part; fp8 (torch._scaled_mm) only takes
# a row-major A and a column-major B, so it has one layout.
DENSE_LAYOUTS: dict[str, tuple[tuple[str, str], ...]] = {
    "bf16": (("row", "row"), ("row", "col"), ("col", "row"), ("col", "col")),
    "fp16": (("row", "row"), ("row", "col")),
    "fp32": (("row", "row"), ("row", "col")),
    "fp8": (("row", "col"),),
    "int8": (("row", "row"), ("row", "col")),
}
DENSE_COLUMNS = [
    "set",
    "family",
    "source",
    "m",
    "n",
    "k",
    "dtype",
    "a_major",
    "b_major",
    "kind",
    "backend",
    "time_us",
    "p20_us",
    "p80_us",
    "tflops",
    "rel_err",
    "sm_clock_mhz",
    "status",
]
WARMUP_MS = 5
REP_MS = 30
FP32_MAX_FLOP = 2.5e12  # fp32 (no TF32) beyond this takes > 50 ms a call: not timed
MAX_FLOP = 1.2e13  # 16384^3 is 8.8e12

Shape = tuple[str, str, int, int, int]  # (family, source, m, n, k)
SETS = ("train", "prospective", "classes", "unaligned")


def anchor_shapes() -> list[Shape]:
    """Fixed shapes present in every set: squares, GEMV, small-m, unaligned, tiny, LLM layers."""
    out: list[Shape] = []
    for s in (256, 512, 1024, 2048, 4096, 8192, 16384):
        out.append(("square", f"square{s}", s, s, s))
    out += [
        ("rect", "rect8192x4096x16384", 8192, 4096, 16384),
        ("rect", "rect16384x8192x2048", 16384, 8192, 2048),
        ("rect", "rect2048x16384x8192", 2048, 16384, 8192),
        ("gemv", "gemv.n1.28672x4096", 28672, 1, 4096),
        ("gemv", "gemv.m1.14336x4096", 1, 4096, 14336),
        ("gemv", "gemv.m1.4096x28672", 1, 28672, 4096),
        ("gemv", "gemv.n1.4096x4096", 4096, 1, 4096),
        ("small-m", "smallm.8x4096x4096", 8, 4096, 4096),
        ("small-m", "smallm.16x14336x4096", 16, 14336, 4096),
        ("small-m", "smallm.32x4096x14336", 32, 4096, 14336),
        ("small-m", "smallm.64x28672x4096", 64, 28672, 4096),
        ("unaligned", "square3000", 3000, 3000, 3000),
        ("unaligned", "square4095", 4095, 4095, 4095),
        ("unaligned", "oddk.4096x4096x4097", 4096, 4096, 4097),
        ("unaligned", "odd.1000x1000x1000", 1000, 1000, 1000),
        ("unaligned", "odd.2047x3001x513", 2047, 3001, 513),
        ("tiny", "tiny16", 16, 16, 16),
        ("tiny", "tiny64", 64, 64, 64),
        ("tiny", "tiny128x256x64", 128, 256, 64),
    ]
    layers = {"qkv": (6144, 4096), "o": (4096, 4096), "up": (28672, 4096), "down": (4096, 14336)}
    for tokens in (128, 2048):
        for proj, (n, k) in layers.items():
            out.append(("llm:llama3-8b", f"llama3-8b.{proj}.t{tokens}", tokens, n, k))
    return out


def random_shapes(count: int, seed: int, family: str = "random") -> list[Shape]:
    """``count`` seeded shapes: log-uniform m, n, k; a third of the dims rounded to 64."""
    rng = random.Random(seed)
    out: list[Shape] = []
    while len(out) < count:
        dims = []
        for lo, hi in ((1, 16384), (16, 16384), (16, 16384)):
            v = round(math.exp(rng.uniform(math.log(lo), math.log(hi))))
            if rng.random() < 0.35 and v >= 64:
                v = 64 * round(v / 64)
            dims.append(max(lo, v))
        m, n, k = dims
        if 2.0 * m * n * k > MAX_FLOP / 4:
            continue
        out.append((family, f"{family}.s{seed}.{len(out)}", m, n, k))
    return out


def _log_uniform(rng: random.Random, lo: int, hi: int, step: int = 1) -> int:
    v = math.exp(rng.uniform(math.log(lo), math.log(hi)))
    return max(lo, step * round(v / step))


def _odd(rng: random.Random, lo: int, hi: int) -> int:
    """A log-uniform size that is not a multiple of 2 (2-byte aligned rows at most)."""
    return _log_uniform(rng, lo, hi) | 1


def _exactly(rng: random.Random, lo: int, hi: int, elems: int) -> int:
    """A log-uniform size that is a multiple of ``elems`` but not of ``2 * elems``: rows of a
    16-bit operand that start on ``2 * elems``-byte boundaries and no wider."""
    return 2 * elems * (_log_uniform(rng, lo, hi) // (2 * elems)) + elems


def _large_unaligned(rng: random.Random) -> tuple[int, int, int]:
    """m, n, k in 2048-16384, exactly 2-, 4- or 8-byte aligned rows (16-bit): m, and n, k or
    both (the other a multiple of 64), as in a long prompt's unaligned activations."""
    elems = rng.choice((1, 2, 4))
    odd = rng.choice(("n", "k", "nk"))
    m = _exactly(rng, 2048, 16384, elems)
    n, k = (
        _exactly(rng, 2048, 16384, elems) if d in odd else _log_uniform(rng, 2048, 16384, 64)
        for d in "nk"
    )
    return m, n, k


# Classes of the stratified draw: name -> (m, n, k) sampler; counts in ``class_shapes``.
_CLASSES: dict[str, Callable[[random.Random], tuple[int, int, int]]] = {
    "aligned": lambda r: tuple(_log_uniform(r, 256, 8192, 64) for _ in range(3)),
    "unaligned": lambda r: (_odd(r, 128, 8192), _odd(r, 128, 8192), _odd(r, 128, 8192)),
    "unaligned4": lambda r: tuple(_log_uniform(r, 128, 8192, 2) | 2 for _ in range(3)),
    "gemv-m1": lambda r: (1, _log_uniform(r, 1024, 32768, 64), _log_uniform(r, 1024, 16384, 64)),
    "gemv-n1": lambda r: (_log_uniform(r, 1024, 32768, 64), 1, _log_uniform(r, 1024, 16384, 64)),
    "small-m": lambda r: (
        _log_uniform(r, 2, 32),
        _log_uniform(r, 512, 16384, 64),
        _log_uniform(r, 512, 16384, 64),
    ),
    "tiny": lambda r: tuple(_log_uniform(r, 16, 256) for _ in range(3)),
    "huge": lambda r: tuple(_log_uniform(r, 8192, 16384, 256) for _ in range(3)),
    # added after the draws of seeds 20261203-20261209 (appended, so their draws stand)
    "unaligned8": lambda r: tuple(_exactly(r, 128, 8192, 4) for _ in range(3)),
    "unaligned-large": _large_unaligned,
}
_CLASS_COUNTS = {
    "aligned": 6,
    "unaligned": 5,
    "unaligned4": 3,
    "gemv-m1": 3,
    "gemv-n1": 3,
    "small-m": 4,
    "tiny": 4,
    "huge": 2,
    "unaligned8": 3,
    "unaligned-large": 3,
}
# The unaligned training draw (set ``unaligned``): its classes and shapes per class.
_UNALIGNED_CLASSES = ("unaligned", "unaligned4", "unaligned8", "unaligned-large")
_UNALIGNED_PER_CLASS = 8


def class_shapes(seed: int, counts: dict[str, int] | None = None, set_name: str = "classes"):
    """A stratified seeded draw: a few shapes of every class (family ``<set>:<seed>:<class>``).

    Classes: 64-aligned, odd (2-byte aligned), 2 mod 4 (4-byte), GEMV m = 1 and n = 1, small
    m (2-32), tiny (all dims 16-256), huge (8192-16384, power-limited), 4 mod 8 (8-byte) and
    large unaligned (2048-16384). ``counts``: shapes per class (default ``_CLASS_COUNTS``).
    """
    rng = random.Random(seed + 2_000_029)
    out: list[Shape] = []
    for name, count in (counts or _CLASS_COUNTS).items():
        drawn = 0
        while drawn < count:
            m, n, k = _CLASSES[name](rng)
            if 2.0 * m * n * k > MAX_FLOP:
                continue
            fam = f"{set_name}:{seed}:{name}"
            out.append((fam, f"{fam}.{drawn}", m, n, k))
            drawn += 1
    return out


def standard_shapes(set_name: str = "train", seed: int = 0, count: int = 30) -> list[Shape]:
    """The campaign's shape set: anchors + a seeded draw (``train``), a fresh draw only
    (``prospective``), a stratified fresh draw of every shape class (``classes``) or of the
    unaligned classes only (``unaligned``, 8 shapes each)."""
    if set_name == "prospective":
        return random_shapes(count, seed + 1_000_003, family=f"prospective:{seed}")
    if set_name == "classes":
        return class_shapes(seed)
    if set_name == "unaligned":
        counts = dict.fromkeys(_UNALIGNED_CLASSES, _UNALIGNED_PER_CLASS)
        return class_shapes(seed, counts, "unaligned")
    return anchor_shapes() + random_shapes(count, seed)


def dense_plan(shapes: list[Shape], dtypes: tuple[str, ...] = DENSE_DTYPES) -> list[tuple]:
    """Every (shape, dtype, a_major, b_major) point of the dense part."""
    return [(s, dt, am, bm) for dt in dtypes for s in shapes for am, bm in DENSE_LAYOUTS[dt]]


# --------------------------------------------------------------------------- device side


def gpu_metadata(torch: Any, triton: Any) -> dict:
    """GPU name, SM count, L2, versions, driver, clocks and power limit (nvidia-smi)."""
    props = torch.cuda.get_device_properties(0)
    query = "name,driver_version,clocks.sm,clocks.max.sm,clocks.mem,clocks.max.mem,power.limit,"
    query += "power.draw,temperature.gpu,pstate"
    try:
        smi = subprocess.run(
            ["nvidia-smi", f"--query-gpu={query}", "--format=csv"],
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError) as exc:
        smi = f"nvidia-smi failed: {exc}"
    cusparselt = getattr(torch.backends, "cusparselt", None)
    return {
        "gpu": props.name,
        "sm_count": props.multi_processor_count,
        "l2_bytes": getattr(props, "L2_cache_size", None),
        "total_memory_bytes": props.total_memory,
        "compute_capability": f"{props.major}.{props.minor}",
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "cusparselt": str(cusparselt.version() if cusparselt else None),
        "triton": triton.__version__,
        "python": sys.version.split()[0],
        "nvidia_smi": smi,
        "warmup_ms": WARMUP_MS,
        "rep_ms": REP_MS,
        "timing": "triton.testing.do_bench, median, L2 flushed, CUDA events",
        "utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


class Clock:
    """SM clock in MHz through NVML (empty string where NVML is missing)."""

    def __init__(self) -> None:
        try:
            import pynvml

            pynvml.nvmlInit()
            self._nvml: Any = pynvml
            self._handle = pynvml.nvmlDeviceGetHandleByIndex(0)
        except Exception:  # NVML missing: record an empty clock rather than stop
            self._nvml = None

    def sm_mhz(self) -> str:
        if self._nvml is None:
            return ""
        return str(self._nvml.nvmlDeviceGetClockInfo(self._handle, self._nvml.NVML_CLOCK_SM))


def rel_err(torch: Any, out: Any, ref: Any) -> float:
    """‖out − ref‖ / ‖ref‖ in fp32."""
    out = out.float()
    return float(torch.linalg.norm(out - ref) / torch.linalg.norm(ref).clamp_min(1e-30))


def bench(
    fn: Callable[[], Any], rep_ms: float = REP_MS, warmup_ms: float = WARMUP_MS
) -> tuple[float, float, float]:
    """(p20, median, p80) in microseconds of ``fn`` by do_bench (L2 flushed before each run).

    The one timing helper of every GEMM campaign script (``experiments/gpu/*.py`` load this
    module by path); ``rep_ms`` / ``warmup_ms``: milliseconds of repetitions and warm-up.
    """
    from triton.testing import do_bench

    q = do_bench(fn, warmup=warmup_ms, rep=rep_ms, quantiles=[0.2, 0.5, 0.8])
    p20, med, p80 = (float(v) * 1e3 for v in q)
    return p20, med, p80


def graphed(torch: Any, call: Callable[[], Any]) -> tuple[Callable[[], None], Any]:
    """Capture ``call`` in a CUDA graph; return (replay, output tensor of the capture)."""
    call()
    torch.cuda.synchronize()
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        out = call()
    return graph.replay, out


def _operand(torch: Any, rows: int, cols: int, major: str, tdt: Any) -> Any:
    """A [rows, cols] random operand stored row-major or column-major."""
    if tdt == torch.int8:
        shape = (rows, cols) if major == "row" else (cols, rows)
        t = torch.randint(-127, 128, shape, device="cuda", dtype=torch.int8)
    else:
        shape = (rows, cols) if major == "row" else (cols, rows)
        t = torch.randn(shape, device="cuda").to(tdt)
    return t if major == "row" else t.t()


def make_dense(torch: Any, m: int, n: int, k: int, dtype: str, a_major: str, b_major: str):
    """(fn, check) for one dense library GEMM C = A @ B with the given storage orders."""
    tdt = {
        "bf16": torch.bfloat16,
        "fp16": torch.float16,
        "fp32": torch.float32,
        "fp8": torch.float8_e4m3fn,
        "int8": torch.int8,
    }[dtype]
    a = _operand(torch, m, k, a_major, tdt)
    b = _operand(torch, k, n, b_major, tdt)
    if dtype == "fp8":
        one = torch.ones((), device="cuda")

        def fn():
            return torch._scaled_mm(a, b, scale_a=one, scale_b=one, out_dtype=torch.bfloat16)

    elif dtype == "int8":

        def fn():
            return torch._int_mm(a, b)

    else:

        def fn():
            return torch.mm(a, b)

    def check() -> float:
        return rel_err(torch, fn(), a.float() @ b.float())

    return fn, check


def error_status(exc: BaseException) -> str:
    """One-line CSV-safe status for a point the library refused."""
    msg = f"{type(exc).__name__}: {exc}".splitlines()[0][:160]
    return "skipped: " + msg.replace(",", ";")


def measure_dense(
    points: list[tuple], csv_path: Path, set_name: str, budget_s: float = 1e9, log_every: int = 50
) -> int:
    """Time every dense point, appending one row per point to ``csv_path``; rows written."""
    import torch

    torch.backends.cuda.matmul.allow_tf32 = False  # fp32 rows are true fp32
    torch.manual_seed(0)
    clock = Clock()
    t0 = time.monotonic()
    new = not csv_path.exists()
    written = 0
    with csv_path.open("a", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=DENSE_COLUMNS)
        if new:
            writer.writeheader()
        for i, ((family, source, m, n, k), dtype, am, bm) in enumerate(points):
            if time.monotonic() - t0 > budget_s:
                print(f"dense: budget reached after {i} points", flush=True)
                break
            row = dict.fromkeys(DENSE_COLUMNS, "")
            row.update(set=set_name, family=family, source=source, m=m, n=n, k=k, dtype=dtype)
            row.update(a_major=am, b_major=bm, kind="dense", backend="cublas")
            flop = 2.0 * m * n * k
            try:
                if dtype == "fp32" and flop > FP32_MAX_FLOP:
                    raise RuntimeError("not timed: fp32 point above the time cap")
                fn, check = make_dense(torch, m, n, k, dtype, am, bm)
                err = check()
                p20, med, p80 = bench(fn, REP_MS if flop < 2e12 else 3 * REP_MS)
                row.update(time_us=f"{med:.3f}", p20_us=f"{p20:.3f}", p80_us=f"{p80:.3f}")
                row.update(tflops=f"{flop / med / 1e6:.3f}", rel_err=f"{err:.2e}")
                row.update(sm_clock_mhz=clock.sm_mhz(), status="ok")
                del fn, check
            except Exception as exc:  # an unsupported point is data (status), not a stop
                row.update(status=error_status(exc))
                torch.cuda.synchronize()
            writer.writerow(row)
            f.flush()
            written += 1
            if i % log_every == 0:
                print(
                    f"[dense {i}/{len(points)} {time.monotonic() - t0:.0f}s] {source} {dtype} "
                    f"{am},{bm} {row['time_us']} us {row['status'][:50]}",
                    flush=True,
                )
            if i % 40 == 0:
                torch.cuda.empty_cache()
    return written


# --------------------------------------------------------------------------- CLI


def add_measure_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``measure`` to the ``archgym gpu`` subcommands (``set_defaults(func=run_measure)``)."""
    p = subparsers.add_parser(
        "measure", help="time the standard dense GEMM shape set on the local GPU"
    )
    p.add_argument("-o", "--out", required=True, help="CSV file to write (appended if it exists)")
    p.add_argument("--set", default="train", choices=SETS)
    p.add_argument("--seed", type=int, default=0, help="seed of the random shape draw")
    p.add_argument("--dtypes", default=",".join(DENSE_DTYPES), help="comma-separated")
    p.add_argument("--quick", action="store_true", help="anchors only, bf16 and fp16")
    p.add_argument("--budget-s", type=float, default=1e9, help="stop starting points after this")
    p.set_defaults(func=run_measure)
    return p


def run_measure(args: argparse.Namespace) -> int:
    """Measure the standard shape set into ``args.out``; 2 with one line on stderr if no GPU."""
    dtypes = tuple(d for d in args.dtypes.split(",") if d)
    bad = [d for d in dtypes if d not in DENSE_DTYPES]
    if bad:
        print(
            f"archgym: error: --dtypes: unknown dtype {bad[0]!r} ({DENSE_DTYPES})", file=sys.stderr
        )
        return 2
    try:
        import torch
        import triton
    except ImportError as exc:
        print(f"archgym: error: gpu measure needs torch and triton ({exc})", file=sys.stderr)
        return 2
    if not torch.cuda.is_available():
        print("archgym: error: gpu measure needs a CUDA GPU; none is visible", file=sys.stderr)
        return 2
    shapes = standard_shapes(args.set, args.seed)
    if args.quick:
        shapes, dtypes = anchor_shapes()[:8], ("bf16", "fp16")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = gpu_metadata(torch, triton)
    out.with_suffix(".meta.json").write_text(json.dumps(meta, indent=2))
    n = measure_dense(dense_plan(shapes, dtypes), out, args.set, args.budget_s)
    print(f"wrote {n} rows to {out} (meta: {out.with_suffix('.meta.json')})")
    return 0
