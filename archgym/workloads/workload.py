"""The resolved form of a workload: its layers with what each one is, and the totals.

A :class:`Workload` is what :func:`archgym.workloads.resolve_workload` returns for any workload
spec (built-in name, SCALE-Sim topology, ONNX file, Hugging Face ``config.json``). It wraps the
layer types the simulators already use -- :class:`~archgym.simulators.systolic.ConvLayer`,
:class:`~archgym.simulators.systolic.GemmLayer` and
:class:`~archgym.workloads.gemms.GemmShape` -- with, per entry, how many times it runs, whether
its right operand is a weight, an attention operand (keys / values, the KV cache in decode) or
another activation, and where it came from (ONNX node, Hugging Face module).

FLOPs are 2 x multiply-accumulates. ``weight_flops`` is 2 x (rows of activations) x (weights
of every GEMM or convolution): for a transformer 2 x tokens x the weights a token passes
through, for a convolution 2 x output pixels x its filter weights.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from archgym.simulators.systolic.layers import ConvLayer, GemmLayer
from archgym.workloads.gemms import GemmShape

__all__ = ["KINDS", "PHASES", "Entry", "Skipped", "Workload", "WorkloadOptions", "as_gemms"]

#: What an entry's right operand is: a weight, keys/values of attention, another activation.
KINDS = ("weight", "attention", "activation")
PHASES = ("prefill", "decode")

Item = ConvLayer | GemmLayer | GemmShape


@dataclass(frozen=True)
class WorkloadOptions:
    """How to instantiate a model file: inference phase, tokens, batch and attended context.

    Attributes:
        phase: ``"prefill"`` (all ``tokens`` at once) or ``"decode"`` (``tokens`` new tokens
            per sequence, default 1, reading a KV cache of ``context`` tokens); Hugging Face
            configs only.
        tokens: Tokens per sequence processed in this pass (ONNX: binds a symbolic dim 1).
        batch: Sequences (or images) processed together (ONNX: binds a symbolic dim 0, or
            repeats the model when its batch is fixed).
        context: Keys each query attends to (the KV-cache length in decode); Hugging Face
            configs only; defaults to ``tokens`` in prefill.
        skip_unsupported: Skip ONNX ops no layer type can express and report their FLOPs,
            instead of refusing the model.
    """

    phase: str | None = None
    tokens: int | None = None
    batch: int | None = None
    context: int | None = None
    skip_unsupported: bool = False

    def __post_init__(self) -> None:
        if self.phase is not None and self.phase not in PHASES:
            raise ValueError(f"`phase` must be 'prefill' or 'decode', but got {self.phase!r}")
        for name in ("tokens", "batch", "context"):
            v = getattr(self, name)
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
                raise ValueError(f"`{name}` must be a positive integer, but got {v!r}")
        if not isinstance(self.skip_unsupported, bool):
            raise ValueError(
                f"`skip_unsupported` must be true or false, but got {self.skip_unsupported!r}"
            )

    def given(self) -> dict[str, Any]:
        """The options that were set (not None / not False)."""
        return {k: v for k, v in self.__dict__.items() if v not in (None, False)}


@dataclass(frozen=True)
class Entry:
    """One layer of a workload: ``item`` run ``count`` times (a ``GemmShape`` also carries its
    own ``count``: the runs are the product)."""

    item: Item
    count: int = 1
    kind: str = "weight"
    source: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"`kind` must be one of {KINDS}, but got {self.kind!r}")
        if isinstance(self.count, bool) or not isinstance(self.count, int) or self.count < 1:
            raise ValueError(f"`count` must be a positive integer, but got {self.count!r}")

    @property
    def runs(self) -> int:
        """Times the GEMM / convolution runs in total."""
        return self.count * (self.item.count if isinstance(self.item, GemmShape) else 1)

    @property
    def macs(self) -> int:
        """Multiply-accumulates of all runs."""
        return self.item.macs * self.count  # GemmShape.macs already includes its own count

    def shape(self) -> tuple[int, int, int, int]:
        """(M, N, K, groups) of one run."""
        if isinstance(self.item, GemmShape):
            return self.item.m, self.item.n, self.item.k, 1
        m, n, k = self.item.gemm_shape()
        return m, n, k, self.item.groups


@dataclass(frozen=True)
class Skipped:
    """An op left out with ``skip_unsupported``; ``flops`` is None where no formula is known."""

    op_type: str
    node: str
    flops: int | None


@dataclass(frozen=True)
class Workload:
    """A resolved workload: entries, what was skipped, and facts about the source model."""

    name: str
    entries: tuple[Entry, ...]
    skipped: tuple[Skipped, ...] = ()
    notes: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.entries:
            raise ValueError(f"workload {self.name!r} has no GEMM or convolution layers")

    @property
    def family(self) -> str:
        """``"gemms"`` when every entry is a matrix product, else ``"networks"``."""
        gemm = all(isinstance(e.item, (GemmShape, GemmLayer)) for e in self.entries)
        return "gemms" if gemm else "networks"

    def items(self) -> tuple[Any, ...]:
        """What the envs consume: ``GemmShape`` rows (family ``gemms``) or layers, each layer
        repeated ``count`` times (family ``networks``)."""
        if self.family == "gemms":
            return as_gemms(self)
        out: list[Any] = []
        for e in self.entries:
            if isinstance(e.item, GemmShape):
                g = e.item
                out += [GemmLayer(g.m, g.n, g.k, name=g.name)] * e.runs
            else:
                out += [e.item] * e.count
        return tuple(out)

    def flops(self, kind: str | None = None) -> int:
        """2 x MACs of the entries of one kind (all entries with ``None``)."""
        return 2 * sum(e.macs for e in self.entries if kind in (None, e.kind))

    @property
    def weight_flops(self) -> int:
        """2 x activation rows x weights, summed over every GEMM and convolution with weights."""
        return self.flops("weight")

    @property
    def attention_flops(self) -> int:
        """2 x MACs of the attention products (scores and values)."""
        return self.flops("attention")

    @property
    def skipped_flops(self) -> int | None:
        """FLOPs of the skipped ops (None if any of them has no known formula)."""
        if any(s.flops is None for s in self.skipped):
            return None
        return sum(s.flops for s in self.skipped if s.flops is not None)

    def summary(self) -> dict[str, Any]:
        """Totals as plain JSON values."""
        skipped = Counter(s.op_type for s in self.skipped)
        return {
            "name": self.name,
            "family": self.family,
            "layer_count": len(self.entries),
            "weight_flops": self.weight_flops,
            "attention_flops": self.attention_flops,
            "activation_flops": self.flops("activation"),
            "total_flops": self.flops(),
            "skipped_ops": dict(skipped),
            "skipped_flops": self.skipped_flops,
            **dict(self.notes),
        }

    def rows(self) -> list[dict[str, Any]]:
        """One JSON row per entry: name, type, kind, M, N, K, groups, runs, flops, source."""
        out = []
        for e in self.entries:
            m, n, k, groups = e.shape()
            out.append(
                {
                    "name": e.item.name,
                    "type": "conv" if isinstance(e.item, ConvLayer) else "gemm",
                    "kind": e.kind,
                    "m": m,
                    "n": n,
                    "k": k,
                    "groups": groups,
                    "runs": e.runs,
                    "flops": 2 * e.macs,
                    "source": e.source,
                }
            )
        return out


def as_gemms(workload: Workload) -> tuple[GemmShape, ...]:
    """Every entry as ``GemmShape`` rows (a convolution as its im2col GEMM, one row per group
    count): the form of the GEMM envs."""
    out = []
    for e in workload.entries:
        item = e.item
        if isinstance(item, GemmShape):
            out.append(replace(item, count=item.count * e.count))
        else:
            m, n, k = item.gemm_shape()
            out.append(GemmShape(item.name, m, n, k, item.groups * e.count))
    return tuple(out)
