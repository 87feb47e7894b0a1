"""Real CNNs from the onnx package's test data, imported and scheduled (archgym.workloads.graphs).

onnx is in the test extras. The independent reference for the import is the hand-built
``resnet50-graph`` (written from the ResNet-50 v1.5 layer shapes, not from ONNX): with batch norm
and ReLU as separate ops the ONNX graph has more ops, but its largest single-op footprint and its
minimum no-spill peak are the same tensors and must match byte for byte.
"""

from __future__ import annotations

import pytest
from archgym.simulators.scratchpad.baselines import baseline_schedules, budgets, min_peak_bytes
from archgym.simulators.scratchpad.ilp import solve
from archgym.simulators.scratchpad.replay import replay

from archgym.workloads.graphs import WORKLOADS, load_graph, onnx_test_model


def test_onnx_resnet50_matches_the_hand_built_graph() -> None:
    onnx_g, built = load_graph("onnx-resnet50"), WORKLOADS["resnet50-graph"]()
    # 53 convs + 53 batch norms + 49 ReLUs + 16 adds + 2 pools + reshape + gemm + softmax
    assert len(onnx_g.ops) == 176
    assert onnx_g.max_op_footprint_bytes() == built.max_op_footprint_bytes() == 2_484_736
    peak, _, exact = min_peak_bytes(onnx_g)
    assert exact and peak == min_peak_bytes(built)[0]


def test_onnx_resnet50_baselines_replay_at_the_tight_budget() -> None:
    g = onnx_test_model("resnet50")
    cap = g.max_op_footprint_bytes()
    for name, sched in baseline_schedules(g, cap).items():
        r = replay(g, sched, cap)  # raises on any invalid step
        assert r.arena_bytes <= cap, name
        assert r.extra_dram_bytes > 0, name  # min peak > tight: something must move


def test_onnx_squeezenet_ilp_and_baselines() -> None:
    g = onnx_test_model("squeezenet")
    b = budgets(g)
    # a plain chain with fire-module branches: the budgets coincide (REFERENCES.md)
    assert b["tight"] == b["min_peak"]
    cap = b["tight"]
    sol = solve(g, cap, time_limit_s=60)
    assert sol.status == "optimal" and sol.extra_dram_bytes == 0
    replay(g, sol.schedule, cap)
    for sched in baseline_schedules(g, cap).values():
        assert replay(g, sched, cap).extra_dram_bytes >= sol.extra_dram_bytes


def test_unknown_onnx_model_names_the_choices() -> None:
    with pytest.raises(ValueError, match="did you mean 'resnet50'"):
        onnx_test_model("resnet5")
