"""Speedup, energy and area of structured-sparse engines over a dense systolic array.

    python experiments/sparse/engine_table.py

For each workload pruned to a pattern and each dataflow, one 32x32 array (64 KiB scratchpads,
16 KiB metadata, 16 words/cycle per DRAM port, int8) with the hardware patterns that run it;
speedup and energy ratio against the same array without sparse support running the unpruned
layers (``dense_fallback``), area ratio against the dense array.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
from archgym.simulators.sparse import SparseConfig, analyze_sparse, area_mm2, energy_pj
from archgym.simulators.systolic import ArrayConfig

from archgym.envs.sparse import sparse_workload

CASES = (
    ("resnet50", "2:4", ("2:4",)),
    ("resnet50", "2:8", ("2:4", "2:8")),
    ("llama2-7b-prefill", "2:4", ("2:4",)),
    ("llama2-7b-prefill", "2:8", ("2:4", "2:8")),
    ("llama2-7b-prefill", "64:2:8", ("2:4", "64:2:8")),
    ("llama2-7b-prefill", "2:32", ("2:4", "2:8", "2:16", "2:32")),
    ("llama2-7b-prefill", "64:2:32", ("2:4", "64:2:8", "64:2:16", "64:2:32")),
    ("llama2-7b-decode", "2:4", ("2:4",)),
)


def evaluate(workload: str, pattern: str, hardware: tuple[str, ...], dataflow: str) -> dict:
    layers, counts = sparse_workload(workload, pattern)
    array = ArrayConfig(
        rows=32,
        cols=32,
        dataflow=dataflow,
        ifmap_sram_kib=64,
        filter_sram_kib=64,
        ofmap_sram_kib=64,
        read_bw_words=16,
        write_bw_words=16,
    )
    out = {}
    for name, patterns, kib in (("dense", (), 0), ("sparse", hardware, 16)):
        config = SparseConfig(array, patterns=patterns, metadata_sram_kib=kib, dense_fallback=True)
        metrics = analyze_sparse(config, list(layers))
        out[name] = {
            "cycles": float(np.dot(metrics["total_cycles"], counts)),
            "energy_pj": float(np.dot(energy_pj(config, metrics), counts)),
            "area_mm2": area_mm2(config),
            "utilisation": float(np.dot(metrics["useful_macs"], counts))
            / (float(np.dot(metrics["total_cycles"], counts)) * array.pes),
        }
    return out


def main() -> int:
    argparse.ArgumentParser(description=__doc__).parse_args()
    print(
        "| workload | pattern | hardware | dataflow | speedup | energy ratio | area ratio "
        "| useful MAC utilisation |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for workload, pattern, hardware in CASES:
        for dataflow in ("os", "ws", "is"):
            r = evaluate(workload, pattern, hardware, dataflow)
            d, s = r["dense"], r["sparse"]
            print(
                f"| {workload} | {pattern} | {'+'.join(hardware)} | {dataflow} "
                f"| {d['cycles'] / s['cycles']:.2f} | {s['energy_pj'] / d['energy_pj']:.2f} "
                f"| {s['area_mm2'] / d['area_mm2']:.3f} | {s['utilisation']:.2f} |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
