"""Pinned floating-point code paths for the fits whose files must reproduce byte for byte."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from archgym.numerics import PINNED_FLAG, pinned_env, run_pinned

PROBE = """
import json, os
try:
    from numpy._core import _multiarray_umath as mu
except ImportError:
    from numpy.core import _multiarray_umath as mu
on = [f for f in mu.__cpu_dispatch__ if mu.__cpu_features__.get(f)]
print(json.dumps({"on": on, "avx2": mu.__cpu_features__.get("AVX2"),
                  "flag": os.environ.get("ARCHGYM_PINNED_NUMERICS")}))
"""


def test_the_child_runs_without_avx512_and_knows_it_is_pinned():
    env = pinned_env()
    if env is None:
        pytest.skip("no AVX2 here: nothing is pinned")
    run = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True)
    child = json.loads(run.stdout)
    assert child["flag"] == "1"
    assert child["avx2"]
    assert not [f for f in child["on"] if "512" in f or f == "X86_V4"]  # dispatched code paths
    assert env["OPENBLAS_CORETYPE"] == "Haswell" and env["OPENBLAS_NUM_THREADS"] == "1"


def test_run_pinned_returns_the_childs_exit_code_and_none_inside_the_child(monkeypatch):
    if pinned_env() is None:
        pytest.skip("no AVX2 here: nothing is pinned")
    assert run_pinned(["-c", "import sys; sys.exit(3)"]) == 3
    monkeypatch.setenv(PINNED_FLAG, "1")
    assert run_pinned(["-c", "raise SystemExit(3)"]) is None


def test_calibrate_reports_a_bad_file_from_the_child(tmp_path, monkeypatch, capfd):
    import archgym.numerics as numerics
    from archgym.cli import main

    calls = []
    real_run = subprocess.run

    def spy(cmd, **kwargs):
        calls.append(cmd)
        return real_run(cmd, **kwargs)

    monkeypatch.setattr(numerics.subprocess, "run", spy)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "archgym").mkdir()  # a stray package here must not shadow the installed one
    (tmp_path / "archgym" / "__init__.py").write_text("raise SystemExit(0)\n")
    bad = tmp_path / "bad.csv"
    bad.write_text("m,n\n1,2\n")
    code = main(["gpu", "calibrate", "bad.csv", "--device", "h100-sxm", "-o", "o.json"])
    err = capfd.readouterr().err.strip().splitlines()
    assert code == 2 and not (tmp_path / "o.json").exists()
    assert len(err) == 1 and err[0].startswith("archgym: error:") and "bad.csv" in err[0]
    if pinned_env() is not None:
        assert len(calls) == 1 and calls[0][1:4] == ["-P", "-m", "archgym.cli"]


def test_calibrate_rejects_a_bad_start_device_and_an_unwritable_output(tmp_path, capfd):
    from archgym.cli import main

    csv = str(Path(__file__).resolve().parents[2] / "data" / "gpu" / "h200_dense.csv")
    code = main(["gpu", "calibrate", csv, "--device", "h200-sxm", "--start", "nosuchdev",
                 "-o", str(tmp_path / "o.json")])  # fmt: skip
    err = capfd.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "nosuchdev" in err[0]
    out = tmp_path / "no-such-dir" / "o.json"
    code = main(["gpu", "calibrate", csv, "--device", "h200-sxm", "--start", "h100-sxm",
                 "-o", str(out)])  # fmt: skip
    err = capfd.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("archgym: error: -o ")
