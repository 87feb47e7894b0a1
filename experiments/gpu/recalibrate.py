"""Regenerate every shipped GPU calibration file, in dependency order: one command.

    python experiments/gpu/recalibrate.py            # rewrite simulators/gpu/data/*.json
    python experiments/gpu/recalibrate.py --check    # exit 1 if a file would change
    python experiments/gpu/recalibrate.py --dry-run  # print the archgym commands

Each step is an ``archgym gpu calibrate`` call (data/gpu/README.md); the H200 library file is
a transfer fit from the H100 constants, so the H100 files come first. ``--check`` passes a file
that comes back byte for byte (every x86-64 CPU with AVX2: the fits run on pinned code paths,
``archgym.numerics``) or, where nothing can be pinned, one whose fit is as good
(``fitting.calibration_agreement``).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: The H200 Triton tile sets fitted together since dense v14: the training sweep and every
#: tile set measured with a stratified draw (data/gpu/README.md, "Dense v14 data").
H200_TRITON = (
    "h200_triton_tiles.csv",
    *(f"h200_triton_tiles_prospective{n}.csv" for n in (2, 3, 4, 5, 6, 8, 9)),
)
# (measurement CSVs in data/gpu, device, library, extra arguments)
STEPS = (
    (("h100_gemm.csv",), "h100-sxm", "library", ()),
    (("h100_triton_tiles.csv",), "h100-sxm", "triton", ()),
    (("h200_dense.csv",), "h200-sxm", "library", ("--start", "h100-sxm")),
    (H200_TRITON, "h200-sxm", "triton", ()),
)


def commands(out_dir: Path) -> list[list[str]]:
    """The ``archgym`` argument lists of every step, writing into ``out_dir``."""
    return [
        [
            "gpu",
            "calibrate",
            *(str(ROOT / "data" / "gpu" / name) for name in csv_names),
            "--device",
            device,
            "-o",
            str(out_dir / f"{device}_{library}.json"),
            *extra,
        ]
        for csv_names, device, library, extra in STEPS
    ]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true", help="compare with the shipped files only")
    p.add_argument("--dry-run", action="store_true", help="print the commands and exit")
    args = p.parse_args(argv)
    shipped = ROOT / "simulators" / "gpu" / "data"
    if args.dry_run:
        for cmd in commands(shipped):
            print("archgym " + " ".join(cmd))
        return 0
    from archgym.simulators.gpu.calibration import _load

    from archgym.cli import main as archgym_main

    if args.check:
        from archgym.simulators.gpu.fitting import calibration_agreement

        from archgym.numerics import pinned_env

        tmp = Path(tempfile.mkdtemp())
        changed = []
        for cmd, (csv_names, device, _, _) in zip(commands(tmp), STEPS, strict=True):
            # Later steps read earlier files from the package: check against shipped inputs.
            if archgym_main(cmd) != 0:
                return 2
            out = Path(cmd[cmd.index("-o") + 1])
            csvs = [ROOT / "data" / "gpu" / name for name in csv_names]
            if out.read_bytes() == (shipped / out.name).read_bytes():
                print(f"{out.name}: identical")
                continue
            a = calibration_agreement(
                device, (shipped / out.name).read_text(), out.read_text(), csvs
            )
            # on pinned code paths the fit must come back byte for byte (archgym.numerics)
            agree = a["agree"] and pinned_env() is None
            verdict = "equivalent" if agree else "CHANGED"
            print(f"{out.name}: {verdict}: mean |error| {a['err_shipped']:.2f} % shipped, "
                  f"{a['err_regenerated']:.2f} % regenerated ({a['rows']} rows of {'+'.join(csv_names)}); "
                  f"predictions differ by {a['median_pct']:.2f} % median, "
                  f"{a['p95_pct']:.2f} % p95")  # fmt: skip
            if not agree:
                changed.append(out.name)
        print("changed: " + ", ".join(changed) if changed else "every file reproduces")
        return 1 if changed else 0
    for cmd in commands(shipped):
        if archgym_main(cmd) != 0:
            return 2
        _load.cache_clear()  # the next step starts from the file just written
    return 0


if __name__ == "__main__":
    sys.exit(main())
