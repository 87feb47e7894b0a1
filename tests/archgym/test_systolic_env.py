"""SystolicArrayEnv and the network workloads."""

from __future__ import annotations

import numpy as np
import pytest
from archgym.simulators.systolic import ArrayConfig, ConvLayer, GemmLayer, analyze
from archgym.simulators.systolic.energy import area_mm2
from gymnasium.utils.env_checker import check_env

from archgym.envs.systolic import SystolicArrayEnv, workload_layers
from archgym.workloads.networks import WORKLOADS

DESIGN = {
    "rows": 16,
    "cols": 16,
    "dataflow": "ws",
    "ifmap_sram_kib": 64,
    "filter_sram_kib": 64,
    "ofmap_sram_kib": 32,
    "bandwidth": 8,
}

# Published MAC counts (batch 1, 224x224): torchvision model docs "GFLOPS" (which count MACs)
# for AlexNet 0.71, VGG-16 15.47, ResNet-18 1.81, ResNet-50 4.09; MobileNetV2 300M multiply-adds
# (Sandler et al. 2018, Table 3).
PUBLISHED_GMACS = {
    "alexnet": 0.71,
    "vgg16": 15.47,
    "resnet18": 1.81,
    "resnet50": 4.09,
    "mobilenetv2": 0.30,
}


@pytest.mark.parametrize("name", sorted(PUBLISHED_GMACS))
def test_network_macs_match_published_counts(name):
    macs = sum(layer.macs for layer in WORKLOADS[name]())
    assert macs / 1e9 == pytest.approx(PUBLISHED_GMACS[name], abs=0.006)


def test_transformer_workloads_convert_gemm_sets():
    layers, counts = workload_layers("bert-base-encoder")
    same, same_counts = workload_layers("bert-base")  # the GEMM-set form, merged by count
    assert dict(zip(layers, counts, strict=True)) == dict(zip(same, same_counts, strict=True))
    assert int(counts.sum()) == 12 * (4 + 2 * 12)


def test_check_env_and_one_step():
    env = SystolicArrayEnv("alexnet")
    check_env(env, skip_render_check=True)
    result = env.evaluate(DESIGN)
    assert result.feasible and result.reward < 0
    assert set(result.metrics) >= {
        "cycles",
        "latency_s",
        "energy_pj",
        "area_mm2",
        "utilisation",
        "dram_bytes",
    }
    assert 0 < result.metrics["utilisation"] <= 1


def test_metrics_sum_the_layer_model():
    layers = [ConvLayer(16, 16, 3, 3, 8, 16, padding=1), GemmLayer(32, 32, 32)]
    env = SystolicArrayEnv([*layers, layers[1]], objective="cycles")
    config = ArrayConfig(
        rows=16,
        cols=16,
        dataflow="ws",
        ifmap_sram_kib=64,
        filter_sram_kib=64,
        ofmap_sram_kib=32,
        read_bw_words=8,
        write_bw_words=8,
    )
    per_layer = analyze(config, layers)
    expected = per_layer["total_cycles"][0] + 2 * per_layer["total_cycles"][1]
    assert env.evaluate(DESIGN).metrics["cycles"] == expected


def test_cycle_fidelity_close_to_analytical():
    a = SystolicArrayEnv("resnet18").evaluate(DESIGN).metrics
    c = SystolicArrayEnv("resnet18", fidelity="cycle").evaluate(DESIGN).metrics
    assert c["dram_bytes"] == a["dram_bytes"]
    assert c["cycles"] >= a["cycles"] * 0.99  # per-fold stalls are never smoother than the mean
    assert c["cycles"] == pytest.approx(a["cycles"], rel=0.5)


def test_infeasible_designs_are_results():
    env = SystolicArrayEnv("alexnet", max_pes=1024, max_area_mm2=2.0)
    too_many = env.evaluate({**DESIGN, "rows": 64, "cols": 64})
    assert not too_many.feasible and "rows * cols <= 1024" in too_many.error
    too_big = env.evaluate({**DESIGN, "ifmap_sram_kib": 2048})
    assert not too_big.feasible and "area_mm2 <= 2" in too_big.error
    assert too_big.reward == env.objective.reward_on_error


def test_bad_arguments():
    with pytest.raises(ValueError, match="did you mean 'cycle'"):
        SystolicArrayEnv("alexnet", fidelity="cycles")
    with pytest.raises(ValueError, match="did you mean 'resnet50'"):
        SystolicArrayEnv("resnet05")
    with pytest.raises(ValueError, match="must be a ConvLayer"):
        SystolicArrayEnv([(1, 2, 3)])


def test_sampled_designs_evaluate():
    env = SystolicArrayEnv("mobilenetv2")
    rng = np.random.default_rng(0)
    for _ in range(5):
        result = env.evaluate(env.space.sample(rng))
        assert result.feasible or result.error


def test_area_constraint_agrees_with_the_area_model():
    env = SystolicArrayEnv("alexnet", max_area_mm2=5.0)
    rng = np.random.default_rng(1)
    for _ in range(200):
        design = {p.name: p.sample(rng) for p in env.space}
        area = area_mm2(env.config_from_design(design))
        assert bool(env.space.violated(design)) == (
            area > 5.0 or design["rows"] * design["cols"] > 16384
        )
