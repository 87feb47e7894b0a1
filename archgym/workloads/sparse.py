"""Sparse workloads: networks and transformer GEMM sets with pruned weights (suffix ``-sparse``).

Each entry is a tuple of :class:`archgym.simulators.sparse.SparseLayer` (repeated layers repeated, as in
:mod:`archgym.workloads.networks`). Weight GEMMs (projections, FFNs, convolutions, FC layers)
get the pattern; activation-by-activation GEMMs (attention scores and values) and layers whose
K (or N, for V:N:M) the format cannot divide stay dense, as a pruning tool would leave them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from archgym.simulators.sparse import SparseLayer, parse_pattern
from archgym.simulators.sparse.patterns import Pattern
from archgym.simulators.systolic.layers import ConvLayer, Layer
from archgym.workloads.gemms import transformer_gemms
from archgym.workloads.networks import gemm_layers, resnet50

__all__ = ["ACTIVATION_GEMMS", "WORKLOADS", "sparsify"]

#: Transformer GEMMs whose both operands are activations (nothing to prune).
ACTIVATION_GEMMS = frozenset({"attn_scores", "attn_values"})


def _prunable(layer: Layer, pattern: Pattern) -> bool:
    if layer.name in ACTIVATION_GEMMS:
        return False
    if isinstance(layer, ConvLayer) and layer.depthwise:
        return False
    _, n, k = layer.gemm_shape()
    return k % pattern.m == 0 and (pattern.v is None or n % pattern.v == 0)


def sparsify(layers: Iterable[Layer], pattern: str | Pattern) -> tuple[SparseLayer, ...]:
    """Give every prunable layer ``pattern`` (the others stay dense)."""
    p = parse_pattern(pattern)
    return tuple(SparseLayer(layer, p if _prunable(layer, p) else "dense") for layer in layers)


def _llm(model: str, tokens: int, pattern: str, context: int | None = None):
    return lambda: sparsify(gemm_layers(transformer_gemms(model, tokens, context=context)), pattern)


WORKLOADS: dict[str, Callable[[], tuple[SparseLayer, ...]]] = {
    "bert-base-sparse": _llm("bert-base", 512, "2:4"),
    "gpt2-prefill-sparse": _llm("gpt2", 1024, "2:4"),
    "llama2-7b-prefill-sparse": _llm("llama2-7b", 2048, "2:4"),
    "llama2-7b-decode-sparse": _llm("llama2-7b", 1, "2:4", context=2048),
    "llama2-7b-prefill-2to8-sparse": _llm("llama2-7b", 2048, "2:8"),
    "llama2-7b-prefill-venom64-sparse": _llm("llama2-7b", 2048, "64:2:8"),
    "resnet50-sparse": lambda: sparsify(resnet50(), "2:4"),
    "resnet50-2to8-sparse": lambda: sparsify(resnet50(), "2:8"),
}
