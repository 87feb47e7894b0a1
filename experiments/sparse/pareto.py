"""Latency-area trade-off of sparse engines: random designs of SparseTensorCore-v0 and the front.

    python experiments/sparse/pareto.py --plot docs/sparse_pareto.png

Samples designs uniformly (seeded) from the env's space, keeps the feasible ones, and prints
the latency-area Pareto front with the hardware pattern set each point uses. With
``dense_fallback`` on, dense-only designs compete too, so the front shows where sparse support
pays for its area.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from archgym.envs.sparse import SparseTensorCoreEnv
from archgym.results import pareto_front


def sample(workload: str, designs: int, seed: int) -> list:
    env = SparseTensorCoreEnv(workload, dense_fallback=True)
    rng = np.random.default_rng(seed)
    results = [env.evaluate(env.space.sample(rng)) for _ in range(designs)]
    return [r for r in results if r.feasible]


def front(results: list) -> list:
    points = np.array([[r.metrics["latency_s"], r.metrics["area_mm2"]] for r in results])
    mask = pareto_front(points)
    return sorted(
        (r for r, keep in zip(results, mask, strict=True) if keep),
        key=lambda r: r.metrics["latency_s"],
    )


def plot(results: list, best: list, path: str, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 5))
    for name in sorted({r.design["patterns"] for r in results}):
        sel = [r for r in results if r.design["patterns"] == name]
        ax.scatter(
            [r.metrics["area_mm2"] for r in sel],
            [r.metrics["latency_s"] for r in sel],
            s=6,
            alpha=0.5,
            label=name,
        )
    ax.plot(
        [r.metrics["area_mm2"] for r in best],
        [r.metrics["latency_s"] for r in best],
        "k.-",
        lw=0.8,
        label="Pareto front",
    )
    ax.set(xscale="log", yscale="log", xlabel="area (mm^2)", ylabel="latency (s)", title=title)
    ax.legend(fontsize=7, markerscale=2)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workload", default="llama2-7b-prefill-venom64-sparse")
    p.add_argument("--designs", type=int, default=3000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--plot", help="write the scatter and front (PNG) here")
    args = p.parse_args(argv)
    results = sample(args.workload, args.designs, args.seed)
    best = front(results)
    print(f"{len(results)} feasible of {args.designs} designs; Pareto front ({len(best)}):\n")
    print(
        "| latency (s) | area (mm^2) | energy (J) | rows x cols | dataflow | patterns | v "
        "| SRAM if/f/of/meta KiB | words/cycle |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in best:
        d, m = r.design, r.metrics
        print(
            f"| {m['latency_s']:.4g} | {m['area_mm2']:.3g} | {m['energy_pj'] * 1e-12:.3g} "
            f"| {d['rows']} x {d['cols']} | {d['dataflow']} | {d['patterns']} | {d['v']} "
            f"| {d['ifmap_sram_kib']}/{d['filter_sram_kib']}/{d['ofmap_sram_kib']}/"
            f"{d['metadata_sram_kib']} | {d['bandwidth']} |"
        )
    if args.plot:
        plot(results, best, args.plot, f"{args.workload}: {len(results)} random designs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
