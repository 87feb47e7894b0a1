"""Cost of the sparse engine over the plain systolic model it extends (same process, same layers).

    OMP_NUM_THREADS=1 python benchmarks/bench_sparse.py [--repeats 20]

Per workload: the median time of one ``archgym.simulators.systolic.analyze`` call on the dense
layers, of ``analyze_sparse`` (analytical) and ``simulate_sparse`` (fold-level) on the pruned
layers, and of one whole-workload ``archgym.simulators.sparse.evaluate`` (aggregation, energy
and area; analytical and fold-level); ratios against the systolic call. Then, per workload,
``evaluate_batch`` (analytical) on ``--designs`` random designs of the SparseTensorCore-v0 space
(seeded; every pattern set, dense fallback on) against the loop of ``evaluate`` over the same
designs, in designs per second and their ratio.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
from archgym.simulators.sparse import (
    SPACE_CHOICES,
    SparseConfig,
    SparseWorkload,
    analyze_sparse,
    evaluate,
    evaluate_batch,
    hardware_patterns,
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


def random_configs(n: int, seed: int = 0) -> list[SparseConfig]:
    """``n`` random designs of the env's space (``SPACE_CHOICES``), dense fallback on."""
    rng = np.random.default_rng(seed)

    def pick(name: str):
        values = SPACE_CHOICES[name]
        return values[rng.integers(len(values))]

    out = []
    for _ in range(n):
        bw = float(pick("bandwidth"))
        array = ArrayConfig(
            rows=pick("rows"),
            cols=pick("cols"),
            dataflow=pick("dataflow"),
            ifmap_sram_kib=pick("ifmap_sram_kib"),
            filter_sram_kib=pick("filter_sram_kib"),
            ofmap_sram_kib=pick("ofmap_sram_kib"),
            read_bw_words=bw,
            write_bw_words=bw,
        )
        patterns = hardware_patterns(pick("patterns"))
        meta = pick("metadata_sram_kib")
        out.append(SparseConfig(array, patterns, metadata_sram_kib=meta, dense_fallback=True))
    return out


def batch_table(designs: int, repeats: int) -> None:
    """Designs per second of ``evaluate_batch`` and of the ``evaluate`` loop, same designs."""
    configs = random_configs(designs)
    print()
    print("| workload | designs | evaluate loop (designs/s) | evaluate_batch (designs/s) | ratio |")
    print("|---|---|---|---|---|")
    for name in NAMES:
        work = SparseWorkload.from_layers(WORKLOADS[name]())
        loop = median_s(lambda work=work: [evaluate(c, work) for c in configs], 1)
        batch = median_s(lambda work=work: evaluate_batch(configs, work), max(repeats // 4, 1))
        print(f"| {name} | {designs} | {designs / loop:,.0f} | {designs / batch:,.0f} "
              f"| {loop / batch:.1f}x |")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=20)
    p.add_argument("--designs", type=int, default=2000, help="designs of the batched rows")
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
    batch_table(args.designs, args.repeats)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
