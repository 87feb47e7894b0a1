"""Tests of ScratchpadScheduleEnv (multi-step) and ScratchpadSizeEnv (one step)."""

from __future__ import annotations

import numpy as np
import pytest
from archgym.simulators.scratchpad.baselines import budgets, heuristic_schedule
from archgym.simulators.scratchpad.graph import random_dag
from archgym.simulators.scratchpad.replay import replay
from gymnasium.utils.env_checker import check_env

from archgym.envs.scratchpad import ScratchpadScheduleEnv, ScratchpadSizeEnv, scratchpad_traffic
from archgym.workloads.graphs import WORKLOADS, load_graph


def _small():
    return random_dag(8, np.random.default_rng(5), size_range=(100, 900), max_inputs=3)


def test_schedule_env_passes_check_env() -> None:
    check_env(ScratchpadScheduleEnv(_small()), skip_render_check=True)


def test_schedule_env_in_topological_order_equals_the_belady_baseline() -> None:
    graph = load_graph("densenet-block")
    cap = budgets(graph)["tight"]
    env = ScratchpadScheduleEnv(graph, cap, eviction="belady")
    obs, info = env.reset(seed=0)
    assert obs.shape == env.observation_space.shape
    total = 0.0
    for name in graph.topological_order():
        idx = env.op_names.index(name)
        assert info["action_mask"][idx] == 1
        obs, reward, terminated, truncated, info = env.step(idx)
        total += reward
    assert terminated and not truncated
    # the env's next-use estimate is the listed order here, so it matches the baseline exactly
    expected = replay(graph, heuristic_schedule(graph, cap, eviction="belady"), cap)
    assert -total == info["replay"].extra_dram_bytes == expected.extra_dram_bytes > 0


def test_schedule_env_masks_and_maps_invalid_actions() -> None:
    env = ScratchpadScheduleEnv(_small())
    _, info = env.reset(seed=1)
    mask = info["action_mask"]
    bad = int(np.flatnonzero(mask == 0)[0])
    _, _, _, _, info = env.step(bad)
    assert info["invalid_action"] and info["op"] == env.op_names[int(np.flatnonzero(mask)[0])]
    with pytest.raises(ValueError, match="unknown eviction"):
        ScratchpadScheduleEnv(_small(), eviction="lru")
    with pytest.raises(ValueError, match="below the largest single-op footprint"):
        ScratchpadScheduleEnv(_small(), capacity_bytes=10)


def test_size_env_passes_check_env_and_reports_metrics() -> None:
    env = ScratchpadSizeEnv("bert-base-layer", method="belady", low_kib=2048, high_kib=4096)
    check_env(env, skip_render_check=True)
    graph = load_graph("bert-base-layer")
    b = budgets(graph)
    tight_kib = -(-b["tight"] // 1024)
    r = env.evaluate({"sram_kib": 2048 + 64 * -(-(tight_kib - 2048) // 64), "banks": 2})
    assert r.feasible and r.metrics["extra_dram_bytes"] > 0
    big = env.evaluate({"sram_kib": 4096, "banks": 2})
    assert big.metrics["extra_dram_bytes"] == 0 and big.metrics["optimal"] == 1.0
    # more SRAM costs area; less DRAM traffic saves DRAM energy
    assert big.metrics["area_mm2"] > r.metrics["area_mm2"]
    assert big.metrics["dram_bytes"] < r.metrics["dram_bytes"]
    small = env.evaluate({"sram_kib": 2048, "banks": 1})
    assert not small.feasible and "below the largest single-op footprint" in small.error


def test_size_env_ilp_traffic_never_above_baselines() -> None:
    graph = load_graph("densenet-block")
    cap = budgets(graph)["tight"]
    ilp, optimal = scratchpad_traffic(graph, cap, "ilp", time_limit_s=30)
    base, _ = scratchpad_traffic(graph, cap, "belady")
    assert optimal and ilp.extra_dram_bytes <= base.extra_dram_bytes


def test_builtin_graphs_are_valid_and_named() -> None:
    for name, build in WORKLOADS.items():
        g = build()
        assert name.endswith("-graph") and g.ops and g.outputs
    # hand counts: ResNet-50 has 53 convs + 16 adds + 2 pools + fc; BERT layer 11 ops
    assert len(load_graph("resnet50").ops) == 72 and len(load_graph("bert-base-layer").ops) == 11
    # ResNet-50 conv1 at int8: 224*224*3 image + 7*7*3*64 weights + 112*112*64 output
    assert load_graph("resnet50").footprint_bytes("conv1") == 150528 + 9408 + 802816
    with pytest.raises(ValueError, match="did you mean 'resnet50-graph'"):
        load_graph("resnet50-grap")
