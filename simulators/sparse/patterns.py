"""Structured-sparsity patterns (dense, N:M, V:N:M) and their compressed storage.

A pattern constrains the sparse operand (the weights, ``filter[K, N]`` in the systolic model's
``ofmap[M, N] = ifmap[M, K] @ filter[K, N]``) along the reduction dimension K:

- ``N:M``: in every group of M consecutive K positions of a weight column at most N values are
  nonzero (NVIDIA's 2:4: Mishra et al., "Accelerating Sparse Deep Neural Networks", 2021).
  Storage: the kept values plus ``ceil(log2(M))`` bits of index per kept value (2 bits for 2:4).
- ``V:N:M`` (VENOM, Castro et al., SC 2023): blocks of V weight columns (output channels) share
  a selection of 4 of every M K positions (``ceil(log2(M))`` bits per selected position, per
  block), and each column keeps N of those 4 (N:4 inside, 2-bit indices as in 2:4). Density
  N/M; with N = 2, 2/M.
- dense: ``1:1``, no metadata.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

__all__ = ["DENSE", "VENOM_SELECT", "Pattern", "operand_bytes", "parse_pattern"]

#: Columns a V:N:M block keeps of every M (the 4 of the 2:4 hardware it runs on).
VENOM_SELECT = 4


def _positive_int(field: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"`{field}` must be a positive integer, but got {value!r}")


@dataclass(frozen=True)
class Pattern:
    """An N:M (``v=None``) or V:N:M structured-sparsity pattern along K.

    Attributes:
        n: Nonzeros kept per group (N).
        m: Group length along K (M).
        v: VENOM block height in weight columns (V), or ``None`` for plain N:M.
    """

    n: int
    m: int
    v: int | None = None

    def __post_init__(self) -> None:
        _positive_int("n", self.n)
        _positive_int("m", self.m)
        if self.n > self.m:
            raise ValueError(
                f"`n <= m` must hold in an N:M pattern, but got (n={self.n}, m={self.m})"
            )
        if self.v is not None:
            _positive_int("v", self.v)
            if self.m < VENOM_SELECT or self.n > VENOM_SELECT:
                raise ValueError(
                    f"a V:N:M pattern needs m >= {VENOM_SELECT} and n <= {VENOM_SELECT} (it keeps "
                    f"{VENOM_SELECT} of every m columns, n:{VENOM_SELECT} inside), but got "
                    f"(n={self.n}, m={self.m})"
                )

    @property
    def is_dense(self) -> bool:
        """Whether the pattern keeps everything (N == M, no VENOM blocks)."""
        return self.n == self.m and self.v is None

    @property
    def is_venom(self) -> bool:
        return self.v is not None

    @property
    def density(self) -> float:
        """Fraction of weights kept (N/M)."""
        return self.n / self.m

    @property
    def metadata_bits(self) -> float:
        """Index bits per kept value.

        N:M: ``ceil(log2(M))``. V:N:M: 2 bits of the inner N:4 plus the block's column indices
        (``4 * ceil(log2(M))`` bits per block of V columns) spread over its ``V * N`` kept values.
        """
        if self.is_dense:
            return 0.0
        if self.v is None:
            return float(math.ceil(math.log2(self.m)))
        inner = math.ceil(math.log2(VENOM_SELECT))
        block = VENOM_SELECT * math.ceil(math.log2(self.m))
        return inner + block / (self.v * self.n)

    def satisfies(self, other: Pattern) -> bool:
        """Whether every matrix with this pattern also has ``other`` (so ``other``'s hardware
        can run it).

        At most ``n`` nonzeros per ``m`` implies at most ``n <= other.n`` per ``other.m`` when
        ``other.m`` divides ``m``, and ``n * other.m / m <= other.n`` when ``m`` divides
        ``other.m``. A V:N:M ``other`` also needs its column selection: this pattern must be
        V':N':M' with ``other.v`` dividing V'.
        """
        if other.is_dense:
            return True
        if other.is_venom and (self.v is None or self.v % other.v != 0):
            return False
        if self.m % other.m == 0:
            return self.n <= other.n
        if other.m % self.m == 0 and not other.is_venom:
            return self.n * (other.m // self.m) <= other.n
        return False

    def __str__(self) -> str:
        if self.is_dense:
            return "dense"
        core = f"{self.n}:{self.m}"
        return core if self.v is None else f"{self.v}:{core}"


#: The dense pattern.
DENSE = Pattern(1, 1)

_SYNTAX = re.compile(r"^\s*(?:(\d+)\s*:\s*)?(\d+)\s*:\s*(\d+)\s*$")


def parse_pattern(text: str | Pattern) -> Pattern:
    """``"dense"``, ``"N:M"`` (e.g. ``"2:4"``) or ``"V:N:M"`` (e.g. ``"64:2:8"``) as a Pattern."""
    if isinstance(text, Pattern):
        return text
    if not isinstance(text, str):
        raise ValueError(f"a sparsity pattern must be a string like '2:4', but got {text!r}")
    if text.strip().lower() == "dense":
        return DENSE
    match = _SYNTAX.match(text)
    if not match:
        raise ValueError(
            f"cannot parse sparsity pattern {text!r}: expected 'dense', 'N:M' (e.g. '2:4') or "
            "'V:N:M' (e.g. '64:2:8')"
        )
    v, n, m = match.groups()
    return Pattern(int(n), int(m), None if v is None else int(v))


def operand_bytes(k: int, n: int, pattern: Pattern, value_bytes: float) -> tuple[float, float]:
    """(values, metadata) bytes of a ``k x n`` weight matrix stored in ``pattern``'s format.

    ``k`` must be a multiple of the pattern's M (and ``n`` of V for V:N:M), as the format
    stores whole groups and blocks; otherwise ``ValueError``.
    """
    _positive_int("k", k)
    _positive_int("n", n)
    if k % pattern.m:
        raise ValueError(f"`k` ({k}) must be a multiple of M ({pattern.m}) for pattern {pattern}")
    if pattern.v is not None and n % pattern.v:
        raise ValueError(f"`n` ({n}) must be a multiple of V ({pattern.v}) for pattern {pattern}")
    kept = k * n * pattern.density
    return kept * value_bytes, kept * pattern.metadata_bits / 8.0
