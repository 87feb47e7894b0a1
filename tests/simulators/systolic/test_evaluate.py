"""Whole-workload evaluate / evaluate_batch of the systolic model."""

from __future__ import annotations

import numpy as np
import pytest
from archgym.simulators.systolic import (
    ArrayConfig,
    ConvLayer,
    GemmLayer,
    analyze,
    designs_from_configs,
    evaluate,
    evaluate_batch,
    simulate,
)
from archgym.simulators.systolic.energy import area_mm2, energy_pj

LAYERS = (
    ConvLayer(16, 16, 3, 3, 8, 16, stride=2, padding=1, name="c1"),
    GemmLayer(64, 48, 40, name="g1"),
    ConvLayer(12, 12, 3, 3, 16, 1, depthwise=True, name="dw"),
)
COUNTS = np.array([2, 1, 3])
CONFIGS = [
    ArrayConfig(rows=8, cols=8, dataflow="ws", read_bw_words=4, write_bw_words=4),
    ArrayConfig(rows=5, cols=12, dataflow="is", ifmap_sram_kib=1, filter_sram_kib=2),
    ArrayConfig(
        rows=16, cols=3, dataflow="os", ofmap_sram_kib=1, read_bw_words=1, write_bw_words=2
    ),
]


@pytest.mark.parametrize("fidelity", ["analytical", "cycle"])
@pytest.mark.parametrize("config", CONFIGS)
def test_evaluate_is_the_weighted_sum_of_the_layers(config, fidelity):
    got = evaluate(config, LAYERS, COUNTS, fidelity=fidelity)
    per = analyze(config, LAYERS) if fidelity == "analytical" else simulate(config, LAYERS).metrics
    cycles = float(per["total_cycles"] @ COUNTS)
    assert got["cycles"] == cycles
    assert got["latency_s"] == pytest.approx(cycles / (config.clock_mhz * 1e6))
    assert got["stall_cycles"] == float(per["stall_cycles"] @ COUNTS)
    assert got["dram_bytes"] == float(per["dram_words"] @ COUNTS) * config.word_bytes
    assert got["energy_pj"] == pytest.approx(float(energy_pj(config, per) @ COUNTS), rel=1e-12)
    assert got["area_mm2"] == pytest.approx(area_mm2(config))
    assert got["utilisation"] == pytest.approx(float(per["macs"] @ COUNTS) / (cycles * config.pes))


@pytest.mark.parametrize("fidelity", ["analytical", "cycle"])
def test_evaluate_batch_rows_equal_evaluate(fidelity):
    batch = evaluate_batch(designs_from_configs(CONFIGS), LAYERS, COUNTS, fidelity=fidelity)
    same = evaluate_batch(CONFIGS, LAYERS, COUNTS, fidelity=fidelity)
    for d, config in enumerate(CONFIGS):
        one = evaluate(config, LAYERS, COUNTS, fidelity=fidelity)
        for key, value in one.items():
            assert batch[key][d] == pytest.approx(value, rel=1e-12), key
            assert same[key][d] == batch[key][d]


def test_counts_default_to_one_and_are_checked():
    config = CONFIGS[0]
    assert evaluate(config, LAYERS) == evaluate(config, LAYERS, [1, 1, 1])
    with pytest.raises(ValueError, match="one repetition count per layer"):
        evaluate(config, LAYERS, [1, 2])
    with pytest.raises(ValueError, match="non-negative integers"):
        evaluate(config, LAYERS, [1, -2, 1])
    with pytest.raises(ValueError, match="unknown fidelity 'cycles'"):
        evaluate(config, LAYERS, fidelity="cycles")
