"""The technology table (cost_models/energy.py)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from archgym.cost_models.energy import DEFAULT_TABLE, PRECISIONS, TechTable
from hypothesis import given
from hypothesis import strategies as st


def test_default_table_reproduces_its_sources():
    t = DEFAULT_TABLE
    # Horowitz ISSCC 2014 Fig. 1.1.9: 8-bit multiply 0.2 pJ + 32-bit add 0.1 pJ; fp32 3.7 + 0.9.
    assert t.mac_pj("int8") == pytest.approx(0.3)
    assert t.mac_pj("fp32") == pytest.approx(4.6)
    # SRAM 64-bit reads: 8 KB 10 pJ, 32 KB 20 pJ, 1 MB 100 pJ -> per byte.
    assert t.sram_pj_per_byte(8) == pytest.approx(1.25)
    assert t.sram_pj_per_byte(32) == pytest.approx(2.5)
    assert t.sram_pj_per_byte(1024) == pytest.approx(12.5)
    # EIE Table I: 640 pJ per 32-bit DRAM access.
    assert t.dram_energy_pj_per_byte == pytest.approx(160.0)
    # 6T cell 0.346 um^2 at 50 % efficiency: 1 KiB = 8192 cells.
    assert t.sram_area(1.0) == pytest.approx(8192 * 0.346e-6 / 0.5)
    assert all(t.pe_area(p) > 0 for p in PRECISIONS)
    assert t.pe_area("fp32") > t.pe_area("fp16") > t.pe_area("int8")


@given(st.floats(0.5, 65536), st.floats(1.01, 8))
def test_sram_energy_grows_with_size(size, factor):
    small = DEFAULT_TABLE.sram_pj_per_byte(size)
    assert DEFAULT_TABLE.sram_pj_per_byte(size * factor) > small > 0


def test_vectorised_and_scalar_agree():
    sizes = np.array([2.0, 8.0, 100.0, 4096.0])
    vec = DEFAULT_TABLE.sram_pj_per_byte(sizes)
    assert vec.shape == (4,)
    assert [DEFAULT_TABLE.sram_pj_per_byte(float(s)) for s in sizes] == pytest.approx(list(vec))
    assert DEFAULT_TABLE.sram_area(sizes).shape == (4,)


def test_validation_messages():
    with pytest.raises(ValueError, match=r"unknown precision 'int9'.*did you mean 'int8'"):
        DEFAULT_TABLE.mac_pj("int9")
    with pytest.raises(ValueError, match="`dram_energy_pj_per_byte` must be a positive number"):
        dataclasses.replace(DEFAULT_TABLE, dram_energy_pj_per_byte=0.0)
    with pytest.raises(ValueError, match="strictly increasing"):
        dataclasses.replace(DEFAULT_TABLE, sram_points=((8.0, 1.0), (8.0, 2.0)))
    with pytest.raises(ValueError, match="`size_kib` must be positive"):
        DEFAULT_TABLE.sram_pj_per_byte(0)
    with pytest.raises(ValueError, match="unknown TechTable field 'dram_pj'"):
        TechTable.from_dict({"dram_pj": 1.0})


def test_user_table_from_dict():
    data = {
        "name": "mine",
        "mac_energy_pj": {"int8": 0.1},
        "pe_area_mm2": {"int8": 1e-4},
        "register_energy_pj_per_byte": 0.05,
        "sram_points": [[16, 1.0], [256, 4.0]],
        "sram_area_mm2_per_kib": 0.002,
        "dram_energy_pj_per_byte": 20.0,
    }
    table = TechTable.from_dict(data)
    assert table.sram_pj_per_byte(64) == pytest.approx(2.0)  # log-log midpoint of 16..256
