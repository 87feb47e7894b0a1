"""``archgym workloads`` (list), ``workloads show`` and ``workloads export``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from archgym.simulators.systolic.io import read_topology

from archgym.cli import main

MODELS = Path(__file__).parents[2] / "data" / "models"


def test_list_still_names_the_built_ins(capsys):
    assert main(["workloads"]) == 0
    assert "resnet18" in capsys.readouterr().out


def test_show_json_has_layers_and_flop_totals(capsys):
    args = ["workloads", "show", str(MODELS / "llama3-8b.json"), "--phase", "decode"]
    assert main([*args, "--batch", "2", "--context", "4096", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {"layers", "weight_flops", "attention_flops"} <= set(data)
    assert data["weight_flops"] == sum(r["flops"] for r in data["layers"] if r["kind"] == "weight")
    assert data["phase"] == "decode" and data["keys"] == 4096
    assert {r["name"] for r in data["layers"]} >= {"lm_head", "attn_scores", "gate_proj"}


def test_show_table_prints_totals(capsys):
    assert main(["workloads", "show", str(MODELS / "gpt2.json"), "--tokens", "64"]) == 0
    out = capsys.readouterr().out
    assert "lm_head" in out and "weight_flops" in out and "phase prefill" in out


def test_export_writes_a_topology_that_reads_back_with_the_same_flops(tmp_path, capsys):
    out = tmp_path / "topo.csv"
    model = str(MODELS / "bert-base-uncased.json")
    assert main(["workloads", "export", model, "--tokens", "128", "-o", str(out)]) == 0
    capsys.readouterr()
    macs = sum(layer.macs for layer in read_topology(out))
    assert main(["workloads", "show", model, "--tokens", "128", "--json"]) == 0
    assert 2 * macs == json.loads(capsys.readouterr().out)["total_flops"]


def test_user_mistakes_exit_2_with_one_line(capsys, tmp_path):
    assert main(["workloads", "show", "resnet19"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("archgym: error: unknown workload 'resnet19'") and err.count("\n") == 1
    assert main(["workloads", "export", "resnet50-sparse", "-o", str(tmp_path / "t.csv")]) == 2
    assert "sparsity patterns" in capsys.readouterr().err
    bad = tmp_path / "config.json"
    bad.write_text('{"model_type": "t5"}')
    assert main(["workloads", "show", str(bad)]) == 2
    assert "unknown model_type" in capsys.readouterr().err


def test_skip_unsupported_reports_the_skipped_flops(tmp_path, capsys):
    pytest.importorskip("onnx")
    import onnx
    from onnx import helper

    from .onnx_models import model, weight

    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["a"]),
        helper.make_node("Einsum", ["a", "b"], ["e"], equation="ij,jk->ik"),
    ]
    path = tmp_path / "m.onnx"
    m = model(nodes, [("x", [2, 8])], [("e", [2, 3])], [weight("w", 8, 8), weight("b", 8, 3)])
    onnx.save(m, str(path))
    assert main(["workloads", "show", str(path)]) == 2
    assert "unsupported ONNX op(s) Einsum x1" in capsys.readouterr().err
    assert main(["workloads", "show", str(path), "--skip-unsupported", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["skipped_ops"] == {"Einsum": 1} and data["skipped_flops"] == 2 * 2 * 8 * 3
    assert main(["workloads", "show", str(path), "--skip-unsupported"]) == 0
    assert "skipped {'Einsum': 1} (96 FLOPs not counted above)" in capsys.readouterr().out
