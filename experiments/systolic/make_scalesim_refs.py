"""Generate the SCALE-Sim 3.0.0 reference outputs stored under tests/data/scalesim/.

Run it with any Python; it drives SCALE-Sim in its own interpreter (it needs numpy<2.4):

    python experiments/systolic/make_scalesim_refs.py --scalesim-python /work/scalesim-venv/bin/python

``--reuse tests/data/scalesim`` copies the runs already stored there (same fields) instead of
re-running them, so adding cases runs only the new ones.

Each case is one SCALE-Sim run (one cfg + one topology) in a fresh subprocess with a timeout, so a
pathological case (small SRAM under a user-set bandwidth) is skipped instead of stalling the batch.
Outputs (all with a ``case`` column):

- ``cases.csv``: the cfg fields, the topology row and the SCALE-Sim wall time per run (``scalesim_s``,
  the ``run_scale`` call only, interpreter start-up and imports excluded);
- ``compute.csv``, ``bandwidth.csv``, ``detailed.csv``: SCALE-Sim's three reports, column names as it
  writes them.
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from archgym.simulators.systolic.io import write_cfg
from archgym.simulators.systolic.refcases import case_config

DRIVER = r"""
import sys, time, io, contextlib
from scalesim.scale_sim import scalesim
cfg, topo, layout, out, gemm = sys.argv[1:6]
with contextlib.redirect_stdout(io.StringIO()):
    s = scalesim(save_disk_space=True, verbose=False, config=cfg, topology=topo, layout=layout,
                 input_type_gemm=gemm == "1")
    t0 = time.perf_counter()
    s.run_scale(top_path=out)
    dt = time.perf_counter() - t0
print(dt)
"""

# name -> (kind, fields): gemm fields M, N, K; conv fields H, W, R, S, C, K, stride.
LAYERS: dict[str, tuple[str, tuple[int, ...]]] = {
    "g_small": ("gemm", (64, 48, 40)),
    "g_odd": ("gemm", (200, 70, 130)),
    "g_wide": ("gemm", (16, 300, 20)),
    "g_big": ("gemm", (512, 512, 64)),
    "c_3x3": ("conv", (14, 14, 3, 3, 16, 32, 1)),
    "c_stride2": ("conv", (29, 29, 3, 3, 8, 24, 2)),
    "c_1x1": ("conv", (10, 10, 1, 1, 32, 64, 1)),
    "c_7x7s4": ("conv", (35, 35, 7, 7, 3, 16, 4)),
    "DP_3x3": ("conv", (16, 16, 3, 3, 8, 1, 1)),
    "c_resnet": ("conv", (30, 30, 3, 3, 64, 64, 1)),
    "r50_conv2": ("conv", (58, 58, 3, 3, 64, 64, 1)),
    # strided layers whose stride does not divide H - R (SCALE-Sim adds a window past the input)
    "c_s2nd": ("conv", (16, 16, 3, 3, 8, 16, 2)),
    "c_s3nd": ("conv", (17, 17, 3, 3, 4, 8, 3)),
    "c_7x7s2": ("conv", (38, 38, 7, 7, 3, 16, 2)),
    "DP_s2": ("conv", (18, 18, 3, 3, 8, 1, 2)),
    "g_k1": ("gemm", (32, 16, 1)),
}

ARRAYS = [(4, 4), (8, 8), (16, 16), (32, 32), (8, 32), (32, 8), (64, 16), (128, 128)]
DATAFLOWS = ("os", "ws", "is")


def case_matrix() -> list[dict]:
    """The validation matrix (about 100 cases), ordered cheap-first."""
    cases: list[dict] = []
    rotation = ["g_small", "c_3x3", "g_odd", "c_stride2", "c_1x1", "g_wide", "c_7x7s4", "DP_3x3"]
    big = {"ifmap_kb": 512, "filter_kb": 512, "ofmap_kb": 256}
    small = {"ifmap_kb": 2, "filter_kb": 2, "ofmap_kb": 1}
    # A: compute exactness, estimated bandwidth, large SRAMs: every array x dataflow, 2 layers each.
    for i, (rows, cols) in enumerate(ARRAYS):
        for df in DATAFLOWS:
            for layer in (rotation[i % 8], rotation[(i + 3) % 8]):
                cases.append(
                    dict(rows=rows, cols=cols, dataflow=df, layer=layer, mode="CALC", bw=10, **big)
                )
    # B: 256x256 and the big GEMM.
    for df in DATAFLOWS:
        cases.append(
            dict(rows=256, cols=256, dataflow=df, layer="g_big", mode="CALC", bw=10, **big)
        )
        cases.append(dict(rows=128, cols=32, dataflow=df, layer="g_big", mode="CALC", bw=10, **big))
    # C: small SRAMs (operands do not fit), estimated bandwidth.
    for rows, cols in ((8, 8), (16, 16), (32, 8)):
        for df in DATAFLOWS:
            cases.append(
                dict(rows=rows, cols=cols, dataflow=df, layer="g_odd", mode="CALC", bw=10, **small)
            )
    # D: user bandwidth, large and small SRAMs.
    for rows, cols in ((8, 8), (16, 16)):
        for df in DATAFLOWS:
            for bw in (2, 10):
                cases.append(
                    dict(
                        rows=rows,
                        cols=cols,
                        dataflow=df,
                        layer="g_small",
                        mode="USER",
                        bw=bw,
                        **big,
                    )
                )
            cases.append(
                dict(rows=rows, cols=cols, dataflow=df, layer="c_3x3", mode="USER", bw=4, **small)
            )
    # E: a ResNet-sized 3x3 layer (the speed benchmark's layer).
    for rows, cols in ((32, 32), (64, 16)):
        for df in DATAFLOWS:
            cases.append(
                dict(rows=rows, cols=cols, dataflow=df, layer="c_resnet", mode="CALC", bw=10, **big)
            )
    for df in DATAFLOWS:
        cases.append(
            dict(rows=32, cols=32, dataflow=df, layer="c_resnet", mode="USER", bw=16, **big)
        )
    # F: more small-SRAM layers under estimated bandwidth.
    for layer in ("c_3x3", "c_stride2", "g_wide"):
        for df in DATAFLOWS:
            cases.append(
                dict(rows=16, cols=16, dataflow=df, layer=layer, mode="CALC", bw=10, **small)
            )
    # G: user bandwidth on non-square arrays; H: medium SRAMs under user bandwidth.
    for rows, cols in ((8, 32), (32, 8)):
        for df in DATAFLOWS:
            cases.append(
                dict(rows=rows, cols=cols, dataflow=df, layer="g_odd", mode="USER", bw=8, **big)
            )
    medium = {"ifmap_kb": 16, "filter_kb": 16, "ofmap_kb": 16}
    for df in DATAFLOWS:
        cases.append(
            dict(rows=16, cols=16, dataflow=df, layer="c_3x3", mode="USER", bw=4, **medium)
        )
    # I: the ResNet-50 conv2_x 3x3 layer (56x56 output, padded input) for the speed benchmark.
    for (rows, cols), df in (((32, 32), "os"), ((128, 128), "ws"), ((64, 64), "is")):
        cases.append(
            dict(rows=rows, cols=cols, dataflow=df, layer="r50_conv2", mode="CALC", bw=10, **big)
        )
    cases += _stress_cases()
    for i, case in enumerate(cases):
        case["case"] = i
    return cases


def _stress_cases() -> list[dict]:
    """Cases that stress the model (issue 17): strided convs whose stride does not divide the
    input, odd arrays, depthwise, K = 1 GEMMs, and USER runs that stall (1-8 kB SRAMs,
    bandwidth 1-10). Tiny layers: each run takes seconds."""
    cases: list[dict] = []
    big = {"ifmap_kb": 512, "filter_kb": 512, "ofmap_kb": 256}
    strided = ["c_s2nd", "c_s3nd", "c_7x7s2", "DP_s2"]
    for a, (rows, cols) in enumerate(((8, 8), (5, 7), (16, 4))):
        for d, df in enumerate(DATAFLOWS):
            for layer in (strided[(a + d) % 4], strided[(a + d + 2) % 4]):
                cases.append(
                    dict(rows=rows, cols=cols, dataflow=df, layer=layer, mode="CALC", bw=10, **big)
                )
    for (rows, cols), df in zip(((3, 5), (7, 13), (1, 9)), DATAFLOWS, strict=True):
        for layer in ("g_odd", "c_stride2", "g_k1"):
            cases.append(
                dict(rows=rows, cols=cols, dataflow=df, layer=layer, mode="CALC", bw=10, **big)
            )
    for df in DATAFLOWS:
        cases.append(dict(rows=1, cols=1, dataflow=df, layer="g_k1", mode="CALC", bw=10, **big))
    for i, (kb, bw) in enumerate(((1, 1), (2, 2), (4, 5), (8, 10))):
        sram = {"ifmap_kb": kb, "filter_kb": kb, "ofmap_kb": kb}
        for df in DATAFLOWS:
            layer = ("g_small", "c_3x3", "c_s2nd")[(i + DATAFLOWS.index(df)) % 3]
            rows, cols = ((8, 8), (4, 8), (6, 5))[i % 3]
            cases.append(
                dict(rows=rows, cols=cols, dataflow=df, layer=layer, mode="USER", bw=bw, **sram)
            )
    return cases


def topology_text(layer: str) -> tuple[str, bool]:
    kind, dims = LAYERS[layer]
    if kind == "gemm":
        return "Layer, M, N, K,\n" + f"{layer}, " + ", ".join(map(str, dims)) + ",\n", True
    header = "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"
    return header + f"{layer}, " + ", ".join(map(str, dims)) + ",\n", False


def read_report(path: Path) -> tuple[list[str], list[list[str]]]:
    with open(path) as f:
        rows = [
            [c.strip() for c in line.strip().rstrip(",").split(",")] for line in f if line.strip()
        ]
    return rows[0], rows[1:]


_KEY_FIELDS = ("rows", "cols", "dataflow", "layer", "mode", "bw", "ifmap_kb", "filter_kb")


def _key(case: dict) -> tuple[str, ...]:
    return (*(str(case[f]) for f in _KEY_FIELDS), str(case["ofmap_kb"]))


def _reusable(folder: Path) -> dict[tuple[str, ...], tuple[str, str, dict]]:
    """Runs stored in ``folder`` (as this script writes them), keyed by their fields."""
    with open(folder / "cases.csv") as f:
        old_cases = list(csv.DictReader(f))
    reports: dict[str, tuple[list[str], dict[str, list[list[str]]]]] = {}
    for key in ("compute", "bandwidth", "detailed"):
        with open(folder / f"{key}.csv") as f:
            rows = list(csv.reader(f))
        by_case: dict[str, list[list[str]]] = {}
        for row in rows[1:]:
            by_case.setdefault(row[0], []).append(row)
        reports[key] = (rows[0], by_case)
    out = {}
    for case in old_cases:
        per = {key: (hdr, by.get(case["case"], [])) for key, (hdr, by) in reports.items()}
        out[_key(case)] = (case["scalesim_s"], case["status"], per)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--scalesim-python",
        default=os.environ.get("SCALESIM_PYTHON", "/work/scalesim-venv/bin/python"),
    )
    ap.add_argument(
        "--out", default=str(Path(__file__).resolve().parents[2] / "tests/data/scalesim")
    )
    ap.add_argument(
        "--timeout", type=float, default=90.0, help="seconds per case before it is skipped"
    )
    ap.add_argument("--limit", type=int, default=None, help="run only the first N cases")
    ap.add_argument(
        "--reuse",
        default=None,
        help="folder of an earlier run: cases with the same fields are copied, not re-run",
    )
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    cases = case_matrix()[: args.limit]
    reports = {
        "compute": "COMPUTE_REPORT.csv",
        "bandwidth": "BANDWIDTH_REPORT.csv",
        "detailed": "DETAILED_ACCESS_REPORT.csv",
    }
    tables: dict[str, tuple[list[str], list[list]]] = {}
    case_rows = []
    t_start = time.time()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        driver = tmp / "driver.py"
        driver.write_text(DRIVER)
        layout = tmp / "layout.csv"
        layout.write_text("Layer name,\n")
        reused = _reusable(Path(args.reuse)) if args.reuse else {}
        for case in cases:
            old = reused.get(_key(case))
            if old is not None:
                seconds_text, status, old_rows = old
                case_rows.append({**case, "scalesim_s": seconds_text, "status": status})
                for key, (header, rows) in old_rows.items():
                    tables.setdefault(key, (header, []))[1].extend(
                        [[case["case"], *r[1:]] for r in rows]
                    )
                continue
            cdir = tmp / f"c{case['case']}"
            cdir.mkdir()
            write_cfg(cdir / "scale.cfg", case_config(case), run_name="case")
            topo, gemm = topology_text(case["layer"])
            (cdir / "topo.csv").write_text(topo)
            cmd = [
                args.scalesim_python,
                str(driver),
                str(cdir / "scale.cfg"),
                str(cdir / "topo.csv"),
                str(layout),
                str(cdir / "out"),
                "1" if gemm else "0",
            ]
            env = dict(os.environ, OMP_NUM_THREADS="1", NUMBA_NUM_THREADS="1")
            try:
                proc = subprocess.run(
                    cmd, capture_output=True, text=True, timeout=args.timeout, env=env
                )
            except subprocess.TimeoutExpired:
                print(
                    f"case {case['case']}: timeout after {args.timeout} s, skipped", file=sys.stderr
                )
                case_rows.append({**case, "scalesim_s": "", "status": "timeout"})
                continue
            if proc.returncode != 0:
                print(f"case {case['case']}: failed\n{proc.stderr[-2000:]}", file=sys.stderr)
                case_rows.append({**case, "scalesim_s": "", "status": "error"})
                continue
            seconds = float(proc.stdout.strip().splitlines()[-1])
            case_rows.append({**case, "scalesim_s": f"{seconds:.4f}", "status": "ok"})
            for key, fname in reports.items():
                header, rows = read_report(cdir / "out" / "case" / fname)
                tables.setdefault(key, (["case", *header], []))[1].extend(
                    [[case["case"], *r] for r in rows]
                )
            print(
                f"case {case['case']} ({case['rows']}x{case['cols']} {case['dataflow']} {case['layer']} {case['mode']}): {seconds:.2f} s  [{time.time() - t_start:.0f} s total]",
                file=sys.stderr,
            )
    fields = [
        "case",
        "rows",
        "cols",
        "dataflow",
        "layer",
        "mode",
        "bw",
        "ifmap_kb",
        "filter_kb",
        "ofmap_kb",
        "scalesim_s",
        "status",
    ]
    with open(out / "cases.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=[*fields, "kind", "dims"])
        w.writeheader()
        for row in case_rows:
            kind, dims = LAYERS[row["layer"]]
            w.writerow(
                {**{k: row[k] for k in fields}, "kind": kind, "dims": " ".join(map(str, dims))}
            )
    for key, (header, rows) in tables.items():
        with open(out / f"{key}.csv", "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(header)
            w.writerows(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
