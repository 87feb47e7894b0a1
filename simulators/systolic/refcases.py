"""The stored SCALE-Sim cross-validation cases and what each row describes.

``tests/data/scalesim/cases.csv`` (written by ``experiments/systolic/make_scalesim_refs.py``)
has one row per SCALE-Sim run: ``rows, cols, dataflow, mode`` (``CALC`` or ``USER``), ``bw``
(words/cycle, used in USER mode), ``ifmap_kb, filter_kb, ofmap_kb``, ``layer`` (its name; ``DP``
marks a depthwise layer), ``kind`` (``gemm`` or ``conv``) and ``dims`` (``M N K`` or
``H W R S C K stride``). The generator, the tests and the benchmark read rows back with these
functions, so the meaning of a row is stated once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from archgym.simulators.systolic.config import ArrayConfig
from archgym.simulators.systolic.layers import ConvLayer, GemmLayer

__all__ = ["case_config", "case_layer"]


def case_layer(case: Mapping[str, Any]) -> ConvLayer | GemmLayer:
    """The layer of a case row (needs ``kind``, ``dims`` and ``layer``)."""
    dims = [int(x) for x in str(case["dims"]).split()]
    if case["kind"] == "gemm":
        return GemmLayer(*dims, name=case["layer"])
    h, w, r, s, c, k, stride = dims
    return ConvLayer(h, w, r, s, c, k, stride, depthwise="DP" in case["layer"], name=case["layer"])


def case_config(case: Mapping[str, Any], *, compat: bool = True) -> ArrayConfig:
    """The array of a case row; USER mode sets both DRAM bandwidths to ``bw`` words/cycle."""
    bw = float(case["bw"]) if case["mode"] == "USER" else None
    return ArrayConfig(
        rows=int(case["rows"]),
        cols=int(case["cols"]),
        dataflow=str(case["dataflow"]),
        ifmap_sram_kib=int(case["ifmap_kb"]),
        filter_sram_kib=int(case["filter_kb"]),
        ofmap_sram_kib=int(case["ofmap_kb"]),
        read_bw_words=bw,
        write_bw_words=bw,
        scalesim_compat=compat,
    )
