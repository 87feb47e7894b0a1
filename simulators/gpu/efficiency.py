"""Calibrated efficiency constants of one GEMM kernel family (see ``model``), with units."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MEMORY_LATENCY_S", "Efficiency"]

# Load latency that the pipeline stages must cover: about 0.6 us from HBM through L2 on Hopper
# (published pointer-chase microbenchmarks give 0.5 to 0.8 us); not calibrated.
MEMORY_LATENCY_S = 0.6e-6


@dataclass(frozen=True)
class Efficiency:
    """Calibrated constants of one (dtype, kind, backend) on one device.

    ``mma``: fraction of the datasheet math rate reached in the mainloop; ``hbm``: fraction of
    the datasheet HBM bandwidth; ``sm_load_bytes_per_clk``: bytes per SM clock one SM can load
    into shared memory; ``launch_us``: fixed cost per kernel (launch, prologue, tail);
    ``reduce_us``: extra cost of the split-K reduction; ``misaligned``: rate, bandwidth and
    latency-hiding factor for leading dimensions that are not 16-byte aligned; ``spill``:
    slowdown per 255 registers per thread of accumulator overflow (register spilling);
    ``misaligned_us``: extra fixed cost of the kernels that libraries use for unaligned
    operands; ``l2_scale``: effective over datasheet-estimate L2 bandwidth (TMA multicast
    within thread block clusters cuts L2 reads, so this can exceed 1); ``k_iter_ns``: fixed
    cost per K step of each CTA resident on an SM (loop control, barrier, wait: not hidden
    behind the other CTAs' math; Triton's, 0 for the library kernels);
    ``latency_us``: memory latency the pipeline stages cover; ``compressed_hbm``: bandwidth
    share of the compressed 2:4 operand; ``legacy_bytes_per_clk``: per-SM load bytes per clock
    of the pre-Hopper paths per 2 bytes of access width; ``legacy_latency_us``: their latency;
    ``pj_per_flop``: energy per math operation at the maximum clock (pJ), which sets the
    sustained clock under the board power limit (0: never power-limited);
    ``l2_dirty``: share of the L2 holding dirty lines that the kernel's reads write back to HBM
    (the timing harness flushes L2 by writing a buffer before every run, as a previous
    layer's output would); ``gemv_us``: extra fixed cost (us) of 16-bit n = 1 and aligned m = 1
    over the matrix-vector path's one HBM pass (cuBLAS runs 8-wide TMA tiles split along K
    there, plus a split-K reduction kernel: the H200 kernel names); ``sm80_mma``: share of the
    datasheet math rate that the ``sm80`` path's ``mma.sync`` (m16n8k16) kernels reach on a
    TMA device (the ``sm75`` path's m16n8k8 kernels reach ``misaligned``);
    ``sm80_bytes_per_clk``: the sm80 kernels' load rate per 2 bytes of access width
    (``cp.async``), where the sm75 ones' is ``legacy_bytes_per_clk``; the two paths share
    ``legacy_latency_us``. 0 in either: the sm75 value (a fit from scratch on a campaign with
    few large unaligned shapes cannot tell the two paths apart; a transfer fit on the new
    device's unaligned rows sets them).
    """

    mma: float = 0.8
    hbm: float = 0.85
    sm_load_bytes_per_clk: float = 64.0
    launch_us: float = 5.0
    reduce_us: float = 2.0
    misaligned: float = 0.3
    spill: float = 20.0
    misaligned_us: float = 0.0
    l2_scale: float = 1.0
    k_iter_ns: float = 0.0
    latency_us: float = MEMORY_LATENCY_S * 1e6
    compressed_hbm: float = 1.0
    legacy_bytes_per_clk: float = 16.0
    legacy_latency_us: float = MEMORY_LATENCY_S * 1e6
    l2_dirty: float = 0.0
    pj_per_flop: float = 0.0
    gemv_us: float = 0.0
    sm80_mma: float = 0.0
    sm80_bytes_per_clk: float = 0.0

    def __post_init__(self) -> None:
        for name in ("mma", "hbm", "misaligned", "compressed_hbm"):
            v = getattr(self, name)
            if not 0 < v <= 1:
                raise ValueError(f"`{name}` must be in (0, 1], but got {v!r}")
        if not 0 <= self.sm80_mma <= 1:
            raise ValueError(f"`sm80_mma` must be in [0, 1], but got {self.sm80_mma!r}")
        if not 0 <= self.l2_dirty <= 1:
            raise ValueError(f"`l2_dirty` must be in [0, 1], but got {self.l2_dirty!r}")
        for name in ("sm_load_bytes_per_clk", "l2_scale", "legacy_bytes_per_clk"):
            if not getattr(self, name) > 0:
                raise ValueError(f"`{name}` must be positive, but got {getattr(self, name)!r}")
        for name in (
            "launch_us",
            "reduce_us",
            "spill",
            "misaligned_us",
            "k_iter_ns",
            "latency_us",
            "legacy_latency_us",
            "pj_per_flop",
            "gemv_us",
            "sm80_bytes_per_clk",
        ):
            if not getattr(self, name) >= 0:
                raise ValueError(f"`{name}` must be >= 0, but got {getattr(self, name)!r}")
