"""Speed of the systolic-array models against SCALE-Sim 3.0.0 on the same layers.

    OMP_NUM_THREADS=1 python benchmarks/bench_systolic.py [--live N] [--scalesim-python PATH]

Per layer: SCALE-Sim's time is the ``scalesim_s`` column recorded by
``experiments/systolic/make_scalesim_refs.py`` (its ``run_scale`` call alone) for all 111 stored
runs; with ``--live N`` (default 3 when SCALE-Sim's interpreter exists) the N slowest stored runs are
also re-run live here, in the same session, and those rows say ``live``. Ours is the median of
repeated calls of ``analyze`` (which takes the scalar path for one layer), of the vectorised
pass on one design (``analyze_batch``) and of ``simulate`` on one design and that layer. Then: ResNet-50 on one
design (and its per-layer cost inside that call), 10,000 random designs on ResNet-50 in one
batched call, and the SystolicArray-v0 env's cost per evaluation.
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
from archgym.simulators.systolic import (
    ArrayConfig,
    ConvLayer,
    GemmLayer,
    analytical,
    analyze,
    analyze_batch,
    designs_from_configs,
    simulate,
)
from archgym.simulators.systolic.io import write_cfg, write_topology
from archgym.simulators.systolic.layers import _layer_table
from archgym.simulators.systolic.refcases import case_config, case_layer
from archgym.simulators.systolic.replay import scalesim_calc_analyze
from archgym.simulators.systolic.scalar import _calc_capacity

from archgym.envs.systolic import SystolicArrayEnv
from archgym.workloads.networks import resnet50

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "scalesim"
DEFAULT_PY = os.environ.get("SCALESIM_PYTHON", "/work/venvs/scalesim/bin/python")
DRIVER = (
    "import sys, time, io, contextlib\n"
    "from scalesim.scale_sim import scalesim\n"
    "with contextlib.redirect_stdout(io.StringIO()):\n"
    "    s = scalesim(save_disk_space=True, verbose=False, config=sys.argv[1],\n"
    "                 topology=sys.argv[2], layout=sys.argv[3], input_type_gemm=sys.argv[5] == '1')\n"
    "    t0 = time.perf_counter(); s.run_scale(top_path=sys.argv[4])\n"
    "print(time.perf_counter() - t0)\n"
)


def _median_s(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def _vectorised(config: ArrayConfig, layers) -> dict:
    """One design through the NumPy pass (what ``analyze`` runs for long workloads)."""
    return analyze_batch(
        designs_from_configs([config]), layers, scalesim_compat=config.scalesim_compat
    )


def _run_live(python: str, config: ArrayConfig, layer, tmp: Path) -> float:
    write_cfg(tmp / "a.cfg", config)
    write_topology(tmp / "t.csv", [layer])
    (tmp / "layout.csv").write_text("Layer name,\n")
    (tmp / "drv.py").write_text(DRIVER)
    gemm = "1" if isinstance(layer, GemmLayer) else "0"
    cmd = [
        python,
        str(tmp / "drv.py"),
        str(tmp / "a.cfg"),
        str(tmp / "t.csv"),
        str(tmp / "layout.csv"),
        str(tmp / "out"),
        gemm,
    ]
    env = dict(os.environ, OMP_NUM_THREADS="1", NUMBA_NUM_THREADS="1")
    done = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env)
    return float(done.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scalesim-python", default=DEFAULT_PY)
    ap.add_argument("--live", type=int, default=None, help="stored runs to re-run live (slowest)")
    ap.add_argument("--designs", type=int, default=10_000)
    args = ap.parse_args()
    have_live = Path(args.scalesim_python).exists()
    live_n = (3 if have_live else 0) if args.live is None else args.live
    if live_n and not have_live:
        print(f"SCALE-Sim interpreter {args.scalesim_python} not found: recorded timings only")
        live_n = 0
    with open(DATA / "cases.csv") as f:
        cases = [c for c in csv.DictReader(f) if c["status"] == "ok"]
    cases.sort(key=lambda c: -float(c["scalesim_s"]))

    ratios_a, ratios_v, ratios_c = [], [], []
    print(
        f"{'layer (array, dataflow, mode)':44s} {'SCALE-Sim s':>11s} {'source':>8s} "
        f"{'analytical us':>13s} {'x faster':>9s} {'vector us':>9s} {'x faster':>9s} "
        f"{'cycle us':>9s} {'x faster':>9s}"
    )
    with tempfile.TemporaryDirectory() as tmp_name:
        for i, case in enumerate(cases):
            layer, config = case_layer(case), case_config(case)
            groups = layer.groups
            ref_s, source = float(case["scalesim_s"]), "recorded"
            if i < live_n:
                ref_s, source = (
                    _run_live(args.scalesim_python, config, layer, Path(tmp_name)),
                    "live",
                )
            t_a = _median_s(lambda c=config, la=layer: analyze(c, [la]), 50)
            t_v = _median_s(lambda c=config, la=layer: _vectorised(c, [la]), 20)
            t_c = _median_s(lambda c=config, la=layer: simulate(c, [la]), 10)
            ratios_a.append(ref_s / t_a)
            ratios_v.append(ref_s / t_v)
            ratios_c.append(ref_s / t_c)
            if i < 12 or i == len(cases) - 1:
                label = (
                    f"{case['layer']}{f' x{groups}' if groups > 1 else ''} "
                    f"({case['rows']}x{case['cols']} {case['dataflow']} {case['mode']})"
                )
                print(
                    f"{label:44s} {ref_s:11.3f} {source:>8s} {t_a * 1e6:13.1f} "
                    f"{ref_s / t_a:9.0f} {t_v * 1e6:9.1f} {ref_s / t_v:9.0f} "
                    f"{t_c * 1e6:9.1f} {ref_s / t_c:9.0f}"
                )
            elif i == 12:
                print(f"{'... (' + str(len(cases) - 13) + ' more runs)':44s}")
    print(f"\nover {len(cases)} runs, speed-up (SCALE-Sim time / ours, one layer per call):")
    for name, r in (("analytical", ratios_a), ("vectorised", ratios_v), ("cycle", ratios_c)):
        print(
            f"  {name:10s}  min {min(r):10.0f}x  median {np.median(r):10.0f}x  "
            f"geo-mean {np.exp(np.mean(np.log(r))):10.0f}x"
        )

    # Amortised: every stored design on every stored layer in one batched call.
    designs = designs_from_configs([case_config(c) for c in cases])
    layers = [case_layer(c) for c in cases]
    t_grid = _median_s(lambda: analyze_batch(designs, layers, scalesim_compat=True), 5)
    per_pair = t_grid / (len(cases) * len(layers))
    mean_ref = float(np.mean([float(c["scalesim_s"]) for c in cases]))
    print(
        f"  batched    {len(cases)} designs x {len(layers)} layers in one call: "
        f"{per_pair * 1e6:.2f} us per (design, layer); SCALE-Sim's mean per run "
        f"{mean_ref:.2f} s -> {mean_ref / per_pair:,.0f}x"
    )

    net = list(resnet50())
    config = ArrayConfig(rows=32, cols=32, dataflow="ws", read_bw_words=16, write_bw_words=16)
    _layer_table.cache_clear()
    t0 = time.perf_counter()
    analyze(config, net)
    t_cold = time.perf_counter() - t0
    t_one = _median_s(lambda: analyze(config, net), 50)
    t_vec = _median_s(lambda: _vectorised(config, net), 50)
    limit = analytical.SCALAR_MAX_LAYERS
    analytical.SCALAR_MAX_LAYERS = len(net)
    t_sca = _median_s(lambda: analyze(config, net), 50)
    analytical.SCALAR_MAX_LAYERS = limit
    t_cyc = _median_s(lambda: simulate(config, net), 5)
    rng = np.random.default_rng(0)
    n = args.designs
    designs = {
        "rows": 2 ** rng.integers(2, 9, n),
        "cols": 2 ** rng.integers(2, 9, n),
        "dataflow": rng.integers(0, 3, n),
        "ifmap_sram_kib": 2 ** rng.integers(3, 12, n),
        "filter_sram_kib": 2 ** rng.integers(3, 12, n),
        "ofmap_sram_kib": 2 ** rng.integers(3, 12, n),
        "read_bw_words": 2.0 ** rng.integers(0, 7, n),
        "write_bw_words": 2.0 ** rng.integers(0, 7, n),
    }
    t0 = time.perf_counter()
    out = analyze_batch(designs, net)
    t_batch = time.perf_counter() - t0
    assert out["cycles"].shape == (n, len(net))
    print(
        f"\nResNet-50 ({len(net)} layers), one design, analytical: {t_one * 1e3:8.2f} ms "
        f"(target < 5 ms; first call, building the layer table: {t_cold * 1e3:.2f} ms)"
    )
    print(
        f"  per layer inside that call: vectorised {t_vec / len(net) * 1e6:.1f} us, scalar "
        f"{t_sca / len(net) * 1e6:.1f} us (analyze takes the scalar path up to {limit} layers)"
    )
    print(f"ResNet-50, one design, cycle-level:               {t_cyc * 1e3:8.2f} ms")
    print(
        f"ResNet-50, {n:,} designs batched, analytical:     {t_batch:8.2f} s  (target < 10 s; "
        f"{t_batch / n * 1e6:.0f} us per design)"
    )
    _bench_replay(cases)
    _bench_env()
    return 0


def _bench_replay(cases: list[dict]) -> None:
    """scalesim_calc_analyze (exact CALC ifmap reads by replaying SCALE-Sim's buffer) on the
    stored runs where it replays (a convolution whose windows overlap, input not fitting)."""
    ratios, times = [], []
    for case in cases:
        layer, config = case_layer(case), case_config(case)
        if case["mode"] != "CALC" or not isinstance(layer, ConvLayer):
            continue
        m, _, k = layer.gemm_shape()
        distinct = layer.ifmap_words(include_padding=True)
        if distinct == m * k or distinct < _calc_capacity(config.sram_words("ifmap")):
            continue
        t = _median_s(lambda c=config, la=layer: scalesim_calc_analyze(c, [la]), 10)
        times.append(t)
        ratios.append(float(case["scalesim_s"]) / t)
    print(
        f"\nscalesim_calc_analyze on the {len(times)} CALC runs it replays: "
        f"{min(times) * 1e3:.1f}-{max(times) * 1e3:.1f} ms per layer, "
        f"{min(ratios):.0f}-{max(ratios):.0f}x faster than SCALE-Sim"
    )


def _bench_env() -> None:
    """Per-evaluation cost of the env's simulate step and of a whole ``env.evaluate``."""
    design = {
        "rows": 32,
        "cols": 16,
        "dataflow": "ws",
        "ifmap_sram_kib": 64,
        "filter_sram_kib": 128,
        "ofmap_sram_kib": 32,
        "bandwidth": 8,
    }
    print("\nSystolicArray-v0 per evaluation (analytical), scalar path vs forced vectorised:")
    limit = analytical.SCALAR_MAX_LAYERS
    for name in ("alexnet", "bert-base-encoder", "resnet18", "resnet50"):
        env = SystolicArrayEnv(name)
        t_sim = _median_s(lambda e=env: e._simulate(design), 200)
        t_eval = _median_s(lambda e=env: e.evaluate(design), 200)
        analytical.SCALAR_MAX_LAYERS = 0
        t_vec = _median_s(lambda e=env: e._simulate(design), 200)
        analytical.SCALAR_MAX_LAYERS = limit
        print(
            f"  {name:18s} {len(env.layers):3d} distinct layers: simulate {t_sim * 1e6:6.0f} us "
            f"(vectorised {t_vec * 1e6:6.0f} us), env.evaluate {t_eval * 1e6:6.0f} us"
        )


if __name__ == "__main__":
    raise SystemExit(main())
