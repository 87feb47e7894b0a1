"""Exact SCALE-Sim CALC-mode ifmap traffic by replaying its read buffer on its request stream.

SCALE-Sim 3.0.0's estimated-bandwidth read buffer (``memory/read_buffer_estimate_bw.py``) keeps
every distinct word fetched since its last flush and drops all of them once it holds
``50 * floor(words / 100)`` (see ``analytical._calc_capacity``). The closed forms in
:mod:`archgym.simulators.systolic.analytical` (``scalesim_compat=True``) reproduce its DRAM reads exactly
whenever the request stream is made of blocks of distinct words; the ifmap of a convolution whose
windows overlap is not: how many words it fetches depends on where each flush falls among the
duplicate addresses of a fold's skewed stream. :func:`scalesim_calc_analyze` replays the buffer
on the exact order in which SCALE-Sim requests those words (``compute/systolic_compute_*.py``),
vectorised with NumPy. Its cost grows with the im2col matrix (``M * K`` words per pass, like
SCALE-Sim's own demand matrices), so it is a separate, opt-in call rather than part of
``analyze``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
from archgym.simulators.systolic.analytical import _calc_capacity, analyze
from archgym.simulators.systolic.config import ArrayConfig
from archgym.simulators.systolic.layers import ConvLayer, GemmLayer, Layer

__all__ = ["ifmap_request_stream", "replay_calc_buffer", "scalesim_calc_analyze"]


def _im2col(layer: ConvLayer) -> np.ndarray:
    """SCALE-Sim's ifmap operand matrix (``M x K`` word addresses) of one group: the input is
    ``H x W x C`` with padding as data, word ``(y * W + x) * C + c``; SCALE-Sim's output size
    (``ConvLayer.scalesim_out_h``), a window position past the input is ``-1`` (never fetched,
    as in its ``operand_matrix.calc_ifmap_elem_addr``)."""
    height, width = layer.H + 2 * layer.padding, layer.W + 2 * layer.padding
    chans = 1 if layer.depthwise else layer.C
    oy, ox = np.divmod(np.arange(layer.scalesim_out_h * layer.scalesim_out_w), layer.scalesim_out_w)
    r, rest = np.divmod(np.arange(layer.R * layer.S * chans), layer.S * chans)
    s, c = np.divmod(rest, chans)
    y = oy[:, None] * layer.stride + r[None, :]
    x = ox[:, None] * layer.stride + s[None, :]
    return np.where((y < height) & (x < width), (y * width + x) * chans + c[None, :], -1)


def _skew_order(length: int, width: int) -> np.ndarray:
    """Read order of a skewed ``length x width`` fold: word (t, j) is issued in cycle t + j, the
    array's rows (or columns) in order within a cycle."""
    t, j = np.meshgrid(np.arange(length), np.arange(width), indexing="ij")
    return np.lexsort((j.ravel(), (t + j).ravel()))


def ifmap_request_stream(config: ArrayConfig, layer: ConvLayer) -> np.ndarray:
    """Ifmap word addresses of one group in the order SCALE-Sim 3.0.0 requests them.

    Column folds outermost, row folds inside. os: a fold streams the ``K x rows`` slice of the
    transposed operand (output pixels on the rows), skewed; ws: the ``M x rows`` slice (window
    elements on the rows), skewed; is: a fold loads a ``K-slice x M-slice`` tile row by row,
    last row first.
    """
    mat = _im2col(layer)
    m, n, k = layer.gemm_shape(scalesim=True)
    rows, cols = config.rows, config.cols
    if config.dataflow == "is":
        fr, fc = -(-k // rows), -(-m // cols)
        grid = np.full((fc * cols, fr * rows), -1, dtype=np.int64)
        grid[:m, :k] = mat
        tiles = grid.reshape(fc, cols, fr, rows).transpose(0, 2, 3, 1)[:, :, ::-1, :]
        stream = tiles.ravel()
    else:
        if config.dataflow == "os":
            fr, length, passes = -(-m // rows), k, -(-n // cols)
            grid = np.full((fr * rows, k), -1, dtype=np.int64)
            grid[:m] = mat
            folds = grid.reshape(fr, rows, k).transpose(0, 2, 1)  # (fold, t over K, row)
        else:
            fr, length, passes = -(-k // rows), m, -(-n // cols)
            grid = np.full((m, fr * rows), -1, dtype=np.int64)
            grid[:, :k] = mat
            folds = grid.reshape(m, fr, rows).transpose(1, 0, 2)  # (fold, t over M, row)
        one_pass = folds.reshape(fr, length * rows)[:, _skew_order(length, rows)].ravel()
        stream = np.tile(one_pass, passes)
    return stream[stream >= 0]


def replay_calc_buffer(stream: np.ndarray, words: int) -> int:
    """DRAM reads of SCALE-Sim's CALC-mode buffer of ``words`` words for an address stream.

    A word is fetched unless it was fetched since the last flush; the buffer flushes when it
    has fetched ``capacity`` words. Vectorised: with ``prev[i]`` the previous position of the
    same address, position ``i`` misses in an epoch starting at ``s`` iff ``prev[i] < s``.
    """
    stream = np.asarray(stream, dtype=np.int64)
    size = stream.size
    order = np.argsort(stream, kind="stable")
    ordered = stream[order]
    prev = np.full(size, -1, dtype=np.int64)
    same = ordered[1:] == ordered[:-1]
    prev[order[1:][same]] = order[:-1][same]
    capacity = int(_calc_capacity(np.int64(words)))
    misses, start = 0, 0
    while start < size:
        width = 2 * min(capacity, size)
        while True:
            new = np.cumsum(prev[start : start + width] < start)
            if new[-1] >= capacity or start + width >= size:
                break
            width *= 2
        if new[-1] < capacity:  # the stream ends before the buffer fills again
            return misses + int(new[-1])
        misses += capacity
        start += int(np.searchsorted(new, capacity)) + 1
    return misses


def scalesim_calc_analyze(
    config: ArrayConfig, layers: Layer | Sequence[Layer]
) -> dict[str, np.ndarray]:
    """SCALE-Sim 3.0.0's numbers in CALC mode, its ifmap DRAM reads included exactly.

    ``analyze`` with ``scalesim_compat=True`` (CALC mode: ``config`` must set no bandwidth),
    with the ifmap DRAM reads of every convolution whose windows overlap and whose input does not
    fit the buffer replayed on SCALE-Sim's request stream (:func:`replay_calc_buffer`).
    """
    if config.user_bandwidth:
        raise ValueError(
            "scalesim_calc_analyze models SCALE-Sim's CALC mode: `read_bw_words` and "
            f"`write_bw_words` must be None, but got {config.read_bw_words!r}"
        )
    layers = [layers] if isinstance(layers, (ConvLayer, GemmLayer)) else list(layers)
    config = dataclasses.replace(config, scalesim_compat=True)
    out = {key: np.array(value, copy=True) for key, value in analyze(config, layers).items()}
    words = config.sram_words("ifmap")
    capacity = int(_calc_capacity(np.int64(words)))
    for i, layer in enumerate(layers):
        if not isinstance(layer, ConvLayer):
            continue
        m, _, k = layer.gemm_shape(scalesim=True)
        distinct = layer.ifmap_words(include_padding=True)
        if distinct == m * k or distinct < capacity:  # closed form exact
            continue
        reads = replay_calc_buffer(ifmap_request_stream(config, layer), words) * layer.groups
        out["dram_words"][i] += reads - out["ifmap_dram_reads"][i]
        out["ifmap_dram_reads"][i] = reads
    return out
