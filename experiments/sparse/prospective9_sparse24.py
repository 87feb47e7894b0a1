"""Ninth H200 2:4 blind set (issue 13): the prospective method after the off-tile term went per wave.

30 seeded log-uniform shapes (seed 2033) and the qkv/o/up/down layers of MPT-30B, Granite-3-8B
and EXAONE-3.5-32B at 768, 1600 and 2200 tokens (2200 is off a multiple of 16, 1600 off the
256-wide token tile, 768 on both), fp16 and bf16, measured after the 2:4 model with the per-wave
off-tile term was frozen (data/gpu/raw/h200_frozen_model_v10.sha256); run on the device from
the repository root:

    python3 experiments/sparse/prospective9_sparse24.py --out $OUT/a --dtypes fp16,bf16 --budget-s 200
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import prospective_sparse24 as p

if __name__ == "__main__":
    sys.exit(p.main(["--set", "9", *sys.argv[1:]]))  # seed, layers, tokens: p.BLIND_SETS[9]
