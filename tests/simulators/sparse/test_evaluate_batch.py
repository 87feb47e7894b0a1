"""The vectorised analytical ``evaluate_batch`` of the sparse engine equals ``evaluate`` config by
config on every metric (simulators/sparse/evaluate.py), over random configs: array shapes (odd
ones included), dataflows, scratchpads, bandwidth (and CALC mode), word sizes, precisions,
pattern sets (N:M, V:N:M, none), metadata scratchpads, dense fallback and mode policies (mixed in
one batch, and each alone), on workloads of dense and sparse, GEMM and convolution layers; and it
names the first infeasible config."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from archgym.cost_models.energy import DEFAULT_TABLE, TechTable
from archgym.simulators.common import InfeasibleDesign
from archgym.simulators.sparse import (
    METRICS,
    PATTERN_SETS,
    SparseConfig,
    SparseLayer,
    SparseWorkload,
    chosen_patterns,
    evaluate,
    evaluate_batch,
    execution_patterns,
)
from archgym.simulators.sparse.modes import MODE_POLICIES
from archgym.simulators.systolic import ArrayConfig, ConvLayer, GemmLayer
from hypothesis import given, settings
from hypothesis import strategies as st

#: Pattern sets drawn: the env's, plus sets whose patterns tie on density (2:8 and 1:4) and a
#: V:N:M set without 2:4.
_SETS = (*PATTERN_SETS.values(), ("1:4", "2:8"), ("2:8", "1:4"), ("64:2:8",), ("16:2:8", "2:8"))

_WORKLOADS = {
    "mixed": SparseWorkload(
        (
            SparseLayer(GemmLayer(300, 256, 512), "2:8"),
            SparseLayer(ConvLayer(28, 28, 3, 3, 64, 128, padding=1), "64:2:8"),
            SparseLayer(GemmLayer(64, 128, 64), "2:4"),
            SparseLayer(GemmLayer(17, 96, 128), "1:8"),
            SparseLayer(GemmLayer(33, 70, 45)),  # dense
            SparseLayer(ConvLayer(14, 14, 1, 1, 256, 64), "2:4"),
            SparseLayer(ConvLayer(15, 15, 3, 3, 32, 64, stride=2), "2:16"),
            SparseLayer(GemmLayer(128, 64, 256), "16:2:16"),
        ),
        (1, 2, 3, 1, 4, 1, 2, 1),
    ),
    "dense": SparseWorkload.from_layers([GemmLayer(64, 96, 128), ConvLayer(8, 8, 3, 3, 16, 32)]),
}


def _config(rng: np.random.Generator, policy: str | None = None) -> SparseConfig:
    """A random config (seeded through ``rng``); ``policy`` default: a random mode policy."""
    bw = rng.choice([np.nan, 1.0, 4.0, 16.0, 64.0])
    array = ArrayConfig(
        rows=int(rng.choice([3, 8, 16, 17, 32, 64])),
        cols=int(rng.choice([5, 8, 16, 31, 32, 64, 128])),
        dataflow=str(rng.choice(["os", "ws", "is"])),
        ifmap_sram_kib=float(rng.choice([1, 4, 16, 64, 256])),
        filter_sram_kib=float(rng.choice([0.5, 4, 16, 64, 256])),
        ofmap_sram_kib=float(rng.choice([1, 4, 16, 64])),
        word_bytes=int(rng.choice([1, 2])),
        read_bw_words=None if np.isnan(bw) else float(bw),
        write_bw_words=None if np.isnan(bw) else float(rng.choice([bw, 2 * bw])),
        clock_mhz=float(rng.choice([500.0, 1000.0])),
        precision=str(rng.choice(["int8", "fp16"])),
    )
    return SparseConfig(
        array,
        patterns=_SETS[rng.integers(len(_SETS))],
        metadata_sram_kib=float(rng.choice([0, 0.25, 1, 8, 64])),
        dense_fallback=bool(rng.integers(2)),
        mode_policy=policy or str(rng.choice(MODE_POLICIES)),
    )


def _feasible(configs: list[SparseConfig], work: SparseWorkload) -> list[SparseConfig]:
    out = []
    for config in configs:
        try:
            execution_patterns(config, list(work.layers))
        except InfeasibleDesign:
            continue
        out.append(config)
    return out


def _assert_batch_is_the_loop(
    configs: list[SparseConfig], work: SparseWorkload, table: TechTable = DEFAULT_TABLE
) -> None:
    batch = evaluate_batch(configs, work, table=table)
    assert set(batch) == set(METRICS)
    rows = [evaluate(c, work, table=table) for c in configs]
    for key in METRICS:
        expected = np.array([r[key] for r in rows])
        assert batch[key].shape == (len(configs),)
        # Everything but the energy is exact; the energy sums its layers in another order.
        np.testing.assert_allclose(batch[key], expected, rtol=1e-12, atol=0, err_msg=key)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), name=st.sampled_from(sorted(_WORKLOADS)))
def test_batch_equals_evaluate_on_random_configs(seed: int, name: str):
    rng = np.random.default_rng(seed)
    work = _WORKLOADS[name]
    configs = _feasible([_config(rng) for _ in range(40)], work)
    _assert_batch_is_the_loop(configs, work)


@pytest.mark.parametrize("policy", MODE_POLICIES)
def test_batch_runs_modes_that_differ_per_config(policy: str):
    """Configs of one pattern set whose chosen mode of a layer differs (sparse on one array,
    dense on another) come out as their own ``evaluate``: the batch picks per config, under
    each mode policy."""
    work = _WORKLOADS["mixed"]
    rng = np.random.default_rng(7)
    configs = _feasible([_config(rng, policy) for _ in range(300)], work)
    layers = list(work.layers)
    chosen = {tuple(chosen_patterns(c, layers)) for c in configs}
    assert len(chosen) > 10  # the draw exercises many per-layer choices
    _assert_batch_is_the_loop(configs, work)


def test_batch_prices_the_modes_with_the_table_it_is_given():
    """The energy and edp policies choose with the ``table`` of the call, in both paths: here
    one SRAM price (1 pJ/byte) for every size, which changes some choices."""
    layers = (SparseLayer(GemmLayer(1647, 320, 64), "16:2:16"), SparseLayer(GemmLayer(1, 16, 16)))
    work = SparseWorkload(layers, (1, 100))
    table = dataclasses.replace(DEFAULT_TABLE, sram_points=((1.0, 1.0), (2.0, 1.0)))
    configs = [
        SparseConfig(
            ArrayConfig(
                rows=16, cols=128, dataflow="ws", ifmap_sram_kib=32, filter_sram_kib=kib,
                ofmap_sram_kib=4 * kib, read_bw_words=bw, write_bw_words=bw,
            ),
            patterns=("2:4", "2:8", "16:2:8"), metadata_sram_kib=4, mode_policy=policy,
        )
        for kib in (16, 64, 256) for bw in (4.0, 16.0) for policy in ("energy", "edp")
    ]  # fmt: skip
    changed = [
        c for c in configs if chosen_patterns(c, layers, table=table) != chosen_patterns(c, layers)
    ]
    assert changed  # the table matters to the choice
    _assert_batch_is_the_loop(configs, work, table)


def test_batch_names_the_first_infeasible_config():
    work = _WORKLOADS["mixed"]
    rng = np.random.default_rng(3)
    good = _feasible([_config(rng) for _ in range(20)], work)
    bad = SparseConfig(good[0].array, patterns=("2:8",))  # no mode for 2:4, no fallback
    also_bad = SparseConfig(good[1].array, patterns=())
    with pytest.raises(InfeasibleDesign) as err:
        evaluate(bad, work)
    configs = [*good[:5], bad, *good[5:], also_bad]
    with pytest.raises(InfeasibleDesign, match=r"^config 5: ") as batch_err:
        evaluate_batch(configs, work)
    assert str(batch_err.value) == f"config 5: {err.value}"
    empty = evaluate_batch([], work)
    assert set(empty) == set(METRICS) and all(v.shape == (0,) for v in empty.values())


def test_batch_of_one_and_of_duplicates():
    work = _WORKLOADS["mixed"]
    config = _feasible([_config(np.random.default_rng(s)) for s in range(20)], work)[0]
    one = evaluate(config, work)
    batch = evaluate_batch([config] * 3, work)
    for key in METRICS:
        np.testing.assert_allclose(batch[key], one[key], rtol=1e-12, atol=0, err_msg=key)
