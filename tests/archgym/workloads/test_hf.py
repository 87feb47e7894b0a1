"""Hugging Face configs -> GEMMs, checked against parameter counts written independently here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from archgym.errors import UserError
from archgym.workloads import resolve_workload
from archgym.workloads.hf import FAMILIES

MODELS = Path(__file__).parents[2] / "data" / "models"


def config(name: str) -> dict:
    return json.loads((MODELS / f"{name}.json").read_text())


def matmul_params(c: dict) -> tuple[int, int]:
    """(weights a token passes through, all weights) of a Llama-style decoder, from the
    module shapes in the transformers source: q/k/v/o projections, the SwiGLU MLP (or the
    router and the experts), and lm_head. Embeddings and norms do no matmul."""
    h, inter, layers = c["hidden_size"], c["intermediate_size"], c["num_hidden_layers"]
    d = h // c["num_attention_heads"]
    attn = h * h + 2 * h * (c["num_key_value_heads"] * d) + h * h
    mlp = 3 * h * inter
    experts = c.get("num_local_experts", 1)
    active = c.get("num_experts_per_tok", 1)
    router = h * experts if experts > 1 else 0
    head = h * c["vocab_size"]
    used = layers * (attn + router + active * mlp) + head
    every = layers * (attn + router + experts * mlp) + head
    return used, every


def total_params(c: dict) -> int:
    """All parameters (embeddings and RMS norms included) of a Llama-style decoder."""
    h = c["hidden_size"]
    norms = (2 * c["num_hidden_layers"] + 1) * h
    return matmul_params(c)[1] + c["vocab_size"] * h + norms


def test_independent_count_matches_published_sizes():
    """The test's own arithmetic reproduces the published sizes (Llama-3-8B: 8.03B;
    Mixtral-8x7B: 46.7B total, 12.9B active), so it is a fair judge of the importer."""
    assert total_params(config("llama3-8b")) == pytest.approx(8.03e9, rel=0.005)
    mixtral = config("mixtral-8x7b")
    assert total_params(mixtral) == pytest.approx(46.7e9, rel=0.005)
    active = matmul_params(mixtral)[0] + mixtral["vocab_size"] * mixtral["hidden_size"]
    assert active == pytest.approx(12.9e9, rel=0.005)


@pytest.mark.parametrize(
    ("name", "options", "tokens"),
    [
        ("llama3-8b", {"phase": "prefill", "tokens": 2048}, 2048),
        ("llama3-8b", {"phase": "prefill", "tokens": 512, "batch": 4}, 2048),
        ("llama3-8b", {"phase": "decode", "batch": 16, "context": 8192}, 16),
        ("mixtral-8x7b", {"phase": "prefill", "tokens": 4096}, 4096),
        ("mixtral-8x7b", {"phase": "decode", "batch": 1, "context": 1024}, 1),
    ],
)
def test_weight_flops_within_1_percent_of_parameter_arithmetic(name, options, tokens):
    w = resolve_workload(MODELS / f"{name}.json", **options)
    expected = 2 * tokens * matmul_params(config(name))[0]
    assert w.weight_flops == pytest.approx(expected, rel=0.01)


def test_decode_reads_the_kv_cache_with_grouped_query_heads():
    w = resolve_workload(MODELS / "llama3-8b.json", phase="decode", batch=2, context=1000)
    scores = next(e for e in w.entries if e.item.name == "attn_scores")
    # 32 query heads share 8 KV heads: 4 query rows per KV head against 1000 cached keys
    assert (scores.item.m, scores.item.n, scores.item.k) == (4, 1000, 128)
    assert scores.runs == 32 * 2 * 8
    assert w.attention_flops == 2 * 2 * 32 * 2 * 32 * 1000 * 128
    assert w.notes["kv_cache_elements"] == 2 * 32 * 2 * 1024 * 1000


def test_mixtral_decode_runs_only_the_routed_experts():
    w = resolve_workload(MODELS / "mixtral-8x7b.json", phase="decode")
    experts = [e for e in w.entries if e.item.name.startswith("experts.")]
    assert {e.runs for e in experts} == {32 * 2}  # 2 of 8 experts per layer, one token each
    assert all(e.item.m == 1 for e in experts)


def test_sliding_window_caps_the_keys():
    w = resolve_workload(MODELS / "mistral-7b.json", phase="decode", context=16384)
    assert w.notes["keys"] == 4096


def test_vit_tokens_are_patches_and_class_token():
    w = resolve_workload(MODELS / "vit-base-patch16-224.json", batch=2)
    patch = w.entries[0].item
    assert (patch.m, patch.n, patch.k) == (2 * 196, 768, 3 * 16 * 16)
    assert w.notes["tokens"] == 197
    with pytest.raises(UserError, match="no decode phase"):
        resolve_workload(MODELS / "vit-base-patch16-224.json", phase="decode")


def test_errors_name_the_problem(tmp_path):
    bad = tmp_path / "config.json"
    bad.write_text(json.dumps({"model_type": "llamma", "hidden_size": 8}))
    with pytest.raises(UserError, match=r"unknown model_type .* 'llamma'; did you mean 'llama'"):
        resolve_workload(bad)
    bad.write_text(json.dumps({"model_type": "llama", "hidden_size": 8}))
    with pytest.raises(UserError, match="field 'num_attention_heads' is missing"):
        resolve_workload(bad)
    c = config("gpt2")
    bad.write_text(json.dumps(c))
    with pytest.raises(UserError, match=r"exceed max_position_embeddings \(1024\)"):
        resolve_workload(tmp_path, tokens=2048)  # a checkpoint folder works too


@pytest.mark.parametrize(
    ("name", "change", "options", "message"),
    [
        ("qwen2-7b", {"use_sliding_window": True}, {}, "use_sliding_window=True is not modelled"),
        ("bert-base-uncased", {}, {"phase": "decode"}, "encoder has no decode phase"),
        ("gpt2", {"architectures": ["A", "B"]}, {}, "names 2 classes"),
        ("llama3-8b", {"architectures": ["LlamaForTokenClassification"]}, {}, "not modelled"),
        ("llama3-8b", {"num_key_value_heads": 5}, {}, "not a multiple of 5 KV heads"),
        ("llama3-8b", {"hidden_size": 4096.0}, {}, "'hidden_size' must be a positive integer"),
        ("llama3-8b", {}, {"tokens": 64, "context": 32}, "must be at least `tokens`"),
    ],
)
def test_config_mistakes_are_one_line_errors(tmp_path, name, change, options, message):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({**config(name), **change}))
    with pytest.raises(UserError, match=message) as info:
        resolve_workload(path, **options)
    assert "\n" not in str(info.value)


def full_forward_flops(name: str, tokens: int) -> tuple[float, float]:
    """(matmul FLOPs, all FLOPs) of one prefill pass of batch 1, written from the model
    definitions: matmuls from the module shapes, plus the elementwise work (norms 5/elem,
    activations 8/elem, gating 1/elem, residual adds 1/elem, rotary 3/elem of q and k,
    softmax 5/score, score scaling 1/score), the upper end of common per-op costs."""
    c = config(name)
    h = c.get("hidden_size") or c["n_embd"]
    layers = c.get("num_hidden_layers") or c["n_layer"]
    heads = c.get("num_attention_heads") or c["n_head"]
    kv = c.get("num_key_value_heads") or heads
    d = c.get("head_dim") or h // heads
    inter = c.get("intermediate_size") or c.get("n_inner") or 4 * h
    t = tokens
    if c["model_type"] == "vit":
        t = (c["image_size"] // c["patch_size"]) ** 2 + 1
    gated = c["model_type"] in ("llama", "mistral", "mixtral", "qwen2", "gemma", "phi3")
    active = c.get("num_experts_per_tok", 1)
    proj = h * (heads * d + 2 * kv * d) + heads * d * h
    mlp = active * (3 if gated else 2) * h * inter + h * c.get("num_local_experts", 0)
    attn = 2 * heads * t * t * d  # scores and values, per token-pair and head dim
    matmul = 2 * layers * (t * (proj + mlp) + attn)
    if c["model_type"] == "vit":  # patch embedding on the patches, classifier on the class token
        matmul += 2 * (t - 1) * (3 * c["patch_size"] ** 2 * h) + 2 * h * c["num_labels"]
    elif c["model_type"] == "bert":  # masked-LM head: transform and decoder on every token
        matmul += 2 * t * (h * h + h * c["vocab_size"])
    else:
        matmul += 2 * t * h * c["vocab_size"]
    rotary = 0 if c["model_type"] in ("gpt2", "bert", "vit") else 3 * (heads + kv) * d
    per_token = 2 * 5 * h + active * inter * (8 + gated) + 2 * h + rotary
    elementwise = layers * (t * per_token + 6 * heads * t * t) + t * 5 * h
    return matmul, matmul + elementwise


@pytest.mark.parametrize("name", sorted(p.stem for p in MODELS.glob("*.json")))
def test_every_family_covers_95_percent_of_its_flops(name):
    assert config(name)["model_type"] in FAMILIES
    tokens = 512
    w = resolve_workload(MODELS / f"{name}.json", tokens=None if "vit" in name else tokens)
    matmul, total = full_forward_flops(name, tokens)
    assert w.flops() == pytest.approx(matmul, rel=0.01)
    assert w.flops() / total >= 0.95


def test_every_family_has_a_fixture():
    families = {config(p.stem)["model_type"] for p in MODELS.glob("*.json")}
    assert families == set(FAMILIES)
