"""Roofline GEMM accelerator: a hand-computed case and the model's invariants."""

import math

import numpy as np
import pytest
from archgym.cost_models.energy import DEFAULT_TABLE
from archgym.simulators.common import InfeasibleDesign
from archgym.simulators.roofline import RooflineConfig, simulate_gemms
from hypothesis import given, settings
from hypothesis import strategies as st


def test_hand_computed_compute_bound_case():
    # 64x64x64 GEMM on a 16x16 array at 1 GHz: 16 folds of 64 cycles = 1024 cycles = 1.024 us.
    # A 1 MiB buffer holds the whole problem (tile clipped to 64x64), so DRAM traffic is
    # compulsory: A and B once (4096 B each at int8) and C once as 32-bit (16384 B).
    cfg = RooflineConfig(rows=16, cols=16, clock_mhz=1000, buffer_kib=1024, dram_gbps=1000)
    m = simulate_gemms(cfg, [(64, 64, 64, 1)])
    assert m["dram_bytes"] == 4096 + 4096 + 16384
    assert m["latency_s"] == pytest.approx(1.024e-6)
    assert m["cycles"] == pytest.approx(1024)
    assert m["utilisation"] == pytest.approx(1.0)
    macs = 64**3
    energy = (
        macs * DEFAULT_TABLE.mac_pj("int8")
        + macs * 3 * DEFAULT_TABLE.register_energy_pj_per_byte
        + (16 * 64 * 32 + 24576) * DEFAULT_TABLE.sram_pj_per_byte(1024)
        + 24576 * DEFAULT_TABLE.dram_energy_pj_per_byte
    )
    assert m["energy_pj"] == pytest.approx(energy)


def test_gemm_shapes_equal_their_rows():
    from archgym.simulators.shapes import GemmShape

    cfg = RooflineConfig(rows=16, cols=16, clock_mhz=1000, buffer_kib=64, dram_gbps=10)
    shapes = [GemmShape("a", 64, 32, 128, count=3), GemmShape("b", 7, 300, 9)]
    rows = [(64, 32, 128, 3), (7, 300, 9, 1)]
    assert simulate_gemms(cfg, shapes) == simulate_gemms(cfg, rows)


def test_memory_bound_case_follows_bandwidth():
    cfg = RooflineConfig(rows=16, cols=16, clock_mhz=1000, buffer_kib=1024, dram_gbps=1.0)
    m = simulate_gemms(cfg, [(64, 64, 64, 1)])
    assert m["latency_s"] == pytest.approx(24576 / 1e9)
    assert m["compute_bound_fraction"] == 0.0


def test_ragged_edges_waste_pes():
    cfg = RooflineConfig(rows=16, cols=16)
    m = simulate_gemms(cfg, [(17, 16, 100, 1)])
    assert m["cycles"] >= 2 * 100  # two folds along M
    assert m["utilisation"] == pytest.approx(17 / 32)


def test_tiny_buffer_is_infeasible_with_a_reason():
    with pytest.raises(InfeasibleDesign, match="cannot hold one 128x128 output tile"):
        simulate_gemms(RooflineConfig(rows=128, cols=128, buffer_kib=8), [(128, 128, 128, 1)])


def test_config_errors_name_the_field():
    with pytest.raises(ValueError, match=r"`rows` must be a positive integer, but got 0"):
        RooflineConfig(rows=0, cols=4)
    with pytest.raises(ValueError, match=r"`dram_gbps` must be a positive number"):
        RooflineConfig(rows=4, cols=4, dram_gbps=-1)
    with pytest.raises(ValueError, match="`precision` must be one of"):
        RooflineConfig(rows=4, cols=4, precision="int3")


gemm = st.tuples(
    st.integers(1, 4096), st.integers(1, 4096), st.integers(1, 4096), st.integers(1, 4)
)
pow2 = st.sampled_from([8, 16, 32, 64, 128])


@settings(max_examples=200, deadline=None)
@given(st.lists(gemm, min_size=1, max_size=4), pow2, pow2, st.sampled_from([256, 1024, 8192]))
def test_invariants(gemms, rows, cols, buf):
    cfg = RooflineConfig(rows=rows, cols=cols, buffer_kib=buf, dram_gbps=50)
    m = simulate_gemms(cfg, gemms)
    macs = sum(a * b * c * n for a, b, c, n in gemms)
    assert m["cycles"] >= macs / (rows * cols) * (1 - 1e-9)
    assert 0 < m["utilisation"] <= 1 + 1e-9
    compulsory = sum(n * (a * c + c * b + 4 * a * b) for a, b, c, n in gemms)
    assert m["dram_bytes"] >= compulsory - 1e-6
    # More buffer never adds DRAM traffic; more bandwidth never adds latency.
    bigger = simulate_gemms(
        RooflineConfig(rows=rows, cols=cols, buffer_kib=buf * 4, dram_gbps=50), gemms
    )
    assert bigger["dram_bytes"] <= m["dram_bytes"] + 1e-6
    faster = simulate_gemms(
        RooflineConfig(rows=rows, cols=cols, buffer_kib=buf, dram_gbps=100), gemms
    )
    assert faster["latency_s"] <= m["latency_s"] * (1 + 1e-12)
    assert all(math.isfinite(v) for v in m.values())


def test_vectorised_rows_equal_separate_runs_summed():
    cfg = RooflineConfig(rows=32, cols=32)
    gemms = np.array([(512, 768, 768, 12), (512, 3072, 768, 12)])
    both = simulate_gemms(cfg, gemms)
    parts = [simulate_gemms(cfg, [g]) for g in gemms]
    assert both["latency_s"] == pytest.approx(sum(p["latency_s"] for p in parts))
    assert both["dram_bytes"] == pytest.approx(sum(p["dram_bytes"] for p in parts))
