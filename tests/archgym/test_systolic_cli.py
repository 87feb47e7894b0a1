"""``archgym simulate`` (archgym/commands/systolic.py)."""

from __future__ import annotations

import argparse
import csv

import pytest
from archgym.simulators.systolic import ArrayConfig, ConvLayer
from archgym.simulators.systolic.io import write_cfg, write_topology

from archgym.commands.systolic import register


def _run(argv):
    parser = argparse.ArgumentParser(prog="archgym")
    register(parser.add_subparsers())
    args = parser.parse_args(argv)
    return args.func(args)


@pytest.mark.parametrize("fidelity", ["analytical", "cycle"])
def test_simulate_writes_three_reports(tmp_path, capsys, fidelity):
    write_cfg(tmp_path / "a.cfg", ArrayConfig(rows=8, cols=8, read_bw_words=4, write_bw_words=4))
    write_topology(
        tmp_path / "t.csv",
        [
            ConvLayer(14, 14, 3, 3, 8, 16, name="c1"),
            ConvLayer(12, 12, 3, 3, 4, 1, depthwise=True, name="DP1"),
        ],
    )
    out = tmp_path / "out"
    argv = [
        "simulate",
        "-c",
        str(tmp_path / "a.cfg"),
        "-t",
        str(tmp_path / "t.csv"),
        "--fidelity",
        fidelity,
        "-o",
        str(out),
    ]
    assert _run(argv) == 0
    with open(out / "COMPUTE_REPORT.csv") as f:
        rows = list(csv.reader(f, skipinitialspace=True))
    assert rows[0][:3] == ["LayerID", "Total Cycles (incl. prefetch)", "Total Cycles"]
    assert len(rows) == 1 + 1 + 4  # the depthwise layer: one row per channel
    assert "c1:" in capsys.readouterr().out


def test_simulate_gemm_flag(tmp_path):
    write_cfg(tmp_path / "a.cfg", ArrayConfig())
    (tmp_path / "g.csv").write_text(
        "name, M, N, K,\nfc, 4, 8, 16,\n"
    )  # header not "Layer, M, N, K"
    assert (
        _run(
            [
                "simulate",
                "-c",
                str(tmp_path / "a.cfg"),
                "-t",
                str(tmp_path / "g.csv"),
                "--gemm",
                "-o",
                str(tmp_path / "o"),
            ]
        )
        == 0
    )


def test_simulate_bad_file_names_file_and_line(tmp_path):
    (tmp_path / "bad.cfg").write_text("[architecture_presets]\nArrayHeight = x\n")
    (tmp_path / "t.csv").write_text("Layer, M, N, K,\nfc, 4, 8, 16,\n")
    with pytest.raises(ValueError, match=r"bad.cfg:2: field 'ArrayHeight' must be an integer"):
        _run(["simulate", "-c", str(tmp_path / "bad.cfg"), "-t", str(tmp_path / "t.csv")])


def test_main_cli_exits_2_on_bad_input(tmp_path, capsys, monkeypatch):
    from archgym import cli

    if "archgym.commands.systolic" not in cli.COMMAND_MODULES:  # until the lead wires it in
        monkeypatch.setattr(
            cli, "COMMAND_MODULES", [*cli.COMMAND_MODULES, "archgym.commands.systolic"]
        )
    (tmp_path / "bad.cfg").write_text("[architecture_presets]\nArrayHeight = x\n")
    assert cli.main(["simulate", "-c", str(tmp_path / "bad.cfg"), "-t", "x.csv"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("archgym: error:") and "bad.cfg:2: field 'ArrayHeight'" in err
    assert "Traceback" not in err


def test_simulate_refuses_scalesim_sparse_mode(tmp_path):
    write_cfg(tmp_path / "a.cfg", ArrayConfig(rows=4, cols=4))
    text = (
        (tmp_path / "a.cfg")
        .read_text()
        .replace("SparsitySupport = false", "SparsitySupport = true")
    )
    (tmp_path / "a.cfg").write_text(text)
    write_topology(tmp_path / "t.csv", [ConvLayer(8, 8, 3, 3, 2, 4)])
    with pytest.raises(ValueError, match=r"a\.cfg:\d+: field 'SparsitySupport' = true"):
        _run(["simulate", "-c", str(tmp_path / "a.cfg"), "-t", str(tmp_path / "t.csv")])


def test_simulate_k1_gemm_on_1x1_compat_is_a_one_line_error(tmp_path):
    write_cfg(tmp_path / "a.cfg", ArrayConfig(rows=1, cols=1))
    (tmp_path / "t.csv").write_text("Layer, M, N, K,\ng1, 1, 1, 1,\n")
    argv = ["simulate", "-c", str(tmp_path / "a.cfg"), "-t", str(tmp_path / "t.csv")]
    argv += ["-o", str(tmp_path / "out")]
    assert _run(argv) == 0  # the default model: 1 cycle
    with pytest.raises(ValueError, match="division by zero; run it without --scalesim-compat"):
        _run([*argv, "--scalesim-compat"])


def test_simulate_replay_is_exact_calc_replay(tmp_path, capsys):
    write_cfg(tmp_path / "a.cfg", ArrayConfig(rows=4, cols=4, ifmap_sram_kib=1))
    write_topology(tmp_path / "t.csv", [ConvLayer(12, 12, 3, 3, 8, 4, name="c1")])
    argv = ["simulate", "-c", str(tmp_path / "a.cfg"), "-t", str(tmp_path / "t.csv")]
    argv += ["-o", str(tmp_path / "out"), "--scalesim-compat", "--replay"]
    assert _run(argv) == 0
    with pytest.raises(ValueError, match="--replay replays SCALE-Sim's CALC-mode read buffer"):
        _run([*argv[:-2], "--replay"])
