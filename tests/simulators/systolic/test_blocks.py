"""The batched closed form in blocks (``analyze_blocks``) and the scalar path's kept fold shapes
give the same numbers as one pass over all designs."""

from __future__ import annotations

import numpy as np
import pytest
from archgym.simulators.systolic import (
    ArrayConfig,
    analytical,
    analyze,
    analyze_batch,
    evaluate_batch,
)
from archgym.simulators.systolic.layers import ConvLayer, GemmLayer

LAYERS = [
    ConvLayer(14, 14, 3, 3, 32, 64, stride=1),
    ConvLayer(28, 28, 1, 1, 64, 16, stride=2),
    GemmLayer(100, 37, 513),
    GemmLayer(1, 1, 1),
]


def _designs(n: int, seed: int, dataflow=None) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    bw = 2.0 ** rng.integers(0, 6, n)
    bw[::4] = np.nan  # CALC mode rows
    return {
        "rows": 2 ** rng.integers(2, 7, n),
        "cols": 2 ** rng.integers(2, 7, n),
        "dataflow": rng.integers(0, 3, n) if dataflow is None else np.full(n, dataflow),
        "ifmap_sram_kib": 2.0 ** rng.integers(0, 9, n),
        "filter_sram_kib": 2.0 ** rng.integers(0, 9, n),
        "ofmap_sram_kib": 2.0 ** rng.integers(0, 9, n),
        "read_bw_words": bw,
        "write_bw_words": bw,
    }


@pytest.mark.parametrize("compat", [False, True])
@pytest.mark.parametrize("dataflow", [None, 1])
def test_blocks_equal_one_pass(monkeypatch, compat, dataflow):
    designs = _designs(60, 3, dataflow)
    scale = {"ifmap": np.linspace(0.5, 2.0, len(LAYERS)), "filter": 1.5}
    whole = analyze_batch(designs, LAYERS, scalesim_compat=compat)
    scaled = analyze_batch(designs, LAYERS, scalesim_compat=compat, operand_scale=scale)
    totals = evaluate_batch(designs, LAYERS, [1, 2, 3, 4], scalesim_compat=compat)
    monkeypatch.setattr(analytical, "BLOCK_PAIRS", 7 * len(LAYERS))  # 7 designs per block
    shape, blocks = analytical.analyze_blocks(designs, LAYERS, scalesim_compat=compat)
    assert shape == (60, len(LAYERS)) and len(list(blocks)) >= 9
    for got, want in (
        (analyze_batch(designs, LAYERS, scalesim_compat=compat), whole),
        (analyze_batch(designs, LAYERS, scalesim_compat=compat, operand_scale=scale), scaled),
        (evaluate_batch(designs, LAYERS, [1, 2, 3, 4], scalesim_compat=compat), totals),
    ):
        assert list(got) == list(want)
        for key, value in want.items():
            assert got[key].dtype == value.dtype and got[key].shape == value.shape, key
            np.testing.assert_array_equal(got[key], value, err_msg=key)


def test_kept_fold_shapes_follow_the_array_shape():
    # Same layers, alternating array shapes and SRAM sizes: the scalar path (kept fold
    # shapes) agrees with the batched pass on every call.
    for i in range(12):
        config = ArrayConfig(
            rows=(4, 8, 16)[i % 3],
            cols=(8, 4)[i % 2],
            dataflow=("os", "ws", "is")[i % 3],
            ifmap_sram_kib=float(2 ** (i % 5)),
            read_bw_words=float(1 + i),
            write_bw_words=float(1 + i),
        )
        got = analyze(config, LAYERS)
        want = analyze_batch(analytical.designs_from_configs([config]), LAYERS)
        for key, value in want.items():
            np.testing.assert_array_equal(got[key], value[0], err_msg=key)
