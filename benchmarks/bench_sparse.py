"""Cost of the sparse engine over the plain systolic model it extends (same process, same layers).

    OMP_NUM_THREADS=1 python benchmarks/bench_sparse.py [--repeats 20]

Per workload: the median time of one ``archgym.simulators.systolic.analyze`` call on the dense
layers, of ``analyze_sparse`` (analytical) and ``simulate_sparse`` (fold-level) on the pruned
layers, and of one whole-workload ``archgym.simulators.sparse.evaluate`` (aggregation, energy
and area; analytical and fold-level); ratios against the systolic call.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
from archgym.simulators.sparse import (
    SparseConfig,
    SparseWorkload,
    analyze_sparse,
    evaluate,
    simulate_sparse,
)
from archgym.simulators.systolic import ArrayConfig, analyze

from archgym.workloads.sparse import WORKLOADS

NAMES = ("resnet50-sparse", "llama2-7b-prefill-venom64-sparse")


def median_s(fn, repeats: int) -> float:
    fn()  # warm caches (layer tables)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=20)
    args = p.parse_args(argv)
    array = ArrayConfig(
        rows=32,
        cols=32,
        dataflow="ws",
        ifmap_sram_kib=256,
        filter_sram_kib=256,
        ofmap_sram_kib=256,
        read_bw_words=16,
        write_bw_words=16,
    )
    config = SparseConfig(array, patterns=("2:4", "64:2:8"), metadata_sram_kib=16)
    print(
        "| workload | distinct layers | systolic analyze (ms) | analyze_sparse | simulate_sparse "
        "| evaluate | evaluate (cycle) |"
    )
    print("|---|---|---|---|---|---|---|")
    for name in NAMES:
        work = SparseWorkload.from_layers(WORKLOADS[name]())
        layers = list(work.layers)
        dense = [sl.layer for sl in layers]
        base = median_s(lambda dense=dense: analyze(array, dense), args.repeats)
        cells = [
            median_s(lambda layers=layers: analyze_sparse(config, layers), args.repeats),
            median_s(lambda layers=layers: simulate_sparse(config, layers), args.repeats),
            median_s(lambda work=work: evaluate(config, work), args.repeats),
            median_s(lambda work=work: evaluate(config, work, fidelity="cycle"), args.repeats),
        ]
        shown = " | ".join(f"{c * 1e3:.2f} ms ({c / base:.1f}x)" for c in cells)
        print(f"| {name} | {len(layers)} | {base * 1e3:.2f} | {shown} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
