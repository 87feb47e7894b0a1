"""Fold-level timing of the default model, in closed form over fold classes and fold by fold.

A layer's folds run column folds outermost (``j = 0 .. fc-1``), row folds inside (``i = 0 ..
fr-1``). What a fold moves from or to DRAM depends only on whether it is the first or last row
fold and the first or last column fold, so the folds fall into at most nine classes and every
sum over folds is a sum over classes times their counts. Per fold (the analytical model's
traffic, placed where it is needed):

- ifmap (os/ws): the first column fold's pass fetches ``pass_words`` (``closed_form._traffic``),
  each later pass what the working half could not keep, each fold its share of its rows;
  is: the whole ifmap once, each fold its tile's share;
- filter: os: each column fold's tile on its first row fold, then on every row fold the part of
  it beyond the working half; ws: the fold's weight tile; is: the first column fold loads the
  filter slice of each row fold, later column folds re-fetch what did not stay;
- ofmap port: os: the fold's outputs; ws/is: the last row fold's outputs, and the partial sums
  of the column tile that do not fit the working half, written after each row fold but the last
  and read back before each but the first.

Time follows a double buffer with a queue on the write port (the event-driven oracle in
``tests/simulators/systolic/test_cycle.py`` checks it):

- ``fill``: fold 0's reads, at the read bandwidth (the slower port decides);
- fold ``f >= 1``: its reads run during fold ``f - 1``; the array stalls by what they take
  beyond that fold's compute time;
- the write port drains at its bandwidth, outputs queue behind it (the ofmap scratchpad is only
  the queue's storage: it decides what spills, the queue never blocks the array); after the
  last fold, the queue's backlog beyond the last fold's own outputs is counted as stall, those
  outputs as ``drain``.

``fold_times`` evaluates this in closed form for ``(D, L)`` designs x layers (the batched
cycle-level path); ``fold_trace`` steps one layer fold by fold for a :class:`FoldTrace`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from archgym.simulators.systolic.closed_form import CEIL_SLACK

__all__ = ["fold_params", "fold_times", "fold_trace", "fold_values"]


def _ceil_div(a: Any, b: Any) -> Any:
    return -(-a // b)


def fold_values(p: dict[str, Any], i_first, i_last, j_first, j_last) -> tuple[Any, ...]:
    """(ifmap, filter, ofmap writes, partial-sum reads) words of the folds of one class.

    ``p`` holds the layer geometry and traffic of one dataflow (see :func:`fold_params`); the
    flags may be booleans or arrays broadcasting against ``p``'s arrays. Entries ``if_scale``
    and ``f_scale`` in ``p`` multiply the words of the two read ports (``operand_scale``:
    :mod:`archgym.simulators.systolic.timing`).
    """
    ifmap, filt, writes, reads = _fold_words(p, i_first, i_last, j_first, j_last)
    if "if_scale" in p:
        return ifmap * p["if_scale"], filt * p["f_scale"], writes, reads
    return ifmap, filt, writes, reads


def _fold_words(p: dict[str, Any], i_first, i_last, j_first, j_last) -> tuple[Any, ...]:
    df = p["df"]
    used_r = np.where(i_last, p["last_r"], p["rows"])
    used_c = np.where(j_last, p["last_c"], p["cols"])
    k, n = p["k"], p["n"]
    if df == 2:
        ifmap = p["if_dram"] * (used_r * used_c) / (p["sr"] * p["sc"])
        filt = np.where(j_first, n * used_r, p["f_refetch"] * used_r / p["sr"])
    else:
        ifmap = np.where(j_first, p["pass_words"], p["if_refetch"]) * used_r / p["sr"]
        if df == 0:
            filt = np.where(i_first, k * used_c, np.maximum(k * used_c - p["h_f"], 0))
            return ifmap, filt, used_r * used_c, 0
        filt = used_r * used_c
    spill = np.maximum(p["stream"] * used_c - p["h_o"], 0)
    writes = np.where(i_last, p["stream"] * used_c, spill)
    reads = np.where(i_first, 0, spill)
    return ifmap, filt, writes, reads


def fold_params(design: Any, m: Any, n: Any, k: Any, u_if: Any, band: Any) -> dict[str, Any]:
    """Geometry and traffic of the default model's folds for (D, L) arrays (or scalars).

    ``design`` is a :class:`~archgym.simulators.systolic.closed_form.Design` of one dataflow
    (``design.df`` a Python int).
    """
    rows, cols, df = design.rows, design.cols, design.df
    if df == 0:
        sr, sc, t, skew = m, n, k, rows + cols - 2
    else:
        sr, sc, t = (k, n, m) if df == 1 else (k, m, n)
        skew = 2 * rows + cols - 2
    fr, fc = _ceil_div(sr, rows), _ceil_div(sc, cols)
    h_if, h_f = design.words_if // 2, design.words_f // 2
    window = np.maximum(u_if if df == 1 else band, 1)
    pass_words = u_if + (m * k - u_if) * np.maximum(window - h_if, 0) // window
    return {
        "df": df,
        "per_fold": t + skew,
        "rows": rows,
        "cols": cols,
        "m": m,
        "n": n,
        "k": k,
        "sr": sr,
        "sc": sc,
        "fr": fr,
        "fc": fc,
        "last_r": sr - (fr - 1) * rows,
        "last_c": sc - (fc - 1) * cols,
        "h_f": h_f,
        "h_o": design.words_o // 2,
        "stream": m if df == 1 else n,
        "pass_words": pass_words,
        "if_refetch": np.maximum(pass_words - h_if, 0),
        "f_refetch": np.maximum(k * n - h_f, 0),
        "if_dram": pass_words,  # is: one pass
    }


def _classes(count: Any) -> list[tuple[bool, Any, Any]]:
    """(is first, is last, how many folds) of the first / middle / last class of ``count``."""
    return [
        (True, count == 1, np.ones_like(count)),
        (False, False, np.maximum(count - 2, 0)),
        (False, True, (count >= 2).astype(np.int64)),
    ]


def fold_times(p: dict[str, Any], rbw: Any, wbw: Any) -> tuple[Any, Any, Any]:
    """(stall, fill, drain) cycles per group of the default fold model, in closed form.

    Exact sums of the fold-by-fold recurrences (``fold_trace``) over fold classes; NaN
    bandwidth (CALC mode) gives zeros.
    """
    per_fold = p["per_fold"]
    rows_c, cols_c = _classes(p["fr"]), _classes(p["fc"])
    fold0 = fold_values(p, True, p["fr"] == 1, True, p["fc"] == 1)
    fill = np.maximum(fold0[0], fold0[1]) / rbw
    read_stall = 0.0
    vals = {}
    for a, (i_first, i_last, ci) in enumerate(rows_c):
        for b, (j_first, j_last, cj) in enumerate(cols_c):
            ifm, flt, writes, reads = fold_values(p, i_first, i_last, j_first, j_last)
            ofm = writes + reads
            stall = np.maximum(np.maximum(ifm, flt) / rbw - per_fold, 0.0)
            count = ci * cj - (1 if (a, b) == (0, 0) else 0)  # fold 0 is the fill
            read_stall = read_stall + count * stall
            # Fold 0 does not stall; a class holding it takes its stall away below.
            vals[a, b] = (ofm, stall)
    backlog = _write_backlog(p, vals, per_fold, wbw)
    # The last fold's own outputs (not the partial sums it reads back) drain after it.
    last = p["last_c"] * (p["last_r"] if p["df"] == 0 else p["stream"])
    with np.errstate(invalid="ignore"):
        write_stall = np.maximum(backlog - last, 0.0) / wbw
        stall = _ceil_nan0(read_stall + write_stall)
        return stall, _ceil_nan0(fill), _ceil_nan0(last / wbw)


def _ceil_nan0(x: Any) -> Any:
    return np.where(np.isnan(x), 0, np.ceil(x - CEIL_SLACK)).astype(np.int64)


def _write_backlog(p, vals, per_fold, wbw):
    """Words queued at the write port when the last fold ends (Lindley recursion in closed form).

    ``B = max over folds s of (o_s + sum over later folds f of (o_f - wbw * span_f))``. Along
    the middle row folds (and the middle column folds) that sum is linear in ``s``, so the
    maximum is at an end of each run: 4 x 4 candidate folds suffice.
    """
    fr, fc = p["fr"], p["fc"]
    nets: dict[tuple[int, int], Any] = {}

    def net(a: int, b: int) -> Any:
        if (a, b) not in nets:
            ofm, stall = vals[a, b]
            nets[a, b] = ofm - wbw * (per_fold + stall)
        return nets[a, b]

    def block_net(b: int) -> Any:  # one column block of class b (never class 0: fold 0)
        return net(0, b) + np.maximum(fr - 2, 0) * net(1, b) + np.where(fr >= 2, net(2, b), 0.0)

    def suffix_in_block(i: Any, b: int) -> Any:  # row folds after i in a block of class b
        return np.maximum(fr - 2 - i, 0) * net(1, b) + np.where(i < fr - 1, net(2, b), 0.0)

    blocks = (block_net(1), block_net(2))

    def blocks_after(j: Any) -> Any:
        mids = np.maximum(fc - 2 - j, 0)
        return mids * blocks[0] + np.where(j < fc - 1, blocks[1], 0.0)

    best = 0.0
    for i in (0, 1, fr - 2, fr - 1):
        i = np.clip(i, 0, fr - 1)
        a = np.where(i == 0, 0, np.where(i == fr - 1, 2, 1))
        # what the folds of row class aa from row fold i on add in a block of column class bb
        suffix = [suffix_in_block(i, bb) for bb in range(3)]
        here = [vals[aa, bb][0] + suffix[bb] for aa in range(3) for bb in range(3)]
        for j in (0, 1, fc - 2, fc - 1):
            j = np.clip(j, 0, fc - 1)
            b = np.where(j == 0, 0, np.where(j == fc - 1, 2, 1))
            # (i, j) is in exactly one class: the value of that class (as a sum of nine
            # masked terms, eight of them zero, would give)
            best = np.maximum(best, blocks_after(j) + np.choose(3 * a + b, here))
    return best


def fold_trace(p: dict[str, Any], rbw: float, wbw: float) -> dict[str, np.ndarray]:
    """Step one layer (scalar ``p``) fold by fold: per-fold words, stalls and start cycles.

    Returns ``ifmap``, ``filter``, ``writes``, ``reads`` (words per fold), ``stall`` (float cycles before
    each fold), ``backlog`` (words queued at the write port after each fold) and ``fill``.
    """
    fr, fc, per_fold = int(p["fr"]), int(p["fc"]), int(p["per_fold"])
    fold = np.arange(fr * fc)
    i, j = fold % fr, fold // fr
    ifm, flt, writes, reads = (
        v.astype(float) if np.shape(v) == fold.shape else np.full(fold.shape, v, dtype=float)
        for v in fold_values(p, i == 0, i == fr - 1, j == 0, j == fc - 1)
    )
    ofm = writes + reads
    fetch = np.maximum(ifm, flt) / rbw
    stall = np.zeros(fold.size)
    stall[1:] = np.maximum(fetch[1:] - per_fold, 0.0)
    if not np.isfinite(wbw):  # CALC mode (infinite bandwidth): nothing queues
        backlog = np.zeros(fold.size)
    else:  # Lindley: B_f = max(0, B_{f-1} - wbw * span_f) + o_f, solved with cumulative sums.
        cum_o, cum_s = np.cumsum(ofm), np.cumsum(per_fold + stall)
        start_term = np.concatenate(([0.0], cum_o[:-1])) - wbw * cum_s
        backlog = cum_o - wbw * cum_s - np.minimum.accumulate(start_term)
    return {
        "ifmap": ifm,
        "filter": flt,
        "writes": writes,
        "reads": reads,
        "stall": stall,
        "backlog": backlog,
        "fill": fetch[0],
    }
