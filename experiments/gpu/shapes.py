"""The GEMM shape plan of the GPU measurement campaign (pure Python, no torch).

Convention everywhere in the GPU code: ``C[m, n] = A[m, k] @ B[k, n]``; for a linear layer ``m`` is
the token (or im2col pixel) count, ``n`` the output features, ``k`` the input features.
Each shape carries a ``family`` (the unit of the train/test split) and a ``source`` label.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Shape:
    """One GEMM problem: sizes plus where it comes from."""

    family: str
    source: str
    m: int
    n: int
    k: int


# (name, hidden, fused qkv output, mlp up output (gate+up fused where gated), mlp inner width)
# from the models' published configs (config.json on the Hugging Face hub).
LLM_MODELS = {
    "gpt2": (768, 3 * 768, 3072, 3072),
    "bert-large": (1024, 3 * 1024, 4096, 4096),
    "llama2-7b": (4096, 3 * 4096, 2 * 11008, 11008),
    # Llama-3-8B and Mistral-7B share these sizes: 32 query heads and 8 KV heads of 128.
    "llama3-8b": (4096, 4096 + 2 * 1024, 2 * 14336, 14336),
    "llama2-13b": (5120, 3 * 5120, 2 * 13824, 13824),
}
TOKEN_COUNTS = (1, 16, 64, 256, 1024, 4096, 8192)

# ResNet-50 v1.5 convolutions at 224x224 as im2col GEMMs:
# (name, output height=width, input channels, output channels, kernel size).
RESNET50_CONVS = (
    ("conv1", 112, 3, 64, 7),
    ("l1.reduce", 56, 64, 64, 1),
    ("l1.conv3x3", 56, 64, 64, 3),
    ("l1.expand", 56, 64, 256, 1),
    ("l1.reduce2", 56, 256, 64, 1),
    ("l2.reduce", 56, 256, 128, 1),
    ("l2.conv3x3s2", 28, 128, 128, 3),
    ("l2.expand", 28, 128, 512, 1),
    ("l2.reduce2", 28, 512, 128, 1),
    ("l2.downsample", 28, 256, 512, 1),
    ("l3.reduce", 28, 512, 256, 1),
    ("l3.conv3x3", 14, 256, 256, 3),
    ("l3.expand", 14, 256, 1024, 1),
    ("l3.reduce2", 14, 1024, 256, 1),
    ("l3.downsample", 14, 512, 1024, 1),
    ("l4.reduce", 14, 1024, 512, 1),
    ("l4.conv3x3", 7, 512, 512, 3),
    ("l4.expand", 7, 512, 2048, 1),
    ("l4.reduce2", 7, 2048, 512, 1),
    ("l4.downsample", 7, 1024, 2048, 1),
)
RESNET_BATCHES = (1, 32)
SQUARE_SIZES = (128, 256, 512, 1000, 1024, 2048, 3000, 4096, 5000, 6144, 8192)
N_RANDOM = 60
RANDOM_SEED = 20261122


def llm_shapes() -> list[Shape]:
    out = []
    for model, (d, qkv, up, inner) in LLM_MODELS.items():
        projections = {"qkv": (qkv, d), "o": (d, d), "up": (up, d), "down": (d, inner)}
        for tokens in TOKEN_COUNTS:
            for proj, (n, k) in projections.items():
                out.append(Shape(f"llm:{model}", f"{model}.{proj}.t{tokens}", tokens, n, k))
    return out


def cnn_shapes() -> list[Shape]:
    out = []
    for batch in RESNET_BATCHES:
        for name, hw, cin, cout, ks in RESNET50_CONVS:
            m = batch * hw * hw
            out.append(Shape("cnn:resnet50", f"resnet50.{name}.b{batch}", m, cout, cin * ks * ks))
        out.append(Shape("cnn:resnet50", f"resnet50.fc.b{batch}", batch, 1000, 2048))
    return out


def square_shapes() -> list[Shape]:
    return [Shape("square", f"square{s}", s, s, s) for s in SQUARE_SIZES]


def random_shapes(n: int = N_RANDOM, seed: int = RANDOM_SEED) -> list[Shape]:
    """Log-uniform sizes; m from 1, n and k from 16, all up to 8192; most not multiples of 8."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        m = round(math.exp(rng.uniform(0.0, math.log(8192))))
        nn = round(math.exp(rng.uniform(math.log(16), math.log(8192))))
        k = round(math.exp(rng.uniform(math.log(16), math.log(8192))))
        out.append(Shape(f"random:{i % 6}", f"random{i}", m, nn, k))
    return out


# Shapes for a prospective check, chosen after the model was frozen: models, token counts and a
# random seed that the calibration and the held-out split never saw.
PROSPECTIVE_MODELS = {
    "qwen2-7b": (3584, 3584 + 2 * 512, 2 * 18944, 18944),
    "phi3-mini": (3072, 3 * 3072, 2 * 8192, 8192),
    "mistral-nemo-12b": (5120, 4096 + 2 * 1024, 2 * 14336, 14336),
}
PROSPECTIVE_TOKENS = (2, 32, 512, 2048)


def prospective_shapes() -> list[Shape]:
    out = []
    for model, (d, qkv, up, inner) in PROSPECTIVE_MODELS.items():
        # Mistral-NeMo's attention width (4096) differs from its hidden size (5120).
        attn = 4096 if model == "mistral-nemo-12b" else d
        projections = {"qkv": (qkv, d), "o": (d, attn), "up": (up, d), "down": (d, inner)}
        for tokens in PROSPECTIVE_TOKENS:
            for proj, (n, k) in projections.items():
                out.append(Shape(f"new:{model}", f"{model}.{proj}.t{tokens}", tokens, n, k))
    for s in random_shapes(40, seed=RANDOM_SEED + 1):
        out.append(Shape("new:random", "new-" + s.source, s.m, s.n, s.k))
    known = {(s.m, s.n, s.k) for s in all_shapes()}
    seen: set[tuple[int, int, int]] = set()
    unique = []
    for s in out:
        if (s.m, s.n, s.k) not in known | seen:
            seen.add((s.m, s.n, s.k))
            unique.append(s)
    return unique


# A second prospective set, chosen after the second-pass model was frozen (issue 5): three more
# model families (published config.json sizes), token counts not used before, a new random seed.
# (name, hidden, fused qkv output, mlp up output (gate+up fused where gated), mlp inner width,
# attention width feeding the o projection)
PROSPECTIVE2_MODELS = {
    # Gemma-7B: 16 heads of 256 (attention width 4096 > hidden 3072), GeGLU MLP of 24576.
    "gemma-7b": (3072, 3 * 4096, 2 * 24576, 24576, 4096),
    # Falcon-7B: 71 heads of 64, multi-query (one KV head), plain 4x MLP.
    "falcon-7b": (4544, 4544 + 2 * 64, 4 * 4544, 4 * 4544, 4544),
    # OPT-6.7B: 32 heads of 128, plain 4x MLP.
    "opt-6.7b": (4096, 3 * 4096, 16384, 16384, 4096),
}
PROSPECTIVE2_TOKENS = (3, 48, 384, 3072)
PROSPECTIVE2_SEED = RANDOM_SEED + 2


def prospective_shapes_v2() -> list[Shape]:
    """The second prospective set; no (m, n, k) of the training data or the first set."""
    out = []
    for model, (d, qkv, up, inner, attn) in PROSPECTIVE2_MODELS.items():
        projections = {"qkv": (qkv, d), "o": (d, attn), "up": (up, d), "down": (d, inner)}
        for tokens in PROSPECTIVE2_TOKENS:
            for proj, (n, k) in projections.items():
                out.append(Shape(f"new2:{model}", f"{model}.{proj}.t{tokens}", tokens, n, k))
    for s in random_shapes(40, seed=PROSPECTIVE2_SEED):
        out.append(Shape("new2:random", "new2-" + s.source, s.m, s.n, s.k))
    known = {(s.m, s.n, s.k) for s in all_shapes() + prospective_shapes()}
    seen: set[tuple[int, int, int]] = set()
    unique = []
    for s in out:
        if (s.m, s.n, s.k) not in known | seen:
            seen.add((s.m, s.n, s.k))
            unique.append(s)
    return unique


def all_shapes() -> list[Shape]:
    """Every shape once: an (m, n, k) seen in an earlier family keeps that family only."""
    seen: set[tuple[int, int, int]] = set()
    out = []
    for s in llm_shapes() + cnn_shapes() + square_shapes() + random_shapes():
        if (s.m, s.n, s.k) not in seen:
            seen.add((s.m, s.n, s.k))
            out.append(s)
    return out


def triton_shapes() -> list[Shape]:
    """Subset for the Triton tile sweep; all sizes multiples of 16 so one compile serves all."""
    picks = {
        "bert-large.o.t1024",  # = square 1024
        "square2048",
        "llama2-7b.o.t4096",  # = square 4096
        "square8192",
        "llama2-7b.o.t16",
        "llama2-7b.down.t256",
        "llama2-7b.up.t1024",
        "llama2-7b.qkv.t4096",
        "llama3-8b.down.t64",
        "gpt2.up.t1024",
        "bert-large.down.t4096",
        "resnet50.l2.expand.b32",
        "resnet50.l4.reduce2.b32",
        "resnet50.l3.conv3x3.b32",
    }
    return [s for s in all_shapes() if s.source in picks]


# Triton tile configurations: (block_m, block_n, block_k, num_warps, num_stages).
def triton_configs() -> list[tuple[int, int, int, int, int]]:
    out = []
    for bm in (64, 128):
        for bn in (64, 128, 256):
            for bk in (32, 64):
                for warps in (4, 8):
                    for stages in (3, 4):
                        out.append((bm, bn, bk, warps, stages))
    out += [(16, 64, 64, 4, 4), (32, 64, 64, 4, 4), (32, 128, 64, 4, 3), (256, 128, 64, 8, 3)]
    return out
