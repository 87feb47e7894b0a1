"""Generate SCALE-Sim 3.0.0 sparse-mode references for the sparse engine (tests/data/sparse/).

SCALE-Sim v3 models layer-wise N:M weight sparsity, mainly in the weight-stationary dataflow (its
``[sparsity]`` cfg section and an ``N:M`` column in the topology file): the filter operand is
compressed along K and stored as ELLPACK blocks with ``ceil(log2 M)`` index bits per kept value.
Run it with any Python; it drives SCALE-Sim in its own interpreter (it needs numpy<2.4):

    python experiments/sparse/make_scalesim_sparse_refs.py --scalesim-python /work/scalesim-venv/bin/python

Writes ``tests/data/sparse/scalesim_sparse.csv``: one row per case with the layer, the array,
the pattern, SCALE-Sim's ``Total Cycles`` and its filter storage figures. ``--kinds`` instead
writes ``tests/data/sparse/scalesim_sparse_kinds.csv``: small cases of every storage kind
(``SparseRep`` ellpack_block, csr, csc) with and without ``OptimizedMapping``, with every
COMPUTE_REPORT and SPARSE_REPORT column and the SRAM read counts.
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "data" / "sparse" / "scalesim_sparse.csv"
KINDS_OUT = ROOT / "tests" / "data" / "sparse" / "scalesim_sparse_kinds.csv"

DRIVER = r"""
import sys, io, contextlib
from scalesim.scale_sim import scalesim
cfg, topo, layout, out, gemm = sys.argv[1:6]
with contextlib.redirect_stdout(io.StringIO()):
    s = scalesim(save_disk_space=True, verbose=False, config=cfg, topology=topo, layout=layout,
                 input_type_gemm=gemm == "1")
    s.run_scale(top_path=out)
"""

CFG = """[general]
run_name = case

[architecture_presets]
ArrayHeight = {rows}
ArrayWidth = {cols}
IfmapSramSzkB = 512
FilterSramSzkB = 512
OfmapSramSzkB = 256
IfmapOffset = 0
FilterOffset = 10000000
OfmapOffset = 20000000
Bandwidth = 10
Dataflow = {dataflow}
ReadRequestBuffer = 32
WriteRequestBuffer = 32

[layout]
IfmapCustomLayout = False
IfmapSRAMBankBandwidth = 10
IfmapSRAMBankNum = 1
IfmapSRAMBankPort = 2
FilterCustomLayout = False
FilterSRAMBankBandwidth = 10
FilterSRAMBankNum = 1
FilterSRAMBankPort = 2

[sparsity]
SparsitySupport = true
SparseRep = {rep}
OptimizedMapping = {optimized}
BlockSize = {block}
RandomNumberGeneratorSeed = 40

[run_presets]
InterfaceBandwidth = CALC
UseRamulatorTrace = False
"""

# name -> (kind, dims): gemm M, N, K; conv H, W, R, S, C, filters, stride (no padding).
LAYERS = {
    "g_small": ("gemm", (64, 48, 64)),
    "g_odd": ("gemm", (100, 70, 128)),
    "g_tall": ("gemm", (256, 32, 512)),
    "c_3x3": ("conv", (14, 14, 3, 3, 16, 32, 1)),
    "c_1x1": ("conv", (10, 10, 1, 1, 64, 64, 1)),
    "g_ragged": ("gemm", (20, 37, 90)),
    "c_s2": ("conv", (9, 9, 3, 3, 6, 10, 2)),
    "c_s2_pad": ("conv", (10, 10, 3, 3, 6, 8, 2)),  # (H - R) % stride != 0: a padding window
    "DP_c": ("conv", (8, 8, 3, 3, 4, 4, 1)),  # depthwise ("DP" in the name), one run per channel
}
ARRAYS = ((4, 4), (8, 8), (16, 8), (8, 32), (32, 32))
PATTERNS = ("1:1", "2:4", "1:4", "1:2", "2:8", "4:8")


def cases() -> list[dict]:
    out = []
    for i, (rows, cols) in enumerate(ARRAYS):
        for j, layer in enumerate(LAYERS):
            for pattern in (*PATTERNS[(i + j) % 2 :: 2], "2:4"):
                out.append({"layer": layer, "rows": rows, "cols": cols, "pattern": pattern})
    unique = {tuple(c.values()): c for c in out}
    return list(unique.values())


#: Storage kinds x mapping: (SparseRep, OptimizedMapping, BlockSize).
KINDS = tuple(
    (rep, opt, block)
    for rep in ("ellpack_block", "csr", "csc")
    for opt, block in (("false", 8), ("true", 4), ("true", 8))
)
KIND_SHAPES = (
    ("g_small", 8, 8, "2:4"),
    ("g_ragged", 8, 16, "1:4"),
    ("c_s2", 16, 8, "2:8"),
    ("g_odd", 16, 16, "1:1"),
    ("c_s2_pad", 8, 8, "2:4"),
    ("DP_c", 8, 8, "1:2"),
)
#: Output- and input-stationary runs (SCALE-Sim prunes both operands; OptimizedMapping stops
#: there with an assertion, so only without it).
OTHER_DATAFLOW_SHAPES = (("g_ragged", 8, 16, "1:4"), ("c_s2", 16, 8, "2:8"))


def kind_cases() -> list[dict]:
    """Small cases of every storage kind, with and without OptimizedMapping."""
    out = []
    for rep, opt, block in KINDS:
        for layer, rows, cols, pattern in KIND_SHAPES:
            case = {"layer": layer, "rows": rows, "cols": cols, "pattern": pattern}
            out.append({**case, "rep": rep, "optimized": opt, "block": block, "dataflow": "ws"})
    for dataflow in ("os", "is"):
        for rep in ("ellpack_block", "csr", "csc"):
            for layer, rows, cols, pattern in OTHER_DATAFLOW_SHAPES:
                case = {"layer": layer, "rows": rows, "cols": cols, "pattern": pattern}
                out.append(
                    {**case, "rep": rep, "optimized": "false", "block": 8, "dataflow": dataflow}
                )
    return out


def topology(layer: str, pattern: str) -> tuple[str, bool]:
    kind, dims = LAYERS[layer]
    if kind == "gemm":
        return (
            "Layer, M, N, K, Sparsity,\n" + f"{layer}, {', '.join(map(str, dims))}, {pattern},\n",
            True,
        )
    header = (
        "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, "
        "Num Filter, Strides, Sparsity,\n"
    )
    return header + f"{layer}, {', '.join(map(str, dims))}, {pattern},\n", False


def _report(path: Path) -> dict[str, str]:
    with open(path) as f:
        lines = [
            [c.strip() for c in line.strip().rstrip(",").split(",")] for line in f if line.strip()
        ]
    return dict(zip(lines[0], lines[1], strict=True))


def run_case(python: str, case: dict) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        kind = {"rep": "ellpack_block", "optimized": "false", "block": 8, "dataflow": "ws"}
        kind.update({k: case[k] for k in kind if k in case})
        (tmp / "c.cfg").write_text(CFG.format(rows=case["rows"], cols=case["cols"], **kind))
        text, gemm = topology(case["layer"], case["pattern"])
        (tmp / "t.csv").write_text(text)
        (tmp / "l.csv").write_text("unused,\n")
        subprocess.run(
            [
                python,
                "-c",
                DRIVER,
                str(tmp / "c.cfg"),
                str(tmp / "t.csv"),
                str(tmp / "l.csv"),
                str(tmp / "out"),
                "1" if gemm else "0",
            ],
            check=True,
            timeout=600,
            env={**os.environ, "OMP_NUM_THREADS": "1"},
        )
        compute = _report(tmp / "out" / "case" / "COMPUTE_REPORT.csv")
        sparse_path = tmp / "out" / "case" / "SPARSE_REPORT.csv"
        sparse = _report(sparse_path) if sparse_path.exists() else {}
        detail = _report(tmp / "out" / "case" / "DETAILED_ACCESS_REPORT.csv")
    if "rep" in case:
        return {
            **case,
            "total_cycles": int(compute["Total Cycles"]),
            "stall_cycles": int(compute["Stall Cycles"]),
            "overall_util": compute["Overall Util %"],
            "mapping_efficiency": compute["Mapping Efficiency %"],
            "compute_util": compute["Compute Util %"],
            "representation": sparse["Sparsity Representation"],
            "original_filter_storage": sparse["Original Filter Storage"],
            "new_storage": sparse["New Storage (Filter+Metadata)"],
            "metadata_storage": sparse["Filter Metadata Storage"],
            "metadata_sram_bw": sparse["Avg FILTER Metadata SRAM BW"],
            "ifmap_sram_reads": detail["SRAM IFMAP Reads"],
            "filter_sram_reads": detail["SRAM Filter Reads"],
            "ofmap_sram_writes": detail["SRAM OFMAP Writes"],
            "ifmap_dram_reads": detail["DRAM IFMAP Reads"],
            "filter_dram_reads": detail["DRAM Filter Reads"],
            "ofmap_dram_writes": detail["DRAM OFMAP Writes"],
        }
    return {
        **case,
        "total_cycles": int(compute["Total Cycles"]),
        "original_filter_storage": sparse.get("Original Filter Storage", ""),
        "new_storage": sparse.get("New Storage (Filter+Metadata)", ""),
        "metadata_storage": sparse.get("Filter Metadata Storage", ""),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scalesim-python", default="/work/scalesim-venv/bin/python")
    p.add_argument("--out", default=None, help="output CSV (default: the stored reference)")
    p.add_argument("--kinds", action="store_true", help="every storage kind and mapping")
    p.add_argument("--limit", type=int, default=None, help="run only the first N cases")
    args = p.parse_args(argv)
    if args.out is None:
        args.out = str(KINDS_OUT if args.kinds else OUT)
    todo = (kind_cases() if args.kinds else cases())[: args.limit]
    rows = [run_case(args.scalesim_python, c) for c in todo]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"{len(rows)} cases -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
