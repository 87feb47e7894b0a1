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
from archgym.simulators.gpu.calibration import load_calibration
from archgym.simulators.gpu.devices import check_kind, get_device, get_dtype
from archgym.simulators.gpu.model import (
    SMALL_M,
    Efficiency,
    TileConfig,
    check_layout,
    gemv_time_s,
    kernel_time_s,
    leading_dims,
    library_candidates,
    library_path,
)
from archgym.simulators.gpu.sparse import sparse24_time_us

__all__ = ["BACKENDS", "GemmModel"]

BACKENDS = ("library", "triton")
# Predicted times closer than this (us) rank as a tie (``GemmModel.rank_tiles``).
TIE_US = 0.1
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
        efficiency: maps ``(dtype, kind, backend)`` to ``Efficiency``; defaults to the
            calibration shipped for the device (``calibration``).
        calibration: name of the device whose shipped calibration files to use (default: the
            device's own, or the H100's where none is shipped: an extrapolation). Pass
            ``"h100-sxm"`` for a zero-shot prediction of another GPU.

    Operand layouts (``a_major``, ``b_major``: ``row`` or ``col``, the storage order of A
    (m x k) and B (k x n)) default to row-major, what ``torch.mm(a, b)`` on contiguous tensors
    does, except fp8, which cuBLASLt runs only with a column-major B (``b_major`` defaults to
    ``col`` there and ``row`` is infeasible). int8 with a row-major B runs a WMMA ("nn") kernel
    on the mma.sync path, several times slower than the IMMA ("tn") kernel of a column-major
    B; the 16-bit and fp32 layouts change only which leading dimensions must be aligned.
    """

    def __init__(
        self,
        device: str = "h100-sxm",
        efficiency: Mapping[tuple[str, str, str], Efficiency] | None = None,
        calibration: str | None = None,
    ) -> None:
        self.device = get_device(device)
        if efficiency is None:
            efficiency = load_calibration(calibration or self.device.name)
        self.efficiency = dict(efficiency)

    def efficiency_for(self, dtype: str, kind: str, backend: str = "library") -> Efficiency:
        """The calibrated constants of (dtype, kind, backend).

        Only fp16 dense Triton tiles were measured, so a given tile of another dtype or kind
        uses those constants (the math rate stays the dtype's own, scaled by ``mma``); a
        library prediction without its own constants uses the fp16 dense library ones.
        """
        get_dtype(dtype)
        check_kind(kind)
        if backend not in (*BACKENDS, "wmma"):
            raise ValueError(f"unknown backend {backend!r}; valid: {', '.join(BACKENDS)}")
        keys = [(dtype, kind, backend), ("fp16", "dense", backend)]
        if backend == "wmma":  # no calibration of the nn kernel: the tn kernel's constants
            keys = [(dtype, kind, backend), (dtype, kind, "library")]
        return next((self.efficiency[key] for key in keys if key in self.efficiency), Efficiency())

    def _layout(self, dtype: str, a_major: str, b_major: str | None) -> tuple[str, str]:
        b_major = b_major or ("col" if dtype == "fp8" else "row")
        check_layout(a_major, b_major, dtype)
        return a_major, b_major

    def _library(self, dtype: str, kind: str, layout: tuple[str, str]) -> str:
        """Calibration key of the library kernel: ``wmma`` for int8 with a row-major B."""
        return "wmma" if dtype == "int8" and layout[1] == "row" else "library"

    def _library_batch_s(self, m, n, k, dtype, kind, layout) -> np.ndarray:
        eff = self.efficiency_for(dtype, kind, self._library(dtype, kind, layout))
        ld = leading_dims(m.astype(np.int64), n.astype(np.int64), k.astype(np.int64), *layout)
        paths = library_path(n, k, dtype, kind, ld=ld, device=self.device)
        if self._library(dtype, kind, layout) == "wmma":
            paths = np.full(len(m), "wmma")
        t = np.full(len(m), np.inf)
        for path in np.unique(paths):
            sel = paths == path
            cand = _tile_arrays(self._candidates(dtype, kind, str(path)))
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
                    ld=ld[sel, None],
                ),
            )
        if kind == "dense":
            gemv = gemv_time_s(m, n, k, dtype=dtype, device=self.device, eff=eff, layout=layout)
            t = np.minimum(t, gemv)
        return t

    def predict_batch_us(
        self,
        m,
        n,
        k,
        dtype: str,
        kind: str = "dense",
        tiles: Sequence[TileConfig] | None = None,
        backend: str | None = None,
        *,
        a_major: str = "row",
        b_major: str | None = None,
    ) -> np.ndarray:
        """Times in microseconds for arrays of shapes of one dtype, kind and layout.

        ``tiles`` (one per shape) fixes the mapping and defaults the backend to ``triton``
        (whose alignment rule is 16 elements, not 16 bytes); without it the fastest library
        candidate is taken (backend ``library``), or a matrix-vector kernel (``gemv_time_s``).
        Layouts: see the class docstring.
        """
        m, n, k = (np.atleast_1d(np.asarray(x, dtype=float)) for x in (m, n, k))
        if np.any(m <= 0) or np.any(n <= 0) or np.any(k <= 0):
            raise ValueError("`m`, `n` and `k` must be positive")
        layout = self._layout(dtype, a_major, b_major)
        if tiles is None:
            if backend not in (None, "library"):
                raise ValueError(f"backend {backend!r} needs tiles")
            if kind == "sparse24":  # the library's 2:4 kernel: the one cuSPARSELt model
                return np.asarray(sparse24_time_us(self.device, m, n, k, dtype), dtype=float)
            return self._library_batch_s(m, n, k, dtype, kind, layout) * 1e6
        if len(tiles) != len(m):
            raise ValueError(f"need one tile per shape, got {len(tiles)} for {len(m)} shapes")
        eff = self.efficiency_for(dtype, kind, backend or "triton")
        ld = leading_dims(m.astype(np.int64), n.astype(np.int64), k.astype(np.int64), *layout)
        t = kernel_time_s(
            m,
            n,
            k,
            _tile_arrays(tiles),
            dtype=dtype,
            kind=kind,
            device=self.device,
            eff=eff,
            ld=ld,
            rule="triton" if (backend or "triton") == "triton" else "library",
        )
        return t * 1e6

    def rank_tiles(
        self,
        m: int,
        n: int,
        k: int,
        dtype: str,
        tiles: Sequence[TileConfig],
        kind: str = "dense",
        *,
        a_major: str = "row",
        b_major: str | None = None,
        tie_us: float = TIE_US,
    ) -> list[int]:
        """Indices of ``tiles`` (Triton mappings of one shape), predicted fastest first.

        Predicted times within ``tie_us`` of each other count as a tie: typically every
        tile that the HBM floor bounds. A tie goes to the tile whose own pipeline (waves of
        mainloop and epilogue) is shorter, since a kernel overlaps its tile pipeline with the
        HBM stream imperfectly, then to the one with more stages (more loads in flight).
        """
        layout = self._layout(dtype, a_major, b_major)
        size = np.full(len(tiles), 1.0)
        m_, n_, k_ = m * size, n * size, k * size
        ld = leading_dims(*(x.astype(np.int64) for x in (m_, n_, k_)), *layout)
        t, terms = kernel_time_s(
            m_,
            n_,
            k_,
            _tile_arrays(tiles),
            dtype=dtype,
            kind=kind,
            device=self.device,
            eff=self.efficiency_for(dtype, kind, "triton"),
            return_terms=True,
            ld=ld,
            rule="triton",
        )
        keys = [
            (np.floor(t[i] * 1e6 / tie_us), terms["tiles_s"][i], -tiles[i].num_stages)
            for i in range(len(tiles))
        ]
        return sorted(range(len(tiles)), key=lambda i: keys[i])

    def predict_us(
        self,
        m: int,
        n: int,
        k: int,
        dtype: str = "bf16",
        kind: str = "dense",
        tile: TileConfig | None = None,
        backend: str | None = None,
        *,
        a_major: str = "row",
        b_major: str | None = None,
    ) -> float:
        """Predicted kernel time of one GEMM in microseconds.

        Raises ``InfeasibleDesign`` when ``tile`` does not fit the device's shared memory, the
        device lacks the dtype, or the layout does not exist for it (fp8 with row-major B).
        """
        tiles = None if tile is None else [tile]
        t = self.predict_batch_us(
            m, n, k, dtype, kind, tiles, backend, a_major=a_major, b_major=b_major
        )
        t = float(t[0])
        if not np.isfinite(t):
            raise InfeasibleDesign(
                f"tile {tile} needs more shared memory than {self.device.name}'s "
                f"{self.device.smem_per_block_bytes} bytes per block"
            )
        return t

    def library_tile(
        self,
        m: int,
        n: int,
        k: int,
        dtype: str = "bf16",
        kind: str = "dense",
        *,
        a_major: str = "row",
        b_major: str | None = None,
    ) -> TileConfig:
        """The candidate the model takes as the library's choice (its fastest).

        Its kernel path (``archgym.simulators.gpu.model.library_path``) is in ``breakdown()``.
        """
        layout = self._layout(dtype, a_major, b_major)
        path = self._path(m, n, k, dtype, kind, layout)
        cands = self._candidates(dtype, kind, path)
        eff = self.efficiency_for(dtype, kind, self._library(dtype, kind, layout))
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
            ld=leading_dims(m, n, k, *layout),
        )
        t = np.where([c.block_m <= SMALL_M < m for c in cands], np.inf, t)
        return cands[int(np.argmin(t))]

    def _candidates(self, dtype: str, kind: str, path: str) -> list[TileConfig]:
        """Library tiles of a path; ``wmma`` (int8 nn): the register-staged sm75 tiles.

        The int8 nn kernel runs on the H200 as one latency-bound kernel: about one memory
        latency per 32-wide K step of a 128 x 128 tile and no K split (training rows of
        data/gpu/h200_dense.csv: time ~ K steps x waves of 128 x 128 tiles at small m).
        """
        if path != "wmma":
            return library_candidates(dtype, kind, path, self.device)
        return [TileConfig(128, 128, 32, 4, 2)]

    def _path(self, m, n, k, dtype, kind, layout) -> str:
        if self._library(dtype, kind, layout) == "wmma":
            return "wmma"
        ld = leading_dims(m, n, k, *layout)
        return str(library_path(n, k, dtype, kind, ld=ld, device=self.device))

    def breakdown(
        self,
        m: int,
        n: int,
        k: int,
        dtype: str = "bf16",
        kind: str = "dense",
        tile: TileConfig | None = None,
        *,
        a_major: str = "row",
        b_major: str | None = None,
    ) -> dict[str, float]:
        """The model's terms for one GEMM: time, tile, waves, mainloop and HBM times.

        ``path`` (in the result) is the library's kernel path (``gemv`` where the
        matrix-vector kernel wins; the tile terms are then those of the best tile), or ``tma``
        for a given tile.
        """
        layout = self._layout(dtype, a_major, b_major)
        lib = self._library(dtype, kind, layout)
        backend = lib if tile is None else "triton"
        path = self._path(m, n, k, dtype, kind, layout) if tile is None else "tma"
        tile = tile or self.library_tile(m, n, k, dtype, kind, a_major=a_major, b_major=b_major)
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
            ld=leading_dims(m, n, k, *layout),
            rule="library" if backend != "triton" else "triton",
        )
        out = {"time_us": float(t[0]) * 1e6, **{k_: float(v) for k_, v in asdict(tile).items()}}
        out.update({key: float(np.asarray(v).ravel()[0]) for key, v in terms.items()})
        out["path"] = path
        if backend != "triton" and kind == "dense":
            gemv = gemv_time_s(m, n, k, dtype=dtype, device=self.device, eff=eff, layout=layout)
            gemv_us = float(gemv) * 1e6
            if gemv_us < out["time_us"]:  # the matrix-vector kernel wins, as in predict_us
                out.update(time_us=gemv_us, path="gemv")
        return out
