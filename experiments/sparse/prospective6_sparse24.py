"""Sixth H200 2:4 blind set (issue 13): the prospective method after the fp16 off-tile term.

30 seeded log-uniform shapes (seed 2030) and the qkv/o/up/down layers of Gemma-2-9B, Qwen2.5-7B
and OPT-30B at 320, 1000 and 2304 tokens (two token counts off the 256-wide token tile, one on
it), fp16 and bf16, measured after the model with the off-tile term was frozen
(data/gpu/raw/h200_frozen_model_v7.sha256); run on the device from the repository root:

    python3 experiments/sparse/prospective6_sparse24.py --out $OUT/a --dtypes fp16,bf16 --budget-s 230
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import prospective_sparse24 as p

p.SEED = 2030
p.LAYERS = {  # model: {proj: (n, k)}; up = gate and up fused where the model has both
    "gemma-2-9b": {"qkv": (8192, 3584), "o": (3584, 4096), "up": (28672, 3584), "down": (3584, 14336)},
    "qwen2.5-7b": {"qkv": (4608, 3584), "o": (3584, 3584), "up": (37888, 3584), "down": (3584, 18944)},
    "opt-30b": {"qkv": (21504, 7168), "o": (7168, 7168), "up": (28672, 7168), "down": (7168, 28672)},
}  # fmt: skip
p.TOKENS = (320, 1000, 2304)
if __name__ == "__main__":
    sys.exit(p.main(sys.argv[1:]))
