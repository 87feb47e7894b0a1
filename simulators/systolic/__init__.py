"""Systolic-array accelerator models: analytical (closed form, batched) and fold-level timing,
SCALE-Sim file formats and reports, energy and area.

>>> from simulators.systolic import ArrayConfig, GemmLayer, analyze
>>> int(analyze(ArrayConfig(rows=8, cols=8), [GemmLayer(64, 64, 64)])["compute_cycles"][0])
4992
"""

from simulators.systolic.analytical import METRICS, analyze, analyze_batch, designs_from_configs
from simulators.systolic.config import DATAFLOWS, ArrayConfig
from simulators.systolic.cycle import CycleResult, FoldTrace, simulate
from simulators.systolic.layers import ConvLayer, GemmLayer, Layer

__all__ = [
    "DATAFLOWS",
    "METRICS",
    "ArrayConfig",
    "ConvLayer",
    "CycleResult",
    "FoldTrace",
    "GemmLayer",
    "Layer",
    "analyze",
    "analyze_batch",
    "designs_from_configs",
    "simulate",
]
