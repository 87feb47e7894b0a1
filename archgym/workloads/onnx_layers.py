"""ONNX models as layer workloads (``ConvLayer`` / ``GemmLayer``), shapes from ONNX inference.

The ``onnx`` package (optional: ``pip install archgym[onnx]``) is imported on first use; shapes
come from ``onnx.shape_inference`` with data propagation, after binding symbolic input dims
(dim 0 to ``batch``, dim 1 to ``tokens``). Ops become layers as follows:

- ``Conv`` / ``ConvInteger`` / ``QLinearConv`` (2-D, no dilation, one stride): a ``ConvLayer``
  with its stride and padding (asymmetric padding keeps the output size: the smallest pad is
  the layer's padding, the rest is added to the input size); ``group == C`` is a depthwise
  layer (channel multiplier ``K / C``), other groups are ``group`` layers of ``C / group``
  channels. 1-D convs are ``H = 1`` convs. 3-D, dilated or unequal-stride convs are their
  im2col ``GemmLayer`` (same MACs and GEMM shape), one per group.
- ``ConvTranspose``: its col2im ``GemmLayer`` ``[in pixels, C/g] @ [C/g, K/g x kernel]``.
- ``Gemm``, ``MatMul``, ``MatMulInteger``, ``QLinearMatMul``, ``com.microsoft.FusedMatMul``: a
  ``GemmLayer`` (batch dims of a product with a 2-D weight fold into M, other batch dims
  repeat it). A product with a constant operand is a ``weight`` layer; one of two
  activations next to a ``Softmax`` is ``attention`` (named ``attn_scores`` / ``attn_values``);
  any other is ``activation``.
- Attention ops as exported by common tools: ``Attention`` (ONNX opset 23+, grouped-query
  attention stacked per KV head), ``com.microsoft.Attention`` (with its QKV projection),
  ``com.microsoft.MultiHeadAttention`` and ``com.microsoft.GroupQueryAttention``: scores and
  values GEMMs per sequence and (KV) head, keys = past + new.

Every other op of the default ONNX domain (and a few fused elementwise ``com.microsoft`` ops)
does no GEMM work and is counted in ``notes["non_gemm_ops"]``. Recurrent ops, ``Einsum``,
control flow and ops of other domains are refused in one line naming them, or, with
``skip_unsupported``, skipped with their FLOPs reported (``None`` where no formula exists).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from archgym.errors import UserError
from archgym.simulators.systolic.layers import ConvLayer, GemmLayer
from archgym.workloads.workload import Entry, Skipped, Workload, WorkloadOptions

__all__ = ["MS_NON_GEMM", "UNSUPPORTED", "onnx_workload"]

#: Default-domain ops that do GEMM-like work no layer type expresses.
UNSUPPORTED = frozenset({"LSTM", "GRU", "RNN", "Einsum", "Loop", "Scan", "If", "DeformConv"})
#: com.microsoft fused elementwise / normalisation ops: no GEMM work.
MS_NON_GEMM = frozenset(
    {
        "BiasGelu",
        "FastGelu",
        "Gelu",
        "QuickGelu",
        "BiasAdd",
        "BiasSoftmax",
        "SkipLayerNormalization",
        "SkipSimplifiedLayerNormalization",
        "SimplifiedLayerNormalization",
        "LayerNormalization",
        "EmbedLayerNormalization",
        "RotaryEmbedding",
        "QuantizeLinear",
        "DequantizeLinear",
    }
)
_MS = "com.microsoft"
_PASS = frozenset({"Div", "Mul", "Add", "Sub", "Where", "Cast", "Reshape", "Transpose", "Dropout"})
_BIG_INIT = 4096  # initializers above this many elements lose their data before inference


class _Graph:
    """Inferred shapes, constants and producers/consumers of one ONNX graph."""

    def __init__(self, model: Any, path: str) -> None:
        g = model.graph
        self.path = path
        self.shapes: dict[str, tuple[int, ...]] = {}
        for vi in [*g.input, *g.value_info, *g.output]:
            t = vi.type.tensor_type
            if t.HasField("shape") and all(d.HasField("dim_value") for d in t.shape.dim):
                self.shapes[vi.name] = tuple(d.dim_value for d in t.shape.dim)
        for init in g.initializer:
            self.shapes[init.name] = tuple(init.dims)
        self.const = {init.name for init in g.initializer}
        self.producer: dict[str, Any] = {}
        self.consumers: dict[str, list[Any]] = {}
        for node in g.node:
            ins = [t for t in node.input if t]
            if node.op_type in ("Constant", "ConstantOfShape") or (
                ins and all(t in self.const for t in ins)
            ):
                self.const.update(node.output)
            for t in node.output:
                self.producer[t] = node
            for t in ins:
                self.consumers.setdefault(t, []).append(node)

    def shape(self, tensor: str, node: str) -> tuple[int, ...]:
        if tensor not in self.shapes:
            raise UserError(
                f"{self.path}: node {node!r}: the shape of {tensor!r} could not be inferred "
                "(bind symbolic dims with batch/tokens, or export with static shapes)"
            )
        return self.shapes[tensor]

    def near_softmax(self, tensor: str, forward: bool) -> bool:
        """Softmax within three pass-through ops downstream (or upstream) of ``tensor``."""
        frontier = [tensor]
        for _ in range(4):
            nodes = []
            for t in frontier:
                if forward:
                    nodes += self.consumers.get(t, [])
                elif t in self.producer:
                    nodes.append(self.producer[t])
            if any(n.op_type == "Softmax" for n in nodes):
                return True
            nodes = [n for n in nodes if n.op_type in _PASS]
            frontier = [t for n in nodes for t in (n.output if forward else n.input[:1])]
        return False


def _attrs(node: Any) -> dict[str, Any]:
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _conv_pads(node: Any, attrs: dict[str, Any], spatial, kernel, strides, dil, out):
    """(begin, end) padding per spatial axis, from ``pads`` or ``auto_pad``."""
    n = len(spatial)
    auto = attrs.get("auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else auto
    if auto in ("NOTSET", ""):
        pads = list(attrs.get("pads", [0] * 2 * n))
        return [(pads[i], pads[i + n]) for i in range(n)]
    if auto == "VALID":
        return [(0, 0)] * n
    result = []
    for i in range(n):
        o = out[i] if out else -(-spatial[i] // strides[i])
        total = max(0, (o - 1) * strides[i] + (kernel[i] - 1) * dil[i] + 1 - spatial[i])
        small, large = total // 2, total - total // 2
        result.append((small, large) if auto == "SAME_UPPER" else (large, small))
    return result


def _conv(g: _Graph, node: Any, name: str, x_at: int, w_at: int) -> list[Entry]:
    attrs = _attrs(node)
    x = g.shape(node.input[x_at], name)
    w = g.shape(node.input[w_at], name)
    batch, channels, spatial = x[0], x[1], list(x[2:])
    filters, kernel = w[0], list(w[2:])
    groups = int(attrs.get("group", 1))
    strides = list(attrs.get("strides", [1] * len(spatial)))
    dil = list(attrs.get("dilations", [1] * len(spatial)))
    y = g.shapes.get(node.output[0])
    pads = _conv_pads(node, attrs, spatial, kernel, strides, dil, list(y[2:]) if y else None)
    out = [
        (spatial[i] + sum(pads[i]) - dil[i] * (kernel[i] - 1) - 1) // strides[i] + 1
        for i in range(len(spatial))
    ]
    kind = "weight" if node.input[w_at] in g.const else "activation"
    if len(spatial) == 1:  # a 1-D conv is a 2-D conv of height 1
        spatial, kernel, out, pads = [1, *spatial], [1, *kernel], [1, *out], [(0, 0), *pads]
        strides, dil = [strides[0], *strides], [1, *dil]
    if len(spatial) == 2 and dil == [1, 1] and strides[0] == strides[1]:
        p = min(min(pad) for pad in pads)
        h, wd = (spatial[i] + sum(pads[i]) - 2 * p for i in (0, 1))
        conv = dict(R=kernel[0], S=kernel[1], stride=strides[0], padding=p, name=name)
        if groups == 1:
            layer = ConvLayer(h, wd, C=channels, K=filters, **conv)
            return [Entry(layer, batch, kind, node.op_type)]
        if groups == channels and filters % channels == 0:
            layer = ConvLayer(h, wd, C=channels, K=filters // channels, depthwise=True, **conv)
            return [Entry(layer, batch, kind, node.op_type)]
        layer = ConvLayer(h, wd, C=channels // groups, K=filters // groups, **conv)
        return [Entry(layer, batch * groups, kind, node.op_type)]
    gemm = GemmLayer(
        M=math.prod(out), N=filters // groups, K=(channels // groups) * math.prod(kernel), name=name
    )
    return [Entry(gemm, batch * groups, kind, f"{node.op_type} (im2col)")]


def _conv_transpose(g: _Graph, node: Any, name: str) -> list[Entry]:
    x, w = g.shape(node.input[0], name), g.shape(node.input[1], name)
    groups = int(_attrs(node).get("group", 1))
    gemm = GemmLayer(
        M=math.prod(x[2:]), N=w[1] * math.prod(w[2:]), K=x[1] // groups, name=name
    )  # ONNX ConvTranspose weights are [C, K / groups, kernel...]
    kind = "weight" if node.input[1] in g.const else "activation"
    return [Entry(gemm, x[0] * groups, kind, "ConvTranspose (col2im)")]


def _matmul(g: _Graph, node: Any, name: str, a_at: int = 0, b_at: int = 1) -> list[Entry]:
    attrs = _attrs(node)
    a_name, b_name = node.input[a_at], node.input[b_at]
    a, b = list(g.shape(a_name, name)), list(g.shape(b_name, name))
    if node.op_type in ("Gemm", "FusedMatMul"):
        if attrs.get("transA", 0):
            a[-2:] = a[-1:-3:-1] if len(a) >= 2 else a
        if attrs.get("transB", 0):
            b[-2:] = b[-1:-3:-1] if len(b) >= 2 else b
    a = [1, *a] if len(a) == 1 else a
    b = [*b, 1] if len(b) == 1 else b
    (m, k), n = a[-2:], b[-1]
    a_const, b_const = a_name in g.const, b_name in g.const
    if b_const and len(b) == 2:  # a weight: every row of every batch goes through it
        m, runs = math.prod(a[:-1]), 1
    else:
        batch_a, batch_b = a[:-2], b[:-2]
        width = max(len(batch_a), len(batch_b))
        batch_a = [1] * (width - len(batch_a)) + batch_a
        batch_b = [1] * (width - len(batch_b)) + batch_b
        runs = math.prod(max(p, q) for p, q in zip(batch_a, batch_b, strict=True))
    if a_const or b_const:
        kind, layer_name = "weight", name
    elif g.near_softmax(node.output[0], forward=True):
        kind, layer_name = "attention", "attn_scores"
    elif g.near_softmax(a_name, forward=False) or g.near_softmax(b_name, forward=False):
        kind, layer_name = "attention", "attn_values"
    else:
        kind, layer_name = "activation", name
    return [Entry(GemmLayer(M=m, N=n, K=k, name=layer_name), runs, kind, node.op_type)]


def _heads_layout(shape: tuple[int, ...], heads: int | None, what: str, name: str):
    """(batch, heads, sequence, head_dim) of a 3-D ``[B, S, heads x hd]`` or 4-D tensor."""
    if len(shape) == 4:
        return shape[0], shape[1], shape[2], shape[3]
    if len(shape) == 3 and heads:
        return shape[0], heads, shape[1], shape[2] // heads
    raise UserError(f"node {name!r}: cannot read heads from {what} of shape {list(shape)}")


def _attention_gemms(name, op, batch, q_heads, kv_heads, seq, keys, hd, v_hd) -> list[Entry]:
    group = q_heads // kv_heads
    runs = batch * kv_heads
    return [
        Entry(GemmLayer(seq * group, keys, hd, name="attn_scores"), runs, "attention", op),
        Entry(GemmLayer(seq * group, v_hd, keys, name="attn_values"), runs, "attention", op),
    ]


def _attention(g: _Graph, node: Any, name: str) -> list[Entry]:
    """ONNX ``Attention`` (opset 23+) and ``com.microsoft`` MultiHeadAttention /
    GroupQueryAttention: Q, K, V already projected; keys = past + new."""
    attrs = _attrs(node)
    qh = attrs.get("q_num_heads") or attrs.get("num_heads")
    kvh = attrs.get("kv_num_heads") or qh
    if len(node.input) < 3 or not node.input[1] or not node.input[2]:
        raise UserError(f"node {name!r} ({node.op_type}): packed QKV input is not supported")
    b, qh, seq, hd = _heads_layout(g.shape(node.input[0], name), qh, "Q", name)
    _, kvh, keys, _ = _heads_layout(g.shape(node.input[1], name), kvh, "K", name)
    _, _, _, v_hd = _heads_layout(g.shape(node.input[2], name), kvh, "V", name)
    past_at = (
        4 if node.domain in ("", "ai.onnx") else {"GroupQueryAttention": 3}.get(node.op_type, 6)
    )
    if len(node.input) > past_at and node.input[past_at]:
        keys += g.shape(node.input[past_at], name)[2]
    window = attrs.get("left_window_size", -1)
    if window is not None and window >= 0:
        keys = min(keys, window + 1 + max(0, attrs.get("right_window_size", 0)))
    if qh % kvh:
        raise UserError(f"node {name!r}: {qh} query heads are not a multiple of {kvh} KV heads")
    return _attention_gemms(name, node.op_type, b, qh, kvh, seq, keys, hd, v_hd)


def _ms_attention(g: _Graph, node: Any, name: str) -> list[Entry]:
    """``com.microsoft.Attention``: the QKV projection, then scores and values."""
    attrs = _attrs(node)
    heads = int(attrs["num_heads"])
    b, s, hidden = g.shape(node.input[0], name)
    w = g.shape(node.input[1], name)
    sizes = list(attrs.get("qkv_hidden_sizes", [w[1] // 3] * 3))
    proj = GemmLayer(b * s, w[1], hidden, name=f"{name}.qkv")
    kind = "weight" if node.input[1] in g.const else "activation"
    keys = s
    if len(node.input) > 4 and node.input[4]:  # past: [2, B, heads, P, hd]
        keys += g.shape(node.input[4], name)[3]
    hd, v_hd = sizes[0] // heads, sizes[2] // heads
    return [
        Entry(proj, 1, kind, "Attention qkv"),
        *_attention_gemms(name, "Attention", b, heads, heads, s, keys, hd, v_hd),
    ]


_HANDLERS: dict[tuple[str, str], Callable[..., list[Entry]]] = {
    ("", "Conv"): lambda g, n, name: _conv(g, n, name, 0, 1),
    ("", "ConvInteger"): lambda g, n, name: _conv(g, n, name, 0, 1),
    ("", "QLinearConv"): lambda g, n, name: _conv(g, n, name, 0, 3),
    ("", "ConvTranspose"): _conv_transpose,
    ("", "Gemm"): _matmul,
    ("", "MatMul"): _matmul,
    ("", "MatMulInteger"): _matmul,
    ("", "QLinearMatMul"): lambda g, n, name: _matmul(g, n, name, 0, 3),
    ("", "Attention"): _attention,
    (_MS, "FusedMatMul"): _matmul,
    (_MS, "Attention"): _ms_attention,
    (_MS, "MultiHeadAttention"): _attention,
    (_MS, "GroupQueryAttention"): _attention,
}


def _skipped_flops(g: _Graph, node: Any) -> int | None:
    """FLOPs of an unsupported op where a formula exists (recurrent ops, Einsum)."""
    try:
        if node.op_type in ("LSTM", "GRU", "RNN"):
            seq, batch, inputs = g.shapes[node.input[0]]
            dirs, gates, hidden = g.shapes[node.input[2]]
            return 2 * seq * batch * dirs * gates * (inputs + hidden)
        if node.op_type == "Einsum":
            equation = _attrs(node)["equation"]
            equation = equation.decode() if isinstance(equation, bytes) else equation
            lhs = equation.replace(" ", "").split("->")[0]
            if "..." in lhs:
                return None
            sizes: dict[str, int] = {}
            for term, t in zip(lhs.split(","), node.input, strict=True):
                sizes.update(zip(term, g.shapes[t], strict=True))
            return 2 * math.prod(sizes.values())
    except (KeyError, ValueError):
        return None
    return None


def _bind_inputs(model: Any, opts: WorkloadOptions, path: str) -> int:
    """Bind symbolic input dims (0 -> batch, 1 -> tokens); returns how many times the model
    runs (``batch`` when the model's batch is fixed at 1)."""
    inits = {i.name for i in model.graph.initializer}
    symbolic_batch = used_tokens = False
    fixed_batches = set()
    for vi in model.graph.input:
        if vi.name in inits or not vi.type.HasField("tensor_type"):
            continue
        for i, d in enumerate(vi.type.tensor_type.shape.dim):
            if d.HasField("dim_value"):
                if i == 0:
                    fixed_batches.add(d.dim_value)
                continue
            label = d.dim_param or "?"
            if i == 0:
                d.dim_value, symbolic_batch = opts.batch or 1, True
            elif i == 1 and opts.tokens is not None:
                d.dim_value, used_tokens = opts.tokens, True
            else:
                hint = " (pass tokens)" if i == 1 else ""
                raise UserError(
                    f"{path}: input {vi.name!r} has a symbolic dim {label!r} at position {i}"
                    f"{hint}; export with static shapes or bind it"
                )
    if opts.tokens is not None and not used_tokens:
        raise UserError(f"{path}: `tokens` given, but no input has a symbolic dim 1 to bind")
    if opts.batch is None or symbolic_batch or opts.batch == 1:
        return 1
    if fixed_batches == {1}:
        return opts.batch
    raise UserError(
        f"{path}: the batch is fixed at {sorted(fixed_batches)}; `batch` cannot change it"
    )


def _load(model: Any, path: str) -> Any:
    import onnx  # lazy: optional dependency

    if isinstance(model, onnx.ModelProto):
        copy = onnx.ModelProto()
        copy.CopyFrom(model)
        return copy
    try:
        return onnx.load(str(model), load_external_data=False)
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except Exception as exc:  # protobuf's DecodeError has no stable import path
        raise UserError(f"{path}: not a readable ONNX model ({type(exc).__name__})") from None


def _infer(model: Any, path: str) -> Any:
    from onnx import shape_inference

    for init in model.graph.initializer:  # shapes need dims, not the weights' bytes
        if math.prod(init.dims) > _BIG_INIT and init.HasField("raw_data"):
            init.ClearField("raw_data")
    try:
        return shape_inference.infer_shapes(model, data_prop=True)
    except Exception as exc:  # onnx raises InferenceError / ValidationError subclasses
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"{path}: ONNX shape inference failed: {first}") from None


def onnx_workload(model: Any, opts: WorkloadOptions, name: str | None = None) -> Workload:
    """Import an ONNX model (a path or a ``ModelProto``) as a :class:`Workload`."""
    path = str(model) if isinstance(model, (str, Path)) else (name or "model.onnx")
    for option in ("phase", "context"):
        if getattr(opts, option) is not None:
            raise UserError(f"`{option}` applies to Hugging Face configs, not to ONNX model {path}")
    proto = _load(model, path)
    repeats = _bind_inputs(proto, opts, path)
    g = _Graph(_infer(proto, path), path)
    entries: list[Entry] = []
    non_gemm: Counter = Counter()
    unsupported: list[Any] = []
    for i, node in enumerate(proto.graph.node):
        domain = "" if node.domain in ("", "ai.onnx") else node.domain
        label = node.name or f"{node.op_type}_{i}"
        handler = _HANDLERS.get((domain, node.op_type))
        if handler is not None:
            for e in handler(g, node, label):
                entries.append(Entry(e.item, e.count * repeats, e.kind, f"{label}: {e.source}"))
        elif all(t in g.const for t in node.output):
            continue  # a constant (weights, shapes): folded, not run
        elif domain == "" and node.op_type not in UNSUPPORTED:
            non_gemm[node.op_type] += 1
        elif domain == _MS and node.op_type in MS_NON_GEMM:
            non_gemm[f"{_MS}.{node.op_type}"] += 1
        else:
            unsupported.append((node, label))
    if unsupported and not opts.skip_unsupported:
        ops = Counter(f"{n.domain + '.' if n.domain else ''}{n.op_type}" for n, _ in unsupported)
        listed = ", ".join(f"{op} x{c}" for op, c in ops.items())
        raise UserError(
            f"{path}: unsupported ONNX op(s) {listed} (first node {unsupported[0][1]!r}); "
            "pass skip_unsupported (--skip-unsupported) to skip them and report their FLOPs"
        )
    skipped = tuple(
        Skipped(n.op_type, label, None if (f := _skipped_flops(g, n)) is None else f * repeats)
        for n, label in unsupported
    )
    if not entries:
        raise UserError(f"{path}: no GEMM, MatMul, Conv or attention op found")
    notes = {"non_gemm_ops": dict(non_gemm), "nodes": len(proto.graph.node), "repeats": repeats}
    return Workload(name or Path(path).stem, tuple(entries), skipped, notes)
