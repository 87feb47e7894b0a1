"""Seventh H200 2:4 blind set (issue 13): the prospective method after the alignment term.

30 seeded log-uniform shapes (seed 2031) and the qkv/o/up/down layers of Mistral-Small-24B,
Phi-3-medium and Yi-9B at 200, 776 and 2560 tokens (two token counts off a multiple of 16, one on
the token tile), fp16 and bf16, measured after the model with the alignment term was frozen
(data/gpu/raw/h200_frozen_model_v8.sha256); run on the device from the repository root:

    python3 experiments/sparse/prospective7_sparse24.py --out $OUT/a --dtypes fp16,bf16 --budget-s 230
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import prospective_sparse24 as p

p.SEED = 2031
p.LAYERS = {  # model: {proj: (n, k)}; up = gate and up fused where the model has both
    "mistral-small-24b": {"qkv": (6144, 5120), "o": (5120, 4096), "up": (65536, 5120), "down": (5120, 32768)},
    "phi-3-medium": {"qkv": (7680, 5120), "o": (5120, 5120), "up": (35840, 5120), "down": (5120, 17920)},
    "yi-9b": {"qkv": (5120, 4096), "o": (4096, 4096), "up": (22016, 4096), "down": (4096, 11008)},
}  # fmt: skip
p.TOKENS = (200, 776, 2560)
if __name__ == "__main__":
    sys.exit(p.main(sys.argv[1:]))
