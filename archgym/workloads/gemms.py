"""GEMM shape lists of transformer models (one layer's matrix products, repeated per layer).

Shapes are (M, N, K) with M = tokens (batch x sequence), N = output features, K = input
features, counted ``count`` times (layers x heads): :class:`GemmShape`, the project's one GEMM
type (defined with the simulators in :mod:`archgym.simulators.shapes`, importable from here).
Model dimensions are the published ones: BERT-base (Devlin et al. 2019: 12 layers, hidden 768, FFN 3072, 12 heads), GPT-2 small (Radford
et al. 2019: 12 layers, 768, 3072, 12 heads), Llama-2-7B (Touvron et al. 2023: 32 layers, hidden
4096, FFN 11008, 32 heads of 128).
"""

from __future__ import annotations

from dataclasses import dataclass

from archgym.simulators.shapes import GemmShape

__all__ = ["MODELS", "WORKLOADS", "GemmShape", "TransformerDims", "transformer_gemms"]


@dataclass(frozen=True)
class TransformerDims:
    """Published dimensions of a transformer (decoder or encoder)."""

    layers: int
    hidden: int
    ffn: int
    heads: int
    gated_ffn: bool = False  # Llama's SwiGLU has gate and up projections


MODELS: dict[str, TransformerDims] = {
    "bert-base": TransformerDims(layers=12, hidden=768, ffn=3072, heads=12),
    "gpt2": TransformerDims(layers=12, hidden=768, ffn=3072, heads=12),
    "llama2-7b": TransformerDims(layers=32, hidden=4096, ffn=11008, heads=32, gated_ffn=True),
}


def transformer_gemms(
    model: str, tokens: int, *, context: int | None = None
) -> tuple[GemmShape, ...]:
    """All GEMMs of one forward pass over ``tokens`` tokens attending to ``context`` keys.

    ``context`` defaults to ``tokens`` (prefill / encoder); decode steps use ``tokens=batch`` and
    ``context=cached length``.
    """
    if model not in MODELS:
        from archgym.errors import unknown_name

        raise unknown_name("transformer model", model, MODELS)
    d = MODELS[model]
    ctx = tokens if context is None else context
    head = d.hidden // d.heads
    ffn_up = 2 * d.ffn if d.gated_ffn else d.ffn
    return (
        GemmShape("qkv_proj", tokens, 3 * d.hidden, d.hidden, d.layers),
        GemmShape("attn_scores", tokens, ctx, head, d.layers * d.heads),
        GemmShape("attn_values", tokens, head, ctx, d.layers * d.heads),
        GemmShape("out_proj", tokens, d.hidden, d.hidden, d.layers),
        GemmShape("ffn_up", tokens, ffn_up, d.hidden, d.layers),
        GemmShape("ffn_down", tokens, d.hidden, d.ffn, d.layers),
    )


WORKLOADS = {
    "bert-base": lambda: transformer_gemms("bert-base", 512),
    "gpt2-prefill": lambda: transformer_gemms("gpt2", 1024),
    "gpt2-decode": lambda: transformer_gemms("gpt2", 1, context=1024),
    "llama2-7b-prefill": lambda: transformer_gemms("llama2-7b", 2048),
    "llama2-7b-decode": lambda: transformer_gemms("llama2-7b", 1, context=2048),
}
