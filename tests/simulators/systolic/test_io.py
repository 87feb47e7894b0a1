"""SCALE-Sim cfg/topology readers and writers, report writer, config/layer validation."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from archgym.simulators.systolic import ArrayConfig, ConvLayer, GemmLayer, analyze
from archgym.simulators.systolic.io import (
    CfgError,
    read_cfg,
    read_topology,
    write_cfg,
    write_topology,
)
from archgym.simulators.systolic.reports import write_reports

V2_CFG = """[general]
run_name = "scale_example_run_32x32_os"

[architecture_presets]
ArrayHeight:    32
ArrayWidth:     32
IfmapSramSzkB:    64
FilterSramSzkB:   64
OfmapSramSzkB:    64
IfmapOffset:    0
FilterOffset:   10000000
OfmapOffset:    20000000
Dataflow : ws
Bandwidth : 10
"""


def test_v2_cfg_reads_as_calc_mode(tmp_path):
    path = tmp_path / "v2.cfg"
    path.write_text(V2_CFG)
    config = read_cfg(path)
    assert (config.rows, config.cols, config.dataflow) == (32, 32, "ws")
    assert config.ifmap_sram_kib == 64 and not config.user_bandwidth


@pytest.mark.parametrize("bw", [None, 4])
def test_cfg_round_trip(tmp_path, bw):
    config = ArrayConfig(
        rows=16,
        cols=64,
        dataflow="is",
        ifmap_sram_kib=8,
        filter_sram_kib=32,
        ofmap_sram_kib=2,
        read_bw_words=bw,
        write_bw_words=bw,
    )
    write_cfg(tmp_path / "a.cfg", config)
    assert read_cfg(tmp_path / "a.cfg") == config


def test_v3_user_mode_reads_bank_bandwidths(tmp_path):
    write_cfg(tmp_path / "a.cfg", ArrayConfig(read_bw_words=8, write_bw_words=8))
    text = (
        (tmp_path / "a.cfg")
        .read_text()
        .replace("FilterSRAMBankBandwidth = 8", "FilterSRAMBankBandwidth = 6")
    )
    (tmp_path / "a.cfg").write_text(text.replace("Bandwidth = 8\n", "Bandwidth = 12\n", 1))
    config = read_cfg(tmp_path / "a.cfg")
    assert (config.read_bw_words, config.write_bw_words) == (6, 12)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("Dataflow : ws", "Dataflow : xs", r"v2.cfg:13: field 'Dataflow' must be one of"),
        (
            "ArrayHeight:    32",
            "ArrayHeight:    0",
            r"v2.cfg:5: field 'ArrayHeight' must be positive",
        ),
        (
            "ArrayWidth:     32",
            "ArrayWidth:     3x",
            r"v2.cfg:6: field 'ArrayWidth' must be an int",
        ),
        ("IfmapSramSzkB:    64\n", "", r"v2.cfg: missing field 'IfmapSramSzkB'"),
        ("Bandwidth : 10", "Bandwidth 10", r"v2.cfg:14: expected 'key = value'"),
    ],
)
def test_cfg_errors_name_file_line_and_field(tmp_path, old, new, message):
    path = tmp_path / "v2.cfg"
    assert old in V2_CFG
    path.write_text(V2_CFG.replace(old, new))
    with pytest.raises(CfgError, match=message):
        read_cfg(path)


def test_topology_forms_in_the_wild(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(
        "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"
        "Conv1, 224, 224, 7, 7, 3, 64, 2,\n"
        "CB2a_DP, 58, 58, 3, 3, 32, 1, 1\n"  # no trailing comma
        "\n"
        "FC, 1, 1, 1, 1, 2048, 1000, 1, 2:4,\n"  # sparsity ratio column
    )
    conv, dp, fc = read_topology(path)
    assert conv == ConvLayer(224, 224, 7, 7, 3, 64, 2, name="Conv1")
    assert dp.depthwise and dp.groups == 32 and dp.gemm_shape() == (56 * 56, 1, 9)
    assert fc.gemm_shape() == (1, 1000, 2048)
    gemm = tmp_path / "g.csv"
    gemm.write_text("Layer, M, N, K,\nqkv, 128, 2304, 768,\n")
    assert read_topology(gemm) == [GemmLayer(128, 2304, 768, name="qkv")]
    assert read_topology(gemm, gemm=True) == read_topology(gemm)


def test_topology_round_trip(tmp_path):
    layers = [
        ConvLayer(56, 56, 3, 3, 64, 64, padding=1, name="c"),
        ConvLayer(16, 16, 3, 3, 8, 1, depthwise=True, name="dw"),
        GemmLayer(8, 9, 10),
    ]
    write_topology(tmp_path / "t.csv", layers)
    back = read_topology(tmp_path / "t.csv")
    # Padding folds into the input size (so it becomes data, as SCALE-Sim sees it) and the GEMM
    # into SCALE-Sim's conv view: same results as SCALE-Sim would give.
    config = ArrayConfig(rows=8, cols=8, scalesim_compat=True)
    for key, value in analyze(config, layers).items():
        assert list(analyze(config, back)[key]) == pytest.approx(list(value)), key
    write_topology(tmp_path / "g.csv", [GemmLayer(8, 9, 10)])
    assert read_topology(tmp_path / "g.csv") == [GemmLayer(8, 9, 10)]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("L1, 10, 10, 3, 3, 4, 8,", r"t.csv:2: expected 8 fields"),
        ("L1, 10, 10, 3, 3, 0, 8, 1,", r"t.csv:2: field 'Channels' must be positive"),
        ("L1, 10, ten, 3, 3, 4, 8, 1,", r"t.csv:2: field 'IFMAP Width' must be an integer"),
        ("L1, 2, 10, 3, 3, 4, 8, 1,", r"t.csv:2: filter height `R` \(3\) must not exceed"),
    ],
)
def test_topology_errors_name_file_line_and_field(tmp_path, row, message):
    path = tmp_path / "t.csv"
    path.write_text(
        "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, "
        f"Channels, Num Filter, Strides,\n{row}\n"
    )
    with pytest.raises(CfgError, match=message):
        read_topology(path)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rows": 0}, "`rows` must be a positive integer, but got 0"),
        ({"cols": -4}, "`cols` must be a positive integer, but got -4"),
        ({"dataflow": "wss"}, "unknown dataflow 'wss'; did you mean 'ws'"),
        ({"ifmap_sram_kib": 0}, "`ifmap_sram_kib` must be a positive number"),
        ({"read_bw_words": 4}, "must both be set or both be None"),
        ({"precision": "int9"}, "unknown precision 'int9'; did you mean 'int8'"),
    ],
)
def test_config_validation(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ArrayConfig(**kwargs)


def test_layer_validation():
    with pytest.raises(ValueError, match="`H` must be a positive integer, but got 0"):
        ConvLayer(0, 4, 1, 1, 1, 1)
    with pytest.raises(ValueError, match="`padding` must be an integer >= 0"):
        ConvLayer(4, 4, 1, 1, 1, 1, padding=-1)
    with pytest.raises(ValueError, match="filter width `S` \\(5\\) must not exceed"):
        ConvLayer(8, 4, 3, 5, 1, 1)
    with pytest.raises(ValueError, match="`K` must be a positive integer"):
        GemmLayer(4, 4, 0)


def test_reports_use_scalesim_columns(tmp_path):
    config = ArrayConfig(rows=8, cols=8, read_bw_words=4, write_bw_words=4)
    layers = [GemmLayer(64, 48, 40), ConvLayer(16, 16, 3, 3, 8, 1, depthwise=True)]
    paths = write_reports(tmp_path, config, layers, analyze(config, layers))
    for path, ref in zip(paths, ("compute.csv", "bandwidth.csv", "detailed.csv"), strict=True):
        header = path.read_text().splitlines()[0]
        with open(Path(__file__).parents[2] / "data" / "scalesim" / ref) as f:
            ref_header = next(csv.reader(f))[1:]  # drop our `case` column
        assert header == ", ".join(ref_header) + ","
        rows = path.read_text().splitlines()[1:]
        assert len(rows) == 1 + 8  # the depthwise layer has one row per channel
    compute = (tmp_path / "COMPUTE_REPORT.csv").read_text().splitlines()[1].split(", ")
    assert int(compute[2]) == analyze(config, layers)["cycles"][0]
