"""``archgym/SparseTensorCore-v0``: size a structured-sparse systolic engine for a pruned network."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from archgym.cost_models.energy import DEFAULT_TABLE, TechTable
from archgym.env import ArchGymEnv
from archgym.envs.systolic import array_config, workload_layers
from archgym.errors import closest, unknown_name
from archgym.objective import Objective
from archgym.simulators.common import InfeasibleDesign
from archgym.simulators.sparse import (
    PATTERN_SETS,
    SPACE_CHOICES,
    SparseConfig,
    SparseLayer,
    area_mm2,
    hardware_patterns,
)
from archgym.simulators.sparse.engine import execution_patterns
from archgym.simulators.sparse.evaluate import (
    FIDELITIES,
    METRICS,
    SparseWorkload,
    evaluate,
    evaluate_batch,
)
from archgym.simulators.sparse.modes import MODE_POLICIES, check_mode_policy
from archgym.space import Categorical, DesignSpace, PowerOfTwo
from archgym.workloads.sparse import WORKLOADS, sparsify

__all__ = [
    "FIDELITIES",
    "METRICS",
    "MODE_POLICIES",
    "PATTERN_SETS",
    "SparseTensorCoreEnv",
    "sparse_workload",
]


#: The design that normalises observations: 32x32 os, 2:4, 64 KiB scratchpads, 16 words/cycle.
REFERENCE = {
    "rows": 32,
    "cols": 32,
    "dataflow": "os",
    "patterns": "2:4",
    "ifmap_sram_kib": 64,
    "filter_sram_kib": 64,
    "ofmap_sram_kib": 64,
    "metadata_sram_kib": 16,
    "bandwidth": 16,
}


def sparse_workload(
    workload: str | Sequence[Any], pattern: str | None = None
) -> tuple[tuple[SparseLayer, ...], np.ndarray]:
    """Distinct sparse layers of a workload and how many times each runs.

    ``workload``: a sparse workload name (:data:`archgym.workloads.sparse.WORKLOADS`), a dense
    network or GEMM-set name pruned to ``pattern`` (default ``"2:4"``), or a list of
    ``SparseLayer`` / layers.
    """
    if isinstance(workload, str) and workload in WORKLOADS:
        if pattern is not None:
            raise ValueError(
                f"workload {workload!r} already has its pattern; `pattern` is for dense workloads"
            )
        items: Sequence[Any] = WORKLOADS[workload]()
    else:
        if isinstance(workload, str):
            try:
                layers, counts = workload_layers(workload)
            except ValueError:
                near = closest(workload, WORKLOADS)
                if near:
                    raise unknown_name("workload", workload, WORKLOADS) from None
                raise
            items = [layer for layer, c in zip(layers, counts, strict=True) for _ in range(c)]
        else:
            items = list(workload)
        dense = [x for x in items if not isinstance(x, SparseLayer)]
        if dense:
            pruned = iter(sparsify(dense, pattern or "2:4"))
            items = [x if isinstance(x, SparseLayer) else next(pruned) for x in items]
    counts: Counter = Counter(items)
    if not counts:
        raise ValueError("the workload is empty")
    layers = tuple(counts)
    return layers, np.array([counts[x] for x in layers], dtype=np.int64)


class SparseTensorCoreEnv(ArchGymEnv):
    """Choose the shape, supported sparsity patterns and buffers of a structured-sparse engine.

    ## Description
    A one-step env over :mod:`archgym.simulators.sparse` (the systolic-array model extended with N:M and
    V:N:M weight sparsity: compressed weights and metadata, select muxes, VENOM gather network).
    A layer whose pattern no supported pattern covers makes the design infeasible (or runs dense
    with ``dense_fallback=True``).

    ## Action space
    ``Dict`` of ``Discrete`` indices: ``rows``, ``cols`` (8..256, powers of two), ``dataflow``
    (os, ws, is), ``patterns`` (a key of :data:`archgym.simulators.sparse.PATTERN_SETS`: plain
    N:M up to 2:32 and V:N:M sets such as ``2:4+64:2:8..32`` with V in 16..128 and M up to 64),
    ``ifmap_sram_kib``, ``filter_sram_kib``, ``ofmap_sram_kib`` (16..2048),
    ``metadata_sram_kib`` (0 or 1..256), ``bandwidth`` (DRAM words/cycle per port, 1..64).
    Constraint: ``rows * cols <= max_pes``; with ``max_area_mm2``, the design's area.

    ## Observation space
    ``cycles, latency_s, energy_pj, area_mm2, utilisation, dram_bytes, stall_cycles`` over those
    of a reference design (32x32 os, 2:4, 64 KiB scratchpads, 16 KiB metadata, 16 words/cycle).
    ``utilisation`` is useful (nonzero) MACs per PE-cycle.

    ## Reward
    The objective (default ``"edp"``); multi-objective specs (``{"type": "multi", ...}``) work
    with any of the metrics.

    ## Episode end
    After one step.

    ## Arguments
    * ``workload``: a sparse workload name (``archgym.workloads.sparse.WORKLOADS``), a dense
      network / GEMM-set name pruned to ``pattern``, or a list of layers; default
      ``"resnet50-sparse"``.
    * ``pattern``: the pattern for a dense workload (default ``"2:4"``).
    * ``fidelity``: ``"analytical"`` (default) or ``"cycle"`` (fold-level stalls).
    * ``objective``, ``max_pes`` (16384), ``max_area_mm2``, ``precision`` (int8), ``clock_mhz``
      (1000), ``table``, ``dense_fallback`` (False).
    * ``mode_policy``: what each layer's execution mode minimises (:data:`MODE_POLICIES`):
      ``"latency"`` (default, the fastest mode), ``"energy"``, ``"edp"`` (the layer's energy x
      cycles) or ``"dram"``. It is not derived from ``objective``: the default ``"edp"``
      objective with the latency policy is v0's behaviour.
    * The options of every env (``backend``, ``action_space``, ``reward_scale``...):
      :class:`archgym.env.ArchGymEnv`.

    ## Version history
    * v0: first version; the V:N:M block height moved into the pattern set names (no free
      ``v``), patterns reach 2:64, ``metadata_sram_kib`` may be 0; ``mode_policy`` (default
      ``"latency"``: the numbers are unchanged).
    """

    def __init__(
        self,
        workload: str | Sequence[Any] = "resnet50-sparse",
        objective: Objective | str | Mapping[str, Any] = "edp",
        *,
        pattern: str | None = None,
        fidelity: str = "analytical",
        max_pes: int = 16384,
        max_area_mm2: float | None = None,
        precision: str = "int8",
        clock_mhz: float = 1000.0,
        table: TechTable = DEFAULT_TABLE,
        dense_fallback: bool = False,
        mode_policy: str = "latency",
        **options: Any,
    ) -> None:
        if fidelity not in FIDELITIES:
            raise unknown_name("fidelity", fidelity, FIDELITIES)
        self.mode_policy = check_mode_policy(mode_policy)
        self.fidelity = fidelity
        self.layers, self.counts = sparse_workload(workload, pattern)
        self.workload = SparseWorkload(self.layers, tuple(int(c) for c in self.counts))
        self.precision = precision
        self.clock_mhz = clock_mhz
        self.table = table
        self.dense_fallback = dense_fallback
        self._config_errors: dict[tuple, str | None] = {}  # see config_error
        constraints: list[Any] = [f"rows * cols <= {int(max_pes)}"]
        # The area of a pattern set is not an expression of the design: the budget is checked
        # on the config (an infeasible result naming it), which keeps the space serialisable.
        self.max_area_mm2 = None if max_area_mm2 is None else float(max_area_mm2)
        space = DesignSpace(
            [
                *(
                    PowerOfTwo(name, min(SPACE_CHOICES[name]), max(SPACE_CHOICES[name]))
                    for name in ("rows", "cols")
                ),
                Categorical("dataflow", list(SPACE_CHOICES["dataflow"])),
                # V is part of each V:N:M set's name: no free `v` that some sets ignore.
                Categorical("patterns", list(PATTERN_SETS)),
                *(
                    PowerOfTwo(name, min(SPACE_CHOICES[name]), max(SPACE_CHOICES[name]))
                    for name in ("ifmap_sram_kib", "filter_sram_kib", "ofmap_sram_kib")
                ),
                # 0: no metadata scratchpad (a dense-only engine needs none).
                Categorical("metadata_sram_kib", list(SPACE_CHOICES["metadata_sram_kib"])),
                PowerOfTwo("bandwidth", min(SPACE_CHOICES["bandwidth"]), 64),
            ],
            constraints=constraints,
        )
        super().__init__(
            space=space,
            objective=objective,
            metric_names=METRICS,
            reference_design=REFERENCE,
            **options,
        )

    def config_from_design(
        self, design: Mapping[str, Any], fallback: bool | None = None
    ) -> SparseConfig:
        array = array_config(design, clock_mhz=self.clock_mhz, precision=self.precision)
        try:
            config = SparseConfig(
                array,
                patterns=hardware_patterns(str(design["patterns"])),
                metadata_sram_kib=design["metadata_sram_kib"],
                dense_fallback=self.dense_fallback if fallback is None else fallback,
                mode_policy=self.mode_policy,
            )
        except ValueError as exc:
            raise InfeasibleDesign(str(exc)) from None
        if fallback is None and self.max_area_mm2 is not None:
            area = area_mm2(config, self.table)
            if area > self.max_area_mm2:
                raise InfeasibleDesign(
                    f"area {area:.4g} mm2 exceeds the budget max_area_mm2={self.max_area_mm2:g}"
                )
        return config

    def config_error(self, config: SparseConfig) -> str | None:
        """Why ``config``'s patterns cannot run every layer of the workload (what
        :func:`evaluate` would raise), or None; cached per (pattern set, dense fallback), the
        only inputs of that check."""
        key = (config.patterns, config.dense_fallback)
        if key not in self._config_errors:
            try:
                execution_patterns(config, self.layers)
                self._config_errors[key] = None
            except InfeasibleDesign as exc:
                self._config_errors[key] = str(exc)
        return self._config_errors[key]

    def reference_config(self) -> SparseConfig:
        # The reference runs every layer (dense where its pattern is unsupported) to normalise.
        return self.config_from_design(self.reference_design, fallback=True)

    def evaluate_config(self, config: SparseConfig) -> dict[str, float]:
        return evaluate(config, self.workload, fidelity=self.fidelity, table=self.table)

    def evaluate_configs(self, configs: Sequence[SparseConfig]) -> dict[str, np.ndarray]:
        # the backend passes only configs without a config_error: every one runs
        return evaluate_batch(configs, self.workload, fidelity=self.fidelity, table=self.table)
