"""Probe (device only): does a dense GEMM's measured time depend on what ran before it?

On the lent H200, for six large fp16 shapes (``W[n, k] @ X^T``, the 2:4 campaign's dense call),
the dense kernel is timed (CUDA-graph replay, do_bench median with the L2 flushed; the
campaign's method) right after another dense run and right after a 2:4 run of the same shape,
three times each; the middle value of each and the SM clocks are printed:

    python3 experiments/gpu/probe_power_state.py
    python3 experiments/gpu/probe_power_state.py --dry-run     # the shapes, no GPU
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

SHAPES = (
    (2048, 8192, 28672),
    (4096, 8192, 28672),
    (2048, 32768, 8192),
    (4096, 40960, 7168),
    (8192, 8192, 8192),
    (16384, 16384, 16384),
)  # (m, n, k): m tokens, W[n, k]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dry-run", action="store_true")
    args = p.parse_args(argv)
    if args.dry_run:
        for s in SHAPES:
            print(*s)
        return 0
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import campaign_h200 as camp
    import torch
    from torch.sparse import to_sparse_semi_structured

    gm = camp.gm
    clock = gm.Clock()
    torch.manual_seed(0)
    print("m n k | dense after dense | dense after 2:4 | ratio | SM clocks (MHz)")
    for m, n, k in SHAPES:
        mask = torch.tensor([0, 0, 1, 1], device="cuda", dtype=torch.bool).tile(n, k // 4)
        w = (torch.randn(n, k, device="cuda") * mask).to(torch.float16)
        xt = torch.randn(m, k, device="cuda").to(torch.float16).t().contiguous()
        ws = to_sparse_semi_structured(w)
        dense, _ = gm.graphed(torch, lambda w=w, xt=xt: torch.mm(w, xt))
        sparse, _ = gm.graphed(torch, lambda ws=ws, xt=xt: torch.mm(ws, xt))
        after_dense, after_sparse, clk_a, clk_b = [], [], [], []
        for _ in range(3):
            gm.bench(dense, gm.REP_MS)
            after_dense.append(gm.bench(dense, gm.REP_MS)[1])
            clk_a.append(clock.sm_mhz())
            gm.bench(sparse, gm.REP_MS)
            after_sparse.append(gm.bench(dense, gm.REP_MS)[1])
            clk_b.append(clock.sm_mhz())
        a, b = sorted(after_dense)[1], sorted(after_sparse)[1]
        print(f"{m} {n} {k} | {a:.1f} | {b:.1f} | {a / b:.3f} | {clk_a} {clk_b}", flush=True)
        torch.cuda.empty_cache()
    return 0


if __name__ == "__main__":
    sys.exit(main())
