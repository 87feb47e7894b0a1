"""Energy and area of systolic designs (simulators/systolic/energy.py)."""

from __future__ import annotations

import dataclasses

import pytest
from archgym.cost_models.energy import DEFAULT_TABLE
from archgym.simulators.systolic import ArrayConfig, GemmLayer, analyze
from archgym.simulators.systolic.energy import area_mm2, energy_breakdown_pj, energy_pj


def test_hand_computed_energy():
    # 8x8 os, 64^3 GEMM, everything fits: counts from the hand-worked example in
    # test_systolic_properties.py; energies from the Horowitz table.
    config = ArrayConfig(rows=8, cols=8, ifmap_sram_kib=8, filter_sram_kib=8, ofmap_sram_kib=32)
    metrics = analyze(config, [GemmLayer(64, 64, 64)])
    parts = energy_breakdown_pj(config, metrics)
    macs, words = 64**3, 64 * 64
    assert parts["mac"][0] == pytest.approx(macs * 0.3)
    assert parts["register"][0] == pytest.approx(macs * 3 * 0.3)
    assert parts["ifmap_sram"][0] == pytest.approx((8 * words + words) * 1.25)
    assert parts["ofmap_sram"][0] == pytest.approx((words + words) * 2.5)
    assert parts["dram"][0] == pytest.approx(3 * words * 160.0)
    assert parts["total"][0] == pytest.approx(
        sum(
            parts[k][0]
            for k in (
                "mac",
                "register",
                "ifmap_sram",
                "filter_sram",
                "ofmap_sram",
                "dram",
                "static",
            )
        )
    )
    assert energy_pj(config, metrics)[0] == parts["total"][0]


def test_leakage_and_precision():
    config = ArrayConfig(rows=8, cols=8)
    metrics = analyze(config, [GemmLayer(32, 32, 32)])
    leaky = dataclasses.replace(DEFAULT_TABLE, leakage_fraction=0.25)
    assert energy_pj(config, metrics, leaky)[0] == pytest.approx(
        1.25 * energy_pj(config, metrics)[0]
    )
    fp = dataclasses.replace(config, precision="fp16")
    assert energy_pj(fp, metrics)[0] > energy_pj(config, metrics)[0]


def test_area():
    small = ArrayConfig(rows=8, cols=8, ifmap_sram_kib=8, filter_sram_kib=8, ofmap_sram_kib=8)
    expected = 64 * DEFAULT_TABLE.pe_area("int8") + DEFAULT_TABLE.sram_area(24)
    assert area_mm2(small) == pytest.approx(expected)
    assert area_mm2(dataclasses.replace(small, rows=16)) > area_mm2(small)
    assert area_mm2(dataclasses.replace(small, ofmap_sram_kib=64)) > area_mm2(small)
