"""Wave sweep of the 2:4 kernels on the H200 (issue 13): time and kernel name against tile count.

Standalone on the device (torch only; reuses the campaign's timing method unchanged: CUDA-graph
replay, do_bench median with the L2 flushed, ``experiments/gpu/campaign_h200.py``):

    python3 experiments/sparse/waves_sparse24.py --out $OUT
    python3 experiments/sparse/waves_sparse24.py --dry-run     # the shape list, no GPU

Shapes (m = tokens, n = output features, k = input features; W[n, k] sparse): the number of
output tiles is swept through one to four waves at fixed depth (m = 256, k = 8192 and 2048, n =
128 t), then the token count at fixed n and k. Rows (dense, torch's default 2:4) go to
``h200_sparse24_waves.csv`` with ``set=waves``; the 2:4 kernel's name (tile, cluster, segment-K
variant) and profiled time to ``h200_sparse24_waves_kernels.csv``. ``--plan tokens`` sweeps the
token count through partly filled token tiles at fixed n and k instead (``TOKEN_SWEEP``; files
``h200_sparse24_tokens*.csv``).
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1] / "experiments" / "gpu"))

TILE_COUNTS = (8, 16, 32, 48, 64, 80, 96, 112, 120, 128, 132, 136, 144, 152, 160, 176, 192, 200,
               216, 232, 248, 264, 272, 288, 320, 352, 384, 396, 400, 440, 480, 528)  # fmt: skip
TILE_COUNTS_SHALLOW = (32, 64, 128, 132, 144, 160, 200, 264, 300, 400)
TOKENS = (64, 128, 256, 384, 512, 768, 1024, 1536, 2048, 3072, 4096)


#: The token sweep: (n, k, token counts) through partly filled token tiles, with and without
#: segment-K
TOKEN_SWEEP = (
    (4096, 8192, (16, 32, 64, 96, 128, 192, 256, 320, 384, 448, 512, 576, 640, 768, 896, 1024,
                  1280, 1536)),
    (16384, 8192, (64, 128, 192, 256, 320, 384, 448, 512, 640, 768)),
    (2048, 16384, (128, 256, 384, 512, 1024, 2048, 2560, 4096)),
    (8192, 1024, (128, 256, 384, 512)),
    (8192, 2048, (128, 256, 384, 512)),
    (8192, 4096, (128, 256, 384, 512)),
)  # fmt: skip


def shapes(plan: str = "waves") -> list[tuple[str, str, int, int, int]]:
    """(family, source, m, n, k) of the plan ``waves`` (tile count) or ``tokens``."""
    if plan == "tokens":
        return [(f"tokens:n{n}.k{k}", f"m{m}.n{n}.k{k}", m, n, k)
                for n, k, ms in TOKEN_SWEEP for m in ms]  # fmt: skip
    out = [("waves:k8192", f"t{t}.k8192", 256, 128 * t, 8192) for t in TILE_COUNTS]
    out += [("waves:k2048", f"t{t}.k2048", 256, 128 * t, 2048) for t in TILE_COUNTS_SHALLOW]
    out += [("waves:tokens", f"m{m}.n4096.k8192", m, 4096, 8192) for m in TOKENS]
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="runs/h200_sparse_waves")
    p.add_argument("--budget-s", type=float, default=420.0)
    p.add_argument("--dtypes", default="fp16,bf16")
    p.add_argument("--plan", choices=("waves", "tokens"), default="waves")
    p.add_argument("--dry-run", action="store_true")
    args = p.parse_args(argv)
    bad = set(args.dtypes.split(",")) - {"fp16", "bf16"}
    if bad:  # the dense baseline is torch.mm, and torch.mm(ws, xt) runs only these
        p.error(f"--dtypes: {', '.join(sorted(bad))} not supported (fp16, bf16)")
    plan = shapes(args.plan)
    if args.dry_run:
        for s in plan:
            print(*s)
        print(f"{len(plan)} shapes x {args.dtypes}")
        return 0
    import campaign_h200 as camp
    import torch
    from profile_sparse24 import _profile
    from torch.sparse import to_sparse_semi_structured

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    wr = camp.Writer(out / f"h200_sparse24_{args.plan}.csv")
    kf = (out / f"h200_sparse24_{args.plan}_kernels.csv").open("w", newline="")
    kw = csv.DictWriter(kf, fieldnames=["source", "m", "n", "k", "dtype", "kernel_us", "kernels"])
    kw.writeheader()
    t0 = time.monotonic()
    for i, (family, source, m, n, k) in enumerate(plan):
        if time.monotonic() - t0 > args.budget_s:
            print(f"budget reached at shape {i}", flush=True)
            break
        for dtype in args.dtypes.split(","):
            base = dict(set=args.plan, family=family, source=source, m=m, n=n, k=k, dtype=dtype)
            w, _x, xt, _xc, ref = camp._sparse_operands(torch, m, n, k, dtype)
            flop = 2.0 * m * n * k
            fn, chk = camp._try(camp._graph_builder(torch, lambda w=w, xt=xt: torch.mm(w, xt), ref))
            wr.row({**base, "kind": "dense", "backend": "cublas", "variant": "w@xT.graph"},
                   fn, chk, flop)  # fmt: skip
            ws = to_sparse_semi_structured(w)
            fn, chk = camp._try(
                camp._graph_builder(torch, lambda ws=ws, xt=xt: torch.mm(ws, xt), ref)
            )
            sp = {**base, "kind": "sparse24", "backend": "cusparselt", "variant": "default"}
            row = wr.row({**sp, "sparse_operand": camp.SPARSE_OPERAND}, fn, chk, flop)
            us, names = _profile(torch, lambda ws=ws, xt=xt: torch.mm(ws, xt))
            kw.writerow(dict(source=source, m=m, n=n, k=k, dtype=dtype, kernel_us=f"{us:.3f}",
                             kernels=names))  # fmt: skip
            kf.flush()
        print(
            f"[{i}/{len(plan)} {time.monotonic() - t0:.0f}s] {source} {row['time_us']}", flush=True
        )
        torch.cuda.empty_cache()
    kf.close()
    print(f"done in {time.monotonic() - t0:.0f}s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
