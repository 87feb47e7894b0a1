"""Fifth H200 2:4 blind set (issue 13): the prospective method, a new seed, new layers and token counts.

30 seeded log-uniform shapes (seed 2029) and the qkv/o/up/down layers of Qwen2.5-14B,
Llama-3.2-3B and StarCoder2-15B at 384, 1536 and 3584 tokens, fp16 and bf16, measured after
the 2:4 model with segment-K only where it is faster (and the dense model v5) were frozen
(data/gpu/raw/h200_frozen_model_v6.sha256); run on the device from the repository root:

    python3 experiments/sparse/prospective5_sparse24.py --out $OUT/a --dtypes fp16,bf16 --budget-s 200
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import prospective_sparse24 as p

p.SEED = 2029
p.LAYERS = {  # model: {proj: (n, k)}; up = gate and up fused where the model has both
    "qwen2.5-14b": {"qkv": (7168, 5120), "o": (5120, 5120), "up": (27648, 5120), "down": (5120, 13824)},
    "llama-3.2-3b": {"qkv": (5120, 3072), "o": (3072, 3072), "up": (16384, 3072), "down": (3072, 8192)},
    "starcoder2-15b": {"qkv": (7168, 6144), "o": (6144, 6144), "up": (24576, 6144), "down": (6144, 24576)},
}  # fmt: skip
p.TOKENS = (384, 1536, 3584)
if __name__ == "__main__":
    sys.exit(p.main(sys.argv[1:]))
