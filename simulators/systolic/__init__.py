"""Systolic-array accelerator models: analytical (closed form, batched) and fold-level timing,
SCALE-Sim file formats and reports, energy and area.

>>> from archgym.simulators.systolic import ArrayConfig, GemmLayer, analyze
>>> int(analyze(ArrayConfig(rows=8, cols=8), [GemmLayer(64, 64, 64)])["compute_cycles"][0])
4992
"""

from archgym.simulators.systolic.analytical import (
    METRICS,
    analyze,
    analyze_batch,
    designs_from_configs,
)
from archgym.simulators.systolic.config import DATAFLOWS, ArrayConfig
from archgym.simulators.systolic.cycle import CycleResult, FoldTrace, simulate, simulate_batch
from archgym.simulators.systolic.evaluate import (
    FIDELITIES,
    WORKLOAD_METRICS,
    evaluate,
    evaluate_batch,
)
from archgym.simulators.systolic.layers import ConvLayer, GemmLayer, Layer

__all__ = [
    "DATAFLOWS",
    "FIDELITIES",
    "METRICS",
    "WORKLOAD_METRICS",
    "ArrayConfig",
    "ConvLayer",
    "CycleResult",
    "FoldTrace",
    "GemmLayer",
    "Layer",
    "analyze",
    "analyze_batch",
    "designs_from_configs",
    "evaluate",
    "evaluate_batch",
    "simulate",
    "simulate_batch",
]
