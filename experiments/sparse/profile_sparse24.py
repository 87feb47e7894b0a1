"""Record which cuSPARSELt (2:4) and cuBLAS (dense) kernels run per shape (torch.profiler).

Standalone on the device (torch only):

    python3 profile_sparse24.py --out $OUT --shapes ../../data/gpu/h200_sparse24.csv --dtypes fp16,bf16

For each (m, n, k) of the shapes file (m = tokens, n = output features, k = input features;
W[n, k] pruned 2:4 along k, first operand, as in data/gpu/h200_sparse24.csv) and each dtype, the
dense ``torch.mm(w, xt)`` and the 2:4 ``torch.mm(ws, xt)`` (torch's default algorithm) are
warmed up, then called three times inside one profiler session; the CUDA kernel names (tile,
cluster, split-K/stream-K variant) and their mean device times (warm L2, a cross-check only) are
written to ``sparse24_kernels.csv``. ``--dry-run`` lists the shapes without a GPU.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

CALLS = 3
COLUMNS = ["source", "m", "n", "k", "dtype", "kind", "kernel_us", "kernels", "status"]


def read_shapes(path: Path) -> list[tuple[str, int, int, int]]:
    """Distinct (source, m, n, k) of a long-format sparse CSV, in file order."""
    seen: dict = {}
    for r in csv.DictReader(path.open()):
        seen.setdefault((r["source"], int(r["m"]), int(r["n"]), int(r["k"])), None)
    return list(seen)


def _profile(torch, fn) -> tuple[float, str]:
    from torch.profiler import ProfilerActivity, profile

    fn()
    fn()
    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        for _ in range(CALLS):
            fn()
        torch.cuda.synchronize()
    names: dict[str, float] = {}
    for e in prof.events():
        if e.device_type.name == "CUDA":
            names[e.name] = names.get(e.name, 0.0) + e.device_time / CALLS
    return sum(names.values()), " | ".join(f"{n}={t:.2f}" for n, t in names.items())


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="runs/sparse_profile")
    p.add_argument("--shapes", type=Path, required=True)
    p.add_argument("--dtypes", default="fp16,bf16")
    p.add_argument("--limit", type=int, default=0, help="first N shapes only (0: all)")
    p.add_argument("--dry-run", action="store_true")
    args = p.parse_args(argv)
    shapes = read_shapes(args.shapes)
    if args.limit:
        shapes = shapes[: args.limit]
    if args.dry_run:
        print(f"{len(shapes)} shapes x {args.dtypes}")
        return 0
    import torch
    from torch.sparse import to_sparse_semi_structured

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    with (out / "sparse24_kernels.csv").open("w", newline="") as f:
        wr = csv.DictWriter(f, fieldnames=COLUMNS)
        wr.writeheader()
        for i, (src, m, n, k) in enumerate(shapes):
            for dtype in args.dtypes.split(","):
                tdt = {"fp16": torch.float16, "bf16": torch.bfloat16}[dtype]
                mask = torch.tensor([0, 0, 1, 1], device="cuda", dtype=torch.bool).tile(n, k // 4)
                w = (torch.randn(n, k, device="cuda") * mask).to(tdt)
                xt = torch.randn(m, k, device="cuda").to(tdt).t().contiguous()
                for kind in ("dense", "sparse24"):
                    row = dict(source=src, m=m, n=n, k=k, dtype=dtype, kind=kind, status="ok")
                    try:
                        a = w if kind == "dense" else to_sparse_semi_structured(w)
                        us, names = _profile(torch, lambda a=a, xt=xt: torch.mm(a, xt))
                        row.update(kernel_us=f"{us:.3f}", kernels=names)
                    except Exception as exc:  # a refused shape is data
                        row["status"] = f"skipped: {type(exc).__name__}: {exc}".splitlines()[0][
                            :150
                        ]
                    wr.writerow(row)
                del w, xt
            f.flush()
            if i % 10 == 0:
                print(f"[{i}/{len(shapes)} {time.monotonic() - t0:.0f}s] {src}", flush=True)
                torch.cuda.empty_cache()
    print(f"done in {time.monotonic() - t0:.0f}s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
