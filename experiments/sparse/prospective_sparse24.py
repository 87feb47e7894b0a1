"""Prospective H200 2:4 set (issue 13): new shapes, measured after the 2:4 model was frozen.

Standalone on the device, next to ``campaign_h200.py`` and ``gpu_measure.py`` (copied from
experiments/gpu/ and archgym/), whose timing method it reuses unchanged (CUDA-graph replay of
``torch.mm(ws, xt)`` / ``torch._cslt_sparse_mm`` and of the dense baseline, do_bench median
with the L2 flushed; torch's default algorithm and cuSPARSELt's search):

    python3 prospective_sparse24.py --out $OUT --budget-s 400
    python3 prospective_sparse24.py --dry-run          # the shape list, no GPU
    python3 prospective_sparse24.py --shapes off_tile_sweep.csv --dtypes fp16,bf16 --out $OUT

Shapes (m = tokens, n = output features, k = input features, none in data/gpu/h200_sparse24.csv):
the qkv, o, up (gate+up fused) and down layers of Qwen2-7B, Mistral-NeMo-12B, Phi-3-mini and
Gemma-7B at 96, 768, 3072 and 6144 tokens, and 30 seeded log-uniform shapes (multiples of 64,
seed 2026), each in fp16, bf16, int8 and fp8. Rows go to ``h200_sparse24_prospective.csv``
with ``set=prospective``.
"""

from __future__ import annotations

import argparse
import csv
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

#: The later blind sets (``prospectiveN_sparse24.py`` runs set N; ``--set N``): seed of the 30
#: random shapes, layers {model: {proj: (n, k)}} (up = gate and up fused where the model has
#: both) and token counts.
BLIND_SETS = {
    3: (
        2027,
        {
            'llama3-70b': {'qkv': (10240, 8192), 'o': (8192, 8192), 'up': (57344, 8192), 'down': (8192, 28672)},
            'yi-34b': {'qkv': (9216, 7168), 'o': (7168, 7168), 'up': (40960, 7168), 'down': (7168, 20480)},
            'falcon-40b': {'qkv': (9216, 8192), 'o': (8192, 8192), 'up': (32768, 8192), 'down': (8192, 32768)},
        },
        (512, 2048, 4096),
    ),
    4: (
        2028,
        {
            'opt-13b': {'qkv': (15360, 5120), 'o': (5120, 5120), 'up': (20480, 5120), 'down': (5120, 20480)},
            'gpt-j-6b': {'qkv': (12288, 4096), 'o': (4096, 4096), 'up': (16384, 4096), 'down': (4096, 16384)},
            'phi-2': {'qkv': (7680, 2560), 'o': (2560, 2560), 'up': (10240, 2560), 'down': (2560, 10240)},
        },
        (256, 1024, 3072),
    ),
    5: (
        2029,
        {
            'qwen2.5-14b': {'qkv': (7168, 5120), 'o': (5120, 5120), 'up': (27648, 5120), 'down': (5120, 13824)},
            'llama-3.2-3b': {'qkv': (5120, 3072), 'o': (3072, 3072), 'up': (16384, 3072), 'down': (3072, 8192)},
            'starcoder2-15b': {'qkv': (7168, 6144), 'o': (6144, 6144), 'up': (24576, 6144), 'down': (6144, 24576)},
        },
        (384, 1536, 3584),
    ),
    6: (
        2030,
        {
            'gemma-2-9b': {'qkv': (8192, 3584), 'o': (3584, 4096), 'up': (28672, 3584), 'down': (3584, 14336)},
            'qwen2.5-7b': {'qkv': (4608, 3584), 'o': (3584, 3584), 'up': (37888, 3584), 'down': (3584, 18944)},
            'opt-30b': {'qkv': (21504, 7168), 'o': (7168, 7168), 'up': (28672, 7168), 'down': (7168, 28672)},
        },
        (320, 1000, 2304),
    ),
    7: (
        2031,
        {
            'mistral-small-24b': {'qkv': (6144, 5120), 'o': (5120, 4096), 'up': (65536, 5120), 'down': (5120, 32768)},
            'phi-3-medium': {'qkv': (7680, 5120), 'o': (5120, 5120), 'up': (35840, 5120), 'down': (5120, 17920)},
            'yi-9b': {'qkv': (5120, 4096), 'o': (4096, 4096), 'up': (22016, 4096), 'down': (4096, 11008)},
        },
        (200, 776, 2560),
    ),
    8: (
        2032,
        {
            'internlm2-20b': {'qkv': (8192, 6144), 'o': (6144, 6144), 'up': (32768, 6144), 'down': (6144, 16384)},
            'glm-4-9b': {'qkv': (4608, 4096), 'o': (4096, 4096), 'up': (27392, 4096), 'down': (4096, 13696)},
            'command-r-35b': {'qkv': (10240, 8192), 'o': (8192, 8192), 'up': (45056, 8192), 'down': (8192, 22528)},
        },
        (448, 1184, 3000),
    ),
    9: (
        2033,
        {
            'mpt-30b': {'qkv': (21504, 7168), 'o': (7168, 7168), 'up': (28672, 7168), 'down': (7168, 28672)},
            'granite-3-8b': {'qkv': (6144, 4096), 'o': (4096, 4096), 'up': (25600, 4096), 'down': (4096, 12800)},
            'exaone-3.5-32b': {'qkv': (7168, 5120), 'o': (5120, 5120), 'up': (54784, 5120), 'down': (5120, 27392)},
        },
        (768, 1600, 2200),
    ),
    10: (
        2034,
        {
            'deepseek-coder-33b': {'qkv': (9216, 7168), 'o': (7168, 7168), 'up': (38400, 7168), 'down': (7168, 19200)},
            'llama-3.1-70b-tp8': {'qkv': (1280, 8192), 'o': (8192, 1024), 'up': (7168, 8192), 'down': (8192, 3584)},
            'olmo-2-7b': {'qkv': (12288, 4096), 'o': (4096, 4096), 'up': (22016, 4096), 'down': (4096, 11008)},
        },
        (1280, 1376, 2900),
    ),
    11: (
        2035,
        {
            'internlm2-20b': {'qkv': (8192, 6144), 'o': (6144, 6144), 'up': (32768, 6144), 'down': (6144, 16384)},
            'gemma-2-9b': {'qkv': (8192, 3584), 'o': (3584, 4096), 'up': (28672, 3584), 'down': (3584, 14336)},
            'qwen2.5-14b': {'qkv': (7168, 5120), 'o': (5120, 5120), 'up': (27648, 5120), 'down': (5120, 13824)},
        },
        (1000, 2050, 3100),
    ),
    12: (
        2036,
        {
            'baichuan2-13b': {'qkv': (15360, 5120), 'o': (5120, 5120), 'up': (27392, 5120), 'down': (5120, 13696)},
            'nemotron-4-15b': {'qkv': (8192, 6144), 'o': (6144, 6144), 'up': (24576, 6144), 'down': (6144, 24576)},
            'falcon-7b': {'qkv': (4672, 4544), 'o': (4544, 4544), 'up': (18176, 4544), 'down': (4544, 18176)},
        },
        (1536, 2052, 3333),
    ),
    13: (
        2037,
        {
            'mistral-nemo-12b': {'qkv': (6144, 5120), 'o': (5120, 4096), 'up': (28672, 5120), 'down': (5120, 14336)},
            'bloom-7b1': {'qkv': (12288, 4096), 'o': (4096, 4096), 'up': (16384, 4096), 'down': (4096, 16384)},
            'gemma-2-27b': {'qkv': (8192, 4608), 'o': (4608, 4096), 'up': (73728, 4608), 'down': (4608, 36864)},
        },
        (1184, 2600, 3300),
    ),
    14: (
        2038,
        {
            'phi-3.5-mini': {'qkv': (9216, 3072), 'o': (3072, 3072), 'up': (16384, 3072), 'down': (3072, 8192)},
            'deepseek-llm-67b': {'qkv': (10240, 8192), 'o': (8192, 8192), 'up': (44032, 8192), 'down': (8192, 22016)},
            'mixtral-8x7b': {'qkv': (6144, 4096), 'o': (4096, 4096), 'up': (28672, 4096), 'down': (4096, 14336)},
        },
        (1400, 2308, 3111),
    ),
    15: (
        2039,
        {
            'qwen2-72b': {'qkv': (10240, 8192), 'o': (8192, 8192), 'up': (59136, 8192), 'down': (8192, 29568)},
            'dbrx-132b-expert': {'qkv': (8192, 6144), 'o': (6144, 6144), 'up': (21504, 6144), 'down': (6144, 10752)},
            'minicpm3-4b': {'qkv': (7680, 2560), 'o': (2560, 2560), 'up': (12800, 2560), 'down': (2560, 6400)},
        },
        (1320, 2470, 3210),
    ),
    16: (
        2040,
        {
            'gemma-2-2b': {'qkv': (4096, 2304), 'o': (2304, 2048), 'up': (18432, 2304), 'down': (2304, 9216)},
            'yi-1.5-6b': {'qkv': (5120, 4096), 'o': (4096, 4096), 'up': (22016, 4096), 'down': (4096, 11008)},
            'llama-3.2-1b': {'qkv': (3072, 2048), 'o': (2048, 2048), 'up': (16384, 2048), 'down': (2048, 8192)},
        },
        (1728, 2836, 3480),
    ),
    17: (
        2041,
        {
            'qwen2.5-32b': {'qkv': (7168, 5120), 'o': (5120, 5120), 'up': (55296, 5120), 'down': (5120, 27648)},
            'codellama-34b': {'qkv': (10240, 8192), 'o': (8192, 8192), 'up': (44032, 8192), 'down': (8192, 22016)},
            'mistral-large-123b': {'qkv': (14336, 12288), 'o': (12288, 12288), 'up': (57344, 12288), 'down': (12288, 28672)},
        },
        (1496, 2650, 3870),
    ),
    18: (
        2042,
        {
            'llama-2-13b': {'qkv': (15360, 5120), 'o': (5120, 5120), 'up': (27648, 5120), 'down': (5120, 13824)},
            'mpt-7b': {'qkv': (12288, 4096), 'o': (4096, 4096), 'up': (16384, 4096), 'down': (4096, 16384)},
            'stablelm-2-1.6b': {'qkv': (6144, 2048), 'o': (2048, 2048), 'up': (11264, 2048), 'down': (2048, 5632)},
        },
        (1811, 2765, 3592),
    ),
    19: (
        2043,
        {
            'qwen1.5-14b': {'qkv': (15360, 5120), 'o': (5120, 5120), 'up': (27392, 5120), 'down': (5120, 13696)},
            'gemma-7b': {'qkv': (12288, 3072), 'o': (3072, 4096), 'up': (49152, 3072), 'down': (3072, 24576)},
            'bloom-3b': {'qkv': (7680, 2560), 'o': (2560, 2560), 'up': (10240, 2560), 'down': (2560, 10240)},
        },
        (1333, 2219, 3104),
    ),
    20: (
        2044,
        {
            'internlm2-7b': {'qkv': (6144, 4096), 'o': (4096, 4096), 'up': (28672, 4096), 'down': (4096, 14336)},
            'granite-20b-code': {'qkv': (6400, 6144), 'o': (6144, 6144), 'up': (24576, 6144), 'down': (6144, 24576)},
            'phi-1.5': {'qkv': (6144, 2048), 'o': (2048, 2048), 'up': (8192, 2048), 'down': (2048, 8192)},
        },
        (1555, 2441, 3736),
    ),
    21: (
        2045,
        {
            'qwen2.5-1.5b': {'qkv': (2048, 1536), 'o': (1536, 1536), 'up': (17920, 1536), 'down': (1536, 8960)},
            'gemma-3-12b': {'qkv': (8192, 3840), 'o': (3840, 4096), 'up': (30720, 3840), 'down': (3840, 15360)},
            'granite-3-2b': {'qkv': (3072, 2048), 'o': (2048, 2048), 'up': (16384, 2048), 'down': (2048, 8192)},
        },
        (1177, 2333, 3552),
    ),
    22: (
        2046,
        {
            'phi-4': {'qkv': (7680, 5120), 'o': (5120, 5120), 'up': (35840, 5120), 'down': (5120, 17920)},
            'starcoder2-7b': {'qkv': (5632, 4608), 'o': (4608, 4608), 'up': (18432, 4608), 'down': (4608, 18432)},
            'gemma-2b': {'qkv': (2560, 2048), 'o': (2048, 2048), 'up': (32768, 2048), 'down': (2048, 16384)},
        },
        (2687, 3302, 3639),
    ),
    23: (
        2047,
        {
            'gemma-3-4b': {'qkv': (4096, 2560), 'o': (2560, 2048), 'up': (20480, 2560), 'down': (2560, 10240)},
            'llama-3.1-8b': {'qkv': (6144, 4096), 'o': (4096, 4096), 'up': (28672, 4096), 'down': (4096, 14336)},
            'qwen2.5-0.5b': {'qkv': (1152, 896), 'o': (896, 896), 'up': (9728, 896), 'down': (896, 4864)},
        },
        (1926, 2959, 3619),
    ),
    24: (
        2048,
        {
            'qwen2.5-3b': {'qkv': (2560, 2048), 'o': (2048, 2048), 'up': (22016, 2048), 'down': (2048, 11008)},
            'llama-2-7b': {'qkv': (12288, 4096), 'o': (4096, 4096), 'up': (22016, 4096), 'down': (4096, 11008)},
            'stablelm-3b': {'qkv': (7680, 2560), 'o': (2560, 2560), 'up': (13824, 2560), 'down': (2560, 6912)},
        },
        (2207, 3069, 3150),
    ),
    25: (
        2049,
        {
            'stablelm-2-12b': {'qkv': (7680, 5120), 'o': (5120, 5120), 'up': (27648, 5120), 'down': (5120, 13824)},
            'minitron-4b': {'qkv': (5120, 3072), 'o': (3072, 3072), 'up': (9216, 3072), 'down': (3072, 9216)},
            'gpt-neox-20b': {'qkv': (18432, 6144), 'o': (6144, 6144), 'up': (24576, 6144), 'down': (6144, 24576)},
        },
        (1468, 2070, 3165),
    ),
}  # fmt: skip


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


SWEEP_COLUMNS = ("family", "source", "m", "n", "k")


def read_sweep(path: Path) -> list[tuple[str, str, int, int, int]]:
    """(family, source, m, n, k) of a designed sweep CSV, in file order; ValueError naming the
    file and line of a missing column or a non-integer size."""
    with path.open() as f:
        reader = csv.DictReader(f)
        missing = [c for c in SWEEP_COLUMNS if c not in (reader.fieldnames or ())]
        if missing:
            raise ValueError(f"{path}: missing column(s) {', '.join(missing)}")
        out = []
        for line, r in enumerate(reader, start=2):
            try:
                out.append((r["family"], r["source"], int(r["m"]), int(r["n"]), int(r["k"])))
            except ValueError as exc:
                raise ValueError(f"{path}:{line}: {exc}") from None
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
    which = p.add_mutually_exclusive_group()
    which.add_argument("--set", type=int, choices=sorted(BLIND_SETS), help="a later blind set")
    which.add_argument(
        "--shapes", type=Path, help="a designed sweep instead (CSV: family, source, m, n, k)"
    )
    args = p.parse_args(argv)
    if args.set is not None:
        global SEED, LAYERS, TOKENS
        SEED, LAYERS, TOKENS = BLIND_SETS[args.set]
    try:
        plan = read_sweep(args.shapes) if args.shapes else shapes()
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
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
