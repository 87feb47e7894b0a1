"""DNN operator graphs: a DAG of operators reading and writing tensors with sizes in bytes.

The JSON format (hand-writable)::

    {"name": "tiny",
     "tensors": {"x": {"bytes": 150528}, "w1": {"bytes": 864}, "y": {"bytes": 401408}},
     "ops": [{"name": "conv1", "inputs": ["x", "w1"], "outputs": ["y"]}],
     "inputs": ["x"], "outputs": ["y"]}

Tensors that no op produces are graph inputs or weights; they live in DRAM at the start.
``inputs`` (optional) names the activations among them (the rest are weights); ``outputs``
(optional, default: produced tensors nobody reads) are written to DRAM once.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
from archgym.simulators.common import read_json

__all__ = ["Graph", "Op", "Tensor", "from_onnx", "random_dag"]


@dataclass(frozen=True)
class Tensor:
    """A tensor of ``bytes`` bytes (a positive integer)."""

    name: str
    bytes: int

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"tensor names must be non-empty strings, but got {self.name!r}")
        if isinstance(self.bytes, bool) or not isinstance(self.bytes, (int, np.integer)):
            raise ValueError(
                f"tensor {self.name!r}: `bytes` must be a positive integer, but got {self.bytes!r}"
            )
        if self.bytes <= 0:
            raise ValueError(
                f"tensor {self.name!r}: `bytes` must be a positive integer, but got {self.bytes}"
            )
        object.__setattr__(self, "bytes", int(self.bytes))


@dataclass(frozen=True)
class Op:
    """An operator that reads ``inputs`` and writes ``outputs`` (tensor names)."""

    name: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"op names must be non-empty strings, but got {self.name!r}")
        object.__setattr__(self, "inputs", tuple(self.inputs))
        object.__setattr__(self, "outputs", tuple(self.outputs))
        if not self.outputs:
            raise ValueError(f"op {self.name!r} must have at least one output")
        for kind, names in (("inputs", self.inputs), ("outputs", self.outputs)):
            if len(set(names)) != len(names):
                raise ValueError(f"op {self.name!r} lists a tensor twice in its {kind}: {names}")
        both = set(self.inputs) & set(self.outputs)
        if both:
            raise ValueError(
                f"op {self.name!r} reads and writes the same tensor {sorted(both)[0]!r} (a cycle)"
            )


@dataclass(frozen=True)
class Graph:
    """A validated DAG of operators.

    Attributes:
        name: Label of the graph.
        tensors: Tensor name -> :class:`Tensor`.
        ops: Operators, in a valid topological order or not (``topological_order`` finds one).
        inputs: Unproduced activation tensors (informative; all unproduced tensors start in DRAM).
        outputs: Produced tensors written to DRAM once, compulsorily.
    """

    name: str
    tensors: Mapping[str, Tensor]
    ops: tuple[Op, ...]
    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    _cache: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "ops", tuple(self.ops))
        object.__setattr__(self, "tensors", dict(self.tensors))
        object.__setattr__(self, "inputs", tuple(self.inputs))
        self._validate()
        if not self.outputs:
            sinks = tuple(t for t in self.producer if not self.consumers[t])
            object.__setattr__(self, "outputs", sinks)
        object.__setattr__(self, "outputs", tuple(self.outputs))
        for t in self.outputs:
            if t not in self.tensors:
                raise ValueError(f"graph output {t!r} is not a known tensor")
            if t not in self.producer:
                raise ValueError(f"graph output {t!r} is not produced by any op")
        for t in self.inputs:
            if t not in self.tensors:
                raise ValueError(f"graph input {t!r} is not a known tensor")
            if t in self.producer:
                raise ValueError(
                    f"graph input {t!r} is produced by op {self.producer[t]!r}; inputs must be "
                    "unproduced"
                )
        self.topological_order()  # raises on a cycle, naming the ops on it

    # ----- validation and indexing -------------------------------------------------------
    def _validate(self) -> None:
        if not self.ops:
            raise ValueError(f"graph {self.name!r} has no ops")
        for key, tensor in self.tensors.items():
            if not isinstance(tensor, Tensor) or tensor.name != key:
                raise ValueError(f"tensors[{key!r}] must be Tensor({key!r}, bytes)")
        names: set[str] = set()
        producer: dict[str, str] = {}
        consumers: dict[str, list[str]] = {t: [] for t in self.tensors}
        for op in self.ops:
            if op.name in names:
                raise ValueError(f"op name {op.name!r} is used twice")
            names.add(op.name)
            for t in op.inputs + op.outputs:
                if t not in self.tensors:
                    raise ValueError(f"op {op.name!r} uses unknown tensor {t!r}")
            for t in op.outputs:
                if t in producer:
                    raise ValueError(
                        f"tensor {t!r} is produced twice (by ops {producer[t]!r} and {op.name!r})"
                    )
                producer[t] = op.name
            for t in op.inputs:
                consumers[t].append(op.name)
        for t in self.tensors:
            if t not in producer and not consumers[t]:
                raise ValueError(f"tensor {t!r} is neither produced nor read by any op")
        self._cache["producer"] = producer
        self._cache["consumers"] = {t: tuple(c) for t, c in consumers.items()}

    @property
    def producer(self) -> dict[str, str]:
        """Tensor name -> name of the op that writes it (unproduced tensors are absent)."""
        return self._cache["producer"]

    @property
    def consumers(self) -> dict[str, tuple[str, ...]]:
        """Tensor name -> names of the ops that read it, in ``ops`` order."""
        return self._cache["consumers"]

    @cached_property
    def op_by_name(self) -> dict[str, Op]:
        return {op.name: op for op in self.ops}

    def size(self, tensor: str) -> int:
        """Size of ``tensor`` in bytes."""
        return self.tensors[tensor].bytes

    def unproduced(self) -> tuple[str, ...]:
        """Tensors no op writes (graph inputs and weights), which start in DRAM."""
        return tuple(t for t in self.tensors if t not in self.producer)

    def predecessors(self, op: str) -> set[str]:
        """Ops that produce an input of ``op``."""
        return {self.producer[t] for t in self.op_by_name[op].inputs if t in self.producer}

    def successors(self, op: str) -> set[str]:
        """Ops that read an output of ``op``."""
        return {c for t in self.op_by_name[op].outputs for c in self.consumers[t]}

    def footprint_bytes(self, op: str) -> int:
        """Bytes that must be resident while ``op`` runs: its inputs plus its outputs."""
        o = self.op_by_name[op]
        return sum(self.size(t) for t in o.inputs + o.outputs)

    def max_op_footprint_bytes(self) -> int:
        """The largest single-op footprint: no schedule fits a smaller scratchpad."""
        return max(self.footprint_bytes(op.name) for op in self.ops)

    def weights(self) -> tuple[str, ...]:
        """Unproduced tensors that are not declared ``inputs``: the weights."""
        return tuple(t for t in self.unproduced() if t not in self.inputs)

    def activations_only(self) -> Graph:
        """This graph without its weights (the COSMA paper's activations-only setting).

        Weights are streamed from DRAM outside the scratchpad's budget: they are removed from
        every op's inputs. Raises ValueError when the graph declares no ``inputs`` (then the
        weights cannot be told from the activations).
        """
        if not self.inputs and self.unproduced():
            raise ValueError(
                f"graph {self.name!r} declares no `inputs`, so its weights are unknown; list "
                "the input activations under `inputs` to use the activations-only mode"
            )
        drop = set(self.weights())
        if not drop:
            return self
        ops = [Op(o.name, tuple(t for t in o.inputs if t not in drop), o.outputs) for o in self.ops]
        tensors = {n: t for n, t in self.tensors.items() if n not in drop}
        return Graph(f"{self.name} (activations)", tensors, ops, self.inputs, self.outputs)

    # ----- orders -----------------------------------------------------------------------------
    def topological_order(self) -> list[str]:
        """A topological order (Kahn's algorithm, ties broken by position in ``ops``)."""
        if "topo" in self._cache:
            return list(self._cache["topo"])
        position = {op.name: i for i, op in enumerate(self.ops)}
        indeg = {op.name: len(self.predecessors(op.name)) for op in self.ops}
        ready = sorted((n for n, d in indeg.items() if d == 0), key=position.__getitem__)
        order: list[str] = []
        while ready:
            n = ready.pop(0)
            order.append(n)
            for s in sorted(self.successors(n), key=position.__getitem__):
                indeg[s] -= 1
                if indeg[s] == 0:
                    ready.append(s)
            ready.sort(key=position.__getitem__)
        if len(order) != len(self.ops):
            raise ValueError(f"graph {self.name!r} has a cycle through ops {self._find_cycle()}")
        self._cache["topo"] = tuple(order)
        return order

    def _find_cycle(self) -> list[str]:
        color: dict[str, int] = {}
        stack: list[str] = []

        def visit(n: str) -> list[str] | None:
            color[n] = 1
            stack.append(n)
            for s in sorted(self.successors(n)):
                if color.get(s) == 1:
                    return [*stack[stack.index(s) :], s]
                if s not in color:
                    found = visit(s)
                    if found:
                        return found
            stack.pop()
            color[n] = 2
            return None

        for op in self.ops:
            if op.name not in color:
                found = visit(op.name)
                if found:
                    return found
        return []

    def is_topological(self, order: Iterable[str]) -> bool:
        """Whether ``order`` lists every op once with producers before consumers."""
        order = list(order)
        if sorted(order) != sorted(op.name for op in self.ops):
            return False
        seen: set[str] = set()
        for n in order:
            if not self.predecessors(n) <= seen:
                return False
            seen.add(n)
        return True

    def all_topological_orders(self) -> Iterator[list[str]]:
        """Every topological order (exponentially many: for small graphs only)."""
        preds = {op.name: self.predecessors(op.name) for op in self.ops}
        names = [op.name for op in self.ops]

        def extend(prefix: list[str], done: set[str]) -> Iterator[list[str]]:
            if len(prefix) == len(names):
                yield list(prefix)
                return
            for n in names:
                if n not in done and preds[n] <= done:
                    prefix.append(n)
                    done.add(n)
                    yield from extend(prefix, done)
                    done.remove(n)
                    prefix.pop()

        yield from extend([], set())

    def step_windows(self) -> dict[str, tuple[int, int]]:
        """Op -> (earliest, latest) step it can take in any topological order (ASAP/ALAP)."""
        order = self.topological_order()
        n = len(order)
        anc: dict[str, set[str]] = {}
        for o in order:
            anc[o] = set().union(*(anc[p] | {p} for p in self.predecessors(o)))
        desc: dict[str, set[str]] = {}
        for o in reversed(order):
            desc[o] = set().union(*(desc[s] | {s} for s in self.successors(o)))
        return {o: (len(anc[o]), n - 1 - len(desc[o])) for o in order}

    # ----- JSON ---------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "tensors": {t.name: {"bytes": t.bytes} for t in self.tensors.values()},
            "ops": [
                {"name": o.name, "inputs": list(o.inputs), "outputs": list(o.outputs)}
                for o in self.ops
            ],
            "inputs": list(self.inputs),
            "outputs": list(self.outputs),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Graph:
        """Build a graph from the JSON structure; raises ValueError naming what is wrong."""
        if not isinstance(data, Mapping):
            raise ValueError(f"a graph must be a JSON object, but got {type(data).__name__}")
        for key in ("tensors", "ops"):
            if key not in data:
                raise ValueError(f"graph JSON is missing the key {key!r}")
        unknown = set(data) - {"name", "tensors", "ops", "inputs", "outputs"}
        if unknown:
            raise ValueError(f"graph JSON has unknown keys {sorted(unknown)}")
        tensors = {}
        for name, spec in data["tensors"].items():
            if not isinstance(spec, Mapping) or "bytes" not in spec:
                raise ValueError(f'tensor {name!r} must be an object like {{"bytes": 1024}}')
            tensors[name] = Tensor(name, spec["bytes"])
        ops = []
        for i, spec in enumerate(data["ops"]):
            if not isinstance(spec, Mapping) or "name" not in spec:
                raise ValueError(f"ops[{i}] must be an object with a 'name'")
            ops.append(Op(spec["name"], spec.get("inputs", ()), spec.get("outputs", ())))
        return cls(
            name=str(data.get("name", "graph")),
            tensors=tensors,
            ops=tuple(ops),
            inputs=tuple(data.get("inputs", ())),
            outputs=tuple(data.get("outputs", ())),
        )

    @classmethod
    def load(cls, path: str | Path) -> Graph:
        """Read a graph from a JSON file (a missing or malformed file is a ``UserError``)."""
        return cls.from_dict(read_json(path))

    def save(self, path: str | Path) -> None:
        """Write the graph as JSON."""
        Path(path).write_text(json.dumps(self.to_dict(), indent=1) + "\n")


def random_dag(
    n_ops: int,
    rng: np.random.Generator,
    *,
    max_inputs: int = 2,
    n_graph_inputs: int = 1,
    size_range: tuple[int, int] = (1, 4),
    weight_probability: float = 0.0,
    name: str = "random",
) -> Graph:
    """A seeded random DAG: op ``i`` reads 1..``max_inputs`` earlier tensors and writes one.

    Sizes are integers drawn uniformly from ``size_range`` (inclusive). With probability
    ``weight_probability`` an op also reads a private unproduced weight tensor.
    """
    if n_ops < 1:
        raise ValueError(f"`n_ops` must be a positive integer, but got {n_ops}")
    lo, hi = size_range
    if not 1 <= lo <= hi:
        raise ValueError(f"`1 <= low <= high` must hold for size_range, but got {size_range}")
    tensors: dict[str, Tensor] = {}

    def new(name: str) -> str:
        tensors[name] = Tensor(name, int(rng.integers(lo, hi + 1)))
        return name

    available = [new(f"in{i}") for i in range(n_graph_inputs)]
    ops = []
    for i in range(n_ops):
        k = int(rng.integers(1, min(max_inputs, len(available)) + 1))
        # favour recent tensors so the DAG is deep, but keep long skip edges possible
        weights = np.arange(1, len(available) + 1, dtype=float) ** 2
        idx = rng.choice(len(available), size=k, replace=False, p=weights / weights.sum())
        ins = [available[j] for j in sorted(idx)]
        if rng.random() < weight_probability:
            ins.append(new(f"w{i}"))
        out = new(f"t{i}")
        ops.append(Op(f"op{i}", tuple(ins), (out,)))
        available.append(out)
    used = {t for op in ops for t in op.inputs + op.outputs}
    tensors = {k: v for k, v in tensors.items() if k in used}
    inputs = tuple(t for t in tensors if t.startswith("in"))
    return Graph(name, tensors, tuple(ops), inputs=inputs)


def from_onnx(
    model: Any,
    *,
    bytes_per_element: int = 1,
    name: str | None = None,
    fold_constants: bool = True,
) -> Graph:
    """Import an ONNX model (a path or a ``ModelProto``) with inferred shapes.

    Every tensor's size is its element count times ``bytes_per_element`` (the stated data
    width, 1 for int8). Initializers become weight tensors; nodes without a name get
    ``<op_type>_<index>``. Tensors whose shape cannot be inferred raise ValueError, except an
    output that nothing reads (e.g. Dropout's mask), which is left out.

    With ``fold_constants`` (default), ``Constant`` and ``ConstantOfShape`` nodes, and any node
    whose inputs are all constants (initializers or folded outputs, e.g. DenseNet-121's 242
    ``Unsqueeze`` of batch-norm parameters), are not ops: their outputs become weight tensors
    (unproduced, loaded from DRAM), as a compiler's constant folding leaves them. The ``onnx`` package's "light" test models (ResNet-50, SqueezeNet, ...) strip
    their weights this way (each weight is a ``ConstantOfShape`` of its shape), and a
    compiler folds such nodes before scheduling.
    """
    import onnx  # lazy: optional dependency
    from onnx import shape_inference

    if not isinstance(model, onnx.ModelProto):
        model = onnx.load(str(model))
    model = shape_inference.infer_shapes(model)
    g = model.graph
    shapes: dict[str, list[int]] = {}
    for vi in list(g.input) + list(g.value_info) + list(g.output):
        dims = vi.type.tensor_type.shape.dim
        if dims and all(d.HasField("dim_value") for d in dims):
            shapes[vi.name] = [d.dim_value for d in dims]
    for init in g.initializer:
        shapes[init.name] = list(init.dims)
    tensors: dict[str, Tensor] = {}

    def tensor(t: str, op: str) -> str:
        if t not in tensors:
            if t not in shapes:
                raise ValueError(f"ONNX tensor {t!r} (used by {op!r}) has no inferred shape")
            tensors[t] = Tensor(
                t, max(1, int(np.prod(shapes[t], dtype=np.int64))) * bytes_per_element
            )
        return t

    init_names = {init.name for init in g.initializer}
    read = {t for node in g.node for t in node.input}
    graph_outputs = {vi.name for vi in g.output}
    ops = []
    for i, node in enumerate(g.node):
        op_name = node.name or f"{node.op_type}_{i}"
        if (
            fold_constants
            and (node.op_type in ("Constant", "ConstantOfShape") or any(node.input))
            and all(t in init_names for t in node.input if t)
        ):
            init_names.update(node.output)  # a weight now: its tensor is made when read
            continue
        ins = tuple(dict.fromkeys(tensor(t, op_name) for t in node.input if t))
        # an optional output nobody reads and with no inferred shape (Dropout's mask at
        # inference) is not materialised
        outs = tuple(
            tensor(t, op_name)
            for t in node.output
            if t and (t in shapes or t in read or t in graph_outputs)
        )
        ops.append(Op(op_name, ins, outs))
    inputs = tuple(vi.name for vi in g.input if vi.name in tensors and vi.name not in init_names)
    outputs = tuple(vi.name for vi in g.output if vi.name in tensors)
    return Graph(name or g.name or "onnx", tensors, tuple(ops), inputs=inputs, outputs=outputs)
