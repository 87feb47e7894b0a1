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
