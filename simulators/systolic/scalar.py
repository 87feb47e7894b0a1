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
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from archgym.simulators.systolic.config import ArrayConfig
from archgym.simulators.systolic.layers import ConvLayer, GemmLayer, Layer
from archgym.simulators.systolic.metrics import METRICS

__all__ = ["analyze_scalar"]

# Output order of the per-layer tuples below (a subset of METRICS, see _assemble).
_INT_KEYS = (
    "compute_cycles",
    "stall_cycles",
    "cycles",
    "fill_cycles",
    "drain_cycles",
    "total_cycles",
    "folds",
    "macs",
    "ifmap_sram_reads",
    "filter_sram_reads",
    "ofmap_sram_writes",
    "ofmap_sram_reads",
    "ifmap_dram_reads",
    "filter_dram_reads",
    "ofmap_dram_writes",
    "ofmap_dram_reads",
    "dram_words",
)
_FLOAT_KEYS = ("mapping_efficiency", "compute_utilisation", "utilisation")
# Position in _INT_KEYS + _FLOAT_KEYS of each of METRICS.
_ORDER = tuple((_INT_KEYS + _FLOAT_KEYS).index(key) for key in METRICS)
_NO_CAPACITY = np.iinfo(np.int64).max // 4  # as analytical._calc_capacity


@lru_cache(maxsize=4096)
def _layer_row(layer: Layer) -> tuple[int, int, int, int, int, int, int]:
    """(M, N, K, groups, distinct inputs, same with padding, band words) of a layer."""
    m, n, k = layer.gemm_shape()
    return (
        m,
        n,
        k,
        layer.groups,
        layer.ifmap_words(),
        layer.ifmap_words(include_padding=True),
        layer.band_words(),
    )


def _rows(layers: Sequence[Layer]) -> list[tuple[int, ...]]:
    if len(layers) == 0:
        raise ValueError("a workload needs at least one layer, but got none")
    out = []
    for i, layer in enumerate(layers):
        if not isinstance(layer, (ConvLayer, GemmLayer)):
            raise ValueError(f"layer {i} must be a ConvLayer or GemmLayer, but got {layer!r}")
        out.append(_layer_row(layer))
    return out


def _calc_capacity(words: int) -> int:
    per_set = words // 100
    return 50 * per_set if per_set > 0 else _NO_CAPACITY


def _partial_drain_line(writes: int, words: int, cols: int) -> bool:
    """Scalar twin of ``analytical._partial_drain_line``."""
    drain = words // 2
    return drain % cols == 0 and drain >= 2 * cols and writes >= drain + 2


def _os_filter_calc(k: int, n: int, cols: int, fr: int, fc: int, cap: int) -> int:
    """Scalar twin of ``analytical._os_filter_calc`` (see there for the model)."""
    n_full = fc - 1
    t_full = k * cols
    t_last = k * (n - n_full * cols)
    multi = fr >= 2
    if t_full >= cap:
        full, fill = n_full * fr * t_full, (n_full * fr * t_full) % cap
    elif not multi:
        full, fill = n_full * t_full, (n_full * t_full) % cap
    else:
        j = max(-(-cap // t_full) - 1, 1)
        full, fill = n_full * t_full, n_full * t_full
        if n_full > j:
            q, rr = divmod(n_full - j - 1, j)
            full += (1 + q) * (cap - j * t_full)
            fill = t_full + rr * t_full
    if t_last >= cap:
        return full + fr * t_last
    return full + t_last + (cap - fill if multi and fill + t_last >= cap else 0)


def analyze_scalar(config: ArrayConfig, layers: Sequence[Layer]) -> dict[str, np.ndarray]:
    """:func:`~archgym.simulators.systolic.analytical.analyze` in pure Python; same outputs."""
    compat = config.scalesim_compat
    rows, cols, df = config.rows, config.cols, config.dataflow
    is_os, is_ws, is_is = df == "os", df == "ws", df == "is"
    words = {op: config.sram_words(op) for op in ("ifmap", "filter", "ofmap")}
    half = {op: w // 2 for op, w in words.items()}
    rbw, wbw = config.read_bw_words, config.write_bw_words
    calc = compat and rbw is None
    fit_if = _calc_capacity(words["ifmap"]) - 1 if calc else half["ifmap"]
    fit_f = _calc_capacity(words["filter"]) - 1 if calc else half["filter"]
    pes = rows * cols
    skew = rows + cols - 2 if is_os else 2 * rows + cols - 2
    ints, floats = [], []
    for m, n, k, groups, u_plain, u_padded, band in _rows(layers):
        sr = m if is_os else k
        sc = m if is_is else n
        t = k if is_os else (m if is_ws else n)
        fr = -(-sr // rows)
        fc = -(-sc // cols)
        folds = fr * fc
        per_fold = t + skew
        compute = folds * per_fold - (1 if compat else 0)
        util_cycles = per_fold + cols - 1 if compat and not is_os else per_fold
        mk, kn, mn = m * k, k * n, m * n
        if_sram = mk if is_is else fc * mk
        f_sram = fr * kn if is_os else (kn if is_ws else fc * kn)
        o_sram = mn if is_os else fr * mn
        if compat and is_os:
            o_sram += folds * (rows + cols)
        o_sram_reads = 0 if compat or is_os else (fr - 1) * mn

        u_if = u_padded if compat else u_plain
        tile_cols = min(cols, sc)
        if u_if <= fit_if:
            if_dram = u_if
        else:
            if_pass = u_if if band <= fit_if and not is_ws else mk
            if_dram = if_pass if is_is else fc * if_pass
        if_dram = min(if_dram, if_sram)
        if calc and is_os:
            f_dram = _os_filter_calc(k, n, cols, fr, fc, _calc_capacity(words["filter"]))
        elif is_os:
            f_dram = kn if k * tile_cols <= fit_f else fr * kn
        elif is_ws:
            f_dram = kn
        else:
            f_dram = kn if kn <= fit_f else fc * kn
        f_dram = min(f_dram, f_sram)
        out_tile = m * tile_cols if is_ws else n * tile_cols
        if compat:
            o_dram_w, o_dram_r = (mn if is_os else fr * mn), 0
            if calc and _partial_drain_line(o_dram_w, words["ofmap"], cols):
                o_dram_w += cols - 1
        elif is_os or out_tile <= half["ofmap"]:
            o_dram_w, o_dram_r = mn, 0
        else:
            o_dram_w, o_dram_r = fr * mn, (fr - 1) * mn

        stall = fill = drain = 0
        if rbw is not None:
            # as analytical._memory_time
            writes = o_dram_w + o_dram_r
            if_fill = min(if_dram, half["ifmap"])
            f_fill = min(f_dram, half["filter"])
            o_held = min(writes, 2 * half["ofmap"])
            stream = max(
                max(float(if_dram - if_fill), float(f_dram - f_fill)) / rbw,
                float(writes - o_held) / wbw,
            )
            stall = math.ceil(max(stream - compute, 0.0))
            fill = math.ceil(float(max(if_fill, f_fill)) / rbw)
            drain = math.ceil(float(o_held) / wbw)
        cycles = compute + stall
        macs = mn * k
        ints.append(
            (
                compute * groups,
                stall * groups,
                cycles * groups,
                fill * groups,
                drain * groups,
                (fill + cycles + drain) * groups,
                folds * groups,
                macs * groups,
                if_sram * groups,
                f_sram * groups,
                o_sram * groups,
                o_sram_reads * groups,
                if_dram * groups,
                f_dram * groups,
                o_dram_w * groups,
                o_dram_r * groups,
                (if_dram + f_dram + o_dram_w + o_dram_r) * groups,
            )
        )
        floats.append(
            (
                float(sr * sc) / float(pes * folds),
                float(sr * sc * t) / float(pes * folds * util_cycles),
                # as NumPy's x / 0 (a 1x1x1 layer on a 1x1 array in compat mode: 0 cycles)
                float(macs) / float(cycles * pes) if cycles else math.inf,
            )
        )
    return _assemble(ints, floats)


def _assemble(ints: list[tuple], floats: list[tuple]) -> dict[str, np.ndarray]:
    # Two array constructions for all metrics; each metric is a row view of one of them
    # (iterating a 2-D array is the cheapest way to make the 20 views).
    views = [*np.array(ints, dtype=np.int64).T, *np.array(floats, dtype=np.float64).T]
    return dict(zip(METRICS, [views[i] for i in _ORDER], strict=True))
