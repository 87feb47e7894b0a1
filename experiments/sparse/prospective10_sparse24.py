"""Tenth H200 2:4 blind set (issue 13): a second draw for the shipped model (dense v11, 2:4 v10).

30 seeded log-uniform shapes (seed 2034) and the qkv/o/up/down layers of DeepSeek-Coder-33B,
Llama-3.1-70B sharded 8 ways (tensor parallel) and OLMo-2-7B at 1280, 1376 and 2900 tokens
(2900 is off a multiple of 16, 1376 off the 256-wide token tile, 1280 on both), fp16 and bf16,
measured after the shipped model was frozen (data/gpu/raw/h200_frozen_model_v12.sha256); run on
the device from the repository root:

    python3 experiments/sparse/prospective10_sparse24.py --out $OUT/a --dtypes fp16,bf16 --budget-s 200
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import prospective_sparse24 as p

if __name__ == "__main__":
    sys.exit(p.main(["--set", "10", *sys.argv[1:]]))  # seed, layers, tokens: p.BLIND_SETS[10]
