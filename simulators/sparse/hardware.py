"""The sparse engine's design space as plain data: hardware pattern sets and parameter choices
(``archgym/SparseTensorCore-v0`` builds its space and configs from them).

Every pattern set names its patterns in full (V included), so a design space over these names
has no free ``v`` that some sets ignore: two different names always give different hardware
(:func:`duplicate_pattern_sets` checks it). Sets:

- plain N:M (a per-PE ``M:1`` select mux sized for the largest M): ``none``, ``2:4``,
  ``1:4+2:4``, ``2:4+2:8``, ``2:4+1:8+2:8``, ``2:4+2:8+2:16``, ``2:4+2:8+2:16+2:32``;
- V:N:M (VENOM: a per-PE ``4:1`` mux and ``M:1`` gather lanes per V-column segment) with V in
  :data:`VENOM_V` and the supported M from 8 up to 8, 16, 32 or 64 (``2:4+64:2:8..32`` runs
  64:2:8, 64:2:16 and 64:2:32), next to 2:4.

High sparsity stops at 2:64 (plain N:M at 2:32): the networks' K (4096, 11008, 768, ...) are
multiples of 64, not of 100, and the format stores whole groups.
"""

from __future__ import annotations

from typing import Any

from archgym.simulators.common import unknown_name
from archgym.simulators.sparse.patterns import Pattern, parse_pattern

__all__ = [
    "PATTERN_SETS",
    "SPACE_CHOICES",
    "VENOM_M",
    "VENOM_V",
    "duplicate_pattern_sets",
    "hardware_patterns",
]

#: Block heights (weight columns sharing a K selection) of the V:N:M hardware sets.
VENOM_V = (16, 32, 64, 128)
#: Group lengths of V:2:M the V:N:M sets run (a set supports 8 up to one of these).
VENOM_M = (8, 16, 32, 64)

_PLAIN = {
    "none": (),
    "2:4": ("2:4",),
    "1:4+2:4": ("1:4", "2:4"),
    "2:4+2:8": ("2:4", "2:8"),
    "2:4+1:8+2:8": ("2:4", "1:8", "2:8"),
    "2:4+2:8+2:16": ("2:4", "2:8", "2:16"),
    "2:4+2:8+2:16+2:32": ("2:4", "2:8", "2:16", "2:32"),
}


def _venom_sets() -> dict[str, tuple[str, ...]]:
    out = {}
    for v in VENOM_V:
        for i, top in enumerate(VENOM_M):
            ms = VENOM_M[: i + 1]
            name = f"2:4+{v}:2:8" if top == 8 else f"2:4+{v}:2:8..{top}"
            out[name] = ("2:4", *(f"{v}:2:{m}" for m in ms))
    return out


#: Hardware pattern set name -> the patterns it runs (dense always runs).
PATTERN_SETS: dict[str, tuple[str, ...]] = {**_PLAIN, **_venom_sets()}


def _pow2(lo: int, hi: int) -> tuple[int, ...]:
    return tuple(1 << i for i in range(lo.bit_length() - 1, hi.bit_length()))


#: Choices of each design parameter (the env's space; ``metadata_sram_kib`` 0 = no metadata
#: scratchpad, metadata streams with every weight pass).
SPACE_CHOICES: dict[str, tuple[Any, ...]] = {
    "rows": _pow2(8, 256),
    "cols": _pow2(8, 256),
    "dataflow": ("os", "ws", "is"),
    "patterns": tuple(PATTERN_SETS),
    "ifmap_sram_kib": _pow2(16, 2048),
    "filter_sram_kib": _pow2(16, 2048),
    "ofmap_sram_kib": _pow2(16, 2048),
    "metadata_sram_kib": (0, *_pow2(1, 256)),
    "bandwidth": _pow2(1, 64),
}


def hardware_patterns(name: str) -> tuple[Pattern, ...]:
    """The patterns of a set of :data:`PATTERN_SETS` (``ValueError`` naming the valid ones)."""
    if name not in PATTERN_SETS:
        raise unknown_name("pattern set", name, PATTERN_SETS)
    return tuple(parse_pattern(p) for p in PATTERN_SETS[name])


def duplicate_pattern_sets() -> list[tuple[str, str]]:
    """Pairs of set names that give the same hardware (should be empty)."""
    seen: dict[frozenset[Pattern], str] = {}
    out = []
    for name in PATTERN_SETS:
        key = frozenset(hardware_patterns(name))
        if key in seen:
            out.append((seen[key], name))
        seen[key] = name
    return out
