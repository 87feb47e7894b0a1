"""Latency-area Pareto study of structured-sparse engines: dense, 2:4, 2:8, plain N:M and V:N:M.

    python experiments/sparse/pareto.py --plot docs/sparse_pareto.png

A seeded random search: ``--designs`` base designs drawn uniformly from
:data:`archgym.simulators.sparse.SPACE_CHOICES` (array shape, dataflow, scratchpads, metadata
buffer, DRAM bandwidth; plus a V for the V:N:M variant), each evaluated with the pattern set of
every hardware class (dense, 2:4, 2:4+2:8, plain 2:4..2:32, V:2:8..M with the drawn V), so every
class sees the same arrays, buffers and bandwidths. Workload: a network pruned to ``--pattern``
(Llama-2-7B prefill at 64:2:32 by default), evaluated with ``archgym.simulators.sparse.evaluate``
(``dense_fallback`` on: hardware runs the sparsest pattern it supports, or dense). Prints the
latency-area front of each class and of all designs, then two controls for the V:N:M designs of
the overall front:

1. **swap the format**: the same array, scratchpads and bandwidth with 2:4, 2:8 or plain
   2:4..2:32 hardware;
2. **no pruning**: the same designs on the unpruned network, where sparse hardware can only
   cost area.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

import numpy as np
from archgym.simulators.sparse import (
    SPACE_CHOICES,
    SparseConfig,
    SparseLayer,
    SparseWorkload,
    evaluate,
    parse_pattern,
)
from archgym.simulators.sparse.hardware import VENOM_V

from archgym.envs.sparse import SparseTensorCoreEnv, sparse_workload
from archgym.results import pareto_front

#: Hardware classes (the plot's colours) and the pattern set each runs; V:N:M draws its V.
CLASSES = ("dense", "2:4", "2:8", "plain 2:4..2:32", "V:N:M")
_PLAIN_SETS = {
    "dense": "none",
    "2:4": "2:4",
    "2:8": "2:4+2:8",
    "plain 2:4..2:32": "2:4+2:8+2:16+2:32",
}


def venom_set(v: int, top_m: int) -> str:
    """The V:N:M pattern-set name that runs V:2:8 up to V:2:top_m next to 2:4."""
    return f"2:4+{v}:2:8" if top_m == 8 else f"2:4+{v}:2:8..{top_m}"


def sample_bases(designs: int, seed: int, max_pes: int) -> list[dict]:
    """``designs`` seeded uniform samples of everything but the pattern set (``rows * cols
    <= max_pes``), plus a V drawn from :data:`VENOM_V` for the V:N:M variant."""
    rng = np.random.default_rng(seed)
    out: list[dict] = []
    while len(out) < designs:
        d = {k: v[int(rng.integers(len(v)))] for k, v in SPACE_CHOICES.items() if k != "patterns"}
        d["v"] = VENOM_V[int(rng.integers(len(VENOM_V)))]
        if d["rows"] * d["cols"] <= max_pes:
            out.append(d)
    return out


def variants(base: dict, top_m: int) -> dict[str, dict]:
    """The base design with each class's pattern set (same array, scratchpads, bandwidth;
    the dense variant without the metadata scratchpad it would not use)."""
    rest = {k: v for k, v in base.items() if k != "v"}
    out = {name: {**rest, "patterns": sets} for name, sets in _PLAIN_SETS.items()}
    out["dense"]["metadata_sram_kib"] = 0  # no metadata, no metadata buffer to pay for
    out["V:N:M"] = {**rest, "patterns": venom_set(base["v"], top_m)}
    return out


ToConfig = Callable[[dict], SparseConfig]


def run(
    bases: Sequence[dict], work: SparseWorkload, top_m: int, config: ToConfig
) -> dict[str, list]:
    """Per class, (design, metrics) of every base design (all feasible: dense fallback on)."""
    out: dict[str, list] = {name: [] for name in CLASSES}
    for base in bases:
        for name, d in variants(base, top_m).items():
            out[name].append((d, evaluate(config(d), work)))
    return out


def front(rows: Sequence[tuple[dict, dict]]) -> list[tuple[dict, dict]]:
    """Latency-area Pareto front, fastest first."""
    if not rows:
        return []
    points = np.array([[m["latency_s"], m["area_mm2"]] for _, m in rows])
    keep = pareto_front(points)
    return sorted(
        (r for r, k in zip(rows, keep, strict=True) if k), key=lambda r: r[1]["latency_s"]
    )


def _print_front(title: str, best: Sequence[tuple[dict, dict]]) -> None:
    print(f"\n{title} ({len(best)} points)\n")
    print(
        "| latency (ms) | area (mm^2) | energy (mJ) | array | dataflow | patterns "
        "| SRAM if/f/of/meta KiB | words/cycle | stall % |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for d, m in best:
        print(
            f"| {m['latency_s'] * 1e3:.3f} | {m['area_mm2']:.3f} | {m['energy_pj'] * 1e-9:.2f} "
            f"| {d['rows']}x{d['cols']} | {d['dataflow']} | {d['patterns']} "
            f"| {d['ifmap_sram_kib']}/{d['filter_sram_kib']}/{d['ofmap_sram_kib']}/"
            f"{d['metadata_sram_kib']} | {d['bandwidth']} "
            f"| {100 * m['stall_cycles'] / m['cycles']:.0f} |"
        )


def budget_table(fronts: dict, budgets: Sequence[float] = (1, 2, 5, 12, 25)) -> None:
    """Fastest design of each class within each area budget (mm^2)."""
    print("\nFastest design of each class within an area budget (latency in s; - : none fits)\n")
    print("| area <= (mm^2) | " + " | ".join(CLASSES) + " | V:N:M speedup over the best other |")
    print("|---|" + "---|" * (len(CLASSES) + 1))
    for budget in budgets:
        best = {}
        for name in CLASSES:
            fits = [m["latency_s"] for _, m in fronts[name] if m["area_mm2"] <= budget]
            best[name] = min(fits) if fits else None
        cells = [f"{best[n]:.3g}" if best[n] is not None else "-" for n in CLASSES]
        others = [best[n] for n in CLASSES if n != "V:N:M" and best[n] is not None]
        gain = (
            f"{min(others) / best['V:N:M']:.2f}x" if others and best["V:N:M"] is not None else "-"
        )
        print(f"| {budget:g} | " + " | ".join(cells) + f" | {gain} |")


def controls(
    best: Sequence[tuple[dict, dict]], work: SparseWorkload, dense: SparseWorkload, config: ToConfig
) -> None:
    """Print the two controls for the V:N:M designs of the overall front."""
    venom = [(d, m) for d, m in best if d["patterns"].count(":") > d["patterns"].count("+") + 1]
    print(
        f"\nControl 1: the {len(venom)} V:N:M designs of the overall front with the format "
        "swapped (same array, scratchpads, bandwidth): latency and area over V:N:M's\n"
    )
    swaps = {k: v for k, v in _PLAIN_SETS.items() if k != "dense"}
    print("| design | " + " | ".join(f"{k}: latency x / area x" for k in swaps) + " |")
    print("|---|" + "---|" * len(swaps))
    for d, m in venom:
        cells = []
        for name in swaps.values():
            s = evaluate(config({**d, "patterns": name}), work)
            cells.append(
                f"{s['latency_s'] / m['latency_s']:.2f} / {s['area_mm2'] / m['area_mm2']:.2f}"
            )
        label = f"{d['rows']}x{d['cols']} {d['dataflow']} {d['patterns']} bw {d['bandwidth']}"
        print(f"| {label} | " + " | ".join(cells) + " |")
    print(
        "\nControl 2: the same designs on the unpruned network: latency over the same array "
        "without sparse support (1.00: the gain needs pruned weights)\n"
    )
    ratios = []
    for d, _ in venom:
        sparse_hw = evaluate(config(d), dense)
        dense_hw = evaluate(config({**d, "patterns": "none"}), dense)
        ratios.append(sparse_hw["latency_s"] / dense_hw["latency_s"])
    if ratios:
        print(f"min {min(ratios):.3f}, max {max(ratios):.3f} over {len(ratios)} designs")


def plot(rows, fronts: dict, path: str, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 5))
    for i, name in enumerate(CLASSES):
        color = f"C{i}"
        sel = [m for _, m in rows[name]]
        ax.scatter(
            [m["area_mm2"] for m in sel],
            [m["latency_s"] for m in sel],
            s=4,
            alpha=0.25,
            color=color,
        )
        best = sorted(fronts[name], key=lambda r: r[1]["area_mm2"])
        ax.step(
            [m["area_mm2"] for _, m in best],
            [m["latency_s"] for _, m in best],
            where="post",
            color=color,
            lw=1.5,
            label=f"{name} front ({len(sel)} designs)",
        )
    ax.set(xscale="log", yscale="log", xlabel="area (mm^2)", ylabel="latency (s)", title=title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--network", default="llama2-7b-prefill")
    p.add_argument("--pattern", default="64:2:32", help="pattern the network is pruned to")
    p.add_argument("--designs", type=int, default=1000, help="base designs")
    p.add_argument("--max-pes", type=int, default=16384)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--plot", help="write the scatter and per-class fronts (PNG) here")
    args = p.parse_args(argv)
    layers, counts = sparse_workload(args.network, args.pattern)
    work = SparseWorkload(layers, tuple(int(c) for c in counts))
    dense = SparseWorkload(tuple(SparseLayer(sl.layer) for sl in layers), work.counts)
    pattern = parse_pattern(args.pattern)
    top_m = pattern.m if pattern.is_venom else 32
    # The env's own design -> config map, with dense fallback (no area budget).
    env = SparseTensorCoreEnv(list(layers), dense_fallback=True)
    config: ToConfig = lambda d: env.config_from_design(d, fallback=True)  # noqa: E731
    rows = run(sample_bases(args.designs, args.seed, args.max_pes), work, top_m, config)
    fronts = {name: front(rows[name]) for name in CLASSES}
    print(
        f"{args.network} pruned to {args.pattern}: {args.designs} base designs (seed "
        f"{args.seed}), each with every hardware class"
    )
    for name in CLASSES:
        _print_front(f"Front of {name} hardware", fronts[name])
    budget_table(fronts)
    overall = front([r for name in CLASSES for r in rows[name]])
    _print_front("Overall front", overall)
    controls(overall, work, dense, config)
    if args.plot:
        title = f"{args.network} at {args.pattern}: {args.designs} base designs x 5 classes"
        plot(rows, fronts, args.plot, title)
    return 0


if __name__ == "__main__":
    sys.exit(main())
