"""experiments/gpu/merge_runs.py: two runs of one measurement set merged point by point."""

from __future__ import annotations

import csv
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RAW = ROOT / "data" / "gpu" / "raw"


def _merge_module():
    spec = importlib.util.spec_from_file_location(
        "merge_runs", ROOT / "experiments/gpu/merge_runs.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _read(path: Path) -> list[dict]:
    with path.open() as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize(("seed", "n_set"), [(20261215, 13), (20261216, 14)])
def test_triton_runs_merge_tile_by_tile(tmp_path, seed, n_set):
    # every tile of a shape is its own point: before the fix the key had no tile fields, so all
    # 60 tiles of a shape met the same run-b row and the merged file held copies of one tile
    # (the thirteenth set's merge read 8 / 8 picks, the correct one 7 / 8)
    out = tmp_path / "merged.csv"
    a, b = (RAW / f"h200_triton_tiles_s{seed}_run_{r}.csv" for r in "ab")
    assert _merge_module().merge(str(a), str(b), str(out)) == 0
    tile = ("source", "block_m", "block_n", "block_k", "num_warps", "num_stages")
    rows_b = {tuple(r[c] for c in tile): r for r in _read(b)}
    rows_a, merged = _read(a), _read(out)
    assert (
        len(rows_b)
        == len(rows_a)
        == len(merged)
        == len({tuple(r[c] for c in tile) for r in merged})
    )
    for ra, rm in zip(rows_a, merged, strict=True):
        rb = rows_b[tuple(ra[c] for c in tile)]
        assert tuple(ra[c] for c in tile) == tuple(rm[c] for c in tile)
        assert float(rm["time_us"]) == min(float(ra["time_us"]), float(rb["time_us"]))
    shipped = ROOT / "data" / "gpu" / f"h200_triton_tiles_prospective{n_set}.csv"
    assert out.read_bytes() == shipped.read_bytes()


def test_a_point_measured_twice_in_one_run_is_an_error(tmp_path):
    src = _read(RAW / "h200_classes_s20261216_run_a.csv")
    twice = tmp_path / "twice.csv"
    with twice.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(src[0]))
        w.writeheader()
        w.writerows([src[0], src[1], src[0]])
    with pytest.raises(ValueError, match=r"twice.csv:4: point .* appears twice"):
        _merge_module().merge(str(twice), str(twice), str(tmp_path / "out.csv"))


def test_runs_of_other_points_exit_2_with_one_line_and_write_nothing(tmp_path):
    out = tmp_path / "merged.csv"
    a = RAW / "h200_classes_s20261216_run_a.csv"
    b = RAW / "h200_classes_s20261217_run_b.csv"  # another seed: other shapes
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "experiments/gpu/merge_runs.py"),
            str(a),
            str(b),
            "-o",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and not out.exists()
    assert done.stderr.count("\n") == 1 and "do not hold the same points" in done.stderr
