"""The hardware configuration of a systolic array (SCALE-Sim's ``.cfg`` knobs, typed)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from archgym.simulators.common import unknown_name

__all__ = ["DATAFLOWS", "ArrayConfig", "check_dataflow"]

#: Dataflow names: output, weight and input stationary.
DATAFLOWS = ("os", "ws", "is")
_PRECISIONS = ("int8", "int16", "fp16", "bf16", "fp32")


def check_dataflow(name: str) -> str:
    """Return ``name`` if it is a dataflow, else raise ``ValueError`` with a did-you-mean."""
    if name in DATAFLOWS:
        return name
    raise unknown_name("dataflow", name, DATAFLOWS)


def _positive_int(field: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"`{field}` must be a positive integer, but got {value!r}")


def _positive_number(field: str, value: object) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not ok or not math.isfinite(value) or value <= 0:
        raise ValueError(f"`{field}` must be a positive number, but got {value!r}")


@dataclass(frozen=True)
class ArrayConfig:
    """A systolic array with three double-buffered scratchpads in front of DRAM.

    Attributes:
        rows: PE rows (SCALE-Sim ``ArrayHeight``).
        cols: PE columns (``ArrayWidth``).
        dataflow: ``"os"``, ``"ws"`` or ``"is"``.
        ifmap_sram_kib, filter_sram_kib, ofmap_sram_kib: Scratchpad sizes in KiB (SCALE-Sim's
            ``*SramSzkB``; it multiplies by 1024). Half of each is the working buffer, half the
            prefetch (or drain) buffer.
        word_bytes: Bytes per operand word (SCALE-Sim fixes 1). SRAM words = KiB * 1024 / word_bytes.
        read_bw_words: DRAM read bandwidth of each read port (ifmap and filter have one each) in
            words/cycle; ``None`` means SCALE-Sim's CALC mode: bandwidth is whatever the schedule
            needs, so there are no stalls and the reports give the bandwidth required.
        write_bw_words: DRAM write bandwidth of the ofmap port in words/cycle; ``None`` = CALC.
        clock_mhz: Clock frequency (MHz), used for ``latency_s``.
        precision: Operand precision for energy and area (``int8``, ``int16``, ``fp16``, ``bf16``,
            ``fp32``); it does not change the cycle count.
        scalesim_compat: Reproduce SCALE-Sim 3.0.0's numbers including its quirks (see
            ``docs/systolic.md``); the default is the corrected model.
    """

    rows: int = 32
    cols: int = 32
    dataflow: str = "os"
    ifmap_sram_kib: float = 64
    filter_sram_kib: float = 64
    ofmap_sram_kib: float = 64
    word_bytes: int = 1
    read_bw_words: float | None = None
    write_bw_words: float | None = None
    clock_mhz: float = 1000.0
    precision: str = "int8"
    scalesim_compat: bool = False

    def __post_init__(self) -> None:
        _positive_int("rows", self.rows)
        _positive_int("cols", self.cols)
        check_dataflow(self.dataflow)
        for name in ("ifmap_sram_kib", "filter_sram_kib", "ofmap_sram_kib", "clock_mhz"):
            _positive_number(name, getattr(self, name))
        _positive_int("word_bytes", self.word_bytes)
        for name in ("read_bw_words", "write_bw_words"):
            if getattr(self, name) is not None:
                _positive_number(name, getattr(self, name))
        if (self.read_bw_words is None) != (self.write_bw_words is None):
            raise ValueError(
                "`read_bw_words` and `write_bw_words` must both be set or both be None (CALC "
                f"mode), but got ({self.read_bw_words!r}, {self.write_bw_words!r})"
            )
        if self.precision not in _PRECISIONS:
            raise unknown_name("precision", self.precision, _PRECISIONS)
        if not isinstance(self.scalesim_compat, bool):
            raise ValueError(f"`scalesim_compat` must be a bool, but got {self.scalesim_compat!r}")

    @property
    def pes(self) -> int:
        """Number of processing elements."""
        return self.rows * self.cols

    @property
    def user_bandwidth(self) -> bool:
        """Whether DRAM bandwidth is set (SCALE-Sim USER mode) rather than estimated (CALC)."""
        return self.read_bw_words is not None

    def sram_words(self, operand: str) -> int:
        """Capacity of the ``operand`` ("ifmap", "filter", "ofmap") scratchpad in words."""
        kib = getattr(self, f"{operand}_sram_kib")
        return int(kib * 1024) // self.word_bytes
