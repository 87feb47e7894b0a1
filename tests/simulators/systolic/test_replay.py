"""archgym.simulators.systolic.replay: SCALE-Sim's CALC read buffer replayed on its request stream.

References: the pure-Python, word-by-word replay of the buffer (``_replay`` in
test_systolic_scalesim.py, written from SCALE-Sim's ``read_buffer_estimate_bw.py`` semantics);
SCALE-Sim 3.0.0 itself (stored runs in test_systolic_scalesim.py, live runs below with the
numbers it printed).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from archgym.simulators.systolic import ArrayConfig, ConvLayer, GemmLayer, analyze
from archgym.simulators.systolic.replay import (
    _im2col,
    ifmap_request_stream,
    replay_calc_buffer,
    scalesim_calc_analyze,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from .test_scalesim import _replay


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.integers(0, 400), min_size=1, max_size=3000),
    st.integers(1, 1500),
)
def test_vectorised_replay_equals_word_by_word(stream, words):
    assert replay_calc_buffer(np.array(stream), words) == _replay(stream, words)


@settings(max_examples=40, deadline=None)
@given(
    st.sampled_from(["os", "ws", "is"]),
    st.integers(1, 20),
    st.integers(1, 20),
    st.integers(3, 9),
    st.integers(1, 3),
    st.integers(1, 6),
    st.integers(1, 2),
    st.integers(0, 1),
)
def test_request_stream_holds_every_use_of_every_word(df, rows, cols, size, r, c, stride, pad):
    layer = ConvLayer(size, size + 1, r, r, c, 5, stride=stride, padding=pad)
    config = ArrayConfig(rows=rows, cols=cols, dataflow=df, scalesim_compat=True)
    stream = ifmap_request_stream(config, layer)
    m, n, k = layer.gemm_shape(scalesim=True)
    passes = 1 if df == "is" else -(-n // cols)
    valid = int((_im2col(layer) >= 0).sum())  # SCALE-Sim's windows past the input read nothing
    assert stream.size == valid * passes  # each im2col entry once per pass
    assert np.unique(stream).size == layer.ifmap_words(include_padding=True)
    # SCALE-Sim counts every demand entry as an SRAM read, those past the input included
    assert analyze(config, [layer])["ifmap_sram_reads"][0] == m * k * passes


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(["os", "ws", "is"]), st.integers(1, 300), st.integers(1, 300))
def test_closed_form_cases_are_left_alone(df, m, k):
    config = ArrayConfig(rows=8, cols=4, dataflow=df, ifmap_sram_kib=1)
    layers = [GemmLayer(m, 9, k), ConvLayer(m, 1, 1, 1, k, 9)]  # no overlapping windows
    replayed = scalesim_calc_analyze(config, layers)
    closed = analyze(dataclasses.replace(config, scalesim_compat=True), layers)
    for key, value in closed.items():
        np.testing.assert_array_equal(replayed[key], value, err_msg=key)


# SCALE-Sim 3.0.0 run live on these layers (CALC mode, 1 KiB ifmap SRAM, default 64 KiB others;
# `python -m scalesim.scale` on files from write_cfg/write_topology): its DRAM IFMAP Reads.
LIVE = [
    (
        ArrayConfig(rows=32, cols=8, dataflow="ws", ifmap_sram_kib=1),
        ConvLayer(12, 12, 3, 3, 4, 8),
        912,
    ),
    (
        ArrayConfig(rows=8, cols=8, dataflow="os", ifmap_sram_kib=1),
        ConvLayer(10, 10, 3, 3, 6, 8, padding=1),
        968,
    ),
    (
        ArrayConfig(rows=16, cols=4, dataflow="is", ifmap_sram_kib=1),
        ConvLayer(11, 11, 3, 3, 5, 6),
        715,
    ),
    (
        ArrayConfig(rows=8, cols=8, dataflow="ws", ifmap_sram_kib=1),
        ConvLayer(12, 12, 3, 3, 3, 1, depthwise=True),
        432,
    ),
]


@pytest.mark.parametrize(("config", "layer", "scalesim"), LIVE)
def test_matches_scalesim_runs(config, layer, scalesim):
    assert scalesim_calc_analyze(config, layer)["ifmap_dram_reads"][0] == scalesim


def test_needs_calc_mode():
    with pytest.raises(ValueError, match="`read_bw_words` and `write_bw_words` must be None"):
        scalesim_calc_analyze(ArrayConfig(read_bw_words=4, write_bw_words=4), [GemmLayer(8, 8, 8)])
