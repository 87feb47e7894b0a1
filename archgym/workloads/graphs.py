"""Built-in DNN operator graphs for the scratchpad model (batch 1, int8: 1 byte per element).

Every activation and weight tensor is counted at 1 byte per element (int8 inference), so a
tensor's ``bytes`` is its element count. Batch norm and activation functions are fused into
the preceding op; biases and layer-norm parameters (a few KiB) are left out.

- ``resnet50-graph``: ResNet-50 v1.5 at 224x224 (72 ops: 53 convs, 16 residual adds, 2 pools,
  the classifier).
- ``mobilenetv2-graph``: MobileNetV2 1.0 at 224x224 (65 ops).
- ``bert-base-layer-graph``: one BERT-base encoder layer, sequence 128, hidden 768, 12 heads,
  FFN 3072 (11 ops; the 12 heads are one op each for scores, softmax and context).
- ``nasnet-cell-graph``: a NASNet-A normal cell (Zoph et al., CVPR 2018, Fig. 4) at 28x28x64:
  irregular wiring, two cell inputs read by many branches (16 ops).
- ``nasnet-3cells-graph``: three such cells chained (each reads the outputs of the two cells
  before it), 48 ops: the "larger graph" for the divide-and-conquer mode.
- ``densenet-block-graph``: DenseNet-121 dense block 1 (6 layers at 56x56, growth 32) and its
  transition layer; every layer reads all earlier feature maps (14 ops).
- ``onnx-<model>-graph`` (``resnet50``, ``squeezenet``, ``inception-v1``, ``densenet121``): the
  real CNNs the ``onnx`` package ships as test data (``onnx/backend/test/data/light``, weights
  replaced by ``ConstantOfShape`` of their shapes), imported with
  :func:`archgym.simulators.scratchpad.graph.from_onnx` at 1 byte per element; batch norm and activations stay
  separate ops, biases are tensors. Needs the optional ``onnx`` package.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from archgym.errors import unknown_name
from archgym.simulators.scratchpad.graph import Graph, Op, Tensor

__all__ = ["ONNX_MODELS", "WORKLOADS", "load_graph", "onnx_test_model"]


class _Builder:
    """Accumulates tensors and ops; sizes are element counts (1 byte each)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.tensors: dict[str, Tensor] = {}
        self.ops: list[Op] = []

    def tensor(self, name: str, nbytes: int) -> str:
        self.tensors[name] = Tensor(name, int(nbytes))
        return name

    def op(self, name: str, inputs: list[str], out_bytes: int, weight_bytes: int = 0) -> str:
        ins = list(inputs)
        if weight_bytes:
            ins.append(self.tensor(f"{name}.w", weight_bytes))
        out = self.tensor(f"{name}.out", out_bytes)
        self.ops.append(Op(name, tuple(ins), (out,)))
        return out

    def graph(self, inputs: list[str]) -> Graph:
        return Graph(self.name, self.tensors, tuple(self.ops), inputs=tuple(inputs))


def _conv_out(hw: int, stride: int) -> int:
    return (hw + stride - 1) // stride


def resnet50() -> Graph:
    b = _Builder("resnet50")
    x = b.tensor("image", 224 * 224 * 3)
    x = b.op("conv1", [x], 112 * 112 * 64, 7 * 7 * 3 * 64)
    x = b.op("maxpool", [x], 56 * 56 * 64)
    hw, cin = 56, 64
    for stage, (mid, blocks, stride) in enumerate(
        [(64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)], start=2
    ):
        for i in range(blocks):
            s = stride if i == 0 else 1
            out_hw, cout = _conv_out(hw, s), 4 * mid
            p = f"res{stage}{chr(ord('a') + i)}"
            y = b.op(f"{p}_conv1", [x], hw * hw * mid, cin * mid)
            y = b.op(f"{p}_conv2", [y], out_hw * out_hw * mid, 9 * mid * mid)
            y = b.op(f"{p}_conv3", [y], out_hw * out_hw * cout, mid * cout)
            short = b.op(f"{p}_down", [x], out_hw * out_hw * cout, cin * cout) if i == 0 else x
            x = b.op(f"{p}_add", [y, short], out_hw * out_hw * cout)
            hw, cin = out_hw, cout
    x = b.op("avgpool", [x], cin)
    b.op("fc", [x], 1000, cin * 1000)
    return b.graph(["image"])


def mobilenetv2() -> Graph:
    b = _Builder("mobilenetv2")
    x = b.tensor("image", 224 * 224 * 3)
    x = b.op("conv0", [x], 112 * 112 * 32, 9 * 3 * 32)
    hw, cin = 112, 32
    settings = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1)]
    settings += [(6, 160, 3, 2), (6, 320, 1, 1)]
    k = 0
    for t, c, n, s in settings:
        for i in range(n):
            stride = s if i == 0 else 1
            out_hw, hidden = _conv_out(hw, stride), cin * t
            p = f"block{k}"
            y = x
            if t != 1:
                y = b.op(f"{p}_expand", [y], hw * hw * hidden, cin * hidden)
            y = b.op(f"{p}_dw", [y], out_hw * out_hw * hidden, 9 * hidden)
            y = b.op(f"{p}_project", [y], out_hw * out_hw * c, hidden * c)
            if stride == 1 and cin == c:
                y = b.op(f"{p}_add", [y, x], out_hw * out_hw * c)
            x, hw, cin, k = y, out_hw, c, k + 1
    x = b.op("conv_last", [x], hw * hw * 1280, cin * 1280)
    x = b.op("avgpool", [x], 1280)
    b.op("fc", [x], 1000, 1280 * 1000)
    return b.graph(["image"])


def bert_base_layer(seq: int = 128, hidden: int = 768, heads: int = 12, ffn: int = 3072) -> Graph:
    b = _Builder("bert-base-layer")
    x = b.tensor("x", seq * hidden)
    q = b.op("q_proj", [x], seq * hidden, hidden * hidden)
    k = b.op("k_proj", [x], seq * hidden, hidden * hidden)
    v = b.op("v_proj", [x], seq * hidden, hidden * hidden)
    scores = b.op("scores", [q, k], heads * seq * seq)
    probs = b.op("softmax", [scores], heads * seq * seq)
    ctx = b.op("context", [probs, v], seq * hidden)
    attn = b.op("out_proj", [ctx], seq * hidden, hidden * hidden)
    ln1 = b.op("add_ln1", [x, attn], seq * hidden)
    h = b.op("ffn1_gelu", [ln1], seq * ffn, hidden * ffn)
    h = b.op("ffn2", [h], seq * hidden, ffn * hidden)
    b.op("add_ln2", [ln1, h], seq * hidden)
    return b.graph(["x"])


def _nasnet_cell(b: _Builder, p: str, prev2: str, prev: str, hw: int, c: int) -> str:
    fm = hw * hw * c

    def sep(name: str, x: str, k: int) -> str:
        return b.op(f"{p}_{name}", [x], fm, k * k * c + c * c)

    p0 = b.op(f"{p}_prep0", [prev2], fm, (b.tensors[prev2].bytes // (hw * hw)) * c)
    p1 = b.op(f"{p}_prep1", [prev], fm, (b.tensors[prev].bytes // (hw * hw)) * c)
    b0 = b.op(f"{p}_add0", [sep("sep3_0", p1, 3), p1], fm)
    b1 = b.op(f"{p}_add1", [sep("sep3_1", p0, 3), sep("sep5_1", p1, 5)], fm)
    b2 = b.op(f"{p}_add2", [b.op(f"{p}_avg_2", [p1], fm), p0], fm)
    b3 = b.op(f"{p}_add3", [b.op(f"{p}_avg_3a", [p0], fm), b.op(f"{p}_avg_3b", [p0], fm)], fm)
    b4 = b.op(f"{p}_add4", [sep("sep5_4", p0, 5), sep("sep3_4", p0, 3)], fm)
    return b.op(f"{p}_concat", [p0, b0, b1, b2, b3, b4], 6 * fm)


def nasnet_cells(n_cells: int = 1, hw: int = 28, c: int = 64) -> Graph:
    b = _Builder("nasnet-cell" if n_cells == 1 else f"nasnet-{n_cells}cells")
    prev2 = b.tensor("cell_in0", hw * hw * c)
    prev = b.tensor("cell_in1", hw * hw * c)
    for i in range(n_cells):
        prev2, prev = prev, _nasnet_cell(b, f"cell{i}", prev2, prev, hw, c)
    return b.graph(["cell_in0", "cell_in1"])


def densenet_block(layers: int = 6, hw: int = 56, c0: int = 64, growth: int = 32) -> Graph:
    b = _Builder("densenet-block")
    feats = [b.tensor("x0", hw * hw * c0)]
    channels = c0
    for i in range(layers):
        y = b.op(f"layer{i}_conv1", list(feats), hw * hw * 4 * growth, channels * 4 * growth)
        feats.append(b.op(f"layer{i}_conv2", [y], hw * hw * growth, 9 * 4 * growth * growth))
        channels += growth
    y = b.op("transition_conv", list(feats), hw * hw * channels // 2, channels * channels // 2)
    b.op("transition_pool", [y], (hw // 2) * (hw // 2) * channels // 2)
    return b.graph(["x0"])


ONNX_MODELS = ("resnet50", "squeezenet", "inception-v1", "densenet121")


def onnx_test_model(model: str) -> Graph:
    """A real CNN from the ``onnx`` package's test data (lazy ``onnx`` import), int8 sizes."""
    if model not in ONNX_MODELS:
        raise unknown_name("ONNX test model", model, ONNX_MODELS)
    import onnx  # lazy: optional dependency

    from archgym.simulators.scratchpad.graph import from_onnx

    stem = model.replace("-", "_")
    path = Path(onnx.__file__).parent / "backend/test/data/light" / f"light_{stem}.onnx"
    if not path.exists():
        raise ValueError(f"the installed onnx {onnx.__version__} does not ship {path.name}")
    return from_onnx(path, bytes_per_element=1, name=f"onnx-{model}")


WORKLOADS: dict[str, Callable[[], Graph]] = {
    "resnet50-graph": resnet50,
    "mobilenetv2-graph": mobilenetv2,
    "bert-base-layer-graph": bert_base_layer,
    "nasnet-cell-graph": nasnet_cells,
    "nasnet-3cells-graph": lambda: nasnet_cells(3),
    "densenet-block-graph": densenet_block,
    **{f"onnx-{m}-graph": (lambda m=m: onnx_test_model(m)) for m in ONNX_MODELS},
}


def load_graph(name_or_path: str | Path) -> Graph:
    """A built-in graph by name (``resnet50`` and ``resnet50-graph`` both work), a JSON file or
    an ``.onnx`` file (1 byte per element)."""
    key = str(name_or_path)
    if key in WORKLOADS:
        return WORKLOADS[key]()
    if f"{key}-graph" in WORKLOADS:
        return WORKLOADS[f"{key}-graph"]()
    path = Path(key)
    if path.suffix == ".onnx":
        from archgym.simulators.scratchpad.graph import from_onnx

        return from_onnx(path)
    if path.suffix == ".json" or path.exists():
        return Graph.load(path)
    raise unknown_name("graph (not a .json or .onnx file either)", key, WORKLOADS)
