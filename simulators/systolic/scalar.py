"""Fast scalar path of the analytical model for one design and a few layers.

:func:`~archgym.simulators.systolic.analytical.analyze_batch` pays ~100-250 us of NumPy call overhead
whatever the problem size, which dominates when one design meets one small layer. This module
evaluates the same closed form with Python ints and floats, one layer at a time, and returns the
same numbers (same keys, shapes and dtypes: ``tests/simulators/systolic/test_scalar.py`` checks
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
    fold_shape,
    layer_model,
    partial_drain_line,
)
from archgym.simulators.systolic.config import DATAFLOWS, ArrayConfig
from archgym.simulators.systolic.layers import ConvLayer, GemmLayer, Layer
from archgym.simulators.systolic.metrics import METRICS

__all__ = ["analyze_scalar", "config_design"]

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


#: Per workload and mode, the fold shapes of at most this many array shapes are kept.
SHAPES_KEPT = 256


def _rows(layers: Sequence[Layer], compat: bool) -> tuple[list[tuple[int, ...]], dict]:
    """``(M, N, K, groups, distinct inputs, band words)`` of each layer (SCALE-Sim's M and
    padded inputs in compat), and the workload's :func:`fold_shape` lists per array shape
    ``(rows, cols, dataflow)`` (filled by :func:`analyze_scalar`)."""
    return by_identity(layers, _build_compat_rows if compat else _build_rows)


def _build_rows(layers: Sequence[Layer]) -> tuple[list[tuple[int, ...]], dict]:
    return [(m, n, k, g, u, band) for m, _, n, k, g, u, _, band in _checked_rows(layers)], {}


def _build_compat_rows(layers: Sequence[Layer]) -> tuple[list[tuple[int, ...]], dict]:
    return [(m, n, k, g, u, band) for _, m, n, k, g, _, u, band in _checked_rows(layers)], {}


def _checked_rows(layers: Sequence[Layer]) -> list[tuple[int, ...]]:
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
    """:func:`~archgym.simulators.systolic.analytical.analyze` in pure Python; same outputs.

    The part of the closed form that the SRAM sizes and bandwidths do not enter
    (:func:`fold_shape`) is kept per workload and array shape: a search revisits few shapes.
    """
    design = config_design(config)
    rows, kept = _rows(layers, config.scalesim_compat)
    key = design[:3]  # rows, cols, dataflow
    shapes = kept.get(key)
    if shapes is None:
        if len(kept) >= SHAPES_KEPT:
            kept.clear()
        shapes = kept[key] = [fold_shape(PYTHON, design, m, n, k) for m, n, k, *_ in rows]
    ints: list = []
    floats: list = []
    for (m, n, k, groups, u_if, band), shape in zip(rows, shapes, strict=True):
        per_group, fractions = layer_model(PYTHON, design, m, n, k, u_if, band, None, shape)
        ints += per_group if groups == 1 else [v * groups for v in per_group]
        floats += fractions
    return _assemble(ints, floats, len(rows))


_CODES = {name: i for i, name in enumerate(DATAFLOWS)}


def _assemble(ints: list, floats: list, n_layers: int) -> dict[str, np.ndarray]:
    # Two arrays for all metrics (from flat lists: the cheapest conversion); each metric is a
    # row view of one of them (iterating a 2-D array is the cheapest way to make the views),
    # put in METRICS order by updating a copy of a dict that has that order (no resizing).
    int_rows = np.fromiter(ints, np.int64, len(ints)).reshape(n_layers, len(INT_KEYS)).T
    float_rows = np.fromiter(floats, np.float64, len(floats)).reshape(n_layers, -1).T
    out = _TEMPLATE.copy()
    out.update(zip(_VIEW_KEYS, [*int_rows, *float_rows], strict=True))
    return out


_TEMPLATE = dict.fromkeys(METRICS)
_VIEW_KEYS = INT_KEYS + FLOAT_KEYS
