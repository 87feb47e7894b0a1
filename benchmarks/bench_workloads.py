"""Import time of ONNX graphs of growing depth (target: 1,000 layers in under 5 s).

    OMP_NUM_THREADS=1 python benchmarks/bench_workloads.py [--layers 100 1000 3000]

Per depth (a chain of 3x3 convs + ReLU; weights as ConstantOfShape, or with ``--weights``
64-channel float32 initializers: 148 MB at 1,000 layers): the median time of
``onnx.shape_inference.infer_shapes`` alone (the raw cost every importer pays), of
``archgym.workloads.onnx_layers.onnx_workload`` (load, inference, layers: what
``resolve_workload`` runs for a path, uncached) and of the scratchpad graph importer
(``archgym.workloads.graphs.load_graph``) on the same model saved to a file (both importers
then read the file); ratios against inference alone.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")


def chain(layers: int, channels: int = 8, size: int = 8, weights: bool = False):
    """``layers`` 3x3 convs (each + ReLU) in a row; weights as ConstantOfShape, or stored as
    float32 initializers with ``weights``."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    nodes, inits, x = [], [], "x"
    value = helper.make_tensor("v", TensorProto.FLOAT, [1], [0.0])
    for i in range(layers):
        if weights:
            w = np.zeros((channels, channels, 3, 3), dtype=np.float32)
            inits.append(numpy_helper.from_array(w, f"w{i}"))
        else:
            dims = [channels] * 2 + [3, 3]
            inits.append(helper.make_tensor(f"s{i}", TensorProto.INT64, [4], dims))
            nodes.append(helper.make_node("ConstantOfShape", [f"s{i}"], [f"w{i}"], value=value))
        nodes.append(helper.make_node("Conv", [x, f"w{i}"], [f"c{i}"], pads=[1, 1, 1, 1]))
        nodes.append(helper.make_node("Relu", [f"c{i}"], [f"r{i}"]))
        x = f"r{i}"
    shape = [1, channels, size, size]
    io = [helper.make_tensor_value_info(n, TensorProto.FLOAT, shape) for n in ("x", x)]
    graph = helper.make_graph(nodes, "chain", io[:1], io[1:], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def median_s(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, nargs="*", default=[100, 1000, 3000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--weights", action="store_true", help="64-channel float32 weights in the file"
    )
    args = parser.parse_args()
    import tempfile
    from pathlib import Path

    import onnx
    from onnx import shape_inference

    from archgym.workloads import WorkloadOptions
    from archgym.workloads.graphs import load_graph
    from archgym.workloads.onnx_layers import onnx_workload

    folder = Path(tempfile.mkdtemp())

    print(
        f"{'layers':>7s} {'infer_shapes s':>15s} {'onnx_workload s':>19s} {'ratio':>6s} "
        f"{'load_graph s':>18s} {'ratio':>6s}"
    )
    for n in args.layers:
        model = chain(n, channels=64, size=14, weights=True) if args.weights else chain(n)
        path = folder / f"chain{n}.onnx"
        onnx.save(model, str(path))
        infer = median_s(
            lambda m=model: shape_inference.infer_shapes(m, data_prop=True), args.repeats
        )
        # onnx_workload: what resolve_workload runs for a path, without its cache
        ours = median_s(lambda p=path: onnx_workload(p, WorkloadOptions()), args.repeats)
        graph = median_s(lambda p=path: load_graph(p), args.repeats)
        print(
            f"{n:7d} {infer:15.3f} {ours:19.3f} {ours / infer:6.1f} {graph:18.3f} {graph / infer:6.1f}"
        )


if __name__ == "__main__":
    main()
