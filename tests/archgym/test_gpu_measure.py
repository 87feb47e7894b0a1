"""``archgym gpu measure`` (archgym/gpu_measure.py) and the H200 campaign script, without a GPU."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from archgym import gpu_measure

ROOT = Path(__file__).resolve().parents[2]


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    gpu_measure.add_measure_parser(parser.add_subparsers())
    return parser.parse_args(["measure", *argv])


def test_measure_without_a_gpu_fails_with_one_line(tmp_path, capsys):
    args = _args("-o", str(tmp_path / "out.csv"))
    assert args.func is gpu_measure.run_measure
    try:
        import torch

        if torch.cuda.is_available():  # a real GPU: this test is about machines without one
            return
    except ImportError:
        pass
    assert gpu_measure.run_measure(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("archgym: error: gpu measure needs") and "\n" not in err
    assert not (tmp_path / "out.csv").exists()


def test_unknown_dtype_is_refused(tmp_path, capsys):
    assert gpu_measure.run_measure(_args("-o", str(tmp_path / "x.csv"), "--dtypes", "fp4")) == 2
    assert "unknown dtype 'fp4'" in capsys.readouterr().err


def test_prospective_shapes_are_new_and_seeded():
    train = {s[2:] for s in gpu_measure.standard_shapes("train", 0)}
    p1 = gpu_measure.standard_shapes("prospective", 7)
    assert p1 == gpu_measure.standard_shapes("prospective", 7)
    assert {s[2:] for s in p1} != {s[2:] for s in gpu_measure.standard_shapes("prospective", 8)}
    assert len({s[2:] for s in p1} & train) <= 1
    families = {s[0] for s in gpu_measure.anchor_shapes()}
    assert {"gemv", "unaligned", "tiny", "square"} <= families
    assert (16384, 16384, 16384) in train and (28672, 1, 4096) in train


def test_dense_plan_covers_every_dtype_and_both_b_orders():
    plan = gpu_measure.dense_plan(gpu_measure.anchor_shapes()[:2])
    assert {(p[1], p[3]) for p in plan} >= {("bf16", "row"), ("bf16", "col"), ("fp8", "col")}


def test_campaign_script_dry_run_smoke():
    script = ROOT / "experiments" / "gpu" / "campaign_h200.py"
    for extra in ([], ["--set", "prospective", "--seed", "3", "--quick"], ["--set", "classes"]):
        out = subprocess.run(
            [sys.executable, str(script), "--dry-run", *extra],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert out.returncode == 0, out.stderr
        assert "dense:" in out.stdout and "sparse:" in out.stdout


def test_class_shapes_are_stratified_seeded_and_new():
    shapes = gpu_measure.standard_shapes("classes", 5)
    assert shapes == gpu_measure.class_shapes(5) != gpu_measure.class_shapes(6)
    classes = {s[0].rsplit(":", 1)[1] for s in shapes}
    assert {"aligned", "unaligned", "gemv-m1", "gemv-n1", "tiny", "huge"} <= classes
    assert any(s[2] == 1 for s in shapes) and any(s[3] == 1 for s in shapes)
    assert all(2.0 * s[2] * s[3] * s[4] <= gpu_measure.MAX_FLOP for s in shapes)
    train = {s[2:] for s in gpu_measure.standard_shapes("train", 0)}
    assert not {s[2:] for s in shapes} & train


def test_measure_gemm_uses_the_shared_timing_helper():
    script = ROOT / "experiments" / "gpu" / "measure_gemm.py"
    assert "do_bench(fn" not in script.read_text()  # timing is gpu_measure.bench
    out = subprocess.run(
        [sys.executable, str(script), "--dry-run", "--parts", "prospective2,dense"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=script.parent,
    )
    assert out.returncode == 0, out.stderr
    assert "points" in out.stdout and "cublas/dense/bf16" in out.stdout


def test_profile_kernels_plans_campaign_sets_with_layouts():
    script = ROOT / "experiments" / "gpu" / "profile_kernels.py"
    out = subprocess.run(
        [sys.executable, str(script), "--dry-run", "--campaign", "classes:1", "--dtypes", "bf16"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=script.parent,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"{4 * len(gpu_measure.class_shapes(1))} points"
