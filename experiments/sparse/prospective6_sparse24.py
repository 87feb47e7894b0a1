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

if __name__ == "__main__":
    sys.exit(p.main(["--set", "6", *sys.argv[1:]]))  # seed, layers, tokens: p.BLIND_SETS[6]
