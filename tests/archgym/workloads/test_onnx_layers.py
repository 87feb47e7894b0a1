"""ONNX -> layers: exact MACs on hand-counted CNNs, attention, unsupported ops, real graphs."""

from __future__ import annotations

import math
import time

import pytest

pytest.importorskip("onnx")

from archgym.simulators.systolic.layers import ConvLayer, GemmLayer
from onnx import helper

from archgym.errors import UserError
from archgym.workloads import resolve_workload
from archgym.workloads.networks import WORKLOADS as NETWORKS

from .onnx_models import LIGHT, attention_block, chain, model, small_cnn, weight


def test_small_cnn_macs_are_exact():
    m, macs = small_cnn()
    w = resolve_workload(m)
    assert w.weight_flops == 2 * macs
    assert w.attention_flops == 0
    conv1, grouped, dw, pw = (e.item for e in w.entries[:4])
    assert (conv1.out_h, conv1.out_w, conv1.stride) == (16, 16, 2)
    assert (grouped.C, grouped.K) == (4, 8) and w.entries[1].count == 4  # 4 groups
    assert dw.depthwise and (dw.C, dw.K, dw.out_h) == (32, 2, 8)
    assert isinstance(pw, ConvLayer) and (pw.C, pw.K) == (64, 24)
    gemm, matmul = (e.item for e in w.entries[4:])
    assert (gemm.M, gemm.N, gemm.K) == (1, 10, 24)
    assert (matmul.M, matmul.N, matmul.K) == (1, 5, 10)
    assert w.notes["non_gemm_ops"] == {"Relu": 1, "GlobalAveragePool": 1, "Flatten": 1}


def test_batch_repeats_a_fixed_batch_model_and_binds_a_symbolic_one():
    m, macs = small_cnn()
    assert resolve_workload(m, batch=3).weight_flops == 3 * 2 * macs
    block = attention_block()
    w1 = resolve_workload(block, tokens=16)
    w4 = resolve_workload(block, tokens=16, batch=4)
    assert w4.flops() == 4 * w1.flops()
    assert w4.entries[0].item.M == 4 * 16  # the batch folds into the projection's rows


def test_dilated_3d_and_transposed_convs_lower_to_exact_gemms():
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["a"], dilations=[2, 2], pads=[2, 2, 2, 2]),
        helper.make_node("ConvTranspose", ["a", "w2"], ["b"], strides=[2, 2]),
        helper.make_node("Conv", ["x1", "w3"], ["c"]),  # 1-D conv
    ]
    inits = [weight("w1", 8, 4, 3, 3), weight("w2", 8, 6, 2, 2), weight("w3", 5, 4, 3)]
    m = model(
        nodes,
        [("x", [1, 4, 10, 10]), ("x1", [1, 4, 20])],
        [("b", [1, 6, 20, 20]), ("c", [1, 5, 18])],
        inits,
    )
    w = resolve_workload(m)
    dilated, transposed, conv1d = (e.item for e in w.entries)
    assert isinstance(dilated, GemmLayer) and (dilated.M, dilated.N, dilated.K) == (100, 8, 36)
    assert (transposed.M, transposed.N, transposed.K) == (100, 6 * 4, 8)
    assert isinstance(conv1d, ConvLayer) and (conv1d.out_h, conv1d.out_w) == (1, 18)
    assert w.weight_flops == 2 * (100 * 8 * 36 + 100 * 24 * 8 + 18 * 5 * 12)


def test_matmul_attention_chain_is_attention_with_heads_and_tokens():
    w = resolve_workload(attention_block(hidden=64, heads=4), tokens=32)
    kinds = {e.item.name: (e.kind, e.runs, e.item.gemm_shape()) for e in w.entries}
    assert kinds["attn_scores"] == ("attention", 4, (32, 32, 16))
    assert kinds["attn_values"] == ("attention", 4, (32, 16, 32))
    assert w.weight_flops == 2 * 4 * 32 * 64 * 64
    assert w.attention_flops == 2 * 2 * 4 * 32 * 32 * 16


def test_onnx_attention_op_with_grouped_query_heads_and_past():
    q = ("q", [2, 8, 5, 16])  # batch 2, 8 query heads, 5 new tokens, head_dim 16
    k, v = ("k", [2, 2, 5, 16]), ("v", [2, 2, 5, 16])  # 2 KV heads
    pk, pv = ("pk", [2, 2, 27, 16]), ("pv", [2, 2, 27, 16])  # 27 cached tokens
    node = helper.make_node("Attention", ["q", "k", "v", "", "pk", "pv"], ["y", "pko", "pvo"])
    m = model([node], [q, k, v, pk, pv], [("y", [2, 8, 5, 16])], opset=23)
    w = resolve_workload(m)
    scores, values = w.entries
    assert scores.item.gemm_shape() == (5 * 4, 32, 16) and scores.runs == 2 * 2
    assert values.item.gemm_shape() == (5 * 4, 16, 32)
    assert w.attention_flops == 2 * 2 * (2 * 8 * 5 * 32 * 16)


def test_microsoft_attention_has_its_projection():
    node = helper.make_node(
        "Attention", ["x", "w", "bias"], ["y"], domain="com.microsoft", num_heads=4
    )
    inits = [weight("w", 64, 192), weight("bias", 192)]
    m = model([node], [("x", [1, 10, 64])], [("y", [1, 10, 64])], inits, ms=True)
    w = resolve_workload(m)
    assert w.weight_flops == 2 * 10 * 64 * 192
    assert w.attention_flops == 2 * 2 * 4 * 10 * 10 * 16


def test_microsoft_multi_head_and_group_query_attention():
    mha = helper.make_node(
        "MultiHeadAttention", ["q", "k", "v"], ["y"], domain="com.microsoft", num_heads=4
    )
    io = [("q", [2, 6, 64]), ("k", [2, 9, 64]), ("v", [2, 9, 64])]
    w = resolve_workload(model([mha], io, [("y", [2, 6, 64])], ms=True))
    assert [e.item.gemm_shape() for e in w.entries] == [(6, 9, 16), (6, 16, 9)]
    assert {e.runs for e in w.entries} == {2 * 4}
    inputs = ["q", "k", "v", "pk", "pv"]
    gqa = helper.make_node(
        "GroupQueryAttention", inputs, ["y"], domain="com.microsoft", num_heads=8, kv_num_heads=2
    )
    io = [("q", [1, 1, 128]), ("k", [1, 1, 32]), ("v", [1, 1, 32])]
    io += [("pk", [1, 2, 99, 16]), ("pv", [1, 2, 99, 16])]
    w = resolve_workload(model([gqa], io, [("y", [1, 1, 128])], ms=True))
    scores = w.entries[0]  # one new token, 4 query heads per KV head, 99 cached + 1 new keys
    assert scores.item.gemm_shape() == (4, 100, 16) and scores.runs == 2


def test_unsupported_ops_are_refused_or_skipped_with_their_flops():
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["a"]),
        helper.make_node("LSTM", ["s", "W", "R"], ["h"], hidden_size=16),
        helper.make_node("Einsum", ["a", "b"], ["e"], equation="ij,jk->ik"),
    ]
    inits = [weight("w", 8, 8), weight("W", 1, 64, 4), weight("R", 1, 64, 16), weight("b", 8, 3)]
    m = model(nodes, [("x", [2, 8]), ("s", [7, 1, 4])], [("e", [2, 3])], inits)
    with pytest.raises(UserError, match=r"unsupported ONNX op\(s\) LSTM x1, Einsum x1"):
        resolve_workload(m)
    w = resolve_workload(m, skip_unsupported=True)
    lstm = 2 * 7 * 1 * 1 * 64 * (4 + 16)
    assert w.skipped_flops == lstm + 2 * 2 * 8 * 3
    assert w.summary()["skipped_ops"] == {"LSTM": 1, "Einsum": 1}


def test_unknown_domain_op_and_unbound_dims_are_one_line_errors():
    node = helper.make_node("Frobnicate", ["x"], ["y"], domain="com.example")
    m = model([node], [("x", [1, 4])], [("y", [1, 4])])
    m.opset_import.append(helper.make_opsetid("com.example", 1))
    with pytest.raises(UserError, match=r"com\.example\.Frobnicate"):
        resolve_workload(m)
    with pytest.raises(UserError, match=r"symbolic dim 'seq' at position 1 \(pass tokens\)"):
        resolve_workload(attention_block())
    with pytest.raises(UserError, match="applies to Hugging Face configs"):
        resolve_workload(attention_block(), tokens=4, phase="decode")


LIGHT_MODELS = sorted(p.stem.removeprefix("light_") for p in LIGHT.glob("light_*.onnx"))


_MOVES = ("Reshape", "Transpose", "Concat", "Flatten", "Unsqueeze", "Dropout")


def _non_gemm_flops(path) -> int:
    """Independent count of the non-GEMM work: one FLOP per output element of every other
    op, except data movement (none) and pooling (one per window element), batch norm (2: its
    scale and shift), LRN and softmax (5)."""
    import onnx
    from onnx import shape_inference

    m = shape_inference.infer_shapes(onnx.load(str(path)))
    shapes = {
        vi.name: [d.dim_value for d in vi.type.tensor_type.shape.dim]
        for vi in [*m.graph.value_info, *m.graph.output]
    }
    total = 0
    for node in m.graph.node:
        if node.op_type in ("Conv", "Gemm", "MatMul", "ConstantOfShape", "Constant", *_MOVES):
            continue
        out = math.prod(shapes.get(node.output[0], [0]))
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        per = {"BatchNormalization": 2, "LRN": 5, "Softmax": 5}.get(node.op_type, 1)
        if node.op_type in ("MaxPool", "AveragePool"):
            per = math.prod(attrs["kernel_shape"])
        total += per * out
    return total


@pytest.mark.parametrize("name", LIGHT_MODELS)
def test_real_onnx_cnns_cover_95_percent_of_their_flops(name):
    path = LIGHT / f"light_{name}.onnx"
    w = resolve_workload(path)
    covered = w.flops()
    assert covered / (covered + _non_gemm_flops(path)) >= 0.95


def test_onnx_resnet50_matches_the_built_in_layer_list():
    """The onnx package's ResNet-50 and torchvision's (built in) have the same MACs."""
    w = resolve_workload(LIGHT / "light_resnet50.onnx")
    built_in = sum(layer.macs for layer in NETWORKS["resnet50"]())
    assert w.weight_flops == 2 * built_in


def test_a_1000_layer_graph_imports_in_under_5_seconds():
    m = chain(1000)
    start = time.perf_counter()
    w = resolve_workload(m)
    elapsed = time.perf_counter() - start
    assert len(w.entries) == 1000 and w.weight_flops == 1000 * 2 * 8 * 8 * 8 * 72
    assert elapsed < 5.0


def _onnx_tool_gemm_macs(model_or_path) -> int:
    """MACs of Conv/Gemm/MatMul nodes by onnx-tool (an independent ONNX profiler), less the
    bias adds it counts (one per output element of a Conv or Gemm with a bias input)."""
    import onnx
    from onnx import shape_inference
    from onnx_tool import Model

    proto = (
        model_or_path
        if isinstance(model_or_path, onnx.ModelProto)
        else onnx.load(str(model_or_path))
    )
    graph = Model(proto).graph
    graph.shape_infer()
    graph.profile()
    macs = 0
    for node in graph.nodemap.values():
        if node.op_type in ("Conv", "Gemm", "MatMul"):
            m = node.macs
            macs += int(m[0] if isinstance(m, (list, tuple)) else m)
    inferred = shape_inference.infer_shapes(proto).graph
    shapes = {
        vi.name: [d.dim_value for d in vi.type.tensor_type.shape.dim]
        for vi in [*inferred.value_info, *inferred.output]
    }
    bias = sum(
        math.prod(shapes[n.output[0]])
        for n in inferred.node
        if n.op_type in ("Conv", "Gemm") and len(n.input) == 3 and n.input[2]
    )
    return macs - bias


@pytest.mark.parametrize("name", [*LIGHT_MODELS, "small_cnn"])
def test_macs_equal_an_independent_onnx_profiler(name):
    pytest.importorskip("onnx_tool")
    model_or_path = small_cnn()[0] if name == "small_cnn" else LIGHT / f"light_{name}.onnx"
    assert resolve_workload(model_or_path).weight_flops == 2 * _onnx_tool_gemm_macs(model_or_path)
