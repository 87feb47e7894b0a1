"""Structured-sparse tensor engines: N:M and V:N:M patterns, a sparse extension of the systolic
array model with whole-workload evaluation (``evaluate``, ``evaluate_batch``), its design space
as data (``PATTERN_SETS``, ``SPACE_CHOICES``), and a GPU (tensor-core) instantiation.

>>> from archgym.simulators.sparse import SparseConfig, SparseLayer, analyze_sparse
>>> from archgym.simulators.systolic import ArrayConfig, GemmLayer
>>> cfg = SparseConfig(ArrayConfig(rows=8, cols=8), patterns=("2:4",))
>>> int(analyze_sparse(cfg, [SparseLayer(GemmLayer(64, 64, 64), "2:4")])["compute_cycles"][0])
2944
"""

from archgym.simulators.sparse.costs import (
    area_breakdown_mm2,
    area_mm2,
    energy_breakdown_pj,
    energy_pj,
)
from archgym.simulators.sparse.cycle import simulate_sparse
from archgym.simulators.sparse.engine import (
    SPARSE_METRICS,
    SparseConfig,
    SparseLayer,
    analyze_sparse,
    chosen_patterns,
    execution_patterns,
)
from archgym.simulators.sparse.evaluate import (
    FIDELITIES,
    METRICS,
    SparseWorkload,
    evaluate,
    evaluate_batch,
)
from archgym.simulators.sparse.hardware import (
    PATTERN_SETS,
    SPACE_CHOICES,
    duplicate_pattern_sets,
    hardware_patterns,
)
from archgym.simulators.sparse.patterns import (
    DENSE,
    VENOM_SELECT,
    Pattern,
    operand_bytes,
    parse_pattern,
)

__all__ = [
    "DENSE",
    "FIDELITIES",
    "METRICS",
    "PATTERN_SETS",
    "SPACE_CHOICES",
    "SPARSE_METRICS",
    "VENOM_SELECT",
    "Pattern",
    "SparseConfig",
    "SparseLayer",
    "SparseWorkload",
    "analyze_sparse",
    "area_breakdown_mm2",
    "area_mm2",
    "chosen_patterns",
    "duplicate_pattern_sets",
    "energy_breakdown_pj",
    "energy_pj",
    "evaluate",
    "evaluate_batch",
    "execution_patterns",
    "hardware_patterns",
    "operand_bytes",
    "parse_pattern",
    "simulate_sparse",
]
