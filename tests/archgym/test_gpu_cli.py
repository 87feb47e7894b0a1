"""``archgym gpu predict`` / ``archgym gpu validate`` (archgym/commands/gpu.py)."""

from __future__ import annotations

import argparse
import csv

import pytest
from archgym.simulators.gpu import GemmModel, TileConfig

from archgym.commands.gpu import register
from archgym.errors import UserError


def _run(argv):
    parser = argparse.ArgumentParser(prog="archgym")
    register(parser.add_subparsers())
    args = parser.parse_args(argv)
    return args.func(args)


def _write(path, text):
    path.write_text(text)
    return str(path)


def test_predict_writes_predicted_us_for_library_and_given_tiles(tmp_path):
    src = _write(
        tmp_path / "in.csv",
        "m,n,k,dtype,kind,block_m,block_n,block_k,num_warps,num_stages\n"
        "4096,4096,4096,bf16,dense,,,,,\n"
        "4096,4096,4096,fp16,dense,128,256,64,8,4\n"
        "1,4096,4096,fp8,dense,,,,,\n"
        "8192,8192,8192,fp16,sparse24,,,,,\n",
    )
    out = tmp_path / "out.csv"
    assert _run(["gpu", "predict", src, "-o", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    assert [r["dtype"] for r in rows] == ["bf16", "fp16", "fp8", "fp16"]
    model = GemmModel()
    assert float(rows[0]["predicted_us"]) == pytest.approx(
        model.predict_us(4096, 4096, 4096, "bf16"), rel=1e-4
    )
    assert float(rows[1]["predicted_us"]) == pytest.approx(
        model.predict_us(4096, 4096, 4096, "fp16", tile=TileConfig(128, 256, 64, 8, 4)), rel=1e-4
    )


def test_predict_on_another_device(tmp_path):
    src = _write(tmp_path / "in.csv", "m,n,k,dtype,kind\n1,8192,8192,bf16,dense\n")
    out_h100, out_h200 = tmp_path / "a.csv", tmp_path / "b.csv"
    _run(["gpu", "predict", src, "-o", str(out_h100)])
    _run(["gpu", "predict", src, "-o", str(out_h200), "--device", "h200-sxm"])
    t100 = float(next(csv.DictReader(out_h100.open()))["predicted_us"])
    t200 = float(next(csv.DictReader(out_h200.open()))["predicted_us"])
    assert t200 < t100  # decode streams weights: H200's faster HBM wins


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "1,2,3,fp64,dense\n",
            r"row 1: `dtype` must be one of bf16, fp16, fp32, fp8, int8, "
            r"but got 'fp64'",
        ),
        (
            "1,2,3,bf16,dense\n5,0,3,bf16,dense\n",
            r"row 2: `n` must be a positive integer, but got 0",
        ),
        ("1,2,x,bf16,dense\n", r"row 1: `k` must be a positive integer, but got 'x'"),
        ("1,2,3,bf16,sparse\n", r"row 1: unknown kind 'sparse'; valid: dense, 2:4, sparse24"),
    ],
)
def test_bad_rows_name_the_row_and_field(tmp_path, body, message):
    src = _write(tmp_path / "in.csv", "m,n,k,dtype,kind\n" + body)
    with pytest.raises(UserError, match=message):
        _run(["gpu", "predict", src, "-o", str(tmp_path / "o.csv")])


def test_partial_tile_and_bad_tile_and_missing_columns(tmp_path):
    head = "m,n,k,dtype,kind,block_m,block_n,block_k,num_warps,num_stages\n"
    src = _write(tmp_path / "a.csv", head + "64,64,64,fp16,dense,64,64,,,\n")
    with pytest.raises(UserError, match="row 1: a tile needs all of"):
        _run(["gpu", "predict", src, "-o", str(tmp_path / "o.csv")])
    src = _write(tmp_path / "b.csv", head + "64,64,64,fp16,dense,64,64,24,4,3\n")
    with pytest.raises(UserError, match="row 1: `block_k` must be a multiple of 16"):
        _run(["gpu", "predict", src, "-o", str(tmp_path / "o.csv")])
    src = _write(tmp_path / "c.csv", head + "64,64,64,fp16,dense,256,256,128,8,7\n")
    with pytest.raises(UserError, match=r"row 1: .*shared memory"):
        _run(["gpu", "predict", src, "-o", str(tmp_path / "o.csv")])
    src = _write(tmp_path / "d.csv", "m,n,dtype\n1,2,bf16\n")
    with pytest.raises(UserError, match="missing column"):
        _run(["gpu", "predict", src, "-o", str(tmp_path / "o.csv")])


def test_validate_prints_model_and_baselines_from_packaged_data(capsys):
    assert _run(["gpu", "validate", "--no-baseline"]) == 0
    out = capsys.readouterr().out
    assert "| bf16 | dense | rr |" in out
    assert "roofline" in out
    assert "Model's best tile within 10 %" in out
    assert "prospective h100_gemm_prospective2.csv" in out


def test_validate_a_new_csv_and_reject_a_missing_one(tmp_path, capsys):
    src = _write(
        tmp_path / "new.csv",
        "family,m,n,k,dtype,kind,a_major,b_major,time_us,status\n"
        "x,4096,4096,4096,bf16,dense,row,row,190.0,ok\n"
        "x,1,4096,4096,bf16,dense,row,col,9.0,ok\n"
        "x,64,4096,4096,int8,dense,row,row,30.0,ok\n",
    )
    assert _run(["gpu", "validate", "--csv", src, "--no-baseline"]) == 0
    assert "Every row of the CSV" in capsys.readouterr().out
    with pytest.raises(UserError, match="no such file"):
        _run(["gpu", "validate", "--csv", str(tmp_path / "nope.csv")])


def test_predict_layout_columns(tmp_path):
    src = _write(
        tmp_path / "in.csv",
        "m,n,k,dtype,kind,a_major,b_major\n"
        "512,4096,4096,int8,dense,row,row\n"
        "512,4096,4096,int8,dense,row,col\n"
        "512,4096,4096,fp8,dense,,\n",
    )
    out = tmp_path / "out.csv"
    assert _run(["gpu", "predict", src, "-o", str(out)]) == 0
    with open(out) as f:
        t = [float(r["predicted_us"]) for r in csv.DictReader(f)]
    assert t[0] > t[1]  # int8 nn (WMMA) is slower than tn (IMMA)
    bad = _write(tmp_path / "bad.csv", "m,n,k,dtype,kind,b_major\n64,64,64,fp8,dense,row\n")
    with pytest.raises(UserError, match=r"row 1: fp8 GEMMs need .* column-major B"):
        _run(["gpu", "predict", bad, "-o", str(out)])
    bad = _write(tmp_path / "bad2.csv", "m,n,k,dtype,kind,a_major\n64,64,64,bf16,dense,diag\n")
    with pytest.raises(UserError, match="row 1: `a_major` must be row or col"):
        _run(["gpu", "predict", bad, "-o", str(out)])


def test_calibrate_refuses_a_seed_it_would_ignore(tmp_path):
    # --seed picks the few-shot sample; without --max-kernels every row is fitted
    out = str(tmp_path / "c.json")
    with pytest.raises(UserError, match="--seed: only the few-shot fit"):
        _run(["gpu", "calibrate", "x.csv", "--device", "h200-sxm", "--seed", "3", "-o", out])


def test_calibrate_rejects_unknown_device(tmp_path):
    with pytest.raises(UserError, match="did you mean 'h100-sxm'"):
        _run(["gpu", "calibrate", "x.csv", "--device", "h100-sx", "-o", str(tmp_path / "c.json")])


def test_calibrate_fits_several_csvs_together_and_records_each(tmp_path, capfd):
    # dense v14: the H200 Triton file fits several tile sets; each input is named and hashed
    import hashlib
    import json
    from pathlib import Path

    src = Path(__file__).resolve().parents[2] / "data" / "gpu" / "h200_triton_tiles.csv"
    lines = src.read_text().splitlines()
    a = _write(tmp_path / "a.csv", "\n".join(lines[:61]) + "\n")  # one shape's 60 tiles
    b = _write(tmp_path / "b.csv", "\n".join([lines[0], *lines[61:121]]) + "\n")
    out = tmp_path / "c.json"
    assert _run(["gpu", "calibrate", a, b, "--device", "h200-sxm", "-o", str(out)]) == 0
    source = json.loads(out.read_text())["source"]
    assert source["file"] == "a.csv+b.csv" and source["rows"] == 120
    assert source["sha256"] == [hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in (a, b)]
    from archgym.cli import main

    bad = _write(tmp_path / "bad.csv", "m,n\n1,2\n")
    capfd.readouterr()
    assert main(["gpu", "calibrate", a, bad, "--device", "h200-sxm", "-o", str(out)]) == 2
    err = capfd.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "bad.csv: missing column" in err[0]
    for argv, says in (
        ([a, a], "a.csv: given twice"),
        ([_write(tmp_path / "h.csv", lines[0])], "no timed rows"),
    ):
        assert main(["gpu", "calibrate", *argv, "--device", "h200-sxm", "-o", str(out)]) == 2
        err = capfd.readouterr().err.strip().splitlines()
        assert len(err) == 1 and says in err[0]


def test_experiments_validate_wrapper_smoke(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    src = _write(
        tmp_path / "new.csv",
        "family,m,n,k,dtype,kind,time_us,status\nx,4096,4096,4096,bf16,dense,190.0,ok\n"
        "x,64,4096,4096,bf16,dense,20.0,ok\nx,8,4096,4096,bf16,dense,15.0,ok\n",
    )
    script = root / "experiments" / "gpu" / "validate.py"
    out = subprocess.run(
        [sys.executable, str(script), "--csv", src, "--no-baseline"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "Every row of the CSV" in out.stdout
