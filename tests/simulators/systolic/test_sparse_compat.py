"""SCALE-Sim 3.0.0's sparse mode in compat (simulators/systolic/sparse_compat.py) against SCALE-Sim's
own outputs: tests/data/sparse/scalesim_sparse_kinds.csv (every storage kind, with and without
OptimizedMapping) and tests/data/sparse/scalesim_sparse.csv (ELLPACK-block N:M sweep), both
written by experiments/sparse/make_scalesim_sparse_refs.py."""

from __future__ import annotations

import argparse
import csv
import importlib.util
from pathlib import Path

import pytest
from archgym.simulators.sparse import SparseConfig, SparseLayer, analyze_sparse, parse_pattern
from archgym.simulators.systolic import ArrayConfig, ConvLayer, GemmLayer, analyze
from archgym.simulators.systolic.io import write_cfg
from archgym.simulators.systolic.sparse_compat import (
    SparsityOptions,
    read_sparsity,
    scalesim_sparse_analyze,
)

from archgym.commands.systolic import register

ROOT = Path(__file__).resolve().parents[3]
DATA = ROOT / "tests" / "data" / "sparse"


def _generator():
    path = ROOT / "experiments" / "sparse" / "make_scalesim_sparse_refs.py"
    spec = importlib.util.spec_from_file_location("make_scalesim_sparse_refs", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GEN = _generator()


def _rows(name: str) -> list[dict]:
    with open(DATA / name) as f:
        return list(csv.DictReader(f))


def _layer(name: str):
    kind, dims = GEN.LAYERS[name]
    if kind == "gemm":
        return GemmLayer(*dims, name=name)
    return ConvLayer(*dims, depthwise="DP" in name, name=name)  # as SCALE-Sim and read_topology


def _array(case: dict) -> ArrayConfig:
    return ArrayConfig(
        rows=int(case["rows"]),
        cols=int(case["cols"]),
        dataflow=case.get("dataflow", "ws"),
        ifmap_sram_kib=512,
        filter_sram_kib=512,
        ofmap_sram_kib=256,
        scalesim_compat=True,
    )


def _ratio(case: dict) -> tuple[int, int]:
    n, m = case["pattern"].split(":")
    return int(n), int(m)


KINDS = _rows("scalesim_sparse_kinds.csv")


def test_the_kind_references_cover_every_storage_kind_and_mapping():
    seen = {(c["rep"], c["optimized"], c["dataflow"]) for c in KINDS}
    kinds = ("ellpack_block", "csr", "csc")
    assert seen == {(r, o, "ws") for r in kinds for o in ("false", "true")} | {
        (r, "false", d) for r in kinds for d in ("os", "is")
    }
    assert len(KINDS) == len(GEN.kind_cases())


@pytest.mark.parametrize(
    "case",
    KINDS,
    ids=lambda c: (
        f"{c['dataflow']}-{c['rep']}-opt{c['optimized']}{c['block']}-{c['layer']}-{c['pattern']}"
    ),
)
def test_every_storage_kind_matches_scalesim_exactly(case):
    options = SparsityOptions(case["rep"], case["optimized"] == "true", int(case["block"]), 40)
    layer = _layer(case["layer"])
    metrics, rows = scalesim_sparse_analyze(_array(case), [layer], [_ratio(case)], options)
    groups = layer.groups  # SCALE-Sim runs a depthwise layer as one layer per channel
    assert int(metrics["cycles"][0]) == groups * int(case["total_cycles"])
    assert int(metrics["stall_cycles"][0]) == int(case["stall_cycles"]) == 0
    percent = {
        "mapping_efficiency": "mapping_efficiency",
        "compute_util": "compute_utilisation",
        "overall_util": "utilisation",
    }
    for ref, key in percent.items():
        assert 100 * float(metrics[key][0]) == pytest.approx(float(case[ref]), rel=1e-12), ref
    counts = ("ifmap_sram_reads", "filter_sram_reads", "ofmap_sram_writes")
    counts += ("ifmap_dram_reads", "filter_dram_reads", "ofmap_dram_writes")
    for key in counts:
        assert float(metrics[key][0]) == groups * float(case[key]), key
    # The SPARSE_REPORT cells as SCALE-Sim prints them (ints for CSR/CSC, floats for ELLPACK).
    rep, original, new, metadata, bandwidth = rows[0]
    assert rep == case["representation"]
    assert (str(original), str(new), str(metadata)) == (
        case["original_filter_storage"],
        case["new_storage"],
        case["metadata_storage"],
    )
    assert bandwidth == pytest.approx(float(case["metadata_sram_bw"]), rel=1e-12)


@pytest.mark.parametrize(
    "case",
    _rows("scalesim_sparse.csv"),
    ids=lambda c: f"{c['layer']}-{c['rows']}x{c['cols']}-{c['pattern']}",
)
def test_ellpack_sweep_matches_scalesim_and_the_sparse_engine(case):
    options = SparsityOptions("ellpack_block", False, 8, 40)
    layer = _layer(case["layer"])
    metrics, rows = scalesim_sparse_analyze(_array(case), [layer], [_ratio(case)], options)
    assert int(metrics["cycles"][0]) == int(case["total_cycles"])
    assert (str(rows[0][1]), str(rows[0][2]), str(rows[0][3])) == (
        case["original_filter_storage"],
        case["new_storage"],
        case["metadata_storage"],
    )
    # Same compressed-K path as the sparse engine where its format applies (K a multiple of M).
    pattern = parse_pattern("dense" if case["pattern"] == "1:1" else case["pattern"])
    engine = analyze_sparse(
        SparseConfig(_array(case), patterns=(pattern,)), [SparseLayer(layer, pattern)]
    )
    assert int(engine["cycles"][0]) == int(metrics["cycles"][0])


def _sparse_cfg(path: Path, rows: int, cols: int, **keys: str) -> Path:
    write_cfg(path, ArrayConfig(rows=rows, cols=cols, dataflow="ws"))
    text = path.read_text().replace("SparsitySupport = false", "SparsitySupport = true")
    for key, value in keys.items():
        head, sep, tail = text.partition(f"\n{key} = ")
        text = head + sep + value + "\n" + tail.split("\n", 1)[1] if sep else text
    path.write_text(text)
    return path


def _run(argv):
    parser = argparse.ArgumentParser(prog="archgym")
    register(parser.add_subparsers())
    args = parser.parse_args(argv)
    return args.func(args)


@pytest.mark.parametrize(
    "case",
    [c for c in KINDS if c["layer"] == "g_ragged"],
    ids=lambda c: f"{c['dataflow']}-{c['rep']}-{c['optimized']}{c['block']}",
)
def test_simulate_writes_scalesim_sparse_report(tmp_path, case):
    cfg = _sparse_cfg(
        tmp_path / "s.cfg",
        int(case["rows"]),
        int(case["cols"]),
        SparseRep=case["rep"],
        OptimizedMapping=case["optimized"],
        BlockSize=case["block"],
        Dataflow=case["dataflow"],
    )
    text, _ = GEN.topology(case["layer"], case["pattern"])
    (tmp_path / "t.csv").write_text(text)
    out = tmp_path / "out"
    argv = ["simulate", "-c", str(cfg), "-t", str(tmp_path / "t.csv"), "-o", str(out)]
    assert _run([*argv, "--scalesim-compat"]) == 0
    sparse = (out / "SPARSE_REPORT.csv").read_text().splitlines()
    assert sparse[0] == (
        "LayerID, Sparsity Representation, Original Filter Storage, "
        "New Storage (Filter+Metadata), Filter Metadata Storage, Avg FILTER Metadata SRAM BW, "
    )
    cells = sparse[1].rstrip(",").split(", ")
    assert cells[:5] == [
        "0",
        case["representation"],
        case["original_filter_storage"],
        case["new_storage"],
        case["metadata_storage"],
    ]
    assert float(cells[5]) == pytest.approx(float(case["metadata_sram_bw"]), rel=1e-12)
    with open(out / "COMPUTE_REPORT.csv") as f:
        compute = [[c.strip() for c in line.split(",")] for line in f]
    assert int(compute[1][2]) == int(case["total_cycles"])
    bandwidth = (out / "BANDWIDTH_REPORT.csv").read_text().splitlines()
    assert bandwidth[0].split(", ")[3] == "Avg FILTER Metadata SRAM BW"
    assert float(bandwidth[1].split(", ")[3]) == pytest.approx(float(case["metadata_sram_bw"]))
    # Without --scalesim-compat the sparse mode is still refused, never run dense.
    with pytest.raises(ValueError, match=r"s\.cfg:\d+: field 'SparsitySupport' = true"):
        _run(argv)


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ({"Dataflow": "os", "OptimizedMapping": "true"}, "field 'OptimizedMapping' = true with"),
        ({"InterfaceBandwidth": "USER"}, "field 'InterfaceBandwidth' = USER"),
        ({"SparseRep": "coo"}, "field 'SparseRep' must be one of"),
        ({"OptimizedMapping": "true", "BlockSize": "3"}, "field 'BlockSize' must be even"),
        ({"OptimizedMapping": "true", "BlockSize": "16"}, "field 'BlockSize' must be even"),
        ({"FilterOffset": "0"}, "field 'FilterOffset' = 0"),
    ],
)
def test_unreproduced_sparse_inputs_are_one_line_errors_naming_the_key(tmp_path, keys, message):
    cfg = _sparse_cfg(tmp_path / "s.cfg", 8, 8, **keys)
    (tmp_path / "t.csv").write_text("Layer, M, N, K, Sparsity,\ng, 16, 16, 32, 2:4,\n")
    argv = ["simulate", "-c", str(cfg), "-t", str(tmp_path / "t.csv"), "--scalesim-compat"]
    with pytest.raises(ValueError, match=message):
        _run([*argv, "-o", str(tmp_path / "out")])


def test_sparse_mode_refuses_replay_and_cycle_fidelity(tmp_path):
    cfg = _sparse_cfg(tmp_path / "s.cfg", 8, 8)
    (tmp_path / "t.csv").write_text("Layer, M, N, K, Sparsity,\ng, 16, 16, 32, 2:4,\n")
    argv = ["simulate", "-c", str(cfg), "-t", str(tmp_path / "t.csv"), "--scalesim-compat"]
    for extra in (["--replay"], ["--fidelity", "cycle"]):
        with pytest.raises(ValueError, match="reproduced by the analytical compat model only"):
            _run([*argv, *extra, "-o", str(tmp_path / "out")])


def test_read_sparsity_is_none_without_support(tmp_path):
    write_cfg(tmp_path / "d.cfg", ArrayConfig(rows=4, cols=4, dataflow="ws"))
    assert read_sparsity(tmp_path / "d.cfg", ArrayConfig(rows=4, cols=4, dataflow="ws")) is None


@pytest.mark.parametrize(("optimized", "block"), [("false", "8"), ("true", "4")])
def test_multi_layer_topology_with_depthwise_rows(tmp_path, optimized, block):
    # SCALE-Sim reseeds per layer and writes a depthwise layer as one row per channel.
    refs = {
        c["layer"]: c
        for c in KINDS
        if c["rep"] == "ellpack_block"
        and (c["optimized"], c["block"], c["dataflow"]) == (optimized, block, "ws")
        and c["layer"] in ("c_s2_pad", "DP_c")
    }
    cfg = _sparse_cfg(tmp_path / "s.cfg", 8, 8, OptimizedMapping=optimized, BlockSize=block)
    first, _ = GEN.topology("c_s2_pad", refs["c_s2_pad"]["pattern"])
    second, _ = GEN.topology("DP_c", refs["DP_c"]["pattern"])
    (tmp_path / "t.csv").write_text(first + second.splitlines()[1] + "\n")
    out = tmp_path / "out"
    argv = ["simulate", "-c", str(cfg), "-t", str(tmp_path / "t.csv"), "-o", str(out)]
    assert _run([*argv, "--scalesim-compat"]) == 0
    rows = (out / "SPARSE_REPORT.csv").read_text().splitlines()[1:]
    expected = [refs["c_s2_pad"]] + [refs["DP_c"]] * 4
    assert len(rows) == len(expected)
    for i, (row, ref) in enumerate(zip(rows, expected, strict=True)):
        cells = row.rstrip(",").split(", ")
        assert cells[:5] == [
            str(i),
            "ellpack_block",
            ref["original_filter_storage"],
            ref["new_storage"],
            ref["metadata_storage"],
        ]
    with open(out / "COMPUTE_REPORT.csv") as f:
        compute = [[c.strip() for c in line.split(",")] for line in f][1:]
    assert [int(r[2]) for r in compute] == [int(r["total_cycles"]) for r in expected]
    assert [float(r[5]) for r in compute] == pytest.approx(
        [float(r["mapping_efficiency"]) for r in expected], rel=1e-12
    )


def test_dense_baseline_matches_only_the_dense_runs():
    # Trivial baseline on the same rows: the dense compat model (what `archgym simulate` ran
    # before, ignoring [sparsity]) gets the cycles right exactly where nothing is pruned.
    for case in KINDS:
        layer = _layer(case["layer"])
        cycles = int(analyze(_array(case), [layer])["cycles"][0]) // layer.groups
        dense = case["pattern"] == "1:1" and case["optimized"] == "false"
        assert (cycles == int(case["total_cycles"])) == dense, case
