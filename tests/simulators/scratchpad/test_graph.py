"""Tests of the DNN graph type: JSON round trip, validation errors, orders, random DAGs."""

from __future__ import annotations

import json

import numpy as np
import pytest
from archgym.simulators.scratchpad.graph import Graph, Op, Tensor, random_dag
from hypothesis import given, settings
from hypothesis import strategies as st

ISSUE_EXAMPLE = {
    "name": "tiny",
    "tensors": {"t0": {"bytes": 150528}, "w1": {"bytes": 864}, "t1": {"bytes": 401408}},
    "ops": [{"name": "conv1", "inputs": ["t0", "w1"], "outputs": ["t1"]}],
    "inputs": ["t0"],
    "outputs": ["t1"],
}


def _diamond(**sizes: int) -> dict:
    size = {"x": 4, "a": 2, "b": 3, "y": 1} | sizes
    return {
        "name": "diamond",
        "tensors": {t: {"bytes": b} for t, b in size.items()},
        "ops": [
            {"name": "pa", "inputs": ["x"], "outputs": ["a"]},
            {"name": "pb", "inputs": ["x"], "outputs": ["b"]},
            {"name": "join", "inputs": ["a", "b"], "outputs": ["y"]},
        ],
    }


def test_issue_json_format_round_trips(tmp_path) -> None:
    g = Graph.from_dict(ISSUE_EXAMPLE)
    assert g.unproduced() == ("t0", "w1")
    assert g.outputs == ("t1",)
    assert g.footprint_bytes("conv1") == 150528 + 864 + 401408
    path = tmp_path / "g.json"
    g.save(path)
    assert Graph.load(path).to_dict() == g.to_dict()
    assert json.loads(path.read_text())["tensors"]["w1"] == {"bytes": 864}


def test_defaults_outputs_to_unread_tensors_and_indexes() -> None:
    g = Graph.from_dict(_diamond())
    assert g.outputs == ("y",)
    assert g.producer["a"] == "pa" and g.consumers["x"] == ("pa", "pb")
    assert g.predecessors("join") == {"pa", "pb"} and g.successors("pa") == {"join"}
    assert g.topological_order() == ["pa", "pb", "join"]
    assert sorted(map(tuple, g.all_topological_orders())) == [
        ("pa", "pb", "join"),
        ("pb", "pa", "join"),
    ]
    assert g.step_windows() == {"pa": (0, 1), "pb": (0, 1), "join": (2, 2)}
    assert g.max_op_footprint_bytes() == 4 + 3  # pb: x + b


def test_cycle_error_names_the_ops_on_it() -> None:
    spec = _diamond()
    spec["ops"][0]["inputs"] = ["x", "y"]  # pa reads join's output
    with pytest.raises(ValueError, match=r"cycle through ops \['pa', 'join', 'pa'\]"):
        Graph.from_dict(spec)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda s: s["ops"][2]["inputs"].append("zz"), "op 'join' uses unknown tensor 'zz'"),
        (lambda s: s["tensors"]["b"].update(bytes=-3), "tensor 'b': `bytes` must be a positive"),
        (lambda s: s["tensors"]["b"].update(bytes=0), "tensor 'b': `bytes` must be a positive"),
        (lambda s: s["tensors"]["b"].update(bytes=1.5), "tensor 'b': `bytes` must be a positive"),
        (lambda s: s["ops"][1].update(outputs=["a"]), "tensor 'a' is produced twice"),
        (lambda s: s["ops"][1].update(name="pa"), "op name 'pa' is used twice"),
        (lambda s: s["tensors"].update(lost={"bytes": 1}), "'lost' is neither produced nor read"),
        (lambda s: s.update(outputs=["x"]), "graph output 'x' is not produced"),
        (lambda s: s.update(inputs=["a"]), "graph input 'a' is produced by op 'pa'"),
        (lambda s: s["ops"][0].update(outputs=["x"]), "reads and writes the same tensor 'x'"),
        (lambda s: s.pop("ops"), "missing the key 'ops'"),
        (lambda s: s.update(extra=1), r"unknown keys \['extra'\]"),
    ],
)
def test_bad_graphs_give_clear_errors(mutate, message: str) -> None:
    spec = _diamond()
    mutate(spec)
    with pytest.raises(ValueError, match=message):
        Graph.from_dict(spec)


def test_load_errors_name_the_file(tmp_path) -> None:
    from archgym.simulators.common import UserError

    with pytest.raises(UserError, match=r"nope\.json: no such file"):
        Graph.load(tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{\n not json")
    with pytest.raises(UserError, match=r"bad\.json:2: not valid JSON"):
        Graph.load(bad)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 30), st.integers(0, 2**32 - 1), st.integers(1, 4))
def test_random_dag_is_valid_and_seeded(n_ops: int, seed: int, max_inputs: int) -> None:
    g = random_dag(
        n_ops, np.random.default_rng(seed), max_inputs=max_inputs, weight_probability=0.3
    )
    again = random_dag(
        n_ops, np.random.default_rng(seed), max_inputs=max_inputs, weight_probability=0.3
    )
    assert g.to_dict() == again.to_dict()
    assert len(g.ops) == n_ops
    order = g.topological_order()
    assert g.is_topological(order)
    pos = {o: i for i, o in enumerate(order)}
    for op in g.ops:
        assert all(pos[p] < pos[op.name] for p in g.predecessors(op.name))
        assert 1 <= len([t for t in op.inputs if not t.startswith("w")]) <= max_inputs
    lo_hi = g.step_windows()
    assert all(lo <= pos[o] <= hi for o, (lo, hi) in lo_hi.items())


def test_constructor_validates_types() -> None:
    with pytest.raises(ValueError, match="at least one output"):
        Op("o", ("a",), ())
    with pytest.raises(ValueError, match="positive integer"):
        Tensor("t", True)


def test_from_onnx_on_a_graph_built_with_onnx_helper() -> None:
    from archgym.simulators.scratchpad.graph import from_onnx

    from ...archgym.workloads.onnx_models import conv_relu_add  # onnx is in the test extras

    g = from_onnx(conv_relu_add(), bytes_per_element=1)
    assert [op.name for op in g.ops] == ["conv", "relu", "Add_2"]
    assert g.size("x") == 3 * 64 and g.size("w") == 8 * 27 and g.size("c") == 8 * 64
    assert g.inputs == ("x",) and g.outputs == ("y",)


def test_from_onnx_folds_constant_weights_and_drops_unread_unknown_outputs() -> None:
    from archgym.simulators.scratchpad.graph import from_onnx
    from onnx import TensorProto, helper, numpy_helper

    shape = numpy_helper.from_array(np.array([8, 3, 3, 3], dtype=np.int64), "w_shape")
    nodes = [
        helper.make_node("ConstantOfShape", ["w_shape"], ["w"]),
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("Dropout", ["c"], ["y", "mask"], name="drop"),
    ]
    graph = helper.make_graph(
        nodes,
        "folded",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8, 8, 8])],
        initializer=[shape],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 9)])
    g = from_onnx(model)
    assert [op.name for op in g.ops] == ["conv", "drop"]
    assert g.size("w") == 8 * 27 and "w" in g.unproduced()  # a weight: loaded, not computed
    assert g.op_by_name["drop"].outputs == ("y",)
    kept = from_onnx(model, fold_constants=False)
    assert kept.ops[0].name == "ConstantOfShape_0"
