"""Alignment probe of the H200's 2:4 kernels (issue 13): token counts around multiples of 8 to 256.

The sixth blind set found both dtypes' default 2:4 kernels 1.2-1.4x slower than modelled at
m = 1000 tokens (8- but not 16-aligned; X^T's leading dimension is m), where no earlier set had
an m off a multiple of 16. This sweeps m in steps of 8 around 1024 and 3072 at three (n, k)
layer shapes, fp16 and bf16, with the campaign's harness; run on the device from the
repository root:

    python3 experiments/sparse/align_sparse24.py --out $OUT/a --dtypes fp16,bf16 --budget-s 200
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import prospective_sparse24 as p

TOKENS_1K = (
    1000,
    1008,
    1016,
    1024,
    1032,
    1040,
    1048,
    1056,
    1064,
    1072,
    1088,
    1104,
    1120,
    1152,
    1280,
)
TOKENS_3K = (3000, 3008, 3016, 3024, 3040, 3072)
SHAPES = ((8192, 4096), (28672, 3584))  # (n, k)


def shapes() -> list[tuple[str, str, int, int, int]]:
    """(family, source, m, n, k) of the sweep."""
    out = []
    for n, k in SHAPES:
        for m in TOKENS_1K:
            out.append((f"align:n{n}.k{k}", f"m{m}.n{n}.k{k}", m, n, k))
    for m in TOKENS_3K:
        out.append(("align:n7168.k7168", f"m{m}.n7168.k7168", m, 7168, 7168))
    return out


p.shapes = shapes
if __name__ == "__main__":
    sys.exit(p.main(sys.argv[1:]))
