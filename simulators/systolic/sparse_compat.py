"""SCALE-Sim 3.0.0's sparse mode (``[sparsity] SparsitySupport = true``), reproduced in compat.

SCALE-Sim prunes the filter operand ``filter[K, N]`` along K and folds the compressed rows over the
array (OptimizedMapping: weight-stationary only). This module derives the compressed shape the way its
``operand_matrix`` does and runs the compat analytical model
(:func:`~archgym.simulators.systolic.analytical.analyze_batch`, the path
:func:`archgym.simulators.sparse.analyze_sparse` uses for the same runs) on it:

- ``OptimizedMapping = false``: every column keeps the topology's N of every M rows (the first
  N of each group; a trailing partial group keeps ``min(N, K mod M)``), so the array runs
  ``K_c = (K // M) * N + min(N, K mod M)`` rows (os, ws and is: the ifmap columns are pruned
  alike); on ws the ifmap SRAM reads are multiplied by ``M/N`` (an activation block is read
  once per kept row, SCALE-Sim's own comment).
- ``OptimizedMapping = true``: column ``c`` keeps ``N_c`` of every ``BlockSize`` rows, ``N_c``
  drawn by ``numpy.random.seed(RandomNumberGeneratorSeed)`` then ``randint(1, B // 2 + 1)`` per
  column (reset per layer); the compressed matrix has ``ceil(K / 2B) * B`` rows whose unused
  slots are null requests, which lower the mapping efficiency; the ifmap stream is the unpruned
  one, ``B / 2`` copies of each block of B columns over ``2 * rows`` array rows.
- SPARSE_REPORT.csv storage (SCALE-Sim's ``compression``, words): ELLPACK-block
  ``K_c * N`` values plus ``ceil(log2 M) / 32`` words of metadata per value (M the topology's);
  CSR ``2 * nnz + K + 1`` (metadata ``nnz + K + 1``); CSC ``2 * nnz + N + 1``.

Cycles, mapping efficiency, compute and overall utilisation, SRAM read counts and the sparse
report are SCALE-Sim's exactly (tests/simulators/systolic/test_sparse_compat.py). DRAM counts are
the compat model's on the compressed operands: the ifmap's distinct words are those of the kept
im2col columns, and under OptimizedMapping the filter stream skips the null slots; they equal
SCALE-Sim's on the stored runs, where every operand fits its SRAM (refetch with small SRAMs is
the dense compat model's, not checked in sparse mode). Inputs SCALE-Sim's sparse mode handles
differently (or stops on) are refused naming the key.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from archgym.simulators.systolic.analytical import analyze_batch, designs_from_configs
from archgym.simulators.systolic.config import ArrayConfig
from archgym.simulators.systolic.io import CfgError, _parse_ini
from archgym.simulators.systolic.layers import GemmLayer, Layer, layer_table

__all__ = [
    "REPRESENTATIONS",
    "SPARSE_COLUMNS",
    "SparsityOptions",
    "read_sparsity",
    "scalesim_sparse_analyze",
    "write_sparse_reports",
]

#: SCALE-Sim's ``SparseRep`` values.
REPRESENTATIONS = ("ellpack_block", "csr", "csc")
#: SPARSE_REPORT.csv columns, as SCALE-Sim 3.0.0 writes them.
SPARSE_COLUMNS = (
    "LayerID",
    "Sparsity Representation",
    "Original Filter Storage",
    "New Storage (Filter+Metadata)",
    "Filter Metadata Storage",
    "Avg FILTER Metadata SRAM BW",
)


@dataclass(frozen=True)
class SparsityOptions:
    """The ``[sparsity]`` section of a SCALE-Sim cfg with ``SparsitySupport = true``.

    Attributes:
        representation: ``SparseRep``: ``ellpack_block``, ``csr`` or ``csc``.
        optimized_mapping: ``OptimizedMapping``.
        block_size: ``BlockSize`` (rows per block; read only with OptimizedMapping).
        seed: ``RandomNumberGeneratorSeed`` (per-column N under OptimizedMapping).
    """

    representation: str
    optimized_mapping: bool
    block_size: int
    seed: int


def _entry(sections, path: Path, key: str) -> tuple[str, int]:
    entry = sections.get("sparsity", {}).get(key.lower())
    if entry is None:
        raise CfgError(f"{path}: missing field {key!r} in section [sparsity] (SparsitySupport)")
    return entry


def _int(path: Path, entry: tuple[str, int], key: str) -> int:
    try:
        return int(entry[0])
    except ValueError:
        raise CfgError(
            f"{path}:{entry[1]}: field {key!r} must be an integer, but got {entry[0]!r}"
        ) from None


def read_sparsity(path: str | os.PathLike, config: ArrayConfig) -> SparsityOptions | None:
    """The cfg's sparse-mode options, or ``None`` when ``SparsitySupport`` is not true.

    Raises ``CfgError`` (naming the file, line and key) for anything this module does not
    reproduce: USER bandwidth, ``FilterOffset = 0``, an unknown ``SparseRep``, OptimizedMapping
    on os/is (SCALE-Sim stops) and a ``BlockSize`` SCALE-Sim rejects or mishandles.
    """
    path = Path(path)
    sections = _parse_ini(path)
    support = sections.get("sparsity", {}).get("sparsitysupport")
    if support is None or support[0].strip().lower() != "true":
        return None
    line = support[1]
    arch = sections.get("architecture_presets", {})
    if config.user_bandwidth:
        raise CfgError(
            f"{path}:{line}: field 'InterfaceBandwidth' = USER with SparsitySupport = true: "
            "SCALE-Sim's USER-mode stalls on the pruned operands are not reproduced; use CALC"
        )
    offset = arch.get("filteroffset")
    if offset is not None and _int(path, offset, "FilterOffset") == 0:
        raise CfgError(
            f"{path}:{offset[1]}: field 'FilterOffset' = 0 with SparsitySupport = true: SCALE-Sim "
            "then drops filter address 0 as a pruned value, which is not reproduced"
        )
    rep, rep_line = _entry(sections, path, "SparseRep")
    if rep not in REPRESENTATIONS:
        raise CfgError(
            f"{path}:{rep_line}: field 'SparseRep' must be one of {', '.join(REPRESENTATIONS)} "
            f"(SCALE-Sim stops on any other), but got {rep!r}"
        )
    opt_entry = _entry(sections, path, "OptimizedMapping")
    optimized = opt_entry[0].strip().lower() == "true"
    if optimized and config.dataflow != "ws":
        raise CfgError(
            f"{path}:{opt_entry[1]}: field 'OptimizedMapping' = true with Dataflow = "
            f"{config.dataflow}: SCALE-Sim stops there (operand dimension mismatch); it maps "
            "optimised sparsity on ws only"
        )
    seed = _int(
        path, _entry(sections, path, "RandomNumberGeneratorSeed"), "RandomNumberGeneratorSeed"
    )
    block = 4  # SCALE-Sim's default; read only with OptimizedMapping, as SCALE-Sim does
    if optimized:
        entry = _entry(sections, path, "BlockSize")
        block = _int(path, entry, "BlockSize")
        if block < 2 or block % 2 or block > config.rows or (2 * config.rows) % block:
            raise CfgError(
                f"{path}:{entry[1]}: field 'BlockSize' must be even, at least 2, at most "
                f"ArrayHeight ({config.rows}) and divide 2 * ArrayHeight with OptimizedMapping "
                f"(SCALE-Sim rejects or mis-sizes others), but got {block}"
            )
    return SparsityOptions(rep, optimized, block, seed)


def _column_keep(k: int, n_cols: int, ratio: tuple[int, int], opts: SparsityOptions):
    """(compressed rows, kept values per column) of one group's ``k x n_cols`` filter."""
    if not opts.optimized_mapping:
        n, m = ratio
        kept = (k // m) * n + min(n, k % m)
        return kept, np.full(n_cols, kept, dtype=np.int64)
    b = opts.block_size
    rng = np.random.RandomState(opts.seed)  # SCALE-Sim: np.random.seed, then per-column draws
    n_c = np.array([rng.randint(1, b // 2 + 1) for _ in range(n_cols)], dtype=np.int64)
    kept = (k // b) * n_c + np.minimum(n_c, k % b)
    return -(-k // (2 * b)) * b, kept


def _pruned_ifmap_words(layer: Layer, ratio: tuple[int, int]) -> int:
    """Distinct ifmap words one group reads once SCALE-Sim drops the im2col columns of pruned
    filter rows (``OptimizedMapping = false``): kept are the first N of every M window
    positions, in SCALE-Sim's (filter row, filter column, channel) order."""
    n, m = ratio
    if isinstance(layer, GemmLayer):
        return layer.M * ((layer.K // m) * n + min(n, layer.K % m))
    h, w = layer.H + 2 * layer.padding, layer.W + 2 * layer.padding
    channels = 1 if layer.depthwise else layer.C
    s, out_h, out_w = layer.stride, layer.scalesim_out_h, layer.scalesim_out_w
    used = np.zeros((h, w, channels), dtype=bool)
    for j in range(layer.R * layer.S * channels):
        if j % m < n:
            r, rest = divmod(j, layer.S * channels)
            col, ch = divmod(rest, channels)
            used[r : r + s * out_h : s, col : col + s * out_w : s, ch] = True
    return int(used.sum())


def _storage(rep: str, k: int, n_cols: int, rows: int, m: int, nnz: int) -> tuple:
    """(original, new, metadata) filter storage in SCALE-Sim's words and number types."""
    original = k * n_cols
    if rep == "csr":
        return original, 2 * nnz + k + 1, nnz + k + 1
    if rep == "csc":
        return original, 2 * nnz + n_cols + 1, nnz + n_cols + 1
    metadata = ((rows * n_cols) * math.ceil(math.log2(m))) / 32
    return original, (rows * n_cols) + metadata, metadata


def scalesim_sparse_analyze(
    config: ArrayConfig,
    layers: Sequence[Layer],
    ratios: Sequence[tuple[int, int]],
    options: SparsityOptions,
) -> tuple[dict[str, np.ndarray], list[tuple]]:
    """Per-layer metrics (the keys of ``analyze``) and SPARSE_REPORT rows of SCALE-Sim's sparse mode.

    Args:
        config: An array in CALC mode with ``scalesim_compat=True``.
        layers: The workload; ``ratios`` its topology's ``(N, M)`` per layer.
        options: From :func:`read_sparsity`.

    Returns:
        ``(metrics, rows)``: ``macs`` counts the dense layer's MACs (SCALE-Sim's overall
        utilisation divides those, so it can exceed 100%); ``rows`` holds one tuple per layer
        (representation, original, new, metadata storage in words, metadata words/cycle).
    """
    if not config.scalesim_compat:
        raise ValueError("SCALE-Sim's sparse mode is a compat feature: set `scalesim_compat`")
    if len(ratios) != len(layers):
        raise ValueError(f"{len(layers)} layers but {len(ratios)} sparsity ratios")
    table = layer_table(list(layers))
    design = designs_from_configs([config])
    dense = {k: v[0] for k, v in analyze_batch(design, table, scalesim_compat=True).items()}
    keeps = [
        _column_keep(int(k), int(n), r, options)
        for k, n, r in zip(table.K, table.N, ratios, strict=True)
    ]
    rows_c = np.array([rows for rows, _ in keeps], dtype=np.int64)
    comp_table = dataclasses.replace(table, K=rows_c)
    if not options.optimized_mapping:  # the ifmap operand loses the pruned im2col columns
        unique = np.array(
            [_pruned_ifmap_words(la, r) for la, r in zip(layers, ratios, strict=True)]
        )
        comp_table = dataclasses.replace(
            comp_table, ifmap_unique=unique, ifmap_unique_padded=unique
        )
    out = {
        k: np.array(v[0], copy=True)
        for k, v in analyze_batch(design, comp_table, scalesim_compat=True).items()
    }
    groups = table.groups
    pes = config.pes
    folds = out["folds"] // groups
    nulls = np.array([rows * len(kept) - int(kept.sum()) for rows, kept in keeps])
    out["mapping_efficiency"] = out["mapping_efficiency"] - nulls / (pes * folds)
    if options.optimized_mapping:
        # Null slots are never fetched: the filter stream carries the kept values only.
        dense_slots = np.array([rows * len(kept) for rows, kept in keeps])
        out["filter_dram_reads"] = out["filter_dram_reads"] * (dense_slots - nulls) / dense_slots
        t = table.M_scalesim
        out["ifmap_sram_reads"] = folds * (t + config.rows - 1) * config.rows * options.block_size
        out["ifmap_sram_reads"] = out["ifmap_sram_reads"] * groups
    elif config.dataflow == "ws":
        ratio = np.array([m / n for n, m in ratios])
        out["ifmap_sram_reads"] = out["ifmap_sram_reads"] * ratio
    out["dram_words"] = (
        out["ifmap_dram_reads"]
        + out["filter_dram_reads"]
        + out["ofmap_dram_writes"]
        + out["ofmap_dram_reads"]
    )
    out["macs"] = dense["macs"]
    out["utilisation"] = out["macs"] / (out["cycles"] * pes)
    return out, _report_rows(options, table, keeps, ratios, out)


def _report_rows(options: SparsityOptions, table, keeps, ratios, out) -> list[tuple]:
    """SPARSE_REPORT rows, one per layer: storage of one group and metadata words per cycle."""
    report = []
    for i, (rows, kept) in enumerate(keeps):
        storage = _storage(
            options.representation,
            int(table.K[i]),
            int(table.N[i]),
            rows,
            ratios[i][1],
            int(kept.sum()),
        )
        cycles = int(out["cycles"][i]) // int(table.groups[i])
        report.append((options.representation, *storage, storage[2] / cycles))
    return report


def write_sparse_reports(
    outdir: str | os.PathLike, layers: Sequence[Layer], rows: Sequence[tuple]
) -> list[Path]:
    """Write SPARSE_REPORT.csv and add SCALE-Sim's ``Avg FILTER Metadata SRAM BW`` column to the
    BANDWIDTH_REPORT.csv that :func:`~archgym.simulators.systolic.reports.write_reports` wrote
    in ``outdir`` (SCALE-Sim puts it fourth when SparsitySupport is on). A layer with several
    groups (depthwise) gets one row per group, as in the other reports."""
    out = Path(outdir)
    groups = layer_table(list(layers)).groups
    per_row = [row for row, g in zip(rows, groups, strict=True) for _ in range(int(g))]
    lines = [", ".join(SPARSE_COLUMNS) + ", \n"]
    lines += [f"{i}, " + ", ".join(str(x) for x in row) + ",\n" for i, row in enumerate(per_row)]
    sparse_path = out / "SPARSE_REPORT.csv"
    sparse_path.write_text("".join(lines))
    bw_path = out / "BANDWIDTH_REPORT.csv"
    bw_lines = bw_path.read_text().splitlines(keepends=True)
    fixed = []
    for j, line in enumerate(bw_lines):
        cells = line.rstrip("\n").split(", ")
        cells.insert(3, "Avg FILTER Metadata SRAM BW" if j == 0 else str(per_row[j - 1][4]))
        fixed.append(", ".join(cells) + "\n")
    bw_path.write_text("".join(fixed))
    return [sparse_path, bw_path]
