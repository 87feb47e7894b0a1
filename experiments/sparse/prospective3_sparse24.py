"""Third H200 2:4 blind set (issue 13): the prospective set's method with a new seed and new layers.

30 seeded log-uniform shapes (seed 2027) and the qkv/o/up/down layers of Llama-3-70B, Yi-34B and
Falcon-40B at 512, 2048 and 4096 tokens, fp16 and bf16, measured after the 2:4 fit of commit
8e3b045 (run on the device from a folder holding this script, prospective_sparse24.py,
campaign_h200.py, gpu_measure.py and triton_gemm.py):

    python3 prospective3_sparse24.py --out $OUT/a --dtypes fp16,bf16 --budget-s 200
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import prospective_sparse24 as p

if __name__ == "__main__":
    sys.exit(p.main(["--set", "3", *sys.argv[1:]]))  # seed, layers, tokens: p.BLIND_SETS[3]
