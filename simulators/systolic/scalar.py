"""Fast scalar path of the analytical model for one design and a few layers.

:func:`~archgym.simulators.systolic.analytical.analyze_batch` pays ~100-250 us of NumPy call overhead
whatever the problem size, which dominates when one design meets one small layer. This module
evaluates the same closed form with Python ints and floats, one layer at a time, and returns the
same numbers (same keys, shapes and dtypes: ``tests/simulators/test_systolic_scalar.py`` checks
every metric on the SCALE-Sim matrix and on hypothesis-generated designs and layers).
:func:`~archgym.simulators.systolic.analytical.analyze` picks it automatically for short workloads.

Float expressions are written as NumPy evaluates them (both operands converted to float64,
then one division), so the results are bit-identical rather than merely close.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

import numpy as np
from archgym.simulators.systolic.closed_form import (
    FLOAT_KEYS,
    INT_KEYS,
    NO_CAPACITY,
    PYTHON,
    Design,
    calc_capacity,
    layer_model,
    partial_drain_line,
)
from archgym.simulators.systolic.config import DATAFLOWS, ArrayConfig
from archgym.simulators.systolic.layers import ConvLayer, GemmLayer, Layer
from archgym.simulators.systolic.metrics import METRICS

__all__ = ["analyze_scalar", "config_design"]

_ORDER = tuple((INT_KEYS + FLOAT_KEYS).index(key) for key in METRICS)
_NO_CAPACITY = NO_CAPACITY


@lru_cache(maxsize=4096)
def _layer_row(layer: Layer) -> tuple[int, int, int, int, int, int, int, int]:
    """(M, SCALE-Sim's M, N, K, groups, distinct inputs, same with padding, band words)."""
    m, n, k = layer.gemm_shape()
    return (
        m,
        layer.gemm_shape(scalesim=True)[0],
        n,
        k,
        layer.groups,
        layer.ifmap_words(),
        layer.ifmap_words(include_padding=True),
        layer.band_words(),
    )


_WORKLOADS: dict[tuple[int, ...], tuple[tuple, Any]] = {}


def by_identity(layers: Sequence[Layer], build: Callable[[Sequence[Layer]], Any]) -> Any:
    """``build(layers)``, cached on the identity of the layer objects (layers are frozen).

    Cheaper than hashing every layer (a dataclass hash per layer per call): the cache keys on
    the objects' ids and holds the objects, so an id cannot be reused while its entry lives;
    a hit also checks every object is the one stored.
    """
    key = (id(build), *map(id, layers))
    hit = _WORKLOADS.get(key)
    if hit is not None and all(map(operator.is_, hit[0], layers)):
        return hit[1]
    value = build(layers)
    if len(_WORKLOADS) >= 512:
        _WORKLOADS.clear()
    _WORKLOADS[key] = (tuple(layers), value)
    return value


def _rows(layers: Sequence[Layer]) -> list[tuple[int, ...]]:
    return by_identity(layers, _build_rows)


def _build_rows(layers: Sequence[Layer]) -> list[tuple[int, ...]]:
    if len(layers) == 0:
        raise ValueError("a workload needs at least one layer, but got none")
    out = []
    for i, layer in enumerate(layers):
        if not isinstance(layer, (ConvLayer, GemmLayer)):
            raise ValueError(f"layer {i} must be a ConvLayer or GemmLayer, but got {layer!r}")
        out.append(_layer_row(layer))
    return out


def _calc_capacity(words: int) -> int:
    return calc_capacity(PYTHON, words)


def _partial_drain_line(writes: int, words: int, cols: int) -> bool:
    """Scalar run of ``closed_form.partial_drain_line``."""
    return partial_drain_line(PYTHON, writes, words, cols)


def config_design(config: ArrayConfig) -> Design:
    """One design as Python numbers (the closed form's input for one :class:`ArrayConfig`).

    Cached: configs are frozen, and equal configs give equal designs.
    """
    try:
        return _cached_design(config)
    except TypeError:  # an unhashable field value
        return _design(config)


@lru_cache(maxsize=1024)
def _cached_design(config: ArrayConfig) -> Design:
    return _design(config)


def _design(config: ArrayConfig) -> Design:
    compat = config.scalesim_compat
    nan = math.nan
    rbw = nan if config.read_bw_words is None else float(config.read_bw_words)
    wbw = nan if config.write_bw_words is None else float(config.write_bw_words)
    return Design(
        rows=config.rows,
        cols=config.cols,
        df=_CODES[config.dataflow],
        words_if=config.sram_words("ifmap"),
        words_f=config.sram_words("filter"),
        words_o=config.sram_words("ofmap"),
        rbw=rbw,
        wbw=wbw,
        compat=compat,
        calc=compat and rbw != rbw,
    )


def analyze_scalar(config: ArrayConfig, layers: Sequence[Layer]) -> dict[str, np.ndarray]:
    """:func:`~archgym.simulators.systolic.analytical.analyze` in pure Python; same outputs."""
    compat = config.scalesim_compat
    design = config_design(config)
    ints, floats = [], []
    for m, m_compat, n, k, groups, u_plain, u_padded, band in _rows(layers):
        if compat:
            m, u_plain = m_compat, u_padded
        per_group, fractions = layer_model(PYTHON, design, m, n, k, u_plain, band)
        ints.append(per_group if groups == 1 else [v * groups for v in per_group])
        floats.append(fractions)
    return _assemble(ints, floats)


_CODES = {name: i for i, name in enumerate(DATAFLOWS)}


def _assemble(ints: list[tuple], floats: list[tuple]) -> dict[str, np.ndarray]:
    # Two array constructions for all metrics; each metric is a row view of one of them
    # (iterating a 2-D array is the cheapest way to make the 20 views).
    views = [*np.array(ints, dtype=np.int64).T, *np.array(floats, dtype=np.float64).T]
    return dict(zip(METRICS, [views[i] for i in _ORDER], strict=True))
