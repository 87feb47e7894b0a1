"""Check scalesim_calc_analyze against every stored CALC convolution run of SCALE-Sim 3.0.0.

    OMP_NUM_THREADS=1 python experiments/systolic/check_replay.py

For each run: SCALE-Sim's DRAM IFMAP Reads, the closed form (``analyze``, compat), the replay
(``archgym.simulators.systolic.replay``), the request-stream length and the replay's time. The tests
cover the runs with up to 100 k requests; this covers all of them (up to 3.6 M).
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

from archgym.simulators.systolic import analyze
from archgym.simulators.systolic.refcases import case_config, case_layer
from archgym.simulators.systolic.replay import (
    ifmap_request_stream,
    replay_calc_buffer,
    scalesim_calc_analyze,
)

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "scalesim"


def main() -> int:
    argparse.ArgumentParser(description=__doc__).parse_args()
    with open(DATA / "cases.csv") as f:
        cases = [c for c in csv.DictReader(f) if c["status"] == "ok"]
    with open(DATA / "detailed.csv") as f:
        reads = {}
        for row in csv.DictReader(f):
            row = {k.strip(): v.strip() for k, v in row.items()}
            reads.setdefault(row["case"], int(row["DRAM IFMAP Reads"]))
    print(
        f"{'run':>4s} {'df':3s} {'layer':10s} {'kB':>4s} {'SCALE-Sim':>9s} {'closed':>9s} "
        f"{'replay':>9s} {'requests':>9s} {'replay ms':>9s}"
    )
    exact = total = 0
    for case in cases:
        if case["mode"] != "CALC" or case["kind"] != "conv":
            continue
        layer, config = case_layer(case), case_config(case)
        ref = reads[case["case"]]
        closed = int(analyze(config, [layer])["ifmap_dram_reads"][0]) // layer.groups
        t0 = time.perf_counter()
        stream = ifmap_request_stream(config, layer)
        replay = replay_calc_buffer(stream, config.sram_words("ifmap"))
        elapsed = time.perf_counter() - t0
        assert (
            scalesim_calc_analyze(config, [layer])["ifmap_dram_reads"][0] == replay * layer.groups
        )
        total += 1
        exact += replay == ref
        print(
            f"{case['case']:>4s} {case['dataflow']:3s} {case['layer']:10s} {case['ifmap_kb']:>4s} "
            f"{ref:9d} {closed:9d} {replay:9d} {stream.size:9d} {elapsed * 1e3:9.1f}"
        )
    print(f"\nreplay equals SCALE-Sim on {exact} of {total} CALC convolution runs")
    return 0 if exact == total else 1


if __name__ == "__main__":
    raise SystemExit(main())
