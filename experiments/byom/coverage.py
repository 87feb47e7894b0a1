"""How much of each ONNX CNN's work the layer workload covers, by an independent profiler.

Run from the repository root (needs ``pip install onnx-tool``, part of the ``test`` extra):

    OMP_NUM_THREADS=1 python experiments/byom/coverage.py [--models resnet50 shufflenet]

For each CNN the ``onnx`` package ships: the Conv/Gemm MACs of the imported workload, the
total MACs onnx-tool counts over every node (its per-op costs: batch norm 8 per element,
ReLU 1, ...), and the covered share with batch norm as onnx-tool counts it and with batch norm
folded into the preceding convolution (as inference compilers do).
"""

from __future__ import annotations

import argparse
from pathlib import Path


def profile(path: Path) -> dict[str, int]:
    """onnx-tool's MACs per op type of one model."""
    from onnx_tool import Model

    graph = Model(str(path)).graph
    graph.shape_infer()
    graph.profile()
    out: dict[str, int] = {}
    for node in graph.nodemap.values():
        m = node.macs
        out[node.op_type] = out.get(node.op_type, 0) + int(
            m[0] if isinstance(m, (list, tuple)) else m
        )
    return out


def main(argv: list[str] | None = None) -> None:
    import onnx

    from archgym.workloads import resolve_workload

    light = Path(onnx.__file__).parent / "backend" / "test" / "data" / "light"
    names = sorted(p.stem.removeprefix("light_") for p in light.glob("light_*.onnx"))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", default=names, choices=names)
    args = parser.parse_args(argv)
    print(
        f"{'model':14s} {'layer MACs':>14s} {'onnx-tool MACs':>15s} {'covered':>8s} {'BN folded':>10s}"
    )
    for name in args.models:
        path = light / f"light_{name}.onnx"
        ours = resolve_workload(path).flops() // 2
        by_op = profile(path)
        total = sum(by_op.values())
        folded = total - by_op.get("BatchNormalization", 0)
        print(f"{name:14s} {ours:14,d} {total:15,d} {ours / total:8.1%} {ours / folded:10.1%}")


if __name__ == "__main__":
    main()
