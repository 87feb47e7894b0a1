"""``archgym/SystolicArray-v0``: size a systolic-array accelerator for a network."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from archgym.cost_models.energy import DEFAULT_TABLE, TechTable
from archgym.env import ArchGymEnv
from archgym.errors import unknown_name
from archgym.objective import Objective
from archgym.simulators.common import InfeasibleDesign
from archgym.simulators.systolic import (
    FIDELITIES,
    WORKLOAD_METRICS,
    ArrayConfig,
    ConvLayer,
    GemmLayer,
    evaluate,
    evaluate_batch,
)
from archgym.space import Categorical, Constraint, DesignSpace, PowerOfTwo
from archgym.workloads import get_workload, workload_family
from archgym.workloads.gemms import GemmShape

__all__ = ["FIDELITIES", "METRICS", "SystolicArrayEnv", "array_config", "workload_layers"]

METRICS = WORKLOAD_METRICS
#: The design that normalises observations: 32x32 os, 64 KiB scratchpads, 16 words/cycle.
REFERENCE = {
    "rows": 32,
    "cols": 32,
    "dataflow": "os",
    "ifmap_sram_kib": 64,
    "filter_sram_kib": 64,
    "ofmap_sram_kib": 64,
    "bandwidth": 16,
}


def workload_layers(workload: str | Sequence[Any]) -> tuple[tuple[Any, ...], np.ndarray]:
    """Distinct layers of a workload and how many times each runs.

    ``workload`` is a network name (``archgym.workloads.list_workloads("networks")``), a GEMM set
    name (``list_workloads("gemms")``, each shape run ``count`` times) or a list of
    ``ConvLayer`` / ``GemmLayer`` / ``GemmShape`` objects. Identical layers are merged, so a
    transformer's repeated blocks cost one evaluation each.
    """
    if isinstance(workload, str):
        family = workload_family(workload)
        if family not in ("networks", "gemms"):
            raise ValueError(
                f"workload {workload!r} is a {family} workload; this env needs layers or GEMMs"
            )
        workload = get_workload(workload)
    counts: Counter = Counter()
    for i, item in enumerate(workload):
        if isinstance(item, (ConvLayer, GemmLayer)):
            counts[item] += 1
        elif isinstance(item, GemmShape):
            counts[GemmLayer.from_gemm(item)] += item.count
        else:
            raise ValueError(
                f"workload item {i} must be a ConvLayer, GemmLayer or GemmShape, but got {item!r}"
            )
    if not counts:
        raise ValueError("the workload is empty")
    layers = tuple(counts)
    return layers, np.array([counts[layer] for layer in layers], dtype=np.int64)


class SystolicArrayEnv(ArchGymEnv):
    """Choose the shape, dataflow, scratchpads and DRAM bandwidth of a systolic array.

    ## Description
    A one-step env over :mod:`archgym.simulators.systolic`: the SCALE-Sim-validated analytical model (or
    the fold-level timing model with ``fidelity="cycle"``) runs the whole workload; energy and
    area come from :mod:`archgym.cost_models.energy` (Horowitz 45 nm by default).

    ## Action space
    ``Dict`` of ``Discrete`` indices: ``rows``, ``cols`` (4..256, powers of two), ``dataflow``
    (os, ws, is), ``ifmap_sram_kib``, ``filter_sram_kib``, ``ofmap_sram_kib`` (8..2048, powers of
    two), ``bandwidth`` (DRAM words/cycle per port: 1..64, powers of two).
    Constraints: ``rows * cols <= max_pes``; with ``max_area_mm2``, the design's area.

    ## Observation space
    ``cycles, latency_s, energy_pj, area_mm2, utilisation, dram_bytes, stall_cycles`` divided by
    those of a reference design (32x32 os, 64 KiB each, 16 words/cycle).

    ## Reward
    The objective (default ``"edp"``: minus energy x latency in pJ*s).

    ## Episode end
    After one step.

    ## Arguments
    * ``workload``: a network or GEMM-set name, or a list of layers; default ``"resnet18"``.
    * ``objective``: any objective spec.
    * ``fidelity``: ``"analytical"`` (default) or ``"cycle"``.
    * ``max_pes``: PE budget (default 16384); ``max_area_mm2``: area budget (default none).
    * ``precision``, ``clock_mhz``, ``table``: operand type, clock and technology table.
    * The options of every env (``backend``, ``action_space``, ``reward_scale``...):
      :class:`archgym.env.ArchGymEnv`.

    ## Version history
    * v0: first version.
    """

    def __init__(
        self,
        workload: str | Sequence[Any] = "resnet18",
        objective: Objective | str | Mapping[str, Any] = "edp",
        *,
        fidelity: str = "analytical",
        max_pes: int = 16384,
        max_area_mm2: float | None = None,
        precision: str = "int8",
        clock_mhz: float = 1000.0,
        table: TechTable = DEFAULT_TABLE,
        **options: Any,
    ) -> None:
        if fidelity not in FIDELITIES:
            raise unknown_name("fidelity", fidelity, FIDELITIES)
        self.layers, self.counts = workload_layers(workload)
        self.fidelity = fidelity
        self.precision = precision
        self.clock_mhz = clock_mhz
        self.table = table
        constraints: list[Any] = [f"rows * cols <= {int(max_pes)}"]
        if max_area_mm2 is not None:
            # Area is linear in the PE count and the SRAM KiB, so the budget is an expression the
            # design space can check (and count) vectorised.
            pe = table.pe_area(precision)
            kib = table.sram_area_mm2_per_kib
            constraints.append(
                Constraint(
                    f"rows * cols * {pe!r} + (ifmap_sram_kib + filter_sram_kib + ofmap_sram_kib)"
                    f" * {kib!r} <= {float(max_area_mm2)!r}",
                    name=f"area_mm2 <= {float(max_area_mm2):g}",
                )
            )
        space = DesignSpace(
            [
                PowerOfTwo("rows", 4, 256),
                PowerOfTwo("cols", 4, 256),
                Categorical("dataflow", ["os", "ws", "is"]),
                PowerOfTwo("ifmap_sram_kib", 8, 2048),
                PowerOfTwo("filter_sram_kib", 8, 2048),
                PowerOfTwo("ofmap_sram_kib", 8, 2048),
                PowerOfTwo("bandwidth", 1, 64),
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

    def config_from_design(self, design: Mapping[str, Any]) -> ArrayConfig:
        return array_config(design, clock_mhz=self.clock_mhz, precision=self.precision)

    def evaluate_config(self, config: ArrayConfig) -> dict[str, float]:
        return evaluate(config, self.layers, self.counts, fidelity=self.fidelity, table=self.table)

    def evaluate_designs(self, designs: Sequence[Mapping[str, Any]]) -> dict[str, np.ndarray]:
        # Every design of the space is a valid ArrayConfig: skip building one per design.
        columns = {k: np.array([d[k] for d in designs]) for k in _COLUMNS}
        columns["read_bw_words"] = columns["write_bw_words"] = np.array(
            [d["bandwidth"] for d in designs], dtype=float
        )
        return evaluate_batch(
            columns,
            self.layers,
            self.counts,
            fidelity=self.fidelity,
            precision=self.precision,
            clock_mhz=self.clock_mhz,
            table=self.table,
        )

    def evaluate_configs(self, configs: Sequence[ArrayConfig]) -> dict[str, np.ndarray]:
        return evaluate_batch(
            configs, self.layers, self.counts, fidelity=self.fidelity, table=self.table
        )


_COLUMNS = ("rows", "cols", "dataflow", "ifmap_sram_kib", "filter_sram_kib", "ofmap_sram_kib")


def array_config(design: Mapping[str, Any], *, clock_mhz: float, precision: str) -> ArrayConfig:
    """The array config of a design with ``rows, cols, dataflow, *_sram_kib, bandwidth``
    (DRAM words/cycle per port); ``InfeasibleDesign`` if the config is invalid."""
    try:
        return ArrayConfig(
            rows=int(design["rows"]),
            cols=int(design["cols"]),
            dataflow=str(design["dataflow"]),
            ifmap_sram_kib=design["ifmap_sram_kib"],
            filter_sram_kib=design["filter_sram_kib"],
            ofmap_sram_kib=design["ofmap_sram_kib"],
            read_bw_words=design["bandwidth"],
            write_bw_words=design["bandwidth"],
            clock_mhz=clock_mhz,
            precision=precision,
        )
    except ValueError as exc:
        raise InfeasibleDesign(str(exc)) from None
