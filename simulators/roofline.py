"""A roofline model of a GEMM accelerator: a PE array, one on-chip buffer and a DRAM link.

Each GEMM ``(M x K) @ (K x N)`` is tiled output-stationary: the array computes an ``R x C`` block
of outputs per fold (``ceil(M/R) * ceil(N/C)`` folds of ``K`` cycles each, so ragged edges waste
PEs), and the buffer holds a ``tm x tn`` output tile (accumulators) plus double-buffered ``kc``-deep
panels of A and B. The largest tile that fits sets the DRAM traffic of blocked matrix
multiplication: A is read ``ceil(N/tn)`` times, B ``ceil(M/tm)`` times, C written once. Time per
GEMM is the larger of compute time and DRAM time (perfect overlap: the roofline bound).

Energy counts MACs, PE register traffic, buffer reads/writes and DRAM bytes with a
:class:`archgym.cost_models.energy.TechTable`; area is the PE array plus the buffer.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from archgym.cost_models.energy import DEFAULT_TABLE, PRECISIONS, TechTable
from archgym.simulators.common import InfeasibleDesign
from archgym.simulators.shapes import GemmShape

__all__ = ["METRICS", "RooflineConfig", "simulate_gemms"]

METRICS = (
    "cycles",
    "latency_s",
    "energy_pj",
    "area_mm2",
    "power_w",
    "utilisation",
    "dram_bytes",
    "compute_bound_fraction",
)
_WORD_BYTES = {"int8": 1, "int16": 2, "fp16": 2, "bf16": 2, "fp32": 4}
_ACC_BYTES = 4
_PANEL_DEPTH = 16  # kc: words of K per double-buffered operand panel


@dataclass(frozen=True)
class RooflineConfig:
    """Hardware of the roofline GEMM accelerator.

    Attributes:
        rows: PE array rows (outputs along M per fold).
        cols: PE array columns (outputs along N per fold).
        clock_mhz: Clock frequency in MHz.
        buffer_kib: On-chip buffer size in KiB.
        dram_gbps: DRAM bandwidth in GB/s (1e9 bytes per second).
        precision: Operand precision (``int8``, ``int16``, ``fp16``, ``bf16``, ``fp32``).
    """

    rows: int
    cols: int
    clock_mhz: float = 1000.0
    buffer_kib: float = 1024.0
    dram_gbps: float = 64.0
    precision: str = "int8"

    def __post_init__(self) -> None:
        for name in ("rows", "cols"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"`{name}` must be a positive integer, but got {v!r}")
        for name in ("clock_mhz", "buffer_kib", "dram_gbps"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float, np.number)) and math.isfinite(v) and v > 0):
                raise ValueError(f"`{name}` must be a positive number, but got {v!r}")
        if self.precision not in PRECISIONS:
            raise ValueError(
                f"`precision` must be one of {list(PRECISIONS)}, but got {self.precision!r}"
            )


def _largest_tile(
    cfg: RooflineConfig, m: np.ndarray, n: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Output tile (tm, tn), multiples of (R, C), the largest square-ish one that fits the buffer."""
    wb = _WORD_BYTES[cfg.precision]
    budget = cfg.buffer_kib * 1024.0
    # Need tm*tn*acc + 2 * kc * (tm + tn) * wb <= budget with tm = a*R, tn = a*C.
    r, c = cfg.rows, cfg.cols
    qa = r * c * _ACC_BYTES
    qb = 2 * _PANEL_DEPTH * (r + c) * wb
    a = math.floor((-qb + math.sqrt(qb * qb + 4 * qa * budget)) / (2 * qa))
    if a < 1:
        need = (qa + qb) / 1024
        raise InfeasibleDesign(
            f"buffer of {cfg.buffer_kib:g} KiB cannot hold one {r}x{c} output tile and its operand "
            f"panels ({need:.1f} KiB needed)"
        )
    # A tile larger than the matrix buys nothing: clip to the padded matrix size.
    tm = np.minimum(a * r, np.ceil(m / r) * r)
    tn = np.minimum(a * c, np.ceil(n / c) * c)
    return tm, tn


def simulate_gemms(
    cfg: RooflineConfig,
    gemms: Sequence[GemmShape | tuple[int, int, int, int]] | np.ndarray,
    *,
    table: TechTable = DEFAULT_TABLE,
) -> dict[str, float]:
    """Metrics of running every GEMM of a workload once, back to back.

    Args:
        cfg: The accelerator.
        gemms: :class:`~archgym.simulators.shapes.GemmShape` items or rows of
            ``(M, N, K, count)``.
        table: Energy and area table.

    Returns:
        ``cycles``, ``latency_s``, ``energy_pj``, ``area_mm2``, ``power_w``, ``utilisation``
        (MACs over PE-cycles), ``dram_bytes`` and ``compute_bound_fraction`` (share of time in
        compute-bound GEMMs).
    """
    if not isinstance(gemms, np.ndarray):
        gemms = [(*x.mnk, x.count) if isinstance(x, GemmShape) else x for x in gemms]
    g = np.asarray(gemms, dtype=float).reshape(-1, 4)
    if len(g) == 0:
        raise ValueError("`gemms` must hold at least one (M, N, K, count) row")
    if np.any(g <= 0):
        raise ValueError("every GEMM dimension and count must be positive")
    m, n, k, count = g.T
    wb = _WORD_BYTES[cfg.precision]
    r, c = cfg.rows, cfg.cols
    folds = np.ceil(m / r) * np.ceil(n / c)
    compute_cycles = folds * k
    tm, tn = _largest_tile(cfg, m, n)
    dram = wb * (m * k * np.ceil(n / tn) + k * n * np.ceil(m / tm)) + _ACC_BYTES * m * n
    hz = cfg.clock_mhz * 1e6
    t_compute = compute_cycles / hz
    t_memory = dram / (cfg.dram_gbps * 1e9)
    t = np.maximum(t_compute, t_memory) * count
    latency = float(t.sum())
    macs = float((m * n * k * count).sum())
    buffer_reads = float((folds * k * (r + c) * wb * count).sum())  # operand edges of each fold
    buffer_writes = float((dram * count).sum())
    sram_pj = float(table.sram_pj_per_byte(cfg.buffer_kib))
    energy = (
        macs * table.mac_pj(cfg.precision)
        + macs * 3 * wb * table.register_energy_pj_per_byte
        + (buffer_reads + buffer_writes) * sram_pj
        + float((dram * count).sum()) * table.dram_energy_pj_per_byte
    )
    energy *= 1.0 + table.leakage_fraction
    area = r * c * table.pe_area(cfg.precision) + float(table.sram_area(cfg.buffer_kib))
    cycles = latency * hz
    compute_bound = float((np.where(t_compute >= t_memory, t, 0.0)).sum()) / latency
    return {
        "cycles": cycles,
        "latency_s": latency,
        "energy_pj": energy,
        "area_mm2": area,
        "power_w": energy * 1e-12 / latency,
        "utilisation": macs / (r * c * cycles),
        "dram_bytes": float((dram * count).sum()),
        "compute_bound_fraction": compute_bound,
    }
