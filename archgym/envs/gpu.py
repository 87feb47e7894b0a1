"""``archgym/GPUGemmTiling-v0``: choose the tile mapping of one GEMM kernel on a GPU."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from archgym.env import ArchGymEnv
from archgym.objective import Objective
from archgym.simulators.gpu import GemmModel, TileConfig, get_dtype
from archgym.simulators.gpu.devices import check_kind
from archgym.space import Categorical, DesignSpace, Integer, PowerOfTwo

__all__ = ["METRICS", "GPUGemmTilingEnv"]

METRICS = ("time_us", "tflops", "waves", "ctas_per_sm", "smem_kib", "hbm_bound")
#: A valid design of the space (the observations are normalised by the library's tile instead).
REFERENCE = {
    "block_m": 128,
    "block_n": 128,
    "block_k": 64,
    "num_warps": 4,
    "num_stages": 3,
    "split_k": 1,
}


class GPUGemmTilingEnv(ArchGymEnv):
    """Pick the CTA tile, warps, pipeline stages and K split of a GEMM kernel on a GPU.

    ## Description
    A one-step env over :mod:`archgym.simulators.gpu`: the tile-level analytical model (occupancy, wave
    quantisation, pipelined mainloop, HBM floor, launch cost) predicts the kernel time of
    ``C[m, n] = A[m, k] @ B[k, n]`` for the chosen mapping, with the efficiency constants
    calibrated on measured H100 Triton tile sweeps (``data/gpu/``). Tiles that overflow shared
    memory are infeasible results.

    ## Action space
    ``Dict`` of ``Discrete`` indices: ``block_m``, ``block_n`` (16..256, powers of two),
    ``block_k`` (16..128), ``num_warps`` (2, 4, 8), ``num_stages`` (1..7), ``split_k``
    (1, 2, 4, 8, 16).

    ## Observation space
    The metrics ``time_us, tflops, waves, ctas_per_sm, smem_kib, hbm_bound`` divided by those of
    the model's library (cuBLAS-like) choice for the same GEMM.

    ## Reward
    The objective (default ``"time_us"``: minus the predicted kernel time in microseconds).

    ## Episode end
    After one step.

    ## Arguments
    * ``m``, ``n``, ``k``: the GEMM sizes (default 4096 each).
    * ``dtype``: ``bf16``, ``fp16``, ``fp32``, ``fp8`` or ``int8``; ``kind``: ``dense`` or
      ``sparse24``; ``device``: ``h100-sxm`` (measured), ``h200-sxm`` or ``a100-sxm``.
    * ``objective``: any objective spec over the metrics above.

    ## Version history
    * v0: first version.
    """

    def __init__(
        self,
        m: int = 4096,
        n: int = 4096,
        k: int = 4096,
        dtype: str = "fp16",
        kind: str = "dense",
        device: str = "h100-sxm",
        objective: Objective | str | Mapping[str, Any] = "time_us",
        **options: Any,
    ) -> None:
        for name, value in (("m", m), ("n", n), ("k", k)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"`{name}` must be a positive integer, but got {value!r}")
        get_dtype(dtype)
        check_kind(kind)
        self.gemm = (m, n, k)
        self.dtype = dtype
        self.kind = kind
        self.model = GemmModel(device)
        space = DesignSpace(
            [
                PowerOfTwo("block_m", 16, 256),
                PowerOfTwo("block_n", 16, 256),
                PowerOfTwo("block_k", 16, 128),
                Categorical("num_warps", [2, 4, 8]),
                Integer("num_stages", 1, 7),
                Categorical("split_k", [1, 2, 4, 8, 16]),
            ]
        )
        super().__init__(
            space=space,
            objective=objective,
            metric_names=METRICS,
            reference_design=REFERENCE,
            **options,
        )

    def config_from_design(self, design: Mapping[str, Any]) -> tuple[TileConfig, str]:
        return TileConfig(**design), "triton"

    def reference_config(self) -> tuple[TileConfig, str]:
        # Observations are relative to the library's (cuBLAS-like) choice for the same GEMM.
        return self.model.library_tile(*self.gemm, self.dtype, self.kind), "library"

    def evaluate_config(self, config: tuple[TileConfig, str]) -> dict[str, float]:
        tile, backend = config
        m, n, k = self.gemm
        t_us = self.model.predict_us(m, n, k, self.dtype, self.kind, tile=tile, backend=backend)
        terms = self.model.breakdown(m, n, k, self.dtype, self.kind, tile=tile)
        return {
            "time_us": t_us,
            "tflops": 2.0 * m * n * k / t_us / 1e6,
            "waves": terms["waves"],
            "ctas_per_sm": terms["ctas_per_sm"],
            "smem_kib": terms["smem_bytes"] / 1024.0,
            "hbm_bound": float(terms["hbm_s"] >= terms["tiles_s"]),
        }
