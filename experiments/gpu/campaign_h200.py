"""H200 measurement campaign (issues 12 and 13): dense, Triton tiles, 2:4 sparse, weight-only.

Standalone on the device (torch + triton only): the dense timing method lives in
``archgym/gpu_measure.py``, loaded here by file path (a copy next to this script wins, so the
campaign folder can travel alone with ``gpu_measure.py`` and ``triton_gemm.py`` beside it).

    python3 campaign_h200.py --out $OUT --set train --seed 0 --part all
    python3 campaign_h200.py --out $OUT --set prospective --seed 7 --part dense   # < 6 min
    python3 campaign_h200.py --dry-run --part all        # the plan, no GPU needed

Parts (CSV files under --out, appended row by row):
  dense   -> h200_dense.csv        cuBLASLt GEMMs, 5 dtypes x layouts (gpu_measure.measure_dense)
  tiles   -> h200_triton_tiles.csv a Triton tiled fp16 GEMM over tile configs x ~20 shapes
  sparse  -> h200_sparse24.csv     cuSPARSELt 2:4 (weight W[n, k] sparse) vs dense, graph replay
  quant   -> h200_w4a16.csv        torch._weight_int4pack_mm / _weight_int8pack_mm vs bf16 dense
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import math
import os
import random
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _load(name: str, *candidates: Path):
    for path in candidates:
        if path.exists():
            spec = importlib.util.spec_from_file_location(name, path)
            mod = importlib.util.module_from_spec(spec)
            sys.modules[name] = mod
            spec.loader.exec_module(mod)
            return mod
    raise FileNotFoundError(f"{name}: none of {[str(c) for c in candidates]}")


gm = _load("gpu_measure", HERE / "gpu_measure.py", HERE.parents[1] / "archgym" / "gpu_measure.py")

LONG_COLUMNS = [
    "set",
    "family",
    "source",
    "m",
    "n",
    "k",
    "dtype",
    "kind",
    "backend",
    "variant",
    "sparse_operand",
    "group_size",
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


# --------------------------------------------------------------------------- shapes

LLM_LAYERS = {  # model: {proj: (n, k)}
    "llama3-8b": {
        "qkv": (6144, 4096),
        "o": (4096, 4096),
        "up": (28672, 4096),
        "down": (4096, 14336),
    },
    "llama2-13b": {
        "qkv": (15360, 5120),
        "o": (5120, 5120),
        "up": (27648, 5120),
        "down": (5120, 13824),
    },
    "llama3-70b": {
        "qkv": (10240, 8192),
        "o": (8192, 8192),
        "up": (57344, 8192),
        "down": (8192, 28672),
    },
}


def sparse_shapes(set_name: str, seed: int, quick: bool) -> list[tuple]:
    """2:4 shapes: m = tokens, n = out features, k = in features; all multiples of 64."""
    rng = random.Random(seed + 17)
    out = []
    if set_name != "prospective":
        for s in (1024, 2048, 4096, 8192, 12288, 16384):
            out.append(("square", f"square{s}", s, s, s))
        for model, layers in LLM_LAYERS.items():
            for tokens in (16, 128, 512, 2048, 8192):
                for proj, (n, k) in layers.items():
                    out.append((f"llm:{model}", f"{model}.{proj}.t{tokens}", tokens, n, k))
    while len(out) < (86 if set_name != "prospective" else 30):
        m, n, k = (64 * max(1, round(math.exp(rng.uniform(0, math.log(256))))) for _ in range(3))
        out.append((f"random:{seed}", f"rand.s{seed}.{len(out)}", m, n, k))
    return out[:6] + out[-4:] if quick else out


def tile_shapes(quick: bool, set_name: str = "train", seed: int = 0) -> list[tuple]:
    """Triton tile shapes: fixed ones, or (set ``classes``) eight fresh seeded draws."""
    if set_name == "classes":
        rng = random.Random(seed + 3_000_017)
        out = []
        for i in range(8):
            m, n, k = (64 * round(math.exp(rng.uniform(math.log(8), math.log(128)))) for _ in "mnk")
            out.append((f"tiles:{seed}", f"tile.s{seed}.{i}.{m}x{n}x{k}", m, n, k))
        return out[:2] if quick else out
    shapes = [("square", f"square{s}", s, s, s) for s in (512, 1024, 2048, 4096, 8192)]
    for tokens in (16, 64, 256, 1024, 4096):
        for proj in ("qkv", "down") if tokens in (256, 4096) else ("up",):
            n, k = LLM_LAYERS["llama3-8b"][proj]
            shapes.append(("llm:llama3-8b", f"llama3-8b.{proj}.t{tokens}", tokens, n, k))
    shapes += [
        ("rect", "rect8192x2048x512", 8192, 2048, 512),
        ("rect", "rect1024x16384x1024", 1024, 16384, 1024),
        ("rect", "rect4096x1024x8192", 4096, 1024, 8192),
        ("cnn", "resnet50.l3.conv3x3.b32", 6272, 256, 2304),
        ("cnn", "resnet50.l2.expand.b32", 25088, 512, 128),
        ("random", "tile.2944x1536x3328", 2944, 1536, 3328),
        ("random", "tile.768x5120x640", 768, 5120, 640),
    ]
    return shapes[:3] if quick else shapes


def tile_configs(quick: bool) -> list[tuple[int, int, int, int, int]]:
    """The H100 sweep's configurations (shapes.triton_configs; a copy of shapes.py next to this
    script wins, loaded only when tiles are measured) plus configurations outside it."""
    shapes = _load("shapes", HERE / "shapes.py")
    out = shapes.triton_configs()
    out += [
        (128, 128, 128, 8, 2),
        (128, 128, 128, 4, 2),
        (128, 256, 64, 8, 2),
        (64, 256, 128, 8, 2),
    ]
    out += [(256, 128, 32, 8, 4), (128, 64, 128, 4, 3), (64, 64, 128, 4, 3), (128, 128, 64, 8, 5)]
    return out[:4] + out[-2:] if quick else out


QUANT_LAYERS = [
    (4096, 4096),
    (4096, 14336),
    (14336, 4096),
    (4096, 28672),
    (8192, 8192),
    (8192, 28672),
]
BATCHES = (1, 2, 4, 8, 16, 32, 64, 128, 256)


# --------------------------------------------------------------------------- writers


class Writer:
    """Append rows of LONG_COLUMNS to one CSV, flushing after each."""

    def __init__(self, path: Path) -> None:
        new = not path.exists()
        self.f = path.open("a", newline="")
        self.w = csv.DictWriter(self.f, fieldnames=LONG_COLUMNS)
        if new:
            self.w.writeheader()
        self.clock = gm.Clock()

    def row(self, base: dict, fn=None, check=None, flop: float = 0.0, rep_ms: float = gm.REP_MS):
        row = dict.fromkeys(LONG_COLUMNS, "")
        row.update(base)
        try:
            if fn is None:
                raise check if isinstance(check, BaseException) else RuntimeError("not run")
            err = check() if check else float("nan")
            p20, med, p80 = gm.bench(fn, rep_ms)
            row.update(time_us=f"{med:.3f}", p20_us=f"{p20:.3f}", p80_us=f"{p80:.3f}")
            row.update(tflops=f"{flop / med / 1e6:.3f}", rel_err=f"{err:.2e}")
            row.update(sm_clock_mhz=self.clock.sm_mhz(), status="ok")
        except Exception as exc:  # an unsupported point is data (status), not a stop
            row.update(status=gm.error_status(exc))
        self.w.writerow(row)
        self.f.flush()
        return row


def _try(build):
    """(fn, check) from build(), or (None, exc) where the library refuses."""
    try:
        return build()
    except Exception as exc:
        return None, exc


# --------------------------------------------------------------------------- parts


SPARSE_OPERAND = "W[n,k] (first)"


def _sparse_operands(torch, m: int, n: int, k: int, dtype: str):
    """W[n, k] pruned 2:4 along k, X[m, k], X^T row-major (xt) and column-major (xc), and
    the fp32 reference W @ X^T. Built outside any timed call."""
    tdt = {"fp16": torch.float16, "bf16": torch.bfloat16, "int8": torch.int8,
           "fp8": torch.float8_e4m3fn}[dtype]  # fmt: skip
    mask = torch.tensor([0, 0, 1, 1], device="cuda", dtype=torch.bool).tile(n, k // 4)
    if tdt == torch.int8:
        w = torch.randint(-127, 128, (n, k), device="cuda", dtype=torch.int8) * mask
        x = torch.randint(-127, 128, (m, k), device="cuda", dtype=torch.int8)
    else:
        w = (torch.randn(n, k, device="cuda") * mask).to(tdt)
        x = torch.randn(m, k, device="cuda").to(tdt)
    xt = x.t().contiguous()
    return w, x, xt, x.t(), w.float() @ xt.float()


def _graph_builder(torch, call, ref):
    """A builder for _try: capture ``call`` in a graph; (replay, rel_err check)."""

    def build():
        replay, res = gm.graphed(torch, call)
        return replay, lambda: (replay(), gm.rel_err(torch, res, ref))[1]

    return build


def _sparse_point(torch, wr: Writer, base: dict, ops, to_sparse) -> dict:
    """Dense, default 2:4 and searched 2:4 rows of one (shape, dtype); returns the 2:4 row."""
    w, _x, xt, xc, ref = ops
    dtype = base["dtype"]
    flop = 2.0 * base["m"] * base["n"] * base["k"]
    one = torch.ones((), device="cuda")
    low = dtype in ("int8", "fp8")
    odt = torch.bfloat16 if dtype == "fp8" else torch.int32
    if dtype == "fp8":
        dense = lambda: torch._scaled_mm(w, xc, scale_a=one, scale_b=one, out_dtype=odt)  # noqa: E731
    elif dtype == "int8":
        dense = lambda: torch._int_mm(w, xc)  # noqa: E731
    else:
        dense = lambda: torch.mm(w, xt)  # noqa: E731
    fn, chk = _try(_graph_builder(torch, dense, ref))
    wr.row({**base, "kind": "dense", "backend": "cublas", "variant": "w@xT.graph"}, fn, chk, flop)
    sp = {**base, "kind": "sparse24", "backend": "cusparselt", "sparse_operand": SPARSE_OPERAND}
    try:
        ws = to_sparse(w)
    except Exception as exc:
        return wr.row({**sp, "variant": "default"}, None, exc)
    # cuSPARSELt takes int8/fp8 only with a column-major dense operand (xc, made above)
    if low:
        call = lambda: torch._cslt_sparse_mm(ws.packed, xc, out_dtype=odt)  # noqa: E731
    else:
        call = lambda: torch.mm(ws, xt)  # noqa: E731
    fn, chk = _try(_graph_builder(torch, call, ref))
    row = wr.row({**sp, "variant": "default"}, fn, chk, flop)
    xs = xc if low else xt
    try:  # cuSPARSELt's own algorithm search (tile / split-K choice)
        alg = torch._cslt_sparse_mm_search(ws.packed, xs)
    except Exception as exc:
        wr.row({**sp, "variant": "search"}, None, exc)
        return row
    if low:
        call = lambda: torch._cslt_sparse_mm(ws.packed, xs, out_dtype=odt, alg_id=alg)  # noqa: E731
    else:
        call = lambda: torch._cslt_sparse_mm(ws.packed, xs, alg_id=alg)  # noqa: E731
    fn, chk = _try(_graph_builder(torch, call, ref))
    wr.row({**sp, "variant": f"search:alg{alg}"}, fn, chk, flop)
    return row


def part_sparse(
    torch,
    out: Path,
    set_name: str,
    seed: int,
    quick: bool,
    budget_s: float,
    dtypes: tuple[str, ...] = ("fp16", "bf16", "int8", "fp8"),
) -> None:
    """2:4 rows (dense, default, searched) of every sparse shape and dtype."""
    from torch.sparse import to_sparse_semi_structured

    wr = Writer(out / "h200_sparse24.csv")
    shapes = sparse_shapes(set_name, seed, quick)
    t0 = time.monotonic()
    for i, (family, source, m, n, k) in enumerate(shapes):
        if time.monotonic() - t0 > budget_s:
            print(f"sparse: budget reached at shape {i}", flush=True)
            break
        for dtype in dtypes:
            base = dict(set=set_name, family=family, source=source, m=m, n=n, k=k, dtype=dtype)
            ops = _sparse_operands(torch, m, n, k, dtype)
            r = _sparse_point(torch, wr, base, ops, to_sparse_semi_structured)
            if r["status"] != "ok":
                print(f"  {source} {dtype} 2:4: {r['status']}"[:200], flush=True)
            del ops
        if i % 10 == 0:
            el = time.monotonic() - t0
            print(f"[sparse {i}/{len(shapes)} {el:.0f}s] {source} {r['time_us']}", flush=True)
            torch.cuda.empty_cache()


def _int4_weight(torch, n: int, k: int, group: int, inner_k_tiles: int = 8):
    """Random int4 weight packed for torch._weight_int4pack_mm and its dequantised bf16 copy."""
    q = torch.randint(0, 16, (n, k), device="cuda", dtype=torch.int32)
    packed_u8 = ((q[:, ::2] << 4) | q[:, 1::2]).to(torch.uint8)
    wp = torch._convert_weight_to_int4pack(packed_u8, inner_k_tiles)
    scales = (torch.rand(k // group, n, device="cuda") * 0.02 + 0.005).to(torch.bfloat16)
    zeros = (torch.randn(k // group, n, device="cuda") * 0.01).to(torch.bfloat16)
    sz = torch.stack([scales, zeros], dim=2).contiguous()
    s = scales.float().repeat_interleave(group, 0).t()
    z = zeros.float().repeat_interleave(group, 0).t()
    w_dq = (q.float() - 8.0) * s + z  # [n, k]
    return wp, sz, w_dq


def part_quant(torch, out: Path, set_name: str, seed: int, quick: bool, budget_s: float) -> None:
    wr = Writer(out / "h200_w4a16.csv")
    layers = QUANT_LAYERS[:2] if quick else QUANT_LAYERS
    batches = (1, 16, 128) if quick else BATCHES
    t0 = time.monotonic()
    r = {"time_us": "", "status": ""}
    for kk, nn in layers:
        if time.monotonic() - t0 > budget_s:
            print("quant: budget reached", flush=True)
            break
        packs = {}
        for g in (32, 64, 128, 256):
            try:
                packs[g] = _int4_weight(torch, nn, kk, g)
            except Exception as exc:
                packs[g] = exc
        w8 = torch.randint(-127, 128, (nn, kk), device="cuda", dtype=torch.int8)
        s8 = (torch.rand(nn, device="cuda") * 0.01 + 0.001).to(torch.bfloat16)
        wb = torch.randn(nn, kk, device="cuda").to(torch.bfloat16)
        for m in batches:
            base = dict(
                set=set_name,
                family="layer",
                source=f"k{kk}.n{nn}.m{m}",
                m=m,
                n=nn,
                k=kk,
                dtype="bf16",
                sparse_operand="",
            )
            flop = 2.0 * m * nn * kk
            x = torch.randn(m, kk, device="cuda").to(torch.bfloat16)
            ref = x.float() @ wb.float().t()

            def b_dense(x=x, ref=ref, wb=wb):
                replay, res = gm.graphed(torch, lambda: torch.mm(x, wb.t()))
                return replay, lambda: (replay(), gm.rel_err(torch, res, ref))[1]

            fn, chk = _try(b_dense)
            wr.row(
                {**base, "kind": "dense", "backend": "cublas", "variant": "x@wT.graph"},
                fn,
                chk,
                flop,
            )
            for g, pk in packs.items():
                row = {
                    **base,
                    "kind": "w4a16",
                    "backend": "torch-int4pack",
                    "group_size": g,
                    "variant": "inner_k_tiles=8",
                }
                if isinstance(pk, Exception):
                    wr.row(row, None, pk)
                    continue
                wp, sz, w_dq = pk
                ref4 = x.float() @ w_dq.t()

                def b4(x=x, wp=wp, sz=sz, g=g, ref4=ref4):
                    call = lambda: torch._weight_int4pack_mm(x, wp, g, sz)  # noqa: E731
                    replay, res = gm.graphed(torch, call)
                    return replay, lambda: (replay(), gm.rel_err(torch, res, ref4))[1]

                fn, chk = _try(b4)
                r = wr.row(row, fn, chk, flop)
                if fn is None and m == 1:
                    print(f"  int4pack g{g}: {chk}"[:200], flush=True)
            ref8 = x.float() @ (w8.float() * s8.float()[:, None]).t()

            def b8(x=x, ref8=ref8, w8=w8, s8=s8):
                call = lambda: torch._weight_int8pack_mm(x, w8, s8)  # noqa: E731
                replay, res = gm.graphed(torch, call)
                return replay, lambda: (replay(), gm.rel_err(torch, res, ref8))[1]

            fn, chk = _try(b8)
            wr.row(
                {**base, "kind": "w8a16", "backend": "torch-int8pack", "variant": "per-channel"},
                fn,
                chk,
                flop,
            )
        print(
            f"[quant {time.monotonic() - t0:.0f}s] k{kk} n{nn} last {r['time_us']} {r['status'][:60]}",
            flush=True,
        )
        del packs, w8, wb
        torch.cuda.empty_cache()


def part_tiles(
    torch, out: Path, set_name: str, quick: bool, budget_s: float, seed: int = 0
) -> None:
    tg = _load("triton_gemm", HERE / "triton_gemm.py")
    wr = Writer(out / "h200_triton_tiles.csv")
    t0 = time.monotonic()
    shapes, configs = tile_shapes(quick, set_name, seed), tile_configs(quick)
    for i, (family, source, m, n, k) in enumerate(shapes):
        if time.monotonic() - t0 > budget_s:
            print(f"tiles: budget reached at shape {i}", flush=True)
            break
        a = torch.randn(m, k, device="cuda", dtype=torch.float16)
        b = torch.randn(k, n, device="cuda", dtype=torch.float16)
        c = torch.empty(m, n, device="cuda", dtype=torch.float16)
        ref = a.float() @ b.float()
        for cfg in configs:
            base = dict(
                set=set_name,
                family=family,
                source=source,
                m=m,
                n=n,
                k=k,
                dtype="fp16",
                kind="dense",
                backend="triton",
                variant="tutorial-grouped",
            )
            keys = ("block_m", "block_n", "block_k", "num_warps", "num_stages")
            base.update(zip(keys, cfg, strict=True))
            fn = lambda cfg=cfg, a=a, b=b, c=c: tg.triton_matmul(a, b, c, *cfg)  # noqa: E731
            chk = lambda fn=fn, ref=ref: gm.rel_err(torch, fn(), ref)  # noqa: E731
            wr.row(base, fn, chk, 2.0 * m * n * k, rep_ms=15)
        print(f"[tiles {i}/{len(shapes)} {time.monotonic() - t0:.0f}s] {source}", flush=True)
        del a, b, c, ref
        torch.cuda.empty_cache()


# --------------------------------------------------------------------------- main


def summary(out: Path) -> None:
    """Short tables of what was measured (printed last: the reply keeps the tail)."""
    for name in ("h200_dense.csv", "h200_sparse24.csv", "h200_w4a16.csv", "h200_triton_tiles.csv"):
        p = out / name
        if not p.exists():
            continue
        rows = list(csv.DictReader(p.open()))
        ok = [r for r in rows if r["status"] == "ok"]
        print(f"== {name}: {len(rows)} rows, {len(ok)} ok")
        best: dict[str, float] = {}
        for r in ok:
            key = f"{r['dtype']}/{r.get('kind', '')}/{r.get('backend', '')}"
            best[key] = max(best.get(key, 0.0), float(r["tflops"]))
        for key, v in sorted(best.items()):
            print(f"   max {key}: {v:.1f} TFLOP/s")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=os.environ.get("OUT", "runs/h200"))
    p.add_argument("--set", default="train", choices=gm.SETS)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--part", default="all", help="dense|sparse|quant|tiles|all (comma list)")
    p.add_argument("--quick", action="store_true", help="a few points of each part")
    p.add_argument("--budget-s", type=float, default=150.0, help="per part")
    p.add_argument("--sparse-dtypes", default="fp16,bf16,int8,fp8")
    p.add_argument("--dry-run", action="store_true")
    args = p.parse_args(argv)
    parts = ["dense", "sparse", "quant", "tiles"] if args.part == "all" else args.part.split(",")
    shapes = gm.standard_shapes(args.set, args.seed)
    if args.quick:
        shapes = shapes[:6]
    dense_points = gm.dense_plan(shapes)
    if args.dry_run:
        print(f"dense: {len(shapes)} shapes, {len(dense_points)} points")
        print(f"sparse: {len(sparse_shapes(args.set, args.seed, args.quick))} shapes x 4 dtypes")
        print(
            f"tiles: {len(tile_shapes(args.quick, args.set, args.seed))} shapes x "
            f"{len(tile_configs(args.quick))} configs"
        )
        print(f"quant: {len(QUANT_LAYERS)} layers x {len(BATCHES)} batches")
        return 0
    import torch
    import triton

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    meta = gm.gpu_metadata(torch, triton)
    meta.update(set=args.set, seed=args.seed, parts=parts, argv=sys.argv[1:])
    tag = f"{args.set}_s{args.seed}_{'_'.join(parts)}"
    (out / f"meta_{tag}.json").write_text(json.dumps(meta, indent=2))
    print(json.dumps(meta), flush=True)
    for part in parts:
        t = time.monotonic()
        if part == "dense":
            gm.measure_dense(dense_points, out / "h200_dense.csv", args.set, args.budget_s)
        elif part == "sparse":
            part_sparse(
                torch,
                out,
                args.set,
                args.seed,
                args.quick,
                args.budget_s,
                tuple(args.sparse_dtypes.split(",")),
            )
        elif part == "quant":
            part_quant(torch, out, args.set, args.seed, args.quick, args.budget_s)
        elif part == "tiles":
            part_tiles(torch, out, args.set, args.quick, args.budget_s, args.seed)
        else:
            print(f"unknown part {part!r}", file=sys.stderr)
            return 2
        print(f"part {part} took {time.monotonic() - t:.0f}s", flush=True)
    meta["nvidia_smi_end"] = gm.gpu_metadata(torch, triton)["nvidia_smi"]
    (out / f"meta_{tag}.json").write_text(json.dumps(meta, indent=2))
    summary(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
