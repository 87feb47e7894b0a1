"""`GemmModel`: predicted GEMM time for a shape, with the library's tile choice or a given tile.

>>> from archgym.simulators.gpu import GemmModel, TileConfig
>>> model = GemmModel("h100-sxm")
>>> model.predict_us(4096, 4096, 4096, "bf16")              # library (cuBLAS-like) choice
>>> model.predict_us(4096, 4096, 4096, "fp16", tile=TileConfig(128, 256, 64, 8, 4))
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict

import numpy as np
from archgym.simulators.common import InfeasibleDesign
from archgym.simulators.gpu.calibration import H100_EFFICIENCY
from archgym.simulators.gpu.devices import check_kind, get_device, get_dtype
from archgym.simulators.gpu.model import (
    SMALL_M,
    Efficiency,
    TileConfig,
    gemv_time_s,
    kernel_time_s,
    library_candidates,
    library_path,
)

__all__ = ["BACKENDS", "GemmModel"]

BACKENDS = ("library", "triton")
_TILE_KEYS = ("block_m", "block_n", "block_k", "num_warps", "num_stages", "split_k")


def _tile_arrays(tiles: Sequence[TileConfig]) -> dict[str, np.ndarray]:
    return {key: np.array([getattr(t, key) for t in tiles], dtype=float) for key in _TILE_KEYS}


def _library_min(m: np.ndarray, cand: dict[str, np.ndarray], t: np.ndarray) -> np.ndarray:
    """Fastest candidate per shape (rows of ``t``); the small-M tile only for m <= SMALL_M."""
    small = (cand["block_m"][None, :] <= SMALL_M) & (np.reshape(m, (-1, 1)) > SMALL_M)
    return np.where(small, np.inf, t).min(axis=1)


class GemmModel:
    """Analytical GEMM time model of one device.

    Args:
        device: a name from ``archgym.simulators.gpu.DEVICES`` or a ``GPUSpec``.
        efficiency: maps ``(dtype, kind, backend)`` to ``Efficiency``; defaults to the constants
            calibrated on the H100 training split (used for the other devices too, which is
            an extrapolation: only the H100 was measured).
    """

    def __init__(
        self,
        device: str = "h100-sxm",
        efficiency: Mapping[tuple[str, str, str], Efficiency] | None = None,
    ) -> None:
        self.device = get_device(device)
        self.efficiency = dict(H100_EFFICIENCY if efficiency is None else efficiency)

    def efficiency_for(self, dtype: str, kind: str, backend: str = "library") -> Efficiency:
        """The calibrated constants of (dtype, kind, backend).

        Only fp16 dense Triton tiles were measured, so a given tile of another dtype or kind
        uses those constants (the math rate stays the dtype's own, scaled by ``mma``); a
        library prediction without its own constants uses the fp16 dense library ones.
        """
        get_dtype(dtype)
        check_kind(kind)
        if backend not in BACKENDS:
            raise ValueError(f"unknown backend {backend!r}; valid: {', '.join(BACKENDS)}")
        for key in ((dtype, kind, backend), ("fp16", "dense", backend)):
            if key in self.efficiency:
                return self.efficiency[key]
        return Efficiency()

    def predict_batch_us(
        self,
        m,
        n,
        k,
        dtype: str,
        kind: str = "dense",
        tiles: Sequence[TileConfig] | None = None,
        backend: str | None = None,
    ) -> np.ndarray:
        """Times in microseconds for arrays of shapes of one dtype and kind.

        ``tiles`` (one per shape) fixes the mapping and defaults the backend to ``triton``;
        without it the fastest library candidate is taken (backend ``library``), or a
        matrix-vector kernel when m or n is 1.
        """
        m, n, k = (np.atleast_1d(np.asarray(x, dtype=float)) for x in (m, n, k))
        if np.any(m <= 0) or np.any(n <= 0) or np.any(k <= 0):
            raise ValueError("`m`, `n` and `k` must be positive")
        if tiles is None:
            eff = self.efficiency_for(dtype, kind, backend or "library")
            paths = library_path(n, k, dtype, kind)
            t = np.full(len(m), np.inf)
            for path in np.unique(paths):
                sel = paths == path
                cand = _tile_arrays(library_candidates(dtype, kind, str(path), self.device))
                t[sel] = _library_min(
                    m[sel],
                    cand,
                    kernel_time_s(
                        m[sel, None],
                        n[sel, None],
                        k[sel, None],
                        {key: v[None, :] for key, v in cand.items()},
                        dtype=dtype,
                        kind=kind,
                        device=self.device,
                        eff=eff,
                        path=str(path),
                    ),
                )
            if kind == "dense":
                gemv = gemv_time_s(m, n, k, dtype=dtype, device=self.device, eff=eff)
                t = np.minimum(t, gemv)
            return t * 1e6
        if len(tiles) != len(m):
            raise ValueError(f"need one tile per shape, got {len(tiles)} for {len(m)} shapes")
        eff = self.efficiency_for(dtype, kind, backend or "triton")
        t = kernel_time_s(
            m, n, k, _tile_arrays(tiles), dtype=dtype, kind=kind, device=self.device, eff=eff
        )
        return t * 1e6

    def predict_us(
        self,
        m: int,
        n: int,
        k: int,
        dtype: str = "bf16",
        kind: str = "dense",
        tile: TileConfig | None = None,
        backend: str | None = None,
    ) -> float:
        """Predicted kernel time of one GEMM in microseconds.

        Raises ``InfeasibleDesign`` when ``tile`` does not fit the device's shared memory or
        the device lacks the dtype.
        """
        t = float(
            self.predict_batch_us(m, n, k, dtype, kind, None if tile is None else [tile], backend)[
                0
            ]
        )
        if not np.isfinite(t):
            raise InfeasibleDesign(
                f"tile {tile} needs more shared memory than {self.device.name}'s "
                f"{self.device.smem_per_block_bytes} bytes per block"
            )
        return t

    def library_tile(
        self, m: int, n: int, k: int, dtype: str = "bf16", kind: str = "dense"
    ) -> TileConfig:
        """The candidate the model takes as the library's choice (its fastest).

        Its kernel path (``archgym.simulators.gpu.model.library_path``) is in ``breakdown()``.
        """
        path = str(library_path(n, k, dtype, kind))
        cands = library_candidates(dtype, kind, path, self.device)
        eff = self.efficiency_for(dtype, kind, "library")
        t = kernel_time_s(
            m,
            n,
            k,
            _tile_arrays(cands),
            dtype=dtype,
            kind=kind,
            device=self.device,
            eff=eff,
            path=path,
        )
        t = np.where([c.block_m <= SMALL_M < m for c in cands], np.inf, t)
        return cands[int(np.argmin(t))]

    def breakdown(
        self,
        m: int,
        n: int,
        k: int,
        dtype: str = "bf16",
        kind: str = "dense",
        tile: TileConfig | None = None,
    ) -> dict[str, float]:
        """The model's terms for one GEMM: time, tile, waves, mainloop and HBM times.

        ``path`` (in the result) is the library's kernel path (``gemv`` where the
        matrix-vector kernel wins; the tile terms are then those of the best tile), or ``tma``
        for a given tile.
        """
        backend = "library" if tile is None else "triton"
        path = str(library_path(n, k, dtype, kind)) if tile is None else "tma"
        tile = tile or self.library_tile(m, n, k, dtype, kind)
        eff = self.efficiency_for(dtype, kind, backend)
        t, terms = kernel_time_s(
            m,
            n,
            k,
            _tile_arrays([tile]),
            dtype=dtype,
            kind=kind,
            device=self.device,
            eff=eff,
            path=path,
            return_terms=True,
        )
        out = {"time_us": float(t[0]) * 1e6, **{k_: float(v) for k_, v in asdict(tile).items()}}
        out.update({key: float(np.asarray(v).ravel()[0]) for key, v in terms.items()})
        out["path"] = path
        if backend == "library" and kind == "dense":
            gemv_us = float(gemv_time_s(m, n, k, dtype=dtype, device=self.device, eff=eff)) * 1e6
            if gemv_us < out["time_us"]:  # the matrix-vector kernel wins, as in predict_us
                out.update(time_us=gemv_us, path="gemv")
        return out
