"""Check scalesim_user_analyze against SCALE-Sim 3.0.0 USER runs (stored or freshly generated).

    OMP_NUM_THREADS=1 python experiments/systolic/check_replay_user.py            # stored runs
    python experiments/systolic/check_replay_user.py --generate 30 --seed 7 --out /tmp/refs
    python experiments/systolic/check_replay_user.py --refs /tmp/refs

``--generate N`` first runs N random small USER layers through SCALE-Sim (odd arrays 3-12 x 2-16,
1-8 kB SRAMs, bandwidth 1-10, all dataflows, GEMM, 3x3, stride 2/3 and 7x7 convs, 1x1 and
depthwise layers; ``--small`` keeps SRAMs at 1-2 kB and bandwidth 1-4 so most runs stall) with
``make_scalesim_refs.py`` (``--scalesim-python``). Per run it prints SCALE-Sim's stall cycles
next to the analytical compat model's (the baseline) and the replay's, and whether the replay
matches all six replayed report fields (stalls, Total Cycles, incl. prefetch, ifmap/filter DRAM
reads, ofmap DRAM writes); then the counts within 1% over the runs where SCALE-Sim stalls.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import random
import sys
import time
from pathlib import Path

from archgym.simulators.systolic import analyze
from archgym.simulators.systolic.refcases import case_config, case_layer
from archgym.simulators.systolic.replay_user import scalesim_user_analyze

HERE = Path(__file__).resolve().parent
FIELDS = (
    ("stall_cycles", "compute", "Stall Cycles"),
    ("cycles", "compute", "Total Cycles"),
    ("total_cycles", "compute", "Total Cycles (incl. prefetch)"),
    ("ifmap_dram_reads", "detailed", "DRAM IFMAP Reads"),
    ("filter_dram_reads", "detailed", "DRAM Filter Reads"),
    ("ofmap_dram_writes", "detailed", "DRAM OFMAP Writes"),
)
EXTRA_LAYERS = {
    "h_c1": ("conv", (9, 11, 3, 3, 5, 12, 1)),
    "h_s3": ("conv", (13, 13, 3, 3, 6, 10, 3)),
    "h_7s2": ("conv", (19, 19, 7, 7, 3, 8, 2)),
    "h_pw": ("conv", (7, 7, 1, 1, 24, 20, 1)),
    "DP_h": ("conv", (10, 10, 3, 3, 3, 1, 1)),
    "h_g1": ("gemm", (37, 19, 23)),
    "h_g2": ("gemm", (12, 45, 60)),
}


def generate(count: int, seed: int, out: str, small: bool, python: str) -> None:
    """Run ``count`` random USER cases through SCALE-Sim into ``out`` (make_scalesim_refs)."""
    spec = importlib.util.spec_from_file_location("refs", HERE / "make_scalesim_refs.py")
    refs = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(refs)
    refs.LAYERS.update(EXTRA_LAYERS)
    rng = random.Random(seed)
    sizes, bws = ([1, 2], range(1, 5)) if small else ([1, 2, 4, 8], range(1, 11))
    cases = []
    for i in range(count):
        cases.append(
            dict(
                rows=rng.choice([3, 4, 5, 8, 12]),
                cols=rng.choice([2, 4, 7, 8, 16]),
                dataflow=rng.choice(["os", "ws", "is"]),
                layer=rng.choice(sorted(EXTRA_LAYERS)),
                mode="USER",
                bw=rng.choice(list(bws)),
                ifmap_kb=rng.choice(sizes),
                filter_kb=rng.choice(sizes),
                ofmap_kb=rng.choice(sizes),
                case=i,
            )
        )
    refs.case_matrix = lambda: cases
    sys.argv = ["make_scalesim_refs", "--out", out, "--timeout", "60"]
    sys.argv += ["--scalesim-python", python]
    refs.main()


def _rows(folder: Path, name: str) -> dict[str, list[dict[str, str]]]:
    out: dict[str, list[dict[str, str]]] = {}
    with open(folder / f"{name}.csv") as f:
        for row in csv.DictReader(f):
            row = {k.strip(): v.strip() for k, v in row.items()}
            out.setdefault(row["case"], []).append(row)
    return out


def check(folder: Path, limit: int | None) -> tuple[int, int, int, int, int]:
    """Print one line per USER run; return (runs, exact, stalling, replay 1%, baseline 1%)."""
    with open(folder / "cases.csv") as f:
        cases = [c for c in csv.DictReader(f) if c["status"] == "ok" and c["mode"] == "USER"]
    tables = {"compute": _rows(folder, "compute"), "detailed": _rows(folder, "detailed")}
    print(
        f"{'run':>4s} {'df':3s} {'layer':10s} {'SCALE-Sim':>9s} {'analyze':>9s} {'replay':>9s} ok  s"
    )
    runs = exact = stalling = hit = base_hit = 0
    for case in cases[:limit]:
        ref = [sum(int(float(r[col])) for r in tables[rep][case["case"]]) for _, rep, col in FIELDS]
        t0 = time.perf_counter()
        got = scalesim_user_analyze(case_config(case), case_layer(case))
        seconds = time.perf_counter() - t0
        mine = [int(got[key][0]) for key, _, _ in FIELDS]
        base = float(analyze(case_config(case), [case_layer(case)])["stall_cycles"][0])
        runs, exact = runs + 1, exact + (mine == ref)
        if ref[0] > 0:
            stalling += 1
            hit += abs(mine[0] - ref[0]) <= 0.01 * ref[0]
            base_hit += abs(base - ref[0]) <= 0.01 * ref[0]
        print(
            f"{case['case']:>4s} {case['dataflow']:3s} {case['layer']:10s} {ref[0]:9d} "
            f"{base:9.0f} {mine[0]:9d} {'yes' if mine == ref else 'NO ':3s} {seconds:.2f}"
        )
    return runs, exact, stalling, hit, base_hit


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--refs", default=str(HERE.parents[1] / "tests/data/scalesim"))
    ap.add_argument("--generate", type=int, default=0, help="first run N new SCALE-Sim cases")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--small", action="store_true", help="1-2 kB SRAMs, bandwidth 1-4")
    ap.add_argument("--out", default=None, help="folder for --generate (then checked)")
    ap.add_argument("--scalesim-python", default="/work/scalesim-venv/bin/python")
    ap.add_argument("--limit", type=int, default=None, help="check only the first N runs")
    args = ap.parse_args()
    folder = Path(args.refs)
    if args.generate:
        if not args.out:
            ap.error("--generate needs --out")
        generate(args.generate, args.seed, args.out, args.small, args.scalesim_python)
        folder = Path(args.out)
    runs, exact, stalling, hit, base_hit = check(folder, args.limit)
    print(f"all six fields exact: {exact}/{runs} USER runs")
    print(
        f"stalls within 1% where SCALE-Sim stalls: replay {hit}/{stalling}, analyze {base_hit}/{stalling}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
