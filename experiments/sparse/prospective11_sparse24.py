"""Eleventh H200 2:4 blind set (issue 13): the dense model v13 (the sm80 path's own rate).

30 seeded log-uniform shapes (seed 2035) and the qkv/o/up/down layers of InternLM2-20B,
Gemma-2-9B and Qwen2.5-14B at 1000, 2050 and 3100 tokens (2050 rows only 4-byte aligned, 3100
8-byte, 1000 16-byte: the dense baselines run on the sm80, sm80 and TMA paths), fp16 and bf16,
measured after the model was frozen (data/gpu/raw/h200_frozen_model_v13.sha256); run on the
device from the repository root:

    python3 experiments/sparse/prospective11_sparse24.py --out $OUT/a --dtypes fp16,bf16 --budget-s 150
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import prospective_sparse24 as p

if __name__ == "__main__":
    sys.exit(p.main(["--set", "11", *sys.argv[1:]]))  # seed, layers, tokens: p.BLIND_SETS[11]
