"""Per-operand traffic scaling of the systolic models (``operand_scale``,
simulators/systolic/timing.py)."""

from __future__ import annotations

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
    simulate_batch,
)
from archgym.simulators.systolic.layers import layer_table
from archgym.simulators.systolic.timing import check_operand_scale
from hypothesis import given, settings
from hypothesis import strategies as st

LAYERS = [GemmLayer(300, 200, 500), ConvLayer(28, 28, 3, 3, 64, 64, padding=1)]
TIMING = ("stall_cycles", "cycles", "fill_cycles", "drain_cycles", "total_cycles")


def _array(dataflow: str, kib: float = 8, bw: float | None = 2.0, compat: bool = False):
    return ArrayConfig(
        rows=16,
        cols=16,
        dataflow=dataflow,
        ifmap_sram_kib=kib,
        filter_sram_kib=kib,
        ofmap_sram_kib=kib,
        read_bw_words=bw,
        write_bw_words=bw,
        scalesim_compat=compat,
    )


@pytest.mark.parametrize("compat", [False, True])
@pytest.mark.parametrize("dataflow", ["os", "ws", "is"])
def test_unit_scale_is_the_unscaled_model(dataflow, compat):
    array = _array(dataflow, compat=compat)
    ones = {"ifmap": np.ones(len(LAYERS)), "filter": 1.0}
    designs = designs_from_configs([array])
    plain = analyze(array, LAYERS)
    scaled = analyze_batch(designs, LAYERS, scalesim_compat=compat, operand_scale=ones)
    cyc_plain = simulate(array, LAYERS)
    cyc_scaled = simulate(array, LAYERS, operand_scale=ones)
    for key, value in plain.items():
        np.testing.assert_array_equal(scaled[key][0], value, err_msg=key)
        np.testing.assert_array_equal(cyc_scaled.metrics[key], cyc_plain.metrics[key], err_msg=key)
    for ours, theirs in zip(cyc_scaled.traces, cyc_plain.traces, strict=True):
        np.testing.assert_array_equal(ours.start_cycle, theirs.start_cycle)


@pytest.mark.parametrize("dataflow", ["os", "ws", "is"])
@pytest.mark.parametrize("factor", [2, 4])
def test_words_per_element_is_a_change_of_units(dataflow, factor):
    """Elements of ``factor`` words with ``factor`` times the SRAM and read bandwidth behave
    exactly as the plain layer: same fits, ``factor`` times the words, same cycles."""
    plain_array = _array(dataflow)
    big = ArrayConfig(
        **{
            **{f: getattr(plain_array, f) for f in ("rows", "cols", "dataflow")},
            **{f"{op}_sram_kib": 8 * factor for op in ("ifmap", "filter")},
            "ofmap_sram_kib": 8,
            "read_bw_words": 2.0 * factor,
            "write_bw_words": 2.0,
        }
    )
    scale = {"ifmap": factor, "filter": factor}
    plain = simulate(plain_array, LAYERS)
    scaled = simulate(big, LAYERS, operand_scale=scale)
    fast = analyze_batch(designs_from_configs([big]), LAYERS, operand_scale=scale)
    for op in ("ifmap", "filter"):
        key = f"{op}_dram_reads"
        np.testing.assert_array_equal(scaled.metrics[key], plain.metrics[key] * factor)
        np.testing.assert_array_equal(fast[key][0], plain.metrics[key] * factor)
        per_fold = [getattr(t, key).sum() for t in scaled.traces]
        np.testing.assert_allclose(per_fold, scaled.metrics[key], rtol=1e-12)
    for key in (*TIMING, "compute_cycles", "folds", "ofmap_dram_writes", "ofmap_dram_reads"):
        np.testing.assert_array_equal(scaled.metrics[key], plain.metrics[key], err_msg=key)
        if key != "ofmap_dram_reads":
            np.testing.assert_array_equal(fast[key][0], analyze(plain_array, LAYERS)[key])


@pytest.mark.parametrize("dataflow", ["os", "ws", "is"])
def test_heavier_elements_are_never_faster(dataflow):
    array = _array(dataflow)
    light = {"ifmap": np.array([0.5, 1.0]), "filter": np.array([1.0, 0.25])}
    heavy = {op: 2 * v for op, v in light.items()}
    for model in (
        lambda sc: simulate(array, LAYERS, operand_scale=sc).metrics,
        lambda sc: {
            k: v[0]
            for k, v in analyze_batch(
                designs_from_configs([array]), LAYERS, operand_scale=sc
            ).items()
        },
    ):
        a, b = model(light), model(heavy)
        assert np.all(b["total_cycles"] >= a["total_cycles"])
        assert np.all(b["dram_words"] >= a["dram_words"])
    calc = _array(dataflow, bw=None)
    np.testing.assert_array_equal(
        simulate(calc, LAYERS, operand_scale=heavy).metrics["total_cycles"],
        analyze(calc, LAYERS)["total_cycles"],
    )


def test_batch_paths_agree_with_one_design_and_accept_a_layer_table():
    arrays = [_array(df, kib) for df in ("os", "ws", "is") for kib in (4, 64)]
    designs = designs_from_configs(arrays)
    rng = np.random.default_rng(0)
    scale = {"ifmap": rng.uniform(0.1, 3, (6, 2)), "filter": rng.uniform(0.1, 3, (6, 2))}
    table = layer_table(LAYERS)
    ana = analyze_batch(designs, table, operand_scale=scale)
    cyc = simulate_batch(designs, table, operand_scale=scale)
    for d, array in enumerate(arrays):
        row = {op: s[d] for op, s in scale.items()}
        one = simulate(array, LAYERS, operand_scale=row).metrics
        for key in TIMING:
            np.testing.assert_array_equal(cyc[key][d], one[key], err_msg=key)
        np.testing.assert_allclose(ana["filter_dram_reads"][d], one["filter_dram_reads"])
    compat = simulate_batch(designs, table, scalesim_compat=True, operand_scale=scale)
    for d, array in enumerate(arrays):
        config = ArrayConfig(**{**array.__dict__, "scalesim_compat": True})
        row = {op: s[d] for op, s in scale.items()}
        one = simulate(config, LAYERS, operand_scale=row).metrics
        for key in TIMING:
            np.testing.assert_array_equal(compat[key][d], one[key], err_msg=key)


@settings(max_examples=60, deadline=None)
@given(
    dataflow=st.sampled_from(["os", "ws", "is"]),
    kib=st.sampled_from([1, 4, 16, 64, 256]),
    bw=st.sampled_from([1.0, 4.0, 32.0]),
    s_if=st.floats(0.05, 8),
    s_f=st.floats(0.05, 8),
    m=st.integers(1, 600),
    n=st.integers(1, 300),
    k=st.integers(1, 600),
)
def test_scaled_model_is_sound_in_sram_and_bandwidth(dataflow, kib, bw, s_if, s_f, m, n, k):
    """With fixed factors, more SRAM or more bandwidth never slows a layer (either fidelity)."""
    layers = [GemmLayer(m, n, k)]
    scale = {"ifmap": s_if, "filter": s_f}

    def cycles(**kw):
        array = _array(dataflow, kib=kw.get("kib", kib), bw=kw.get("bw", bw))
        fast = analyze_batch(designs_from_configs([array]), layers, operand_scale=scale)
        slow = simulate(array, layers, operand_scale=scale).metrics
        return fast["total_cycles"][0, 0], slow["total_cycles"][0]

    base = cycles()
    for better in (cycles(kib=4 * kib), cycles(bw=2 * bw)):
        assert better[0] <= base[0] and better[1] <= base[1]


def test_bad_scales_are_refused_with_one_line_errors():
    with pytest.raises(ValueError, match=r"unknown operand\(s\) \['ofmap'\]"):
        check_operand_scale({"ofmap": 2.0}, (1, 2))
    with pytest.raises(ValueError, match=r"must broadcast to \(designs, layers\) = \(1, 2\)"):
        check_operand_scale({"ifmap": np.ones(3)}, (1, 2))
    with pytest.raises(ValueError, match=r"finite factors > 0, but got 0.0"):
        check_operand_scale({"filter": [1.0, 0.0]}, (1, 2))
    with pytest.raises(ValueError, match="must map operands"):
        check_operand_scale(2.0, (1, 2))
    with pytest.raises(ValueError, match="must map operands"):
        simulate(_array("os"), LAYERS, operand_scale=[2.0])
