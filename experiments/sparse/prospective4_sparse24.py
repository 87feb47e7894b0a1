"""Fourth H200 2:4 blind set (issue 13): the prospective method, a new seed, new layers and token counts.

30 seeded log-uniform shapes (seed 2028) and the qkv/o/up/down layers of OPT-13B, GPT-J-6B and
Phi-2 at 256, 1024 and 3072 tokens, fp16 and bf16, measured after the model of the wave sweep
and the dense model v5 were frozen (data/gpu/raw/h200_frozen_model_v5.sha256); run on the
device from the repository root:

    python3 experiments/sparse/prospective4_sparse24.py --out $OUT/a --dtypes fp16,bf16 --budget-s 200
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import prospective_sparse24 as p

p.SEED = 2028
p.LAYERS = {  # model: {proj: (n, k)}; up = gate and up fused where the model has both
    "opt-13b": {"qkv": (15360, 5120), "o": (5120, 5120), "up": (20480, 5120), "down": (5120, 20480)},
    "gpt-j-6b": {"qkv": (12288, 4096), "o": (4096, 4096), "up": (16384, 4096), "down": (4096, 16384)},
    "phi-2": {"qkv": (7680, 2560), "o": (2560, 2560), "up": (10240, 2560), "down": (2560, 10240)},
}  # fmt: skip
p.TOKENS = (256, 1024, 3072)
if __name__ == "__main__":
    sys.exit(p.main(sys.argv[1:]))
