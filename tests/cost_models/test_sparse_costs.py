"""Tests of the sparse engine's extra-logic costs (cost_models/sparse_costs.py)."""

from __future__ import annotations

import pytest
from archgym.cost_models.energy import DEFAULT_TABLE
from archgym.cost_models.sparse_costs import DEFAULT_SPARSE_COSTS, SparseCosts


def test_an_m_input_mux_is_m_minus_1_two_input_muxes_per_bit():
    c = SparseCosts(mux2_pj_per_bit=0.5, mux2_um2_per_bit=2.0, flop_um2_per_bit=3.0)
    assert c.select_pj(4, 8) == 3 * 8 * 0.5
    assert c.select_mm2(8, 16) == pytest.approx(7 * 16 * 2.0e-6)
    assert c.select_pj(1, 8) == 0.0
    assert c.register_mm2(10) == pytest.approx(30e-6)


def test_default_mux_costs_stay_small_next_to_a_mac():
    # A 4:1 select of an int8 operand per MAC must cost well under the MAC itself (Horowitz
    # 45 nm int8 MAC: 0.3 pJ, 419 um^2 without registers), or 2:4 could never save energy.
    assert DEFAULT_SPARSE_COSTS.select_pj(4, 8) < 0.2 * DEFAULT_TABLE.mac_pj("int8")
    assert DEFAULT_SPARSE_COSTS.select_mm2(4, 8) < 0.2 * DEFAULT_TABLE.pe_area("int8")


def test_costs_must_be_positive():
    with pytest.raises(ValueError, match=r"`mux2_pj_per_bit` must be a positive number"):
        SparseCosts(mux2_pj_per_bit=0)
