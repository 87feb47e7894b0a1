"""Hugging Face ``config.json`` files as GEMM workloads (read directly: no transformers, no network).

Families (``model_type``): llama, mistral, mixtral (routed experts only), qwen2, gemma, phi3
(gated MLP, grouped-query attention), gpt2, gpt_neox, phi (plain MLP), bert and vit (encoders).
:func:`transformer_from_config` reads the dimensions; :func:`hf_entries` lays out one forward
pass as :class:`~archgym.workloads.gemms.GemmShape` rows:

- weight GEMMs: ``M = batch x tokens`` rows through every projection, MLP (for MoE: the router
  and the experts each token is routed to, ``batch x tokens x experts_per_tok`` token-slots
  spread evenly over the experts) and the output head (``lm_head`` for causal LMs);
- attention: per layer, sequence and KV head, ``attn_scores`` (``[tokens x group, head_dim] @
  [head_dim, keys]``) and ``attn_values`` (``[tokens x group, keys] @ [keys, head_dim]``) with
  ``group = heads / kv_heads`` query heads stacked on their shared KV head (grouped-query
  attention) and ``keys = context`` (capped by a sliding window): in decode the right operands
  are the KV cache.

Phases: ``prefill`` processes ``tokens`` per sequence (default ``min(2048,
max_position_embeddings)``) attending to ``context`` keys (default ``tokens``: full
square, the form GEMM kernels compute); ``decode`` processes ``tokens`` (default 1) new tokens
per sequence against a ``context``-token KV cache (default ``min(2048,
max_position_embeddings)``). Encoders (bert, vit) have only a prefill phase; a ViT's tokens are
its patches plus the class token. Norms, activations, softmax and residual adds are not GEMMs
and are left to the non-GEMM units (they are under 5% of the FLOPs of every family: tested).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archgym.errors import UserError, unknown_name
from archgym.simulators.common import read_json
from archgym.workloads.gemms import GemmShape
from archgym.workloads.workload import Entry, Workload, WorkloadOptions

__all__ = ["FAMILIES", "Transformer", "hf_entries", "load_config", "transformer_from_config"]

_DEFAULT_TOKENS = 2048


@dataclass(frozen=True)
class Transformer:
    """The dimensions of a transformer that decide its GEMMs.

    Attributes:
        model_type: The config's ``model_type``.
        layers, hidden, heads, kv_heads, head_dim, ffn, vocab: Blocks, model width, query heads,
            key/value heads, width of one head, MLP width, vocabulary size.
        gated: MLP with gate and up projections (SwiGLU / GeGLU).
        fused_qkv, fused_gate_up: One GEMM for q, k, v (one for gate and up), as the module does.
        experts, experts_per_token: Routed experts per MoE layer and how many each token uses.
        encoder: No decode phase (bert, vit).
        max_positions: ``max_position_embeddings`` (None if absent).
        absolute_positions: Learned positions: more than ``max_positions`` tokens cannot run.
        sliding_window: Keys a query attends to at most (None: all).
        heads_out: The output head GEMMs ``(name, n, k, rows)``, rows ``"all"`` (every token) or
            ``"first"`` (one per sequence).
        patch: ``(patches, channels x patch x patch)`` of a ViT's patch embedding.
    """

    model_type: str
    layers: int
    hidden: int
    heads: int
    kv_heads: int
    head_dim: int
    ffn: int
    vocab: int
    gated: bool
    fused_qkv: bool = False
    fused_gate_up: bool = False
    experts: int = 0
    experts_per_token: int = 0
    encoder: bool = False
    max_positions: int | None = None
    absolute_positions: bool = False
    sliding_window: int | None = None
    heads_out: tuple[tuple[str, int, int, str], ...] = ()
    patch: tuple[int, int] | None = None


class _Config:
    """A parsed config.json with typed, error-naming field access."""

    def __init__(self, data: dict[str, Any], path: str) -> None:
        self.data, self.path = data, path

    def int(self, *keys: str, default: Any = ...) -> Any:
        """The first of ``keys`` present and not null, as a positive integer."""
        for key in keys:
            value = self.data.get(key)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise UserError(
                    f"{self.path}: field {key!r} must be a positive integer, but got {value!r}"
                )
            return value
        if default is ...:
            raise UserError(f"{self.path}: field {keys[0]!r} is missing (needed for the GEMMs)")
        return default

    def architecture(self) -> str | None:
        archs = self.data.get("architectures") or []
        if not isinstance(archs, list) or not all(isinstance(a, str) for a in archs):
            raise UserError(f"{self.path}: field 'architectures' must be a list of class names")
        if len(archs) > 1:
            raise UserError(
                f"{self.path}: field 'architectures' names {len(archs)} classes ({archs}); "
                "keep the one to model"
            )
        return archs[0] if archs else None

    def labels(self) -> int:
        if isinstance(self.data.get("id2label"), dict):
            return len(self.data["id2label"])
        return self.int("num_labels", default=2)  # the transformers default

    def refuse(self, key: str, why: str) -> None:
        if self.data.get(key):
            raise UserError(f"{self.path}: {key}={self.data[key]!r} is not modelled ({why})")


def _decoder_head(c: _Config, hidden: int, vocab: int) -> tuple[tuple[str, int, int, str], ...]:
    arch = c.architecture()
    if arch is None or arch.endswith(("ForCausalLM", "LMHeadModel")):
        return (("lm_head", vocab, hidden, "all"),)
    if arch.endswith("ForSequenceClassification"):  # scores every token, keeps the last one
        return (("score", c.labels(), hidden, "all"),)
    if arch.endswith("Model"):
        return ()
    raise UserError(f"{c.path}: architecture {arch!r} is not modelled (its output head)")


def _llama_like(c: _Config, model_type: str) -> Transformer:
    hidden = c.int("hidden_size")
    heads = c.int("num_attention_heads")
    if model_type == "qwen2":
        c.refuse("use_sliding_window", "per-layer windows")
    windowed = model_type in ("mistral", "mixtral", "phi3")  # qwen2's needs use_sliding_window
    window = c.int("sliding_window", default=None) if windowed else None
    experts = c.int("num_local_experts") if model_type == "mixtral" else 0
    vocab = c.int("vocab_size")
    return Transformer(
        model_type=model_type,
        layers=c.int("num_hidden_layers"),
        hidden=hidden,
        heads=heads,
        kv_heads=c.int("num_key_value_heads", default=heads),
        head_dim=c.int("head_dim", default=_head_dim(c, hidden, heads)),
        ffn=c.int("intermediate_size"),
        vocab=vocab,
        gated=True,
        fused_qkv=model_type == "phi3",
        fused_gate_up=model_type == "phi3",
        experts=experts,
        experts_per_token=c.int("num_experts_per_tok") if experts else 0,
        max_positions=c.int("max_position_embeddings", default=None),
        sliding_window=window,
        heads_out=_decoder_head(c, hidden, vocab),
    )


def _head_dim(c: _Config, hidden: int, heads: int) -> int:
    if hidden % heads:
        raise UserError(f"{c.path}: hidden size {hidden} is not a multiple of {heads} heads")
    return hidden // heads


def _gpt2(c: _Config, model_type: str) -> Transformer:
    c.refuse("add_cross_attention", "encoder-decoder cross-attention")
    hidden, heads, vocab = c.int("n_embd"), c.int("n_head"), c.int("vocab_size")
    return Transformer(
        model_type=model_type,
        layers=c.int("n_layer"),
        hidden=hidden,
        heads=heads,
        kv_heads=heads,
        head_dim=_head_dim(c, hidden, heads),
        ffn=c.int("n_inner", default=4 * hidden),
        vocab=vocab,
        gated=False,
        fused_qkv=True,
        max_positions=c.int("n_positions", "n_ctx", default=None),
        absolute_positions=True,
        heads_out=_decoder_head(c, hidden, vocab),
    )


def _plain_decoder(c: _Config, model_type: str) -> Transformer:
    """gpt_neox (fused query_key_value) and phi (separate q, k, v; maybe grouped)."""
    hidden, heads, vocab = c.int("hidden_size"), c.int("num_attention_heads"), c.int("vocab_size")
    return Transformer(
        model_type=model_type,
        layers=c.int("num_hidden_layers"),
        hidden=hidden,
        heads=heads,
        kv_heads=c.int("num_key_value_heads", default=heads),
        head_dim=_head_dim(c, hidden, heads),
        ffn=c.int("intermediate_size"),
        vocab=vocab,
        gated=False,
        fused_qkv=model_type == "gpt_neox",
        max_positions=c.int("max_position_embeddings", default=None),
        heads_out=_decoder_head(c, hidden, vocab),
    )


def _encoder(c: _Config, model_type: str, hidden: int, heads: int, **fields: Any) -> Transformer:
    """A BERT-style encoder: multi-head attention, a plain FFN, absolute positions."""
    return Transformer(
        model_type=model_type,
        layers=c.int("num_hidden_layers"),
        hidden=hidden,
        heads=heads,
        kv_heads=heads,
        head_dim=_head_dim(c, hidden, heads),
        ffn=c.int("intermediate_size"),
        gated=False,
        encoder=True,
        absolute_positions=True,
        **fields,
    )


def _bert(c: _Config, model_type: str) -> Transformer:
    hidden, heads, vocab = c.int("hidden_size"), c.int("num_attention_heads"), c.int("vocab_size")
    c.refuse("is_decoder", "BERT as a decoder")
    arch = c.architecture()
    pooler = ("pooler", hidden, hidden, "first")
    mlm = (("mlm_transform", hidden, hidden, "all"), ("mlm_decoder", vocab, hidden, "all"))
    if arch is None or arch == "BertModel":
        out: tuple[tuple[str, int, int, str], ...] = (pooler,)
    elif arch == "BertForMaskedLM":
        out = mlm
    elif arch == "BertForPreTraining":
        out = (*mlm, pooler, ("nsp", 2, hidden, "first"))
    elif arch == "BertForSequenceClassification":
        out = (pooler, ("classifier", c.labels(), hidden, "first"))
    else:
        raise UserError(f"{c.path}: architecture {arch!r} is not modelled (its output head)")
    max_positions = c.int("max_position_embeddings", default=None)
    return _encoder(
        c, model_type, hidden, heads, vocab=vocab, max_positions=max_positions, heads_out=out
    )


def _vit(c: _Config, model_type: str) -> Transformer:
    hidden, heads = c.int("hidden_size"), c.int("num_attention_heads")
    image, patch = c.int("image_size"), c.int("patch_size")
    channels = c.int("num_channels", default=3)
    if image % patch:
        raise UserError(f"{c.path}: image_size {image} is not a multiple of patch_size {patch}")
    arch = c.architecture()
    if arch is None or arch == "ViTModel":
        out: tuple[tuple[str, int, int, str], ...] = (("pooler", hidden, hidden, "first"),)
    elif arch == "ViTForImageClassification":
        out = (("classifier", c.labels(), hidden, "first"),)
    else:
        raise UserError(f"{c.path}: architecture {arch!r} is not modelled (its output head)")
    patches = (image // patch) ** 2
    return _encoder(
        c,
        model_type,
        hidden,
        heads,
        vocab=0,
        max_positions=patches + 1,
        heads_out=out,
        patch=(patches, channels * patch * patch),
    )


FAMILIES = {
    "llama": _llama_like,
    "mistral": _llama_like,
    "mixtral": _llama_like,
    "qwen2": _llama_like,
    "gemma": _llama_like,
    "phi3": _llama_like,
    "gpt2": _gpt2,
    "gpt_neox": _plain_decoder,
    "phi": _plain_decoder,
    "bert": _bert,
    "vit": _vit,
}


def load_config(path: str | Path) -> dict[str, Any]:
    """The JSON object of a ``config.json`` (a folder means its ``config.json``)."""
    path = Path(path)
    if path.is_dir():
        path = path / "config.json"
    data = read_json(path)
    if not isinstance(data, dict):
        raise UserError(f"{path}: a config.json must hold a JSON object")
    return data


def transformer_from_config(config: dict[str, Any], path: str = "config.json") -> Transformer:
    """The :class:`Transformer` of a parsed config; unknown ``model_type`` is a one-line error."""
    model_type = config.get("model_type")
    if model_type is None:
        raise UserError(f"{path}: field 'model_type' is missing (not a Hugging Face config?)")
    if model_type not in FAMILIES:
        raise unknown_name(f"model_type in {path}:", str(model_type), FAMILIES)
    t = FAMILIES[model_type](_Config(config, path), model_type)
    if t.heads % t.kv_heads:
        raise UserError(f"{path}: {t.heads} heads are not a multiple of {t.kv_heads} KV heads")
    if t.experts and not 1 <= t.experts_per_token <= t.experts:
        raise UserError(
            f"{path}: num_experts_per_tok ({t.experts_per_token}) must be in 1..{t.experts}"
        )
    return t


def _tokens(t: Transformer, opts: WorkloadOptions, path: str) -> tuple[str, int, int]:
    """(phase, tokens per sequence, keys per query) after defaults and checks."""
    phase = opts.phase or "prefill"
    default = min(_DEFAULT_TOKENS, t.max_positions or _DEFAULT_TOKENS)
    if t.encoder and phase == "decode":
        raise UserError(f"{path}: a {t.model_type} encoder has no decode phase")
    if t.patch is not None:
        if opts.tokens is not None or opts.context is not None:
            raise UserError(
                f"{path}: a ViT's tokens are its {t.patch[0]} patches and the class token; "
                "`tokens` and `context` do not apply"
            )
        return phase, t.patch[0] + 1, t.patch[0] + 1
    if phase == "prefill":
        tokens = opts.tokens or default
        context = opts.context or tokens
        if context < tokens:
            raise UserError(
                f"`context` ({context}) must be at least `tokens` ({tokens}) in prefill: "
                "each token attends to itself"
            )
    else:
        tokens, context = opts.tokens or 1, opts.context or default
    if t.absolute_positions and t.max_positions and context > t.max_positions:
        raise UserError(
            f"{path}: {context} positions exceed max_position_embeddings ({t.max_positions})"
        )
    keys = min(context, t.sliding_window) if t.sliding_window else context
    return phase, tokens, keys


def hf_entries(t: Transformer, opts: WorkloadOptions, path: str = "config.json") -> Workload:
    """One forward pass of ``t`` (phase, tokens, batch, context from ``opts``) as GEMM entries."""
    if opts.skip_unsupported:
        raise UserError("`skip_unsupported` applies to ONNX models; a config.json has no ops")
    phase, tokens, keys = _tokens(t, opts, path)
    batch = opts.batch or 1
    rows, L = batch * tokens, t.layers
    out: list[Entry] = []

    def weight(name: str, m: int, n: int, k: int, count: int = L) -> None:
        out.append(Entry(GemmShape(name, m, n, k, count), source=f"{t.model_type}.{name}"))

    if t.patch is not None:
        weight("patch_embed", batch * t.patch[0], t.hidden, t.patch[1], 1)
    q, kv = t.heads * t.head_dim, t.kv_heads * t.head_dim
    if t.fused_qkv:
        weight("qkv_proj", rows, q + 2 * kv, t.hidden)
    else:
        for name, n in (("q_proj", q), ("k_proj", kv), ("v_proj", kv)):
            weight(name, rows, n, t.hidden)
    group, attn_runs = t.heads // t.kv_heads, L * batch * t.kv_heads
    for name, n, k in (("attn_scores", keys, t.head_dim), ("attn_values", t.head_dim, keys)):
        gemm = GemmShape(name, tokens * group, n, k, attn_runs)
        out.append(Entry(gemm, kind="attention", source=f"{t.model_type}.attention"))
    weight("o_proj", rows, t.hidden, q)
    if t.experts:
        _moe(t, rows, weight)
    elif t.fused_gate_up:
        weight("gate_up_proj", rows, 2 * t.ffn, t.hidden)
    else:
        for name in ("gate_proj", "up_proj") if t.gated else ("fc1",):
            weight(name, rows, t.ffn, t.hidden)
    if not t.experts:
        weight("down_proj" if t.gated else "fc2", rows, t.hidden, t.ffn)
    for name, n, k, which in t.heads_out:
        weight(name, rows if which == "all" else batch, n, k, 1)
    notes = {
        "model_type": t.model_type,
        "phase": phase,
        "tokens": tokens,
        "batch": batch,
        "keys": keys,
        "kv_cache_elements": 2 * L * batch * kv * keys,
    }
    p = Path(path)
    name = (p.parent.name if p.stem == "config" else p.stem) or t.model_type
    return Workload(name, tuple(out), notes=notes)


def _moe(t: Transformer, rows: int, weight: Any) -> None:
    """Router and routed experts: ``rows x experts_per_token`` token-slots spread evenly over the
    experts (``r`` experts get one more token than the rest); experts with no token are not run."""
    weight("router", rows, t.experts, t.hidden)
    base, extra = divmod(rows * t.experts_per_token, t.experts)
    for tokens, experts in ((base + 1, extra), (base, t.experts - extra)):
        if tokens and experts:
            for name, n, k in (("w1", t.ffn, t.hidden), ("w3", t.ffn, t.hidden)):
                weight(f"experts.{name}", tokens, n, k, t.layers * experts)
            weight("experts.w2", tokens, t.hidden, t.ffn, t.layers * experts)


def hf_workload(path: str | Path, opts: WorkloadOptions) -> Workload:
    """Read a ``config.json`` (or a checkpoint folder holding one) into a :class:`Workload`."""
    text = str(path)
    return hf_entries(transformer_from_config(load_config(path), text), opts, text)
