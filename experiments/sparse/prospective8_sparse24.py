"""Eighth H200 2:4 blind set (issue 13): the prospective method after the dense tile list grew.

30 seeded log-uniform shapes (seed 2032) and the qkv/o/up/down layers of InternLM2-20B, GLM-4-9B
and Command-R-35B at 448, 1184 and 3000 tokens (3000 is off a multiple of 16, 1184 off the
256-wide token tile, 448 on neither), fp16 and bf16, measured after the model with the observed
cuBLAS tile shapes was frozen (data/gpu/raw/h200_frozen_model_v9.sha256); run on the device from
the repository root:

    python3 experiments/sparse/prospective8_sparse24.py --out $OUT/a --dtypes fp16,bf16 --budget-s 200
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import prospective_sparse24 as p

if __name__ == "__main__":
    sys.exit(p.main(["--set", "8", *sys.argv[1:]]))  # seed, layers, tokens: p.BLIND_SETS[8]
