"""Prospective H200 2:4 set (issue 13): new shapes, measured after the 2:4 model was frozen.

Standalone on the device, next to ``campaign_h200.py`` and ``gpu_measure.py`` (copied from
experiments/gpu/ and archgym/), whose timing method it reuses unchanged (CUDA-graph replay of
``torch.mm(ws, xt)`` / ``torch._cslt_sparse_mm`` and of the dense baseline, do_bench median
with the L2 flushed; torch's default algorithm and cuSPARSELt's search):

    python3 prospective_sparse24.py --out $OUT --budget-s 400
    python3 prospective_sparse24.py --dry-run          # the shape list, no GPU

Shapes (m = tokens, n = output features, k = input features, none in data/gpu/h200_sparse24.csv):
the qkv, o, up (gate+up fused) and down layers of Qwen2-7B, Mistral-NeMo-12B, Phi-3-mini and
Gemma-7B at 96, 768, 3072 and 6144 tokens, and 30 seeded log-uniform shapes (multiples of 64,
seed 2026), each in fp16, bf16, int8 and fp8. Rows go to ``h200_sparse24_prospective.csv``
with ``set=prospective``.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import random
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
LAYERS = {  # model: {proj: (n, k)}
    "qwen2-7b": {"qkv": (4608, 3584), "o": (3584, 3584), "up": (37888, 3584), "down": (3584, 18944)},
    "mistral-nemo-12b": {"qkv": (6144, 5120), "o": (5120, 4096), "up": (28672, 5120), "down": (5120, 14336)},
    "phi3-mini": {"qkv": (9216, 3072), "o": (3072, 3072), "up": (16384, 3072), "down": (3072, 8192)},
    "gemma-7b": {"qkv": (12288, 3072), "o": (3072, 4096), "up": (49152, 3072), "down": (3072, 24576)},
}  # fmt: skip
TOKENS = (96, 768, 3072, 6144)
SEED = 2026


def shapes() -> list[tuple[str, str, int, int, int]]:
    """(family, source, m, n, k): random shapes first (cheap), then the LLM layers."""
    rng = random.Random(SEED)
    out = []
    for i in range(30):
        m, n, k = (64 * max(1, round(math.exp(rng.uniform(0, math.log(256))))) for _ in range(3))
        out.append((f"random:{SEED}", f"rand.s{SEED}.{i}", m, n, k))
    for tokens in TOKENS:
        for model, layers in LAYERS.items():
            for proj, (n, k) in layers.items():
                out.append((f"new:{model}", f"{model}.{proj}.t{tokens}", tokens, n, k))
    return out


def _campaign():
    path = HERE / "campaign_h200.py"
    if not path.exists():
        path = HERE.parents[1] / "experiments" / "gpu" / "campaign_h200.py"
    spec = importlib.util.spec_from_file_location("campaign_h200", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["campaign_h200"] = mod
    spec.loader.exec_module(mod)
    return mod


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="runs/h200_sparse_prospective")
    p.add_argument("--budget-s", type=float, default=400.0)
    p.add_argument("--dtypes", default="fp16,bf16,int8,fp8")
    p.add_argument("--dry-run", action="store_true")
    args = p.parse_args(argv)
    plan = shapes()
    if args.dry_run:
        for s in plan:
            print(*s)
        print(f"{len(plan)} shapes x {args.dtypes}")
        return 0
    import torch
    from torch.sparse import to_sparse_semi_structured

    camp = _campaign()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    wr = camp.Writer(out / "h200_sparse24_prospective.csv")
    t0 = time.monotonic()
    for i, (family, source, m, n, k) in enumerate(plan):
        if time.monotonic() - t0 > args.budget_s:
            print(f"budget reached at shape {i}", flush=True)
            break
        for dtype in args.dtypes.split(","):
            base = dict(set="prospective", family=family, source=source, m=m, n=n, k=k, dtype=dtype)
            ops = camp._sparse_operands(torch, m, n, k, dtype)
            camp._sparse_point(torch, wr, base, ops, to_sparse_semi_structured)
            del ops
        if i % 10 == 0:
            print(f"[{i}/{len(plan)} {time.monotonic() - t0:.0f}s] {source}", flush=True)
            torch.cuda.empty_cache()
    print(f"done in {time.monotonic() - t0:.0f}s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
