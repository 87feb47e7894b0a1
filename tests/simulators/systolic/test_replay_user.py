"""The USER-mode replay (``replay_user``) against every stored SCALE-Sim 3.0.0 USER run.

tests/data/scalesim holds 42 USER runs (21 where SCALE-Sim stalls: 1-16 kB and 256-512 kB SRAMs,
bandwidth 1-16, all dataflows, GEMM, 3x3 and stride-2 convs). The replay must give SCALE-Sim's
stall cycles, Total Cycles, Total Cycles (incl. prefetch), ifmap/filter DRAM reads and ofmap DRAM
writes exactly on each; the acceptance figure (stalls within 1% on >= 95% of stalling runs) is
printed next to the same count for the analytical compat model, the trivial baseline.
"""

from __future__ import annotations

import dataclasses
from functools import cache

import numpy as np
import pytest
from archgym.simulators.systolic import analyze
from archgym.simulators.systolic.config import ArrayConfig
from archgym.simulators.systolic.layers import ConvLayer, GemmLayer
from archgym.simulators.systolic.refcases import case_config, case_layer
from archgym.simulators.systolic.replay_user import demand_matrices, scalesim_user_analyze

from .test_scalesim import _data

FIELDS = (  # (replay key, report, column)
    ("stall_cycles", "compute", "Stall Cycles"),
    ("cycles", "compute", "Total Cycles"),
    ("total_cycles", "compute", "Total Cycles (incl. prefetch)"),
    ("ifmap_dram_reads", "detailed", "DRAM IFMAP Reads"),
    ("filter_dram_reads", "detailed", "DRAM Filter Reads"),
    ("ofmap_dram_writes", "detailed", "DRAM OFMAP Writes"),
)


def _user_cases() -> list[dict[str, str]]:
    cases, _, _ = _data()
    return [c for c in cases if c["mode"] == "USER"]


@cache
def _replay(case_id: str) -> dict[str, np.ndarray]:
    case = next(c for c in _user_cases() if c["case"] == case_id)
    return scalesim_user_analyze(case_config(case), case_layer(case))


def _reference(case: dict[str, str]) -> dict[str, int]:
    _, compute, detailed = _data()
    rows = {"compute": compute[case["case"]], "detailed": detailed[case["case"]]}
    return {key: sum(int(float(r[col])) for r in rows[rep]) for key, rep, col in FIELDS}


def test_the_stored_set_has_stalling_user_runs():
    cases = _user_cases()
    stalling = [c for c in cases if _reference(c)["stall_cycles"] > 0]
    assert len(cases) >= 40 and len(stalling) >= 20
    assert {c["dataflow"] for c in stalling} == {"os", "ws", "is"}


@pytest.mark.parametrize("case", _user_cases(), ids=lambda c: f"case{c['case']}")
def test_replay_is_exact_on_every_stored_user_run(case):
    got = _replay(case["case"])
    ref = _reference(case)
    assert {key: int(got[key][0]) for key in ref} == ref
    # the compute side is analyze's (exact on every stored run): total - stall
    base = analyze(case_config(case), [case_layer(case)])
    assert int(got["compute_cycles"][0]) == int(base["compute_cycles"][0])


def test_stalls_within_one_percent_count_against_the_analytical_baseline(capsys):
    stalling = [c for c in _user_cases() if _reference(c)["stall_cycles"] > 0]
    hits = {"replay": 0, "analyze (compat)": 0}
    for case in stalling:
        ref = _reference(case)["stall_cycles"]
        config, layer = case_config(case), case_layer(case)
        replay = int(_replay(case["case"])["stall_cycles"][0])
        base = float(analyze(config, [layer])["stall_cycles"][0])
        hits["replay"] += abs(replay - ref) <= 0.01 * ref
        hits["analyze (compat)"] += abs(base - ref) <= 0.01 * ref
    with capsys.disabled():
        for name, count in hits.items():
            print(f"\nUSER stalls within 1%: {name}: {count}/{len(stalling)}", end="")
    assert hits["replay"] == len(stalling)  # exact, so also >= 95%
    assert hits["analyze (compat)"] < hits["replay"]


def test_demand_matrices_issue_analyze_s_sram_reads():
    config = ArrayConfig(rows=5, cols=7, dataflow="os", read_bw_words=3, write_bw_words=3)
    layer = ConvLayer(11, 11, 3, 3, 4, 9, 2)
    for dataflow in ("os", "ws", "is"):
        config = dataclasses.replace(config, dataflow=dataflow, scalesim_compat=True)
        mats = demand_matrices(config, layer)
        base = analyze(config, [layer])
        assert (mats["ifmap_demand"] >= 0).sum() == base["ifmap_sram_reads"][0]
        assert (mats["filter_demand"] >= 0).sum() == base["filter_sram_reads"][0]
        lines = {m.shape[0] for k, m in mats.items() if k.endswith("demand")}
        assert len(lines) == 1  # one row per cycle for all three operands


def test_depthwise_layer_is_its_groups_run_one_by_one():
    config = ArrayConfig(rows=4, cols=4, ifmap_sram_kib=1, read_bw_words=2, write_bw_words=2)
    dw = ConvLayer(10, 10, 3, 3, 3, 1, 1, depthwise=True)
    one = ConvLayer(10, 10, 3, 3, 1, 1, 1)
    got, single = scalesim_user_analyze(config, dw), scalesim_user_analyze(config, one)
    for key in ("stall_cycles", "cycles", "ifmap_dram_reads", "ofmap_dram_writes"):
        assert got[key][0] == 3 * single[key][0]


def test_replay_refuses_calc_mode():
    with pytest.raises(ValueError, match="replays SCALE-Sim's USER mode"):
        scalesim_user_analyze(ArrayConfig(rows=4, cols=4), GemmLayer(8, 8, 8))


def test_separate_ifmap_and_filter_bandwidths():
    config = ArrayConfig(rows=4, cols=4, ifmap_sram_kib=1, filter_sram_kib=1, ofmap_sram_kib=1)
    config = dataclasses.replace(config, read_bw_words=2, write_bw_words=2)
    layer = GemmLayer(40, 30, 50)
    slow = scalesim_user_analyze(config, layer)
    # a prefetch reads ceil(512 / bw) lines of bw words: 512 at bw 2, 513 at bw 3
    other = scalesim_user_analyze(config, layer, filter_bw=3)
    assert other["ifmap_dram_reads"][0] == slow["ifmap_dram_reads"][0]
    assert other["filter_dram_reads"][0] != slow["filter_dram_reads"][0]
    assert other["filter_dram_reads"][0] % 513 == 0 and slow["filter_dram_reads"][0] % 512 == 0


def test_cli_replay_on_a_user_cfg_writes_scalesim_s_numbers(tmp_path):
    import argparse

    from archgym.simulators.systolic.io import write_cfg, write_topology

    from archgym.commands.systolic import register

    case = next(c for c in _user_cases() if c["case"] == "145")  # 4x8 ws, stride-2 conv, stalls
    text_cfg = tmp_path / "a.cfg"
    write_cfg(text_cfg, case_config(case))
    # a different filter bank bandwidth is read from the cfg, not replaced by the slower one
    text = text_cfg.read_text().replace(
        "FilterSRAMBankBandwidth = 2", "FilterSRAMBankBandwidth = 3"
    )
    (tmp_path / "b.cfg").write_text(text)
    write_topology(tmp_path / "t.csv", [case_layer(case)])
    parser = argparse.ArgumentParser(prog="archgym")
    register(parser.add_subparsers())
    for cfg, filter_bw in (("a.cfg", None), ("b.cfg", 3)):
        out = tmp_path / cfg
        argv = ["simulate", "-c", str(tmp_path / cfg), "-t", str(tmp_path / "t.csv")]
        args = parser.parse_args([*argv, "-o", str(out) + "_out", "--scalesim-compat", "--replay"])
        assert args.func(args) == 0
        want = scalesim_user_analyze(case_config(case), case_layer(case), filter_bw=filter_bw)
        with open(str(out) + "_out/COMPUTE_REPORT.csv") as f:
            row = [c.strip() for c in f.read().splitlines()[1].split(",")]
        assert int(row[3]) == int(want["stall_cycles"][0])
        assert int(row[2]) == int(want["cycles"][0])
        assert int(row[1]) == int(want["total_cycles"][0])
        if filter_bw is None:
            assert int(row[3]) == _reference(case)["stall_cycles"]
    text = text.replace("IfmapCustomLayout = False", "IfmapCustomLayout = True")
    (tmp_path / "c.cfg").write_text(text)
    argv = ["simulate", "-c", str(tmp_path / "c.cfg"), "-t", str(tmp_path / "t.csv")]
    args = parser.parse_args([*argv, "-o", str(tmp_path / "o"), "--scalesim-compat", "--replay"])
    with pytest.raises(ValueError, match=r"c\.cfg:\d+: field 'IfmapCustomLayout' = True"):
        args.func(args)


def test_check_script_smoke():
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[3] / "experiments/systolic/check_replay_user.py"
    proc = subprocess.run(
        [sys.executable, str(script), "--limit", "3"], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert "all six fields exact: 3/3 USER runs" in proc.stdout
