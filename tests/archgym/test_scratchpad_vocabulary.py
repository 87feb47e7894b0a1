"""One vocabulary: env and CLI give the same numbers for the same method and capacity."""

import pytest

from archgym.commands.scratchpad import run_method
from archgym.envs.scratchpad import ScratchpadSizeEnv
from archgym.workloads.graphs import WORKLOADS, load_graph

BUILT_IN = [n for n in WORKLOADS if not n.startswith("onnx-")]


@pytest.mark.parametrize("name", BUILT_IN)
@pytest.mark.parametrize("method", ["belady", "greedy", "arena", "baseline"])
def test_env_and_cli_agree_on_every_built_in_graph(name: str, method: str) -> None:
    graph = load_graph(name)
    kib = -(-graph.max_op_footprint_bytes() // 1024) + 16
    env = ScratchpadSizeEnv(graph, method=method, low_kib=kib, high_kib=kib + 64, step_kib=64)
    metrics = env.evaluate({"sram_kib": kib, "banks": 1}).metrics
    cli = run_method(graph, kib * 1024, method)
    assert metrics["extra_dram_bytes"] == cli["extra_dram_bytes"]
    assert metrics["compulsory_dram_bytes"] == cli["compulsory_dram_bytes"]


def _tiny_onnx(path) -> None:
    from onnx import save

    from .workloads.onnx_models import conv_relu_add

    save(conv_relu_add(), str(path))


@pytest.mark.parametrize("mode", [[], ["--activations-only"]])
def test_schedule_takes_an_onnx_path_and_a_budget_name(tmp_path, capfd, mode) -> None:
    import json

    from archgym.cli import main

    path = tmp_path / "tiny.onnx"
    _tiny_onnx(path)
    assert main(["schedule", "--graph", str(path), "--capacity", "tight", "--json", *mode]) == 0
    record = json.loads(capfd.readouterr().out)
    graph = load_graph(str(path))
    if mode:
        graph = graph.activations_only()
        assert "w" not in graph.tensors
    assert record["capacity_bytes"] == graph.max_op_footprint_bytes()
    assert record["status"] == "optimal" and record["info"]["weights"] == (not mode)
    env = ScratchpadSizeEnv(str(path), method="ilp", low_kib=1, high_kib=2, step_kib=1)
    assert env.evaluate({"sram_kib": 2, "banks": 1}).feasible
