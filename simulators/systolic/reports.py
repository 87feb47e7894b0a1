"""Write SCALE-Sim's three per-layer reports, column names and layout exactly as SCALE-Sim 3.0.0
writes them (``LayerID, ...`` with ``", "`` separators and a trailing comma), so scripts that
parse SCALE-Sim output keep working.

A depthwise layer is written as one row per channel, as SCALE-Sim runs it. The SRAM/DRAM start
and stop cycle columns are the layer's active interval in our model (SRAM: ``0 .. cycles - 1``;
DRAM reads: from ``-fill_cycles``; ofmap writes: until the drain ends), not SCALE-Sim's per-trace
first/last request cycles; the average DRAM bandwidths divide by that interval.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from archgym.simulators.systolic.config import ArrayConfig
from archgym.simulators.systolic.layers import Layer, layer_table

__all__ = ["BANDWIDTH_COLUMNS", "COMPUTE_COLUMNS", "DETAILED_COLUMNS", "write_reports"]

COMPUTE_COLUMNS = (
    "LayerID",
    "Total Cycles (incl. prefetch)",
    "Total Cycles",
    "Stall Cycles",
    "Overall Util %",
    "Mapping Efficiency %",
    "Compute Util %",
)
BANDWIDTH_COLUMNS = (
    "LayerID",
    "Avg IFMAP SRAM BW",
    "Avg FILTER SRAM BW",
    "Avg OFMAP SRAM BW",
    "Avg IFMAP DRAM BW",
    "Avg FILTER DRAM BW",
    "Avg OFMAP DRAM BW",
)
DETAILED_COLUMNS = (
    "LayerID",
    *tuple(
        f"{mem} {op} {what}"
        for mem, ops in (
            ("SRAM", ("IFMAP", "Filter", "OFMAP")),
            ("DRAM", ("IFMAP", "Filter", "OFMAP")),
        )
        for op in ops
        for what in ("Start Cycle", "Stop Cycle", "Writes" if op == "OFMAP" else "Reads")
    ),
)


def _line(values: Sequence[object]) -> str:
    return ", ".join(str(v) for v in values) + ",\n"


def write_reports(
    outdir: str | os.PathLike,
    config: ArrayConfig,
    layers: Sequence[Layer],
    metrics: dict[str, np.ndarray],
) -> list[Path]:
    """Write COMPUTE_REPORT.csv, BANDWIDTH_REPORT.csv and DETAILED_ACCESS_REPORT.csv.

    Args:
        outdir: Folder (created if missing).
        config: The design the metrics belong to.
        layers: The workload.
        metrics: Per-layer metrics from ``analyze`` or ``simulate(...).metrics``.

    Returns:
        The three paths written.
    """
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    groups = layer_table(list(layers)).groups
    compute, bandwidth, detailed = [], [], []
    layer_id = 0
    for i, g in enumerate(groups):
        g = int(g)

        def per(key: str, i: int = i, g: int = g) -> int:
            return int(metrics[key][i]) // g

        cycles = per("cycles")
        fill, drain = per("fill_cycles"), per("drain_cycles")
        util = 100.0 * per("macs") / (cycles * config.pes)
        reads = {"IFMAP": per("ifmap_dram_reads"), "Filter": per("filter_dram_reads")}
        writes = per("ofmap_dram_writes") + per("ofmap_dram_reads")
        sram = (per("ifmap_sram_reads"), per("filter_sram_reads"), per("ofmap_sram_writes"))
        for _ in range(g):
            compute.append(
                _line(
                    (
                        layer_id,
                        per("total_cycles"),
                        cycles,
                        per("stall_cycles"),
                        util,
                        100.0 * float(metrics["mapping_efficiency"][i]),
                        100.0 * float(metrics["compute_utilisation"][i]),
                    )
                )
            )
            read_span = cycles + fill
            write_span = cycles + drain
            bandwidth.append(
                _line(
                    (
                        layer_id,
                        *(s / cycles for s in sram),
                        reads["IFMAP"] / read_span,
                        reads["Filter"] / read_span,
                        writes / write_span,
                    )
                )
            )
            row: list[object] = [layer_id]
            for count in sram:
                row += [0, cycles - 1, count]
            for count in reads.values():
                row += [-fill, cycles - 1, count]
            row += [0, cycles + drain - 1, writes]
            detailed.append(_line(row))
            layer_id += 1
    paths = []
    for name, header, rows in (
        ("COMPUTE_REPORT.csv", COMPUTE_COLUMNS, compute),
        ("BANDWIDTH_REPORT.csv", BANDWIDTH_COLUMNS, bandwidth),
        ("DETAILED_ACCESS_REPORT.csv", DETAILED_COLUMNS, detailed),
    ):
        path = out / name
        path.write_text(_line(header) + "".join(rows))
        paths.append(path)
    return paths
