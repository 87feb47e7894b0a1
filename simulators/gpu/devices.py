"""GPU device specifications as data, and the names of the GEMM data types and kinds.

Every number comes from the vendor's public datasheets / whitepapers unless its comment says
otherwise (sources above ``DEVICES``). Rates are the dense figures (the datasheets' "with
sparsity" rates are twice these, ``GPUSpec.sparse24_rate``), quoted by NVIDIA at the boost clock
``boost_clock_hz`` (1830 MHz H100/H200 SXM, 1410 MHz A100, 1695 MHz GA102). ``clock_hz`` is the
maximum SM clock (1980 MHz on the measured H100, as nvidia-smi reports it); it converts per-SM
bytes per clock into bandwidth.

Data types (``DTYPES``) name the operand type of a GEMM: ``bf16``, ``fp16``, ``fp32`` (IEEE
fp32 on the CUDA cores, TF32 off), ``fp8`` (e4m3 operands, bf16 output) and ``int8`` (int32
output). Kinds (``KINDS``): ``dense`` and ``sparse24`` (2:4 structured sparsity on one operand).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType

from archgym.simulators.common import unknown_name

__all__ = ["DEVICES", "DTYPES", "KINDS", "DType", "GPUSpec", "get_device", "get_dtype"]


@dataclass(frozen=True)
class DType:
    """A GEMM operand type: bytes per input element, bytes per output element."""

    name: str
    in_bytes: float
    out_bytes: float


DTYPES = MappingProxyType(
    {
        "bf16": DType("bf16", 2, 2),
        "fp16": DType("fp16", 2, 2),
        "fp32": DType("fp32", 4, 4),
        "fp8": DType("fp8", 1, 2),
        "int8": DType("int8", 1, 4),
    }
)
KINDS = ("dense", "sparse24")


@dataclass(frozen=True)
class GPUSpec:
    """One GPU model.

    Attributes (units in the names): ``sm_count``; ``clock_hz`` (max SM clock); ``peak_flops``
    maps a dtype name to dense math operations per second (absent or ``None``: not supported);
    ``hbm_bytes_per_s``; ``l2_bytes``; ``l2_bytes_per_s`` (aggregate L2 read bandwidth);
    ``smem_per_sm_bytes`` and ``smem_per_block_bytes`` (shared memory); ``regs_per_sm``
    (32-bit registers); ``max_ctas_per_sm``; ``max_warps_per_sm``; ``boost_clock_hz`` (the
    clock at which the datasheet quotes ``peak_flops``; defaults to ``clock_hz``);
    ``sparse24_flops`` (2:4 sparse rates per dtype; default twice dense, see
    ``sparse24_rate``); ``compute_capability``; ``power_w`` (board power limit, W);
    ``memory_bytes`` (device memory).
    """

    name: str
    sm_count: int
    clock_hz: float
    peak_flops: dict[str, float | None]
    hbm_bytes_per_s: float
    l2_bytes: int
    l2_bytes_per_s: float
    smem_per_sm_bytes: int
    smem_per_block_bytes: int
    regs_per_sm: int = 65536
    max_ctas_per_sm: int = 32
    max_warps_per_sm: int = 64
    boost_clock_hz: float | None = None
    sparse24_flops: dict[str, float | None] | None = None
    compute_capability: tuple[int, int] = (9, 0)
    power_w: float | None = None
    memory_bytes: int | None = None
    notes: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        for name in (
            "sm_count",
            "l2_bytes",
            "smem_per_sm_bytes",
            "smem_per_block_bytes",
            "regs_per_sm",
            "max_ctas_per_sm",
            "max_warps_per_sm",
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f"`{name}` must be a positive integer, but got {value!r}")
        if self.boost_clock_hz is None:
            object.__setattr__(self, "boost_clock_hz", self.clock_hz)
        for name in ("clock_hz", "boost_clock_hz", "hbm_bytes_per_s", "l2_bytes_per_s"):
            if not getattr(self, name) > 0:
                raise ValueError(f"`{name}` must be positive, but got {getattr(self, name)!r}")
        for dtype, rate in self.peak_flops.items():
            if dtype not in DTYPES:
                raise ValueError(f"`peak_flops` has unknown dtype {dtype!r}")
            if rate is not None and not rate > 0:
                raise ValueError(f"`peak_flops[{dtype!r}]` must be positive, but got {rate!r}")

    def supports(self, dtype: str) -> bool:
        """Whether the device has tensor cores (or, for fp32, CUDA cores) for ``dtype``."""
        return self.peak_flops.get(dtype) is not None

    def sparse24_rate(self, dtype: str) -> float | None:
        """2:4 sparse math rate (operations/s): the datasheet's figure, else twice dense."""
        if self.sparse24_flops is not None and dtype in self.sparse24_flops:
            return self.sparse24_flops[dtype]
        dense = self.peak_flops.get(dtype)
        return None if dense is None or dtype == "fp32" else 2.0 * dense

    @property
    def has_tma(self) -> bool:
        """Hopper (compute capability 9.x) and later: TMA loads and wgmma kernels."""
        return self.compute_capability >= (9, 0)


# Sources: NVIDIA H100 Tensor Core GPU datasheet and Hopper whitepaper (H100 SXM5); H200 datasheet;
# A100 datasheet and Ampere (GA100) whitepaper; NVIDIA Ampere GA102 GPU architecture whitepaper
# (RTX 3090 and A10 columns, tables 9-11); A10 datasheet; CUDA C Programming Guide, table
# "Technical Specifications per Compute Capability" (shared memory, registers, CTAs and warps per
# SM). ``l2_bytes`` is what ``torch.cuda.get_device_properties(0).L2_cache_size`` reports
# (50 MiB on the measured H100, data/gpu/raw/meta_*.json; 60 MiB on the H200). L2 bandwidth is in
# no datasheet: the figures are estimates from published microbenchmarks (about 5.5 TB/s on H100
# SXM, 4.8 TB/s on A100, 2 TB/s on GA102 cards) and enter the model only through the load term.
# Datasheet dense rates are quoted at ``boost_clock_hz``; their 2:4 rates (``sparse24``) are
# twice the dense ones on every tensor-core type. GeForce GA102 (RTX 3090) runs 16-bit tensor
# math with fp32 accumulation (what PyTorch's GEMMs use) at half the fp16-accumulate rate.
_HOPPER = {"bf16": 989.4e12, "fp16": 989.4e12, "fp32": 66.9e12, "fp8": 1978.9e12, "int8": 1978.9e12}
DEVICES = MappingProxyType(
    {
        "h100-sxm": GPUSpec(
            name="h100-sxm",
            sm_count=132,
            clock_hz=1.98e9,
            boost_clock_hz=1.83e9,
            peak_flops=dict(_HOPPER),
            hbm_bytes_per_s=3.35e12,
            l2_bytes=50 * 2**20,
            l2_bytes_per_s=5.5e12,
            smem_per_sm_bytes=228 * 1024,
            smem_per_block_bytes=227 * 1024,
            compute_capability=(9, 0),
            power_w=700.0,
            memory_bytes=80 * 10**9,
            notes="H100 SXM5 80 GB (HBM3); the measured card of data/gpu/",
        ),
        "h200-sxm": GPUSpec(
            name="h200-sxm",
            sm_count=132,
            clock_hz=1.98e9,
            boost_clock_hz=1.83e9,
            peak_flops=dict(_HOPPER),
            hbm_bytes_per_s=4.8e12,
            l2_bytes=60 * 2**20,
            l2_bytes_per_s=5.5e12,
            smem_per_sm_bytes=228 * 1024,
            smem_per_block_bytes=227 * 1024,
            compute_capability=(9, 0),
            power_w=700.0,
            memory_bytes=141 * 10**9,
            notes="H200 SXM 141 GB (HBM3e): the H100's GH100 die (132 SMs) with faster, larger "
            "memory; torch reports a 60 MiB L2",
        ),
        "a100-sxm": GPUSpec(
            name="a100-sxm",
            sm_count=108,
            clock_hz=1.41e9,
            boost_clock_hz=1.41e9,
            peak_flops={
                "bf16": 312e12,
                "fp16": 312e12,
                "fp32": 19.5e12,
                "fp8": None,
                "int8": 624e12,
            },
            hbm_bytes_per_s=2.039e12,
            l2_bytes=40 * 2**20,
            l2_bytes_per_s=4.8e12,
            smem_per_sm_bytes=164 * 1024,
            smem_per_block_bytes=163 * 1024,
            compute_capability=(8, 0),
            power_w=400.0,
            memory_bytes=80 * 10**9,
            notes="A100 SXM4 80 GB (HBM2e); no fp8 tensor cores",
        ),
        "a10": GPUSpec(
            name="a10",
            sm_count=72,
            clock_hz=1.695e9,
            boost_clock_hz=1.695e9,
            peak_flops={
                "bf16": 125e12,
                "fp16": 125e12,
                "fp32": 31.2e12,
                "fp8": None,
                "int8": 250e12,
            },
            hbm_bytes_per_s=600e9,
            l2_bytes=6 * 2**20,
            l2_bytes_per_s=2.0e12,
            smem_per_sm_bytes=100 * 1024,
            smem_per_block_bytes=99 * 1024,
            compute_capability=(8, 6),
            max_ctas_per_sm=16,
            max_warps_per_sm=48,
            power_w=150.0,
            memory_bytes=24 * 10**9,
            notes="A10 24 GB (GA102, GDDR6 384-bit); no fp8 tensor cores",
        ),
        "rtx3090": GPUSpec(
            name="rtx3090",
            sm_count=82,
            clock_hz=1.695e9,
            boost_clock_hz=1.695e9,
            peak_flops={
                "bf16": 71.16e12,
                "fp16": 71.16e12,
                "fp32": 35.58e12,
                "fp8": None,
                "int8": 284.6e12,
            },
            hbm_bytes_per_s=936e9,
            l2_bytes=6 * 2**20,
            l2_bytes_per_s=2.0e12,
            smem_per_sm_bytes=100 * 1024,
            smem_per_block_bytes=99 * 1024,
            compute_capability=(8, 6),
            max_ctas_per_sm=16,
            max_warps_per_sm=48,
            power_w=350.0,
            memory_bytes=24 * 10**9,
            notes="GeForce RTX 3090 24 GB (GA102, GDDR6X 384-bit, 19.5 Gb/s); 16-bit tensor rates "
            "with fp32 accumulation (fp16 accumulation: 142 TFLOP/s); no fp8 tensor cores",
        ),
    }
)


def get_device(name: str | GPUSpec) -> GPUSpec:
    """The spec of a device by name (a key of ``DEVICES``)."""
    if isinstance(name, GPUSpec):
        return name
    if name not in DEVICES:
        raise unknown_name("device", name, DEVICES)
    return DEVICES[name]


def get_dtype(name: str) -> DType:
    """A dtype by name; raises ValueError listing the valid names otherwise."""
    if name not in DTYPES:
        raise unknown_name("dtype", name, DTYPES)
    return DTYPES[name]


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise unknown_name("kind", kind, KINDS)
    return kind
