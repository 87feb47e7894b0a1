"""The sparse engine against SCALE-Sim 3.0.0's sparse mode (reference outputs stored in
tests/data/sparse/scalesim_sparse.csv by experiments/sparse/make_scalesim_sparse_refs.py)."""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

import pytest
from archgym.simulators.sparse import (
    SparseConfig,
    SparseLayer,
    analyze_sparse,
    operand_bytes,
    parse_pattern,
)
from archgym.simulators.systolic import ArrayConfig, ConvLayer, GemmLayer

ROOT = Path(__file__).resolve().parents[3]
REFS = ROOT / "tests" / "data" / "sparse" / "scalesim_sparse.csv"


def _layers() -> dict:
    path = ROOT / "experiments" / "sparse" / "make_scalesim_sparse_refs.py"
    spec = importlib.util.spec_from_file_location("make_scalesim_sparse_refs", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.LAYERS


def _cases() -> list[dict]:
    with open(REFS) as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize(
    "case", _cases(), ids=lambda c: f"{c['layer']}-{c['rows']}x{c['cols']}-{c['pattern']}"
)
def test_ws_cycles_and_storage_match_scalesim_exactly(case):
    # SCALE-Sim compresses the filter along K (N of every M kept; ELLPACK with ceil(log2 M)
    # index bits per kept value, reported in 32-bit units) and folds the compressed rows over
    # the array; in CALC mode its Total Cycles are compute cycles.
    kind, dims = _layers()[case["layer"]]
    layer = GemmLayer(*dims) if kind == "gemm" else ConvLayer(*dims)
    pattern = parse_pattern("dense" if case["pattern"] == "1:1" else case["pattern"])
    array = ArrayConfig(
        rows=int(case["rows"]),
        cols=int(case["cols"]),
        dataflow="ws",
        ifmap_sram_kib=512,
        filter_sram_kib=512,
        ofmap_sram_kib=256,
        scalesim_compat=True,
    )
    result = analyze_sparse(SparseConfig(array, patterns=(pattern,)), [SparseLayer(layer, pattern)])
    assert result["cycles"][0] == int(case["total_cycles"])
    _, n, k = layer.gemm_shape()
    values, metadata_bytes = operand_bytes(k, n, pattern, value_bytes=1)
    assert metadata_bytes * 8 / 32 == float(case["metadata_storage"])
    assert values == float(case["new_storage"]) - float(case["metadata_storage"])
