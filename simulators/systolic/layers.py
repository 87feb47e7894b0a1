"""Workload layers (convolution and GEMM) and their operand-matrix view.

Every layer becomes one or more GEMMs ``ofmap[M, N] = ifmap[M, K] @ filter[K, N]``:

- a convolution: M = output pixels (E_h * E_w), K = window (R * S * C), N = filters;
- a depthwise convolution (``depthwise=True``): ``groups = C`` independent GEMMs with C = 1, as
  SCALE-Sim simulates a ``DP`` layer (one layer per channel, each with ``K`` filters: the channel
  multiplier, usually 1).

The output size is ``floor((H + 2 * padding - R) / stride) + 1``. SCALE-Sim 3.0.0 sizes it
``ceil((H' - R + stride) / stride)`` on the padded input ``H'``: one output more along an axis
whose ``H' - R`` the stride does not divide (a window reading past the input). The default model
keeps the real size; ``scalesim_compat`` uses SCALE-Sim's (``gemm_shape(scalesim=True)``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from archgym.simulators.shapes import GemmShape

__all__ = ["ConvLayer", "GemmLayer", "Layer", "LayerTable", "layer_table"]


#: Largest layer dimension and multiply-accumulate count the models compute exactly (int64).
MAX_DIM = 2**31 - 1
MAX_MACS = 2**62


def _check_int(field: str, value: object, minimum: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        kind = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ValueError(f"`{field}` must be {kind}, but got {value!r}")
    if value > MAX_DIM:
        raise ValueError(f"`{field}` must be at most {MAX_DIM}, but got {value!r}")


def _check_macs(layer: object, macs: int) -> None:
    if macs > MAX_MACS:
        raise ValueError(
            f"layer {getattr(layer, 'name', '')!r} has {macs:.3g} multiply-accumulates; the "
            f"models count at most 2^62 exactly"
        )


@dataclass(frozen=True)
class ConvLayer:
    """A 2-D convolution on one image (batch 1), all sizes in elements.

    Attributes:
        H, W: Input height and width (before padding).
        R, S: Filter height and width.
        C: Input channels.
        K: Filters (output channels); for a depthwise layer the channel multiplier.
        stride: Stride in both directions.
        padding: Zero padding on each side.
        depthwise: One filter group per input channel.
        name: Label used in reports.
    """

    H: int
    W: int
    R: int
    S: int
    C: int
    K: int
    stride: int = 1
    padding: int = 0
    depthwise: bool = False
    name: str = "conv"

    def __post_init__(self) -> None:
        for field in ("H", "W", "R", "S", "C", "K", "stride"):
            _check_int(field, getattr(self, field))
        _check_int("padding", self.padding, minimum=0)
        if self.H + 2 * self.padding < self.R:
            raise ValueError(
                f"filter height `R` ({self.R}) must not exceed the padded input height "
                f"({self.H + 2 * self.padding}) in layer {self.name!r}"
            )
        if self.W + 2 * self.padding < self.S:
            raise ValueError(
                f"filter width `S` ({self.S}) must not exceed the padded input width "
                f"({self.W + 2 * self.padding}) in layer {self.name!r}"
            )
        m, n, k = self.gemm_shape()
        _check_macs(self, m * n * k * self.groups)

    @property
    def out_h(self) -> int:
        """Output height."""
        return (self.H + 2 * self.padding - self.R) // self.stride + 1

    @property
    def out_w(self) -> int:
        """Output width."""
        return (self.W + 2 * self.padding - self.S) // self.stride + 1

    @property
    def groups(self) -> int:
        """Independent GEMMs the layer is made of (C for depthwise, else 1)."""
        return self.C if self.depthwise else 1

    @property
    def scalesim_out_h(self) -> int:
        """Output height as SCALE-Sim 3.0.0 sizes it: ``ceil((H' - R + stride) / stride)`` on the
        padded input ``H'``, one window more than :attr:`out_h` (reading past the input) when
        ``stride`` does not divide ``H' - R``."""
        return -(-(self.H + 2 * self.padding - self.R + self.stride) // self.stride)

    @property
    def scalesim_out_w(self) -> int:
        """Output width as SCALE-Sim sizes it (see :attr:`scalesim_out_h`)."""
        return -(-(self.W + 2 * self.padding - self.S + self.stride) // self.stride)

    def gemm_shape(self, scalesim: bool = False) -> tuple[int, int, int]:
        """(M, N, K) of one group's GEMM; ``scalesim=True`` sizes M as SCALE-Sim does."""
        channels = 1 if self.depthwise else self.C
        m = self.scalesim_out_h * self.scalesim_out_w if scalesim else self.out_h * self.out_w
        return m, self.K, self.R * self.S * channels

    def ifmap_words(self, include_padding: bool = False) -> int:
        """Distinct input words one group reads: rows/cols a stride skips are never read and
        padding is not stored unless ``include_padding``: SCALE-Sim's view, which fetches
        padding (its input is the padded image) and has its extra window per axis
        (:attr:`scalesim_out_h`), clipped to the padded input."""
        pad, wide = self.padding, include_padding
        out_h = self.scalesim_out_h if wide else self.out_h
        out_w = self.scalesim_out_w if wide else self.out_w
        rows = _touched(self.H, self.R, self.stride, pad, out_h, wide)
        cols = _touched(self.W, self.S, self.stride, pad, out_w, wide)
        return rows * cols * (1 if self.depthwise else self.C)

    def band_words(self) -> int:
        """Words of one band of input rows that a row of outputs reads (R rows, all columns):
        the working set that must stay on chip for each input word to be fetched once per pass."""
        return self.R * (self.W + 2 * self.padding) * (1 if self.depthwise else self.C)

    @property
    def macs(self) -> int:
        """Multiply-accumulates of the whole layer."""
        m, n, k = self.gemm_shape()
        return m * n * k * self.groups


def _touched(size: int, window: int, stride: int, padding: int, out: int, with_pad: bool) -> int:
    """Input positions along one axis covered by at least one window."""
    lo, hi = (0, size + 2 * padding) if with_pad else (padding, padding + size)
    if window >= stride:  # windows overlap or abut: one covered interval
        return max(0, min(hi, (out - 1) * stride + window) - lo)
    # Gaps between windows: count window positions inside [lo, hi).
    return sum(
        max(0, min(hi, start + window) - max(lo, start)) for start in range(0, out * stride, stride)
    )


@dataclass(frozen=True)
class GemmLayer:
    """A matrix multiply ``[M, K] @ [K, N]`` (SCALE-Sim's GEMM topology row: M, N, K)."""

    M: int
    N: int
    K: int
    name: str = "gemm"

    def __post_init__(self) -> None:
        for field in ("M", "N", "K"):
            _check_int(field, getattr(self, field))
        _check_macs(self, self.M * self.N * self.K)

    groups = 1

    @classmethod
    def from_gemm(cls, gemm: GemmShape) -> GemmLayer:
        """One run of ``gemm`` (its ``count`` is the caller's to repeat or weigh)."""
        return cls(gemm.m, gemm.n, gemm.k, name=gemm.name)

    def to_gemm(self, count: int = 1) -> GemmShape:
        """This layer as the project's GEMM type, run ``count`` times."""
        return GemmShape(self.name, int(self.M), int(self.N), int(self.K), count)

    def gemm_shape(self, scalesim: bool = False) -> tuple[int, int, int]:
        """(M, N, K) (``scalesim`` is accepted for symmetry with :class:`ConvLayer`)."""
        return self.M, self.N, self.K

    def ifmap_words(self, include_padding: bool = False) -> int:
        """Distinct words of the left operand (``include_padding`` is accepted for symmetry)."""
        return self.M * self.K

    def band_words(self) -> int:
        """Words of one row of the left operand (the working set of one output row)."""
        return self.K

    @property
    def macs(self) -> int:
        """Multiply-accumulates."""
        return self.M * self.N * self.K


Layer = ConvLayer | GemmLayer


@dataclass(frozen=True)
class LayerTable:
    """Per-layer integer columns (shape ``(L,)``) the vectorised models consume."""

    names: tuple[str, ...]
    M: np.ndarray
    M_scalesim: np.ndarray
    N: np.ndarray
    K: np.ndarray
    groups: np.ndarray
    ifmap_unique: np.ndarray
    ifmap_unique_padded: np.ndarray
    band_words: np.ndarray

    def __len__(self) -> int:
        return len(self.names)


def layer_table(layers: Layer | list[Layer] | tuple[Layer, ...]) -> LayerTable:
    """Stack layers into columns for the vectorised models (cached: layers are immutable)."""
    if isinstance(layers, (ConvLayer, GemmLayer)):
        layers = [layers]
    try:
        return _layer_table(tuple(layers))
    except TypeError:  # an unhashable item: let the checks below name it
        pass
    return _build_table(list(layers))


@lru_cache(maxsize=256)
def _layer_table(layers: tuple[Layer, ...]) -> LayerTable:
    return _build_table(layers)


def _scalesim_m(layer: Layer) -> int:
    return layer.gemm_shape(scalesim=True)[0] if isinstance(layer, ConvLayer) else layer.M


def _build_table(layers: Sequence[Layer]) -> LayerTable:
    if len(layers) == 0:
        raise ValueError("a workload needs at least one layer, but got none")
    for i, layer in enumerate(layers):
        if not isinstance(layer, (ConvLayer, GemmLayer)):
            raise ValueError(f"layer {i} must be a ConvLayer or GemmLayer, but got {layer!r}")
    shapes = np.array([layer.gemm_shape() for layer in layers], dtype=np.int64)
    return LayerTable(
        names=tuple(layer.name for layer in layers),
        M=shapes[:, 0],
        M_scalesim=np.array([_scalesim_m(layer) for layer in layers], dtype=np.int64),
        N=shapes[:, 1],
        K=shapes[:, 2],
        groups=np.array([layer.groups for layer in layers], dtype=np.int64),
        ifmap_unique=np.array([layer.ifmap_words() for layer in layers], dtype=np.int64),
        ifmap_unique_padded=np.array(
            [layer.ifmap_words(include_padding=True) for layer in layers], dtype=np.int64
        ),
        band_words=np.array([layer.band_words() for layer in layers], dtype=np.int64),
    )
