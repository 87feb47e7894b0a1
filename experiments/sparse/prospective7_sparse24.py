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

if __name__ == "__main__":
    sys.exit(p.main(["--set", "7", *sys.argv[1:]]))  # seed, layers, tokens: p.BLIND_SETS[7]
