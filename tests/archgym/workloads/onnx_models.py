"""Small ONNX models built with onnx.helper for the importer tests (weights as initializers)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

LIGHT = Path(onnx.__file__).parent / "backend" / "test" / "data" / "light"


def weight(name: str, *shape: int) -> onnx.TensorProto:
    return numpy_helper.from_array(np.zeros(shape, dtype=np.float32), name)


def model(nodes, inputs, outputs, inits=(), opset: int = 17, ms: bool = False) -> onnx.ModelProto:
    """A model from nodes; ``inputs``/``outputs`` are (name, shape) pairs (str dims symbolic)."""
    graph = helper.make_graph(
        nodes,
        "test",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in outputs],
        list(inits),
    )
    opsets = [helper.make_opsetid("", opset)]
    if ms:
        opsets.append(helper.make_opsetid("com.microsoft", 1))
    return helper.make_model(graph, opset_imports=opsets)


def conv_relu_add() -> onnx.ModelProto:
    """Conv (8 filters of 3x3, padding 1) -> Relu -> Add(relu, conv) on a 1x3x8x8 input."""
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"], name="relu"),
        helper.make_node("Add", ["r", "c"], ["y"]),
    ]
    return model(nodes, [("x", [1, 3, 8, 8])], [("y", [1, 8, 8, 8])], [weight("w", 8, 3, 3, 3)])


def small_cnn() -> tuple[onnx.ModelProto, int]:
    """A CNN with strides, asymmetric padding, groups, a depthwise conv with multiplier 2, a
    1x1 conv, Gemm and MatMul heads; returns the model and its MACs counted by hand."""
    nodes = [
        # 3x32x32 -> 16x16x16: 3x3 stride 2, pads (top, left, bottom, right) = (0, 0, 1, 1)
        helper.make_node("Conv", ["x", "w1"], ["c1"], strides=[2, 2], pads=[0, 0, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        # grouped 3x3, 4 groups: 16 -> 32 channels, 'same' padding
        helper.make_node("Conv", ["r1", "w2"], ["c2"], group=4, pads=[1, 1, 1, 1]),
        # depthwise 3x3 with channel multiplier 2: 32 -> 64 channels, stride 2, SAME_UPPER
        helper.make_node(
            "Conv", ["c2", "w3"], ["c3"], group=32, strides=[2, 2], auto_pad="SAME_UPPER"
        ),
        # 1x1 projection 64 -> 24
        helper.make_node("Conv", ["c3", "w4"], ["c4"]),
        helper.make_node("GlobalAveragePool", ["c4"], ["p"]),
        helper.make_node("Flatten", ["p"], ["f"]),
        helper.make_node("Gemm", ["f", "w5"], ["g"], transB=1),  # [1,24] x [10,24]^T
        helper.make_node("MatMul", ["g", "w6"], ["y"]),  # [1,10] x [10,5]
    ]
    inits = [
        weight("w1", 16, 3, 3, 3),
        weight("w2", 32, 4, 3, 3),
        weight("w3", 64, 1, 3, 3),
        weight("w4", 24, 64, 1, 1),
        weight("w5", 10, 24),
        weight("w6", 10, 5),
    ]
    m = model(nodes, [("x", [1, 3, 32, 32])], [("y", [1, 5])], inits)
    macs = (
        16 * 16 * 16 * (3 * 3 * 3)  # conv1: out 16x16 (floor((32+1-3)/2)+1 = 16), 16 filters
        + 16 * 16 * 32 * (3 * 3 * 4)  # grouped: each output sees 3x3x(16/4) inputs
        + 8 * 8 * 64 * (3 * 3 * 1)  # depthwise: 8x8 out (ceil(16/2)), 64 outputs, 3x3 window
        + 8 * 8 * 24 * 64  # 1x1
        + 24 * 10
        + 10 * 5
    )
    return m, macs


def chain(layers: int, channels: int = 8, size: int = 8) -> onnx.ModelProto:
    """``layers`` 3x3 convs (each + Relu) in a row; weights as ConstantOfShape (no bytes)."""
    nodes, inits, x = [], [], "x"
    for i in range(layers):
        shape = helper.make_tensor(f"s{i}", TensorProto.INT64, [4], [channels, channels, 3, 3])
        nodes.append(
            helper.make_node(
                "ConstantOfShape",
                [f"s{i}"],
                [f"w{i}"],
                value=helper.make_tensor("v", TensorProto.FLOAT, [1], [0.0]),
            )
        )
        inits.append(shape)
        nodes.append(helper.make_node("Conv", [x, f"w{i}"], [f"c{i}"], pads=[1, 1, 1, 1]))
        nodes.append(helper.make_node("Relu", [f"c{i}"], [f"r{i}"]))
        x = f"r{i}"
    shape = [1, channels, size, size]
    return model(nodes, [("x", shape)], [(x, shape)], inits)


def attention_block(batch="batch", seq="seq", hidden: int = 64, heads: int = 4) -> onnx.ModelProto:
    """A transformer attention block as torch.onnx exports it: projections, head reshapes,
    Q @ K^T / sqrt(d), Softmax, @ V, output projection."""
    hd = hidden // heads
    shape4 = helper.make_tensor("shape4", TensorProto.INT64, [4], [0, 0, heads, hd])
    shape3 = helper.make_tensor("shape3", TensorProto.INT64, [3], [0, 0, hidden])
    scale = helper.make_tensor("scale", TensorProto.FLOAT, [], [float(hd) ** 0.5])
    nodes = []
    for p in ("q", "k", "v"):
        nodes.append(helper.make_node("MatMul", ["x", f"w{p}"], [f"{p}0"], name=f"{p}_proj"))
        nodes.append(helper.make_node("Reshape", [f"{p}0", "shape4"], [f"{p}1"]))
    nodes += [
        helper.make_node("Transpose", ["q1"], ["qt"], perm=[0, 2, 1, 3]),
        helper.make_node("Transpose", ["k1"], ["kt"], perm=[0, 2, 3, 1]),
        helper.make_node("Transpose", ["v1"], ["vt"], perm=[0, 2, 1, 3]),
        helper.make_node("MatMul", ["qt", "kt"], ["s"], name="scores"),
        helper.make_node("Div", ["s", "scale"], ["s2"]),
        helper.make_node("Softmax", ["s2"], ["pr"], axis=-1),
        helper.make_node("MatMul", ["pr", "vt"], ["ctx"], name="context"),
        helper.make_node("Transpose", ["ctx"], ["ct"], perm=[0, 2, 1, 3]),
        helper.make_node("Reshape", ["ct", "shape3"], ["c3"]),
        helper.make_node("MatMul", ["c3", "wo"], ["y"], name="o_proj"),
    ]
    inits = [weight(f"w{p}", hidden, hidden) for p in "qkvo"] + [shape4, shape3, scale]
    return model(nodes, [("x", [batch, seq, hidden])], [("y", [batch, seq, hidden])], inits)
