"""The cycle-level model against an event-driven double-buffer oracle, and its batched path."""

from __future__ import annotations

import math

import numpy as np
import pytest
from archgym.simulators.systolic import (
    ArrayConfig,
    ConvLayer,
    GemmLayer,
    designs_from_configs,
    simulate,
    simulate_batch,
)
from hypothesis import given, settings
from hypothesis import strategies as st


def oracle(trace, per_fold: int, rbw: float, wbw: float) -> float:
    """Completion time of one group by events: fold f's reads start when fold f - 1 starts
    (its half of the double buffer is free) on both read ports at once; fold f starts when its
    reads are in and fold f - 1 is done; each fold's outputs (and the partial sums it read) join
    the write queue when it ends; the queue drains at ``wbw``. Returns the cycle the last word
    is written."""
    reads = np.maximum(trace.ifmap_dram_reads, trace.filter_dram_reads)
    out = trace.ofmap_dram_writes + trace.ofmap_dram_reads
    ready = reads[0] / rbw
    start = ready
    end = start + per_fold
    queue_free = 0.0
    queue_free = max(queue_free, end) + out[0] / wbw
    for f in range(1, reads.size):
        ready = start + reads[f] / rbw  # fetched during fold f - 1
        start = max(end, ready)
        end = start + per_fold
        queue_free = max(queue_free, end) + out[f] / wbw
    return max(end, queue_free)


layers = st.one_of(
    st.builds(GemmLayer, st.integers(1, 90), st.integers(1, 90), st.integers(1, 90)),
    st.builds(
        ConvLayer,
        st.integers(3, 14),
        st.integers(3, 14),
        st.just(3),
        st.just(3),
        st.integers(1, 12),
        st.integers(1, 20),
        stride=st.integers(1, 2),
        padding=st.integers(0, 1),
    ),
)


@settings(max_examples=150, deadline=None)
@given(
    layers,
    st.integers(1, 12),
    st.integers(1, 12),
    st.sampled_from(["os", "ws", "is"]),
    st.sampled_from([1, 2, 4]),
    st.floats(0.25, 64),
    st.floats(0.25, 64),
)
def test_fold_model_matches_the_event_oracle(layer, rows, cols, df, kib, rbw, wbw):
    config = ArrayConfig(
        rows=rows,
        cols=cols,
        dataflow=df,
        ifmap_sram_kib=kib,
        filter_sram_kib=kib,
        ofmap_sram_kib=kib,
        read_bw_words=rbw,
        write_bw_words=wbw,
    )
    result = simulate(config, [layer])
    trace, m = result.traces[0], result.metrics
    per_fold = int(trace.compute_cycles[0])
    exact = oracle(trace, per_fold, rbw, wbw)
    # The model rounds fill, stall and drain up once each.
    assert exact - 1e-6 <= m["total_cycles"][0] <= exact + 3
    # Per-fold traffic adds up to the analytical totals.
    for key in ("ifmap_dram_reads", "filter_dram_reads", "ofmap_dram_writes", "ofmap_dram_reads"):
        assert getattr(trace, key).sum() == pytest.approx(m[key][0], rel=1e-9, abs=1e-6), key


def test_batched_cycle_path_equals_per_design_runs():
    rng = np.random.default_rng(3)
    configs = [
        ArrayConfig(
            rows=int(rng.integers(1, 64)),
            cols=int(rng.integers(1, 64)),
            dataflow=str(rng.choice(["os", "ws", "is"])),
            ifmap_sram_kib=float(rng.choice([1, 3, 64])),
            filter_sram_kib=float(rng.choice([1, 5, 64])),
            ofmap_sram_kib=float(rng.choice([1, 2, 64])),
            read_bw_words=float(rng.choice([1, 3, 16])),
            write_bw_words=float(rng.choice([1, 7, 16])),
        )
        for _ in range(12)
    ]
    net = [
        ConvLayer(28, 28, 3, 3, 16, 32, padding=1),
        ConvLayer(14, 14, 3, 3, 8, 1, depthwise=True, stride=2),
        GemmLayer(100, 70, 50),
    ]
    batch = simulate_batch(designs_from_configs(configs), net)
    for d, config in enumerate(configs):
        one = simulate(config, net).metrics
        for key, value in one.items():
            np.testing.assert_array_equal(batch[key][d], value, err_msg=key)


def test_k1_gemm_on_a_1x1_array_is_a_clean_result():
    for compat in (False,):
        config = ArrayConfig(
            rows=1, cols=1, scalesim_compat=compat, read_bw_words=1, write_bw_words=1
        )
        out = simulate(config, [GemmLayer(1, 1, 1)]).metrics
        assert all(np.all(np.isfinite(np.asarray(v, dtype=float))) for v in out.values())
        assert math.isfinite(float(out["utilisation"][0]))
