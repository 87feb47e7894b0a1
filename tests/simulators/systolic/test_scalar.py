"""The scalar fast path equals the vectorised model; SCALE-Sim's CALC read buffer, replayed.

- ``analyze`` on a short workload runs :mod:`archgym.simulators.systolic.scalar`; it must return exactly
  (bit for bit, same dtypes and key order) what ``analyze_batch`` returns, on all stored
  SCALE-Sim cases in both modes and on hypothesis-generated designs and layers.
- The closed-form CALC-mode DRAM reads of ``scalesim_compat`` (``_calc_capacity``,
  ``_os_filter_calc``) are checked against a word-by-word replay of the buffer SCALE-Sim 3.0.0's
  ``ReadBufferEstimateBw`` implements (sets of ``floor(words / 100)`` distinct addresses, all
  dropped once 50 sets are complete), fed with the operand address streams of GEMM layers.
  The replay model itself is validated by the stored SCALE-Sim runs with 2 kB SRAMs
  (test_systolic_scalesim.py: exact DRAM reads for every GEMM and every filter operand).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from archgym.simulators.systolic import (
    METRICS,
    ArrayConfig,
    ConvLayer,
    GemmLayer,
    analytical,
    analyze,
    analyze_batch,
    designs_from_configs,
)
from archgym.simulators.systolic.layers import layer_table
from archgym.simulators.systolic.refcases import case_config, case_layer
from hypothesis import given, settings
from hypothesis import strategies as st

from .test_scalesim import _cases, _replay


def _vectorised(config, layers):
    out = analyze_batch(
        designs_from_configs([config]), layers, scalesim_compat=config.scalesim_compat
    )
    return {key: value[0] for key, value in out.items()}


def _assert_same(fast, slow):
    assert tuple(fast) == tuple(slow) == METRICS
    for key in METRICS:
        assert fast[key].dtype == slow[key].dtype, key
        np.testing.assert_array_equal(fast[key], slow[key], err_msg=key)


@pytest.mark.parametrize("compat", [True, False])
def test_scalar_path_equals_vectorised_on_reference_cases(compat):
    for param in _cases():
        case = param.values[0]
        config, layer = case_config(case, compat=compat), case_layer(case)
        _assert_same(analyze(config, [layer]), _vectorised(config, [layer]))


@st.composite
def _configs(draw):
    bw = draw(st.one_of(st.none(), st.floats(0.25, 64), st.integers(1, 64)))
    return ArrayConfig(
        rows=draw(st.integers(1, 70)),
        cols=draw(st.integers(1, 70)),
        dataflow=draw(st.sampled_from(["os", "ws", "is"])),
        ifmap_sram_kib=draw(st.sampled_from([0.05, 0.25, 0.5, 1, 2, 3.5, 64])),
        filter_sram_kib=draw(st.sampled_from([0.05, 0.25, 0.5, 1, 2, 3.5, 64])),
        ofmap_sram_kib=draw(st.sampled_from([0.25, 1, 2, 64])),
        word_bytes=draw(st.sampled_from([1, 2, 4])),
        read_bw_words=bw,
        write_bw_words=None if bw is None else draw(st.floats(0.25, 64)),
        scalesim_compat=draw(st.booleans()),
    )


@st.composite
def _convs(draw):
    r = draw(st.integers(1, 5))
    return ConvLayer(
        H=draw(st.integers(r, 30)),
        W=draw(st.integers(r, 30)),
        R=r,
        S=draw(st.integers(1, r)),
        C=draw(st.integers(1, 40)),
        K=draw(st.integers(1, 70)),
        stride=draw(st.integers(1, 4)),
        padding=draw(st.integers(0, 2)),
        depthwise=draw(st.booleans()),
    )


_dims = st.integers(1, 400)
_layers = st.one_of(st.builds(GemmLayer, _dims, _dims, _dims), _convs())


@settings(max_examples=150, deadline=None)
@given(_configs(), st.lists(_layers, min_size=1, max_size=5))
def test_scalar_path_equals_vectorised_on_random_designs(config, layers):
    _assert_same(analyze(config, layers), _vectorised(config, layers))


def test_dispatch_by_workload_length(monkeypatch):
    config = ArrayConfig(rows=8, cols=16, dataflow="is", read_bw_words=4, write_bw_words=4)
    net = [GemmLayer(30 + i, 20, 10 + i) for i in range(analytical.SCALAR_MAX_LAYERS + 2)]
    long_run = analyze(config, net)  # vectorised
    monkeypatch.setattr(analytical, "SCALAR_MAX_LAYERS", len(net))
    _assert_same(analyze(config, net), long_run)
    _assert_same(analyze(config, net[0]), analyze(config, (layer for layer in net[:1])))
    _assert_same(analyze(config, net[:3]), analyze(config, layer_table(net[:3])))


def test_scalar_path_rejects_bad_workloads():
    with pytest.raises(ValueError, match="at least one layer"):
        analyze(ArrayConfig(), [])
    with pytest.raises(ValueError, match="layer 1 must be a ConvLayer or GemmLayer"):
        analyze(ArrayConfig(), [GemmLayer(4, 4, 4), (4, 4, 4)])


# --- SCALE-Sim's CALC-mode read buffer, replayed word by word ------------------------------


def _slices(total: int, size: int):
    return [range(lo, min(lo + size, total)) for lo in range(0, total, size)]


def _gemm_streams(config: ArrayConfig, m: int, n: int, k: int):
    """Address streams (ifmap[m, k] at m * K + k, filter[k, n] at k * N + n) in fold order:
    column folds outermost; os: M x N on the array, ws: K x N, is: K x M."""
    r, c, df = config.rows, config.cols, config.dataflow
    ifmap, filt = [], []
    if df == "os":
        for cs in _slices(n, c):
            for rs in _slices(m, r):
                ifmap += [i * k + kk for i in rs for kk in range(k)]
                filt += [kk * n + j for kk in range(k) for j in cs]
    elif df == "ws":
        for cs in _slices(n, c):
            for rs in _slices(k, r):
                ifmap += [i * k + kk for i in range(m) for kk in rs]
                filt += [kk * n + j for kk in rs for j in cs]
    else:
        for cs in _slices(m, c):
            for rs in _slices(k, r):
                ifmap += [i * k + kk for i in cs for kk in rs]
                filt += [kk * n + j for kk in rs for j in range(n)]
    return ifmap, filt


@settings(max_examples=40, deadline=None)
@given(
    st.sampled_from(["os", "ws", "is"]),
    st.integers(1, 12),
    st.integers(1, 12),
    st.integers(1, 40),
    st.integers(1, 40),
    st.integers(1, 40),
    st.sampled_from([0.05, 0.125, 0.25, 0.5, 1]),
    st.sampled_from([0.125, 0.25, 0.5, 1]),
)
def test_calc_dram_reads_replay_scalesim_buffer(df, rows, cols, m, n, k, if_kib, f_kib):
    config = ArrayConfig(
        rows=rows,
        cols=cols,
        dataflow=df,
        ifmap_sram_kib=if_kib,
        filter_sram_kib=f_kib,
        scalesim_compat=True,
    )
    ifmap, filt = _gemm_streams(config, m, n, k)
    for out in (analyze(config, [GemmLayer(m, n, k)]), _vectorised(config, [GemmLayer(m, n, k)])):
        assert out["ifmap_dram_reads"][0] == _replay(ifmap, config.sram_words("ifmap"))
        assert out["filter_dram_reads"][0] == _replay(filt, config.sram_words("filter"))
    # The corrected default keeps its half-SRAM buffer: never below the compulsory traffic.
    fixed = analyze(dataclasses.replace(config, scalesim_compat=False), [GemmLayer(m, n, k)])
    assert fixed["filter_dram_reads"][0] >= k * n


def _replay_writes(writes: int, words: int, line: int) -> int:
    """DRAM writes of SCALE-Sim's CALC-mode ofmap buffer (``write_buffer``; lines of ``line``
    words, drained ``ceil(d / line)`` lines at a time once it holds more than ``d = words // 2``
    words, only the last line of a batch counted by its filled slots; CALC drains never delay)."""
    drain = words // 2
    batch = -(-drain // line)
    lines: list[int] = []
    current, free, start, counted = 0, words, 0, 0

    def drain_batch() -> None:
        nonlocal start, counted, free
        taken = lines[start : start + batch]
        start += len(taken)
        size = len(taken) * line - (line - taken[-1])
        counted += size
        free += size

    for _ in range(writes):
        current += 1
        free -= 1
        if current == line:
            lines.append(line)
            current = 0
        if free < words - drain:
            if current:
                lines.append(current)
                current = 0
            if start < len(lines):
                drain_batch()
    if current:
        lines.append(current)
    while start < len(lines):
        drain_batch()
    return counted


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 3000), st.integers(100, 1200), st.integers(1, 40))
def test_calc_ofmap_writes_replay_scalesim_drain_lines(writes, words, cols):
    from archgym.simulators.systolic.scalar import _partial_drain_line

    extra = cols - 1 if _partial_drain_line(writes, words, cols) else 0
    assert writes + extra == _replay_writes(writes, words, cols)
    vector = analytical._partial_drain_line(np.array([writes]), words, cols)
    assert (cols - 1) * int(vector[0]) == extra


def test_scalesim_calc_buffer_is_not_monotone():
    # A buffer that forgets everything when full can fetch more when it is larger: os filter
    # tiles of 2 x 238 = 476 words, 5 passes each. 4 KiB (2000-word buffer) overflows by 96
    # words every 4 tiles, 8 KiB (4050 words) by 242 every 8; compat reproduces both.
    layer = GemmLayer(17, 103, 238)
    small = ArrayConfig(rows=4, cols=2, filter_sram_kib=4, scalesim_compat=True)
    large = dataclasses.replace(small, filter_sram_kib=8)
    _, filt = _gemm_streams(small, 17, 103, 238)
    reads = [analyze(c, [layer])["filter_dram_reads"][0] for c in (small, large)]
    assert reads == [_replay(filt, c.sram_words("filter")) for c in (small, large)]
    assert reads[1] > reads[0]
    corrected = [
        analyze(dataclasses.replace(c, scalesim_compat=False), [layer]) for c in (small, large)
    ]
    assert corrected[1]["filter_dram_reads"][0] <= corrected[0]["filter_dram_reads"][0]
