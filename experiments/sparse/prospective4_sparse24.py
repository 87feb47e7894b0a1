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

if __name__ == "__main__":
    sys.exit(p.main(["--set", "4", *sys.argv[1:]]))  # seed, layers, tokens: p.BLIND_SETS[4]
