"""Property tests of the analytical and fold-level systolic models (hypothesis)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from archgym.simulators.systolic import (
    ArrayConfig,
    ConvLayer,
    GemmLayer,
    analyze,
    analyze_batch,
    designs_from_configs,
    simulate,
)
from hypothesis import given, settings
from hypothesis import strategies as st

dims = st.integers(1, 300)
pow2 = st.sampled_from([2, 4, 8, 16, 32, 64, 128])
kib = st.sampled_from([1, 2, 4, 16, 64, 256])
bw = st.one_of(st.none(), st.sampled_from([1, 2, 4, 8, 32]))


@st.composite
def configs(draw):
    b = draw(bw)
    return ArrayConfig(
        rows=draw(pow2),
        cols=draw(pow2),
        dataflow=draw(st.sampled_from(["os", "ws", "is"])),
        ifmap_sram_kib=draw(kib),
        filter_sram_kib=draw(kib),
        ofmap_sram_kib=draw(kib),
        read_bw_words=b,
        write_bw_words=b,
    )


@st.composite
def conv_layers(draw):
    r = draw(st.integers(1, 5))
    h = draw(st.integers(r, 24))
    return ConvLayer(
        H=h,
        W=draw(st.integers(r, 24)),
        R=r,
        S=r,
        C=draw(st.integers(1, 32)),
        K=draw(st.integers(1, 48)),
        stride=draw(st.integers(1, 3)),
        padding=draw(st.integers(0, 2)),
        depthwise=draw(st.booleans()),
    )


layers = st.one_of(st.builds(GemmLayer, dims, dims, dims), conv_layers())


@settings(max_examples=60, deadline=None)
@given(configs(), layers)
def test_cycles_at_least_macs_over_pes(config, layer):
    for model in (analyze(config, [layer]), simulate(config, [layer]).metrics):
        assert model["compute_cycles"][0] * config.pes >= layer.macs
        assert model["cycles"][0] >= model["compute_cycles"][0]
        assert 0 < model["mapping_efficiency"][0] <= 1
        assert 0 < model["utilisation"][0] <= 1


@settings(max_examples=60, deadline=None)
@given(configs(), layers, st.sampled_from(["ifmap", "filter", "ofmap"]), st.integers(1, 4))
def test_more_sram_never_increases_dram_traffic(config, layer, operand, factor):
    bigger = dataclasses.replace(
        config, **{f"{operand}_sram_kib": getattr(config, f"{operand}_sram_kib") * 2**factor}
    )
    # SCALE-Sim's CALC-mode buffer is not monotone (test_scalesim_calc_buffer_is_not_monotone),
    # so compat mode is held to the property only with a bandwidth set.
    for compat in (False, True) if config.user_bandwidth else (False,):
        small = analyze(dataclasses.replace(config, scalesim_compat=compat), [layer])
        large = analyze(dataclasses.replace(bigger, scalesim_compat=compat), [layer])
        assert large["dram_words"][0] <= small["dram_words"][0]


@settings(max_examples=60, deadline=None)
@given(configs(), layers, st.sampled_from([1, 2, 4, 8]), st.integers(1, 8))
def test_more_bandwidth_never_increases_stalls(config, layer, low, factor):
    slow = dataclasses.replace(config, read_bw_words=low, write_bw_words=low)
    fast = dataclasses.replace(config, read_bw_words=low * factor, write_bw_words=low * factor)
    assert analyze(fast, [layer])["stall_cycles"][0] <= analyze(slow, [layer])["stall_cycles"][0]
    s_fast = simulate(fast, [layer]).metrics["stall_cycles"][0]
    s_slow = simulate(slow, [layer]).metrics["stall_cycles"][0]
    assert s_fast <= s_slow


@settings(max_examples=40, deadline=None)
@given(configs(), dims, dims, dims)
def test_gemm_equals_its_1x1_conv(config, m, n, k):
    gemm = analyze(config, [GemmLayer(m, n, k)])
    conv = analyze(config, [ConvLayer(H=m, W=1, R=1, S=1, C=k, K=n)])
    for key in gemm:
        np.testing.assert_array_equal(gemm[key], conv[key], err_msg=key)


@settings(max_examples=30, deadline=None)
@given(st.lists(configs(), min_size=1, max_size=6), st.lists(layers, min_size=1, max_size=4))
def test_batch_equals_one_by_one(config_list, layer_list):
    batch = analyze_batch(designs_from_configs(config_list), layer_list)
    for i, config in enumerate(config_list):
        single = analyze(config, layer_list)
        for key, value in single.items():
            np.testing.assert_array_equal(batch[key][i], value, err_msg=key)


@settings(max_examples=40, deadline=None)
@given(configs(), layers)
def test_trace_adds_up_to_the_metrics(config, layer):
    result = simulate(config, [layer])
    trace, m = result.traces[0], result.metrics
    assert trace.compute_cycles.sum() == m["compute_cycles"][0]
    if config.scalesim_compat:
        assert trace.stall_cycles.sum() == m["stall_cycles"][0]
    else:  # fold stalls (float) + the write queue's excess at the end, rounded up once
        assert trace.stall_cycles.sum() <= m["stall_cycles"][0] + 1e-6
    assert trace.ifmap_dram_reads.sum() == pytest.approx(m["ifmap_dram_reads"][0])
    assert trace.ofmap_dram_writes.sum() == pytest.approx(m["ofmap_dram_writes"][0])
    assert np.all(np.diff(trace.start_cycle) > 0)
    bw_trace = trace.bandwidth()
    assert set(bw_trace) == {"cycle", "ifmap", "filter", "ofmap"}


def test_calc_mode_has_no_stalls_and_models_agree():
    config = ArrayConfig(rows=16, cols=8, dataflow="ws", ifmap_sram_kib=2)
    net = [ConvLayer(30, 30, 3, 3, 16, 32, padding=1), GemmLayer(100, 70, 50)]
    a, c = analyze(config, net), simulate(config, net).metrics
    for key in a:
        np.testing.assert_allclose(c[key], a[key], err_msg=key)
    assert np.all(a["stall_cycles"] == 0)


def test_hand_worked_example():
    # 8x8 os, 64x64x64 GEMM: 8 x 8 folds of K + R + C - 2 = 78 cycles (SCALE-Sim: 1 less).
    out = analyze(ArrayConfig(rows=8, cols=8), [GemmLayer(64, 64, 64)])
    assert out["compute_cycles"][0] == 64 * 78
    assert out["mapping_efficiency"][0] == 1.0
    assert out["ifmap_sram_reads"][0] == 8 * 64 * 64  # re-read once per column fold
    assert out["ofmap_sram_writes"][0] == 64 * 64
    assert out["dram_words"][0] == 3 * 64 * 64  # everything fits: compulsory traffic only


def test_spilled_partial_sums_come_back():
    tiny = ArrayConfig(rows=4, cols=4, dataflow="ws", ofmap_sram_kib=0.25)
    out = analyze(tiny, [GemmLayer(512, 4, 64)])
    folds_k = 64 // 4
    # Per tile: the 512 x 4 partial-sum tile keeps 128 words (half of 256) on chip, the other
    # 1,920 go out after each of the first 15 row folds and come back before the next.
    spill = 512 * 4 - 128
    assert out["ofmap_dram_writes"][0] == 512 * 4 + (folds_k - 1) * spill
    assert out["ofmap_dram_reads"][0] == (folds_k - 1) * spill
    compat = analyze(dataclasses.replace(tiny, scalesim_compat=True), [GemmLayer(512, 4, 64)])
    assert compat["ofmap_dram_reads"][0] == 0  # SCALE-Sim never reads partial sums back


def test_bad_batch_input():
    with pytest.raises(ValueError, match="lacks the column"):
        analyze_batch({"rows": [8]}, [GemmLayer(8, 8, 8)])
    designs = designs_from_configs([ArrayConfig()])
    with pytest.raises(ValueError, match=r"`filter_sram_kib` must be positive, but got 0\.0"):
        analyze_batch({**designs, "filter_sram_kib": [0]}, [GemmLayer(8, 8, 8)])
    designs["dataflow"] = np.array(["oss"])
    with pytest.raises(ValueError, match="did you mean 'os'"):
        analyze_batch(designs, [GemmLayer(8, 8, 8)])


@settings(max_examples=80, deadline=None)
@given(conv_layers(), st.booleans())
def test_ifmap_words_match_brute_force(layer, with_pad):
    covered = np.zeros((layer.H + 2 * layer.padding, layer.W + 2 * layer.padding), dtype=bool)
    out_h = layer.scalesim_out_h if with_pad else layer.out_h  # SCALE-Sim's view with padding
    out_w = layer.scalesim_out_w if with_pad else layer.out_w
    for oy in range(out_h):
        for ox in range(out_w):
            y, x = oy * layer.stride, ox * layer.stride
            covered[y : y + layer.R, x : x + layer.S] = True
    if not with_pad:
        p = layer.padding
        covered = covered[p : p + layer.H, p : p + layer.W]
    channels = 1 if layer.depthwise else layer.C
    assert layer.ifmap_words(include_padding=with_pad) == covered.sum() * channels
