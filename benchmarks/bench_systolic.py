"""Speed of the systolic-array models against SCALE-Sim 3.0.0 and against an earlier archgym.

    OMP_NUM_THREADS=1 python benchmarks/bench_systolic.py [--live N] [--scalesim-python PATH]
        [--before-python PATH] [--designs N] [--quick]

Per layer: SCALE-Sim's time is the ``scalesim_s`` column recorded by
``experiments/systolic/make_scalesim_refs.py`` (its ``run_scale`` call alone) for every stored
run; with ``--live N`` the N slowest stored runs are re-run live, in this session. Ours: the
median of repeated ``analyze`` calls on that layer. Then ResNet-50: one design (analytical and
cycle-level) and D random designs in one batched call of each model (designs/s).

SCALE-Sim ratios use wall-clock time on both sides (ours: ``perf_counter``); the before/after
rows use the CPU time of this process (``process_time``), steadier on a shared machine.
``--rounds N`` alternates before and after N times (medians per row).
``--before-python`` runs the same measurements (``--json`` mode of this script) under another
interpreter whose ``archgym`` is an earlier checkout, and this interpreter's in a fresh
process the same way (both sides alike), and prints both side by side: the
before/after table of the closed-form unification. Functions the earlier checkout lacks are
timed through what it had (the batched cycle path as a loop of ``simulate``).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from archgym.simulators import systolic
from archgym.simulators.systolic import ArrayConfig, GemmLayer, analyze, analyze_batch, simulate
from archgym.simulators.systolic.io import write_cfg, write_topology
from archgym.simulators.systolic.refcases import case_config, case_layer

from archgym.workloads.networks import resnet18, resnet50

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "scalesim"
DEFAULT_PY = os.environ.get("SCALESIM_PYTHON", "/work/scalesim-venv/bin/python")
DRIVER = (
    "import sys, time, io, contextlib\n"
    "from scalesim.scale_sim import scalesim\n"
    "with contextlib.redirect_stdout(io.StringIO()):\n"
    "    s = scalesim(save_disk_space=True, verbose=False, config=sys.argv[1],\n"
    "                 topology=sys.argv[2], layout=sys.argv[3], input_type_gemm=sys.argv[5] == '1')\n"
    "    t0 = time.perf_counter(); s.run_scale(top_path=sys.argv[4])\n"
    "print(time.perf_counter() - t0)\n"
)
TARGETS = {
    "layer_speedup_median": 100_000,
    "analytical_designs_per_s": 30_000,
    "cycle_designs_per_s": 1_000,
}


def _median_s(fn, repeats: int, clock=time.perf_counter) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t0 = clock()
        fn()
        times.append(clock() - t0)
    return float(np.median(times))


CPU = time.process_time  # CPU seconds of this process: the before/after rows (shared machine)


def _run_live(python: str, config: ArrayConfig, layer, tmp: Path) -> float:
    write_cfg(tmp / "a.cfg", config)
    write_topology(tmp / "t.csv", [layer])
    (tmp / "layout.csv").write_text("Layer name,\n")
    (tmp / "drv.py").write_text(DRIVER)
    gemm = "1" if isinstance(layer, GemmLayer) else "0"
    files = [str(tmp / name) for name in ("drv.py", "a.cfg", "t.csv", "layout.csv", "out")]
    env = dict(os.environ, OMP_NUM_THREADS="1", NUMBA_NUM_THREADS="1")
    done = subprocess.run(
        [python, *files, gemm], capture_output=True, text=True, check=True, env=env
    )
    return float(done.stdout.strip().splitlines()[-1])


def _random_designs(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "rows": 2 ** rng.integers(2, 9, n),
        "cols": 2 ** rng.integers(2, 9, n),
        "dataflow": rng.integers(0, 3, n),
        "ifmap_sram_kib": 2.0 ** rng.integers(3, 12, n),
        "filter_sram_kib": 2.0 ** rng.integers(3, 12, n),
        "ofmap_sram_kib": 2.0 ** rng.integers(3, 12, n),
        "read_bw_words": 2.0 ** rng.integers(0, 7, n),
        "write_bw_words": 2.0 ** rng.integers(0, 7, n),
    }


def _cycle_batch(designs: dict[str, np.ndarray], net: list) -> None:
    if hasattr(systolic, "simulate_batch"):
        systolic.simulate_batch(designs, net)
        return
    n = len(designs["rows"])  # an archgym without the batched path: one design at a time
    for i in range(n):
        config = ArrayConfig(
            rows=int(designs["rows"][i]),
            cols=int(designs["cols"][i]),
            dataflow=("os", "ws", "is")[int(designs["dataflow"][i])],
            ifmap_sram_kib=float(designs["ifmap_sram_kib"][i]),
            filter_sram_kib=float(designs["filter_sram_kib"][i]),
            ofmap_sram_kib=float(designs["ofmap_sram_kib"][i]),
            read_bw_words=float(designs["read_bw_words"][i]),
            write_bw_words=float(designs["write_bw_words"][i]),
        )
        simulate(config, net)


def measure(n_designs: int, quick: bool) -> dict[str, float]:
    """The model-side timings of this interpreter's archgym (no SCALE-Sim)."""
    with open(DATA / "cases.csv") as f:
        cases = [c for c in csv.DictReader(f) if c["status"] == "ok"]
    repeats = 5 if quick else 50
    pairs = [(case_config(c), [case_layer(c)]) for c in cases]
    layer_s = [_median_s(lambda c=c, la=la: analyze(c, la), repeats) for c, la in pairs]
    net = list(resnet50())
    r18 = list(dict.fromkeys(resnet18()))  # 21 distinct layers: analyze's pure-Python path
    config = ArrayConfig(rows=32, cols=32, dataflow="ws", read_bw_words=16, write_bw_words=16)
    cpu_layer_s = [_median_s(lambda c=c, la=la: analyze(c, la), repeats, CPU) for c, la in pairs]
    out = {
        "layer_us_median": float(np.median(cpu_layer_s)) * 1e6,
        "resnet18_scalar_us": _median_s(lambda: analyze(config, r18), 5 * repeats, CPU) * 1e6,
        "resnet50_one_design_ms": _median_s(lambda: analyze(config, net), repeats, CPU) * 1e3,
        "resnet50_cycle_one_design_ms": _median_s(lambda: simulate(config, net), 3, CPU) * 1e3,
    }
    designs = _random_designs(n_designs)
    t_batch = _median_s(lambda: analyze_batch(designs, net), 1 if quick else 3, CPU)
    out["analytical_designs_per_s"] = n_designs / t_batch
    n_cycle = n_designs if hasattr(systolic, "simulate_batch") else min(n_designs, 20)
    few = {k: v[:n_cycle] for k, v in designs.items()}
    t_cycle = _median_s(lambda: _cycle_batch(few, net), 1, CPU)
    out["cycle_designs_per_s"] = n_cycle / t_cycle
    # Amortised: every stored design on every stored layer in one batched call (SCALE-Sim mode).
    configs = [case_config(c) for c in cases]
    grid = {
        "rows": [c.rows for c in configs],
        "cols": [c.cols for c in configs],
        "dataflow": [c.dataflow for c in configs],
        "ifmap_sram_kib": [c.ifmap_sram_kib for c in configs],
        "filter_sram_kib": [c.filter_sram_kib for c in configs],
        "ofmap_sram_kib": [c.ofmap_sram_kib for c in configs],
        "read_bw_words": [np.nan if c.read_bw_words is None else c.read_bw_words for c in configs],
        "write_bw_words": [
            np.nan if c.write_bw_words is None else c.write_bw_words for c in configs
        ],
    }
    layers = [case_layer(c) for c in cases]
    t_grid = _median_s(lambda: analyze_batch(grid, layers, scalesim_compat=True), 3)
    out["batched_pair_us"] = t_grid / (len(cases) * len(layers)) * 1e6
    out["_layer_s"] = layer_s
    out["_scalesim_s"] = [float(c["scalesim_s"]) for c in cases]
    out["_names"] = [
        f"{c['layer']} ({c['rows']}x{c['cols']} {c['dataflow']} {c['mode']})" for c in cases
    ]
    return out


def _median_of(runs: list[dict]) -> dict:
    """Per-key median over runs (lists: element-wise)."""
    out = {}
    for key, value in runs[0].items():
        if key == "_names":
            out[key] = value
        elif isinstance(value, list):
            out[key] = list(np.median(np.array([r[key] for r in runs]), axis=0))
        else:
            out[key] = float(np.median([r[key] for r in runs]))
    return out


def _print_layers(m: dict, args: argparse.Namespace) -> float:
    ref = np.array(m["_scalesim_s"])
    ours = np.array(m["_layer_s"])
    order = np.argsort(-ref)
    have_live = Path(args.scalesim_python).exists()
    live_n = min(args.live, len(order)) if have_live else 0
    print(f"{'layer (array, dataflow, mode)':44s} {'SCALE-Sim s':>11s} {'source':>8s} "
          f"{'analytical us':>13s} {'x faster':>10s}")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        with open(DATA / "cases.csv") as f:
            cases = [c for c in csv.DictReader(f) if c["status"] == "ok"]
        for rank, i in enumerate(order):
            source = "recorded"
            if rank < live_n:
                c = cases[i]
                ref[i] = _run_live(args.scalesim_python, case_config(c), case_layer(c), Path(tmp))
                source = "live"
            if rank < 8 or rank == len(order) - 1:
                print(f"{m['_names'][i]:44s} {ref[i]:11.3f} {source:>8s} {ours[i] * 1e6:13.1f} "
                      f"{ref[i] / ours[i]:10.0f}")  # fmt: skip
            elif rank == 8:
                print(f"... ({len(order) - 9} more runs)")
    ratios = ref / ours
    amortised = ref / (m["batched_pair_us"] * 1e-6)
    print(f"over {len(ratios)} stored runs, SCALE-Sim time / ours: one layer per analyze call: "
          f"min {ratios.min():,.0f}x, median {np.median(ratios):,.0f}x; amortised in one batched "
          f"call ({m['batched_pair_us']:.3f} us per design-layer pair): min "
          f"{amortised.min():,.0f}x, median {np.median(amortised):,.0f}x "
          f"(target >= {TARGETS['layer_speedup_median']:,}x)\n")  # fmt: skip
    return float(np.median(ratios)), float(np.median(amortised))


def _measure_in(python: str, args: argparse.Namespace, cwd: str | None) -> dict:
    """:func:`measure` in a fresh process of ``python`` (this script's ``--json`` mode)."""
    cmd = [python, str(Path(__file__).resolve()), "--json", "--designs", str(args.designs)]
    cmd += ["--quick"] if args.quick else []
    done = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=cwd)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scalesim-python", default=DEFAULT_PY)
    ap.add_argument("--before-python", default=None, help="interpreter of an earlier archgym")
    ap.add_argument("--live", type=int, default=3, help="stored runs to re-run live (slowest)")
    ap.add_argument("--designs", type=int, default=10_000)
    ap.add_argument("--quick", action="store_true", help="fewer repeats (smoke test)")
    ap.add_argument("--json", action="store_true", help="print the measurements as JSON only")
    ap.add_argument("--rounds", type=int, default=1, help="alternating before/after rounds")
    args = ap.parse_args()
    if args.json:
        print(json.dumps(measure(args.designs, args.quick)))
        return 0
    # Before and after alternate, ``--rounds`` times, and each row is the median over rounds:
    # the load of a shared machine drifts between runs.
    # With --before-python both sides run as fresh processes of this script (--json), so neither
    # measures in a process the other side's rounds have already loaded.
    afters, befores = [], []
    for _ in range(args.rounds):
        if args.before_python:
            befores.append(_measure_in(args.before_python, args, cwd="/"))
            afters.append(_measure_in(sys.executable, args, cwd=None))
        else:
            afters.append(measure(args.designs, args.quick))
    after = _median_of(afters)
    before = _median_of(befores) if befores else None
    speedup, amortised = _print_layers(after, args)
    rows = (
        ("analyze, one layer (median over stored runs), us", "layer_us_median", "lower"),
        ("batched, per design-layer pair (stored runs), wall us", "batched_pair_us", "lower"),
        ("analyze, ResNet-18 (21 distinct layers), one design, us", "resnet18_scalar_us", "lower"),
        (
            "analyze, ResNet-50 (54 layers, NumPy pass), one design, ms",
            "resnet50_one_design_ms",
            "lower",
        ),
        ("simulate (cycle), ResNet-50, one design, ms", "resnet50_cycle_one_design_ms", "lower"),
        ("batched analytical, ResNet-50 designs/s", "analytical_designs_per_s", "higher"),
        ("batched cycle-level, ResNet-50 designs/s", "cycle_designs_per_s", "higher"),
    )
    print(f"{'measure':62s} {'before':>12s} {'after':>12s} {'target':>10s}")
    for label, key, _ in rows:
        old = f"{before[key]:12,.1f}" if before else f"{'-':>12s}"
        target = f"{TARGETS[key]:>10,}" if key in TARGETS else f"{'':>10s}"
        print(f"{label:62s} {old} {after[key]:12,.1f} {target}")
    print(f"{'analytical vs SCALE-Sim per layer (one call), median x':62s} {'':>12s} "
          f"{speedup:12,.0f}")  # fmt: skip
    print(f"{'analytical vs SCALE-Sim per layer (batched), median x':62s} {'':>12s} "
          f"{amortised:12,.0f} {TARGETS['layer_speedup_median']:>10,}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
