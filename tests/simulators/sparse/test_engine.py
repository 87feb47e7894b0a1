"""Tests of the structured-sparse engine (simulators/sparse)."""

from __future__ import annotations

import dataclasses
import itertools
import math

import numpy as np
import pytest
from archgym.cost_models.energy import DEFAULT_TABLE
from archgym.simulators.common import InfeasibleDesign
from archgym.simulators.sparse import (
    DENSE,
    SPARSE_METRICS,
    Pattern,
    SparseConfig,
    SparseLayer,
    analyze_sparse,
    area_breakdown_mm2,
    chosen_patterns,
    energy_breakdown_pj,
    energy_pj,
    execution_patterns,
    operand_bytes,
    parse_pattern,
    simulate_sparse,
)
from archgym.simulators.sparse.modes import MODE_POLICIES
from archgym.simulators.systolic import (
    METRICS,
    ArrayConfig,
    ConvLayer,
    GemmLayer,
    analyze,
    simulate,
)
from archgym.simulators.systolic.energy import area_mm2 as systolic_area
from archgym.simulators.systolic.energy import energy_breakdown_pj as systolic_energy
from hypothesis import example, given, settings
from hypothesis import strategies as st

LAYERS = [
    GemmLayer(64, 64, 64),
    GemmLayer(100, 37, 300),
    GemmLayer(1, 4096, 4096),
    GemmLayer(512, 768, 3072),
    ConvLayer(56, 56, 3, 3, 64, 64, padding=1),
    ConvLayer(28, 28, 1, 1, 128, 512, stride=2),
    ConvLayer(14, 14, 3, 3, 96, 1, padding=1, depthwise=True),
    ConvLayer(224, 224, 7, 7, 3, 64, stride=2, padding=3),
]
CONFIGS = [
    ArrayConfig(
        rows=r,
        cols=c,
        dataflow=df,
        ifmap_sram_kib=s,
        filter_sram_kib=s,
        ofmap_sram_kib=s,
        read_bw_words=bw,
        write_bw_words=bw,
        scalesim_compat=compat,
    )
    for (r, c), df, s, bw, compat in itertools.product(
        [(8, 8), (32, 16), (128, 128)], ["os", "ws", "is"], [8, 256], [None, 4.0], [False, True]
    )
]


# -- dense reduces exactly to the systolic model --------------------------------------------
# The sparse engine times its traffic with the systolic models' public ``operand_scale``
# (simulators/systolic/timing.py); these fail when that link breaks.
@pytest.mark.parametrize("array", CONFIGS, ids=lambda a: f"{a.rows}x{a.cols}-{a.dataflow}")
@pytest.mark.parametrize("patterns", [(), ("2:4", "64:2:8")])
def test_dense_layers_equal_the_systolic_model(array, patterns):
    config = SparseConfig(array, patterns=patterns)
    sparse = analyze_sparse(config, [SparseLayer(layer) for layer in LAYERS])
    dense = analyze(array, LAYERS)
    for key in METRICS:
        np.testing.assert_array_equal(sparse[key], dense[key], err_msg=key)
    for key in ("metadata_sram_reads", "metadata_dram_reads", "select_ops", "gather_words"):
        assert not np.any(sparse[key]), key
    np.testing.assert_array_equal(sparse["useful_macs"], dense["macs"])
    e_sparse = energy_breakdown_pj(config, sparse)
    e_dense = systolic_energy(array, dense)
    np.testing.assert_allclose(e_sparse["total"], e_dense["total"], rtol=1e-12)


@pytest.mark.parametrize(
    "array",
    [a for a in CONFIGS if a.user_bandwidth],
    ids=lambda a: f"{a.rows}x{a.cols}-{a.dataflow}",
)
def test_dense_layers_equal_the_systolic_fold_level_model(array):
    config = SparseConfig(array, patterns=("2:4",))
    sparse = simulate_sparse(config, LAYERS)
    dense = simulate(array, LAYERS)
    for key in METRICS:
        np.testing.assert_array_equal(sparse.metrics[key], dense.metrics[key], err_msg=key)
    for ours, theirs in zip(sparse.traces, dense.traces, strict=True):
        np.testing.assert_array_equal(ours.start_cycle, theirs.start_cycle)


@pytest.mark.parametrize("dataflow", ["os", "ws", "is"])
def test_fold_level_equals_analytical_without_bandwidth_limits(dataflow):
    array = ArrayConfig(rows=16, cols=32, dataflow=dataflow)
    config = SparseConfig(array, patterns=("2:4", "2:8", "64:2:8"))
    layers = [SparseLayer(GemmLayer(256, 512, 1024), p) for p in ("2:4", "2:8", "64:2:8")]
    cyc = simulate_sparse(config, layers).metrics
    ana = analyze_sparse(config, layers)
    for key in ana:
        np.testing.assert_array_equal(cyc[key], ana[key], err_msg=key)


def test_fold_level_sparse_with_bandwidth_limits_stalls_no_less_than_calc():
    bw = ArrayConfig(
        rows=32,
        cols=32,
        ifmap_sram_kib=16,
        filter_sram_kib=16,
        ofmap_sram_kib=16,
        read_bw_words=2.0,
        write_bw_words=2.0,
    )
    config = SparseConfig(bw, patterns=("2:4",), metadata_sram_kib=2)
    layers = [SparseLayer(GemmLayer(512, 1024, 2048), "2:4")]
    result = simulate_sparse(config, layers)
    assert result.metrics["stall_cycles"][0] > 0
    assert result.metrics["cycles"][0] >= result.metrics["compute_cycles"][0]
    assert len(result.traces[0].start_cycle) == result.metrics["folds"][0]


def test_dense_only_config_has_the_systolic_area():
    array = ArrayConfig(rows=16, cols=32)
    area = area_breakdown_mm2(SparseConfig(array, patterns=(), metadata_sram_kib=0))
    assert area["total"] == pytest.approx(systolic_area(array), rel=1e-12)
    assert area["select"] == area["metadata"] == area["gather"] == 0.0
    # A metadata scratchpad is hardware even on a dense-only array (no free parameter).
    with_buffer = area_breakdown_mm2(SparseConfig(array, patterns=(), metadata_sram_kib=4))
    assert with_buffer["metadata"] > 0


# -- formats ----------------------------------------------------------------------------------
def test_2to4_fp16_footprint_matches_the_format():
    # NVIDIA 2:4: per 4 dense elements 2 kept fp16 values (4 B) + 2 x 2-bit indices (0.5 B) =
    # 4.5 B, i.e. 1.125 B per dense element against 2 B dense (REFERENCES.md's "1.125 bytes ...
    # vs 2 (1.78x smaller)"; its "per 2 dense elements' worth" means per dense element).
    values, meta = operand_bytes(4, 1, parse_pattern("2:4"), value_bytes=2)
    assert (values, meta) == (4.0, 0.5)
    values, meta = operand_bytes(4096, 4096, parse_pattern("2:4"), value_bytes=2)
    per_element = (values + meta) / (4096 * 4096)
    assert per_element == 1.125
    assert 2 / per_element == pytest.approx(1.78, abs=0.005)
    # int8: 2 B + 0.5 B per 4 = 0.625 B per element, 1.6x smaller (REFERENCES.md).
    values, meta = operand_bytes(4, 1, parse_pattern("2:4"), value_bytes=1)
    assert 4 / (values + meta) == 1.6


@pytest.mark.parametrize(
    ("n", "m", "bits"),
    [(2, 4, 2), (1, 4, 2), (1, 2, 1), (2, 8, 3), (4, 8, 3), (1, 16, 4), (3, 5, 3)],
)
def test_nm_metadata_is_ceil_log2_m_bits_per_kept_value(n, m, bits):
    assert Pattern(n, m).metadata_bits == bits == math.ceil(math.log2(m))


@pytest.mark.parametrize("m", [4, 8, 16, 32, 100, 128])
@pytest.mark.parametrize("v", [16, 64, 128])
def test_venom_density_is_2_over_m_and_metadata_counts_block_indices(v, m):
    p = Pattern(2, m, v)
    assert p.density == 2 / m
    # 2 bits per kept value (2:4 inside) + 4 column indices of ceil(log2 m) bits per block of
    # v columns, whose 2 * v kept values share them.
    assert p.metadata_bits == 2 + 4 * math.ceil(math.log2(m)) / (2 * v)
    values, meta = operand_bytes(m * 3, v * 2, p, value_bytes=2)
    blocks = 3 * 2
    assert meta * 8 == pytest.approx(blocks * (2 * v * 2 + 4 * math.ceil(math.log2(m))))
    assert values == pytest.approx(m * 3 * v * 2 * 2 / m * 2)


def test_parse_and_str_round_trip():
    for text in ("dense", "2:4", "1:8", "64:2:8", "128:2:100"):
        assert str(parse_pattern(text)) == text
    assert parse_pattern(" 2 : 4 ") == Pattern(2, 4)
    assert parse_pattern("DENSE") is DENSE


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("4:2", r"`n <= m` must hold .* \(n=4, m=2\)"),
        ("0:4", r"`n` must be a positive integer, but got 0"),
        ("64:2:2", r"a V:N:M pattern needs m >= 4"),
        ("2-4", r"cannot parse sparsity pattern '2-4'"),
    ],
)
def test_bad_patterns_raise_clear_errors(text, message):
    with pytest.raises(ValueError, match=message):
        parse_pattern(text)


def test_layer_shapes_must_divide_the_format():
    with pytest.raises(ValueError, match=r"K=30 must be a multiple of M=4"):
        SparseLayer(GemmLayer(8, 8, 30), "2:4")
    with pytest.raises(ValueError, match=r"N=96 output channels must be a multiple of V=64"):
        SparseLayer(GemmLayer(8, 96, 64), "64:2:8")
    with pytest.raises(ValueError, match=r"`k` \(6\) must be a multiple of M \(4\)"):
        operand_bytes(6, 4, Pattern(2, 4), 2)


def test_satisfies_follows_the_nonzero_counts():
    p24, p14, p28, p48, p12 = (parse_pattern(t) for t in ("2:4", "1:4", "2:8", "4:8", "1:2"))
    assert p14.satisfies(p24) and p28.satisfies(p24) and p12.satisfies(p24)
    assert not p48.satisfies(p24) and not p24.satisfies(p14) and not p24.satisfies(p28)
    v = parse_pattern("64:2:8")
    assert v.satisfies(p24) and v.satisfies(p28) and v.satisfies(Pattern(2, 8, 32))
    assert not v.satisfies(Pattern(2, 8, 128)) and not p28.satisfies(Pattern(2, 8, 64))


# -- execution ----------------------------------------------------------------------------------
def test_unsupported_pattern_is_infeasible_or_falls_back_to_dense():
    array = ArrayConfig(rows=8, cols=8)
    layer = SparseLayer(GemmLayer(16, 16, 16), "4:8")
    with pytest.raises(InfeasibleDesign, match=r"pattern 4:8, which no supported pattern"):
        analyze_sparse(SparseConfig(array, patterns=("2:4",)), [layer])
    fallback = SparseConfig(array, patterns=("2:4",), dense_fallback=True)
    assert execution_patterns(fallback, [layer]) == [DENSE]
    np.testing.assert_array_equal(
        analyze_sparse(fallback, [layer])["cycles"], analyze(array, [layer.layer])["cycles"]
    )


def test_the_sparsest_supported_pattern_is_chosen():
    config = SparseConfig(ArrayConfig(), patterns=("2:4", "2:8", "1:8"))
    plans = execution_patterns(
        config, [SparseLayer(GemmLayer(4, 4, 16), t) for t in ("1:8", "2:8", "1:4", "2:4")]
    )
    # 1:4 has at most 2 nonzeros per 8, so the 2:8 mode (density 1/4) runs it.
    assert [str(p) for p in plans] == ["1:8", "2:8", "2:8", "2:4"]


def test_2to4_on_os_halves_the_streamed_k():
    # os, CALC mode: cycles per fold = K_eff + R + C - 2 (systolic model), K_eff = K / 2.
    array = ArrayConfig(rows=8, cols=8, dataflow="os")
    r = analyze_sparse(SparseConfig(array), [SparseLayer(GemmLayer(64, 64, 64), "2:4")])
    assert r["compute_cycles"][0] == 8 * 8 * (32 + 8 + 8 - 2)
    assert r["macs"][0] == 64 * 64 * 32 and r["useful_macs"][0] == 64 * 64 * 32
    # 2 metadata bits per kept 1-byte value.
    assert r["metadata_sram_reads"][0] == r["filter_sram_reads"][0] * 2 / 8


def test_is_dataflow_cannot_skip_but_moves_fewer_weights():
    array = ArrayConfig(rows=16, cols=16, dataflow="is")
    layer = GemmLayer(128, 256, 512)
    r = analyze_sparse(SparseConfig(array), [SparseLayer(layer, "2:4")])
    d = analyze(array, [layer])
    assert r["compute_cycles"][0] == d["compute_cycles"][0]
    assert r["effective_utilisation"][0] == pytest.approx(d["utilisation"][0] / 2)
    # The filter does not fit: compressed weights take half the space, so fewer of them are
    # re-fetched (at least the kept weights once, at most half the dense words).
    assert 256 * 512 / 2 < r["filter_dram_reads"][0] < d["filter_dram_reads"][0] / 2
    # A filter scratchpad that holds the dense weights: both fetched once, the kept half.
    big = ArrayConfig(rows=16, cols=16, dataflow="is", filter_sram_kib=512)
    r_big = analyze_sparse(SparseConfig(big), [SparseLayer(layer, "2:4")])
    assert r_big["filter_dram_reads"][0] == analyze(big, [layer])["filter_dram_reads"][0] / 2


def test_venom_runs_2_over_m_with_gather_costs():
    array = ArrayConfig(rows=32, cols=32, dataflow="os")
    layer = GemmLayer(256, 256, 1024)
    config = SparseConfig(array, patterns=("2:4", "64:2:8"))
    venom = analyze_sparse(config, [SparseLayer(layer, "64:2:8")])
    nm = analyze_sparse(config, [SparseLayer(layer, "2:4")])
    dense = analyze(array, [layer])
    assert venom["macs"][0] == 256 * 256 * 1024 // 4
    assert venom["compute_cycles"][0] < nm["compute_cycles"][0] < dense["compute_cycles"][0]
    # cols=32 <= V=64: one gather stream per fold reading 4 of every 8 activations.
    assert venom["gather_words"][0] == dense["ifmap_sram_reads"][0] / 2
    assert energy_breakdown_pj(config, venom)["gather"][0] > 0
    # V smaller than the array width: ceil(32 / 16) = 2 streams per fold.
    narrow = SparseConfig(array, patterns=("2:4", "16:2:8"))
    v16 = analyze_sparse(narrow, [SparseLayer(layer, "64:2:8")])
    assert v16["gather_words"][0] == dense["ifmap_sram_reads"][0]
    assert area_breakdown_mm2(narrow)["gather"] > area_breakdown_mm2(config)["gather"] > 0


def test_sparse_hardware_costs_area():
    array = ArrayConfig(rows=32, cols=32)
    base = area_breakdown_mm2(SparseConfig(array, patterns=()))["total"]
    a24 = area_breakdown_mm2(SparseConfig(array, patterns=("2:4",)))["total"]
    a28 = area_breakdown_mm2(SparseConfig(array, patterns=("2:4", "2:8")))["total"]
    assert base < a24 < a28


def test_config_validation_messages():
    with pytest.raises(ValueError, match=r"`metadata_sram_kib` must be a number >= 0"):
        SparseConfig(ArrayConfig(), metadata_sram_kib=-1)
    with pytest.raises(ValueError, match=r"`patterns` must be a sequence of patterns"):
        SparseConfig(ArrayConfig(), patterns="2:4")
    with pytest.raises(ValueError, match=r"`array` must be an ArrayConfig"):
        SparseConfig({"rows": 4})


# -- properties ---------------------------------------------------------------------------------
PATTERN_LADDER = ["dense", "2:4", "2:8", "1:8", "1:16"]


@settings(max_examples=40, deadline=None)
@given(
    m=st.integers(256, 4096),
    n=st.integers(16, 1024),
    k_groups=st.integers(8, 256),
    rows=st.sampled_from([8, 16, 32, 64]),
    cols=st.sampled_from([8, 16, 32, 64]),
    dataflow=st.sampled_from(["os", "ws", "is"]),
    bw=st.sampled_from([None, 2.0, 16.0]),
)
def test_sparser_never_takes_more_cycles(m, n, k_groups, rows, cols, dataflow, bw):
    layer = GemmLayer(m, n, 16 * k_groups)
    array = ArrayConfig(
        rows=rows, cols=cols, dataflow=dataflow, read_bw_words=bw, write_bw_words=bw
    )
    config = SparseConfig(array, patterns=tuple(PATTERN_LADDER[1:]))
    r = analyze_sparse(config, [SparseLayer(layer, p) for p in PATTERN_LADDER])
    assert np.all(np.diff(r["compute_cycles"]) <= 0)
    assert np.all(np.diff(r["cycles"]) <= 0)
    assert np.all(np.diff(r["filter_dram_reads"] + r["metadata_dram_reads"]) <= 1e-9)
    assert np.all(r["utilisation"] <= 1 + 1e-12)
    assert np.all(r["effective_utilisation"] <= r["utilisation"] + 1e-12)


@settings(max_examples=40, deadline=None)
@given(
    m=st.integers(1, 2048),
    n=st.integers(1, 1024),
    k_groups=st.integers(1, 512),
    bw=st.sampled_from([None, 1.0, 8.0]),
    dataflow=st.sampled_from(["os", "ws", "is"]),
)
def test_2to4_never_slower_than_dense_and_metadata_is_an_eighth_of_int8_values(
    m, n, k_groups, bw, dataflow
):
    layer = GemmLayer(m, n, 4 * k_groups)
    array = ArrayConfig(rows=16, cols=16, dataflow=dataflow, read_bw_words=bw, write_bw_words=bw)
    sparse = [SparseLayer(layer, "2:4")]
    r = analyze_sparse(SparseConfig(array), sparse)  # the faster of 2:4 and dense
    d = analyze(array, [layer])
    assert r["compute_cycles"][0] <= d["compute_cycles"][0]
    assert r["total_cycles"][0] <= d["total_cycles"][0]
    as_24 = analyze_sparse(SparseConfig(array), sparse, [Pattern(2, 4)])
    assert as_24["compute_cycles"][0] <= d["compute_cycles"][0]
    assert as_24["metadata_sram_reads"][0] == pytest.approx(as_24["filter_sram_reads"][0] / 4)
    if bw is None:  # no bandwidth limit: compute decides, and 2:4 computes less
        assert as_24["total_cycles"][0] == r["total_cycles"][0]


def test_every_sparse_metric_is_reported():
    r = analyze_sparse(SparseConfig(ArrayConfig()), [GemmLayer(8, 8, 8)])
    assert set(METRICS) | set(SPARSE_METRICS) == set(r)


# -- mode policies ------------------------------------------------------------------------------
def test_mode_policy_is_checked_with_a_one_line_error():
    assert SparseConfig(ArrayConfig()) == SparseConfig(ArrayConfig(), mode_policy="latency")
    assert MODE_POLICIES == ("latency", "energy", "edp", "dram")
    valid = r"\(valid: dram, edp, energy, latency\)$"
    with pytest.raises(
        ValueError, match=r"^unknown mode_policy 'enrgy'; did you mean 'energy'\? " + valid
    ):
        SparseConfig(ArrayConfig(), mode_policy="enrgy")
    with pytest.raises(ValueError, match=r"^unknown mode_policy None " + valid):
        SparseConfig(ArrayConfig(), mode_policy=None)


#: The default table with one SRAM price for every scratchpad size (pJ/byte of a 32 KiB one).
FLAT_SRAM = dataclasses.replace(
    DEFAULT_TABLE,
    sram_points=(
        (1.0, DEFAULT_TABLE.sram_pj_per_byte(32.0)),
        (2.0, DEFAULT_TABLE.sram_pj_per_byte(32.0)),
    ),
)


def _mode_objectives(config, layer, modes, table):
    """Per mode the layer can run in: (the policy's objective, DRAM words)."""
    out = []
    for q in modes:
        r = analyze_sparse(config, [layer], [q])
        energy = energy_pj(config, r, table)[0]
        cycles, dram = r["total_cycles"][0], r["dram_words"][0]
        value = {"latency": cycles, "energy": energy, "edp": energy * cycles, "dram": dram}
        out.append((value[config.mode_policy], dram))
    return out


_SRAM_KIB = st.sampled_from([1, 4, 32, 256])


@settings(max_examples=25, deadline=None)
@given(
    m=st.integers(1, 2048),
    n=st.sampled_from([64, 128, 192, 320]),
    k_groups=st.integers(1, 64),
    pattern=st.sampled_from(["2:8", "1:16", "16:2:16", "64:2:16", "64:2:32"]),
    rows=st.sampled_from([8, 16, 32]),
    cols=st.sampled_from([8, 16, 32, 128]),
    dataflow=st.sampled_from(["os", "ws", "is"]),
    kib=st.tuples(_SRAM_KIB, _SRAM_KIB, _SRAM_KIB),
    bw=st.sampled_from([None, 1.0, 16.0]),
    flat=st.booleans(),
)
# the latency policy runs this 2:8 layer as 2:4, the others as 2:8 (test_evaluate.py)
@example(129, 192, 2, "2:8", 8, 16, "ws", (32, 4, 4), 1.0, False)
# three modes: latency dense, edp 2:4, energy and dram 2:8
@example(884, 192, 1, "2:8", 8, 128, "ws", (1, 256, 256), 1.0, True)
def test_each_policy_runs_a_layer_in_the_mode_that_minimises_its_objective(
    m, n, k_groups, pattern, rows, cols, dataflow, kib, bw, flat
):
    """Over every mode the hardware can run the layer in (sparsest first), the chosen one has
    the least objective, ties to the least DRAM traffic, then the first; the energy is the
    engine's own (``energy_pj`` with the table given, which the choice must use too)."""
    layer = SparseLayer(GemmLayer(m, n, 32 * k_groups), pattern)
    array = ArrayConfig(
        rows=rows, cols=cols, dataflow=dataflow, ifmap_sram_kib=kib[0], filter_sram_kib=kib[1],
        ofmap_sram_kib=kib[2], read_bw_words=bw, write_bw_words=bw,
    )  # fmt: skip
    patterns = ("2:4", "2:8", "2:16", "1:16", "16:2:8", "64:2:16", "64:2:32")
    table = FLAT_SRAM if flat else DEFAULT_TABLE
    modes = sorted(
        [parse_pattern(q) for q in patterns if layer.pattern.satisfies(parse_pattern(q))] + [DENSE],
        key=lambda q: (q.density, q.is_venom),
    )
    for policy in MODE_POLICIES:
        config = SparseConfig(array, patterns=patterns, metadata_sram_kib=4, mode_policy=policy)
        scores = _mode_objectives(config, layer, modes, table)
        best = min(range(len(modes)), key=lambda i: scores[i])  # first of equal (value, dram)
        assert chosen_patterns(config, [layer], table=table) == [modes[best]], policy
        chosen = analyze_sparse(config, [layer], table=table)
        expected = analyze_sparse(config, [layer], [modes[best]])
        for key in expected:
            np.testing.assert_array_equal(chosen[key], expected[key], err_msg=f"{policy} {key}")
