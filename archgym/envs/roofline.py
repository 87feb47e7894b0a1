"""``archgym/GemmRoofline-v0``: size a GEMM accelerator under a roofline model."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from archgym.env import ArchGymEnv
from archgym.objective import Objective
from archgym.simulators.roofline import METRICS, RooflineConfig, simulate_gemms
from archgym.space import Categorical, DesignSpace, PowerOfTwo
from archgym.workloads import get_workload, workload_family
from archgym.workloads.gemms import GemmShape

__all__ = ["GemmRooflineEnv", "gemm_rows"]

REFERENCE = {"rows": 32, "cols": 32, "buffer_kib": 1024, "clock_mhz": 1000, "dram_gbps": 102.4}


def gemm_rows(workload: str | Sequence[Any]) -> list[tuple[int, int, int, int]]:
    """``(M, N, K, count)`` rows of a GEMM workload name or a list of shapes / tuples."""
    if isinstance(workload, str):
        family = workload_family(workload)
        if family != "gemms":
            raise ValueError(f"workload {workload!r} is a {family} workload; this env needs GEMMs")
        workload = get_workload(workload)
    rows = []
    for i, g in enumerate(workload):
        if isinstance(g, GemmShape):
            rows.append((g.m, g.n, g.k, g.count))
        elif isinstance(g, Mapping):
            rows.append((int(g["m"]), int(g["n"]), int(g["k"]), int(g.get("count", 1))))
        elif len(g) in (3, 4):
            rows.append((*(int(x) for x in g[:3]), int(g[3]) if len(g) == 4 else 1))
        else:
            raise ValueError(f"GEMM #{i} must be (M, N, K[, count]) or a mapping, but got {g!r}")
        if min(rows[-1]) < 1:
            raise ValueError(f"GEMM #{i} must have positive dimensions, but got {rows[-1]}")
    if not rows:
        raise ValueError("the GEMM workload is empty")
    return rows


class GemmRooflineEnv(ArchGymEnv):
    """Choose the PE array, buffer, clock and DRAM bandwidth of a GEMM accelerator.

    ## Description
    A one-step env over :mod:`archgym.simulators.roofline`: compute time from the PE array's folds,
    DRAM time from blocked-GEMM traffic given the buffer, latency the larger of the two per GEMM;
    energy and area from the Horowitz 45 nm table.

    ## Action space
    ``Dict`` of ``Discrete`` indices: ``rows``, ``cols`` (8..256, powers of two), ``buffer_kib``
    (64..8192), ``clock_mhz`` (500, 800, 1000, 1200), ``dram_gbps`` (25.6 .. 409.6).
    Constraint: ``rows * cols <= max_pes``.

    ## Observation space
    The metrics ``cycles, latency_s, energy_pj, area_mm2, power_w, utilisation, dram_bytes,
    compute_bound_fraction`` divided by those of a 32x32, 1 MiB, 1 GHz, 102.4 GB/s reference.

    ## Reward
    The objective (default ``"edp"``: minus energy x delay in pJ*s).

    ## Episode end
    After one step.

    ## Arguments
    * ``workload``: a GEMM workload name (``archgym.workloads.list_workloads("gemms")``) or a list
      of ``(M, N, K[, count])``; default ``"bert-base"``.
    * ``objective``: any objective spec; ``max_pes``: PE budget; ``precision``: operand type.
    * The options of every env (``backend``, ``action_space``, ``reward_scale``...):
      :class:`archgym.env.ArchGymEnv`.

    ## Version history
    * v0: first version.
    """

    def __init__(
        self,
        workload: str | Sequence[Any] = "bert-base",
        objective: Objective | str | Mapping[str, Any] = "edp",
        *,
        max_pes: int = 16384,
        precision: str = "int8",
        **options: Any,
    ) -> None:
        if isinstance(max_pes, bool) or not isinstance(max_pes, int) or max_pes < 64:
            raise ValueError(
                f"`max_pes` must be an integer >= 64 (an 8x8 array), but got {max_pes!r}"
            )
        self.gemms = gemm_rows(workload)
        self.precision = precision
        space = DesignSpace(
            [
                PowerOfTwo("rows", 8, 256),
                PowerOfTwo("cols", 8, 256),
                PowerOfTwo("buffer_kib", 64, 8192),
                Categorical("clock_mhz", [500, 800, 1000, 1200]),
                Categorical("dram_gbps", [25.6, 51.2, 102.4, 204.8, 409.6]),
            ],
            constraints=[f"rows * cols <= {int(max_pes)}"],
        )
        super().__init__(
            space=space,
            objective=objective,
            metric_names=METRICS,
            reference_design=REFERENCE,
            **options,
        )

    def config_from_design(self, design: Mapping[str, Any]) -> RooflineConfig:
        return RooflineConfig(precision=self.precision, **design)

    def evaluate_config(self, config: RooflineConfig) -> dict[str, float]:
        return simulate_gemms(config, self.gemms)
