"""GPU sparse (2:4, V:N:M) and weight-only models through ``predict_kernel_us``, and their
validation against measured (H100, H200) and published (VENOM, MARLIN) results."""

from __future__ import annotations

import importlib.util
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from archgym.simulators.common import InfeasibleDesign
from archgym.simulators.gpu.kinds import predict_kernel_us
from archgym.simulators.gpu.quant import weight_bytes
from archgym.simulators.gpu.sparse import load_constants

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "experiments" / "sparse" / "fit_sparse_gpu.py"


def _script():
    spec = importlib.util.spec_from_file_location("fit_sparse_gpu", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def fit():
    if not (ROOT / "data" / "gpu" / "h200_sparse24.csv").exists():
        pytest.skip("the measured data is not in the tree")
    return _script()


@pytest.mark.parametrize("device", ["a100-sxm", "h100-sxm", "h200-sxm", "a10", "rtx3090"])
@pytest.mark.parametrize(
    ("kind", "kernel", "group"),
    [
        ("2:4", None, None),
        ("sparse24", "search", None),
        ("64:2:8", None, None),
        ("128:2:20", "spatha", None),
        ("w4a16", None, 64),
        ("w4a16", "torch-int4pack", 32),
        ("w4a16", "sparse-marlin", None),
        ("w8a16", None, None),
    ],
)
def test_every_kind_predicts_a_positive_time_on_every_device(device, kind, kernel, group):
    t = predict_kernel_us(device, 64, 4096, 4096, "fp16", kind, kernel=kernel, group_size=group)
    assert math.isfinite(t) and t > 0


def test_dense_goes_to_the_dense_model():
    from archgym.simulators.gpu import GemmModel

    want = GemmModel("h200-sxm").predict_us(512, 4096, 4096, "bf16")
    assert predict_kernel_us("h200-sxm", 512, 4096, 4096, "bf16", "dense") == pytest.approx(want)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"kind": "3:4:8:1"}, "unknown kind"),
        ({"kind": "2:4", "kernel": "cutlass"}, "unknown 2:4 kernel"),
        ({"kind": "2:4", "group_size": 128}, "no group_size"),
        ({"kind": "w4a16", "dtype": "fp8"}, "fp16 or bf16"),
        ({"kind": "w8a16", "group_size": 128}, "per output channel"),
        ({"kind": "w4a16", "kernel": "torch-int8pack"}, "does not run"),
        ({"kind": "2:4", "b_major": "col"}, "fixed operand layout"),
        ({"kind": "dense", "a_major": "diag"}, "'row' or 'col'"),
        ({"kind": "64:2:8", "kernel": "marlin"}, "V:N:M kernel"),
    ],
)
def test_bad_inputs_are_refused_with_one_line(kwargs, match):
    args = {"device": "h200-sxm", "m": 8, "n": 4096, "k": 4096, "dtype": "fp16", **kwargs}
    with pytest.raises(ValueError, match=match) as err:
        predict_kernel_us(**args)
    assert "\n" not in str(err.value)


def test_infeasible_kernels_say_so():
    with pytest.raises(InfeasibleDesign):
        predict_kernel_us("a100-sxm", 64, 4096, 4096, "fp8", "2:4")  # no fp8 on Ampere
    with pytest.raises(InfeasibleDesign):
        predict_kernel_us("rtx3090", 64, 4096, 4096, "fp16", "64:1:8")  # Spatha runs N = 2


def test_v_is_a_real_parameter_and_sparsity_pays_more_as_m_grows():
    t = {
        v: predict_kernel_us("rtx3090", 4096, 4096, 4096, "fp16", f"{v}:2:20")
        for v in (32, 64, 128)
    }
    assert t[32] > t[64] > t[128]  # smaller V re-gathers the dense operand more often
    speedups = [
        predict_kernel_us("rtx3090", 4096, 4096, 4096, "fp16", f"128:2:{mm}") for mm in (8, 20, 100)
    ]
    assert speedups[0] > speedups[1] > speedups[2]


def test_2to4_loses_at_decode_and_wins_on_large_fp16_on_the_h200():
    def speedup(m, n, k):
        dense = predict_kernel_us("h200-sxm", n, m, k, "fp16", "dense")
        return dense / predict_kernel_us("h200-sxm", m, n, k, "fp16", "2:4")

    assert speedup(16, 4096, 4096) < 1.0
    assert speedup(8192, 8192, 8192) > 1.15


def test_weight_bytes_of_int4_group_128():
    assert weight_bytes(128, 1, 4, 128, 2.0, False) == pytest.approx(64 + 2)
    assert weight_bytes(128, 1, 4, 128, 2.0, True) == pytest.approx(32 + 16 + 2)


def test_constants_file_names_its_provenance():
    consts = load_constants()
    assert "fit_sparse_gpu.py --fit" in consts["provenance"]
    assert {"h100-sxm", "h200-sxm"} <= set(consts["sparse24"])


def test_marlin_reproduces_the_published_a10_and_rtx3090_curves(fit):
    # Published: MARLIN paper (A10 peak and sustained-at-base-clock curves), Sparse-MARLIN README.
    for line in fit.marlin_report()[1:]:
        worst = float(line.split("max err")[1].split("%")[0]) / 100
        assert worst <= 0.10, line


def test_vnm_matches_venoms_published_spatha_speedups(fit):
    rows = fit.load_venom()
    fit.venom_report(rows)
    te = [r for r in rows if r["test"]]
    # the published cuBLAS time of the same shape is the dense reference: this checks the
    # V:N:M kernel model, not the dense model's RTX 3090 extrapolation
    err = np.array([abs(r["pred_s_meas_dense"] / r["speedup"] - 1) for r in te])
    assert len(te) >= 80
    assert np.median(err) <= 0.15  # measured: 6 %


def test_torch_int4pack_speedup_vs_batch_on_the_h200(fit):
    rows = fit.load_w4a16()
    fit.quant_report(rows)
    te = [r for r in rows if r["test"] and r["kernel"] == "torch-int4pack"]
    err = np.array([abs(r["pred_s"] / r["meas_s"] - 1) for r in te])
    assert np.median(err) <= 0.15  # measured: 4.9 %


@pytest.mark.slow
def test_2to4_cross_validated_model_beats_the_constant(fit):
    # 3-fold CV grouped by shape over every fp16/bf16 torch-default row of each device (the
    # constants ship fitted on all rows; `experiments/sparse/sparse24_cv.py --folds 3 --methods
    # shipped`, 3 folds to keep the suite short; the documented 5-fold run reads 8.1 / 5.8 %).
    # Measured (2:4 v14): H100 8.3 % / rho 0.80, H200 5.9 % / 0.94 (constant 15.0 % / 17.1 %).
    # The target (mean error <= 7 %) is NOT met on the H100; this guards the part that
    # holds, with a margin for the dense model's changes (the speedup's numerator).
    import importlib.util as iu

    spec = iu.spec_from_file_location("sparse24_cv", SCRIPT.parent / "sparse24_cv.py")
    cv = iu.module_from_spec(spec)
    spec.loader.exec_module(cv)
    rows = [r for r in fit.load_sparse24()
            if r["kernel"] == "torch-default" and r["dtype"] in ("fp16", "bf16")]  # fmt: skip
    fit.add_dense_predictions(rows)
    res = cv.cross_validate(rows, 3, 0, ("shipped",))
    for dev in ("h100-sxm", "h200-sxm"):
        model = np.nanmean(np.array(res[(dev, "fp16+bf16", "shipped")]), axis=0)
        const = np.nanmean(np.array(res[(dev, "fp16+bf16", "const")]), axis=0)
        assert model[0] < 0.75 * const[0] and model[0] <= 0.12, (dev, model, const)
        assert model[1] >= 0.65, (dev, model)


def test_fit_script_smoke():
    out = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick"], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert "VENOM" in out.stdout and "A10 sustained" in out.stdout


def test_validate_h100_forwards_to_the_fit_script():
    script = ROOT / "experiments" / "sparse" / "validate_h100.py"
    out = subprocess.run(
        [sys.executable, str(script), "--quick"], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert "VENOM" in out.stdout


def test_2to4_power_limit_slows_large_kernels_only():
    from archgym.simulators.gpu.sparse import Sparse24Params, sparse24_time_us

    cool = Sparse24Params(0.9, 0.6, 8.0, 2.0, tile=(128, 256))
    hot = Sparse24Params(0.9, 0.6, 8.0, 2.0, tile=(128, 256), pj_per_flop=1.6)
    small = [sparse24_time_us("h200-sxm", 64, 4096, 4096, "fp16", params=p) for p in (cool, hot)]
    large = [sparse24_time_us("h200-sxm", 8192, 8192, 8192, "fp16", params=p) for p in (cool, hot)]
    assert small[1] == pytest.approx(small[0])
    assert large[1] > 1.1 * large[0]


def test_2to4_partial_overlap_lies_between_max_and_sum():
    from archgym.simulators.gpu.sparse import Sparse24Params, sparse24_time_us

    base = dict(rate_frac=0.9, bw_frac=0.6, launch_us=0.0, fill_us=0.0, tile=(128, 256))
    args = ("h200-sxm", 256, 8192, 8192, "fp16")
    t_max = sparse24_time_us(*args, params=Sparse24Params(**base))
    t_p2 = sparse24_time_us(*args, params=Sparse24Params(**base, overlap_p=2.0))
    t_p4 = sparse24_time_us(*args, params=Sparse24Params(**base, overlap_p=4.0))
    assert t_max < t_p4 < t_p2 < 2 * t_max


@pytest.mark.parametrize(
    ("script", "args", "expect"),
    [
        ("profile_sparse24.py", ["--shapes", "data/gpu/h200_sparse24.csv"], "86 shapes"),
        ("prospective_sparse24.py", [], "94 shapes"),
        ("waves_sparse24.py", [], "53 shapes"),
        ("waves_sparse24.py", ["--plan", "tokens"], "48 shapes"),
        ("prospective7_sparse24.py", [], "random:2031 rand.s2031.0"),  # p.BLIND_SETS[7]
        ("prospective8_sparse24.py", [], "random:2032 rand.s2032.0"),  # p.BLIND_SETS[8]
        ("prospective9_sparse24.py", [], "random:2033 rand.s2033.0"),  # p.BLIND_SETS[9]
        ("prospective10_sparse24.py", [], "random:2034 rand.s2034.0"),  # p.BLIND_SETS[10]
        ("align_sparse24.py", [], "36 shapes"),
    ],
)
def test_device_scripts_dry_run(script, args, expect):
    path = ROOT / "experiments" / "sparse" / script
    out = subprocess.run(
        [sys.executable, str(path), "--dry-run", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr
    assert expect in out.stdout


def _sparse_script(name: str):
    """``experiments/sparse/<name>.py`` imported as a module."""
    spec = importlib.util.spec_from_file_location(
        name, ROOT / "experiments" / "sparse" / f"{name}.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_prospective_shapes_are_new():
    import csv

    mod = _sparse_script("prospective_sparse24")
    train = ROOT / "data" / "gpu" / "h200_sparse24.csv"
    seen = {(int(r["m"]), int(r["n"]), int(r["k"])) for r in csv.DictReader(train.open())}
    shapes = [s[2:] for s in mod.shapes()]
    assert len(set(shapes)) == len(shapes) == 94
    assert not seen & set(shapes)


@pytest.mark.parametrize("blind_set", [8, 9, 10])
def test_later_blind_set_shapes_are_new_to_every_earlier_2to4_file(blind_set):
    # the sets measured after data/gpu/raw/h200_frozen_model_v9 / v10.sha256: none of the 66
    # shapes is in the training CSV, the alignment probe or any earlier run file
    import csv

    script = ROOT / "experiments" / "sparse" / f"prospective{blind_set}_sparse24.py"
    out = subprocess.run(
        [sys.executable, str(script), "--dry-run"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    shapes = [tuple(map(int, line.split()[2:5])) for line in out.stdout.splitlines()[:-1]]
    # the off-tile sweep (2:4 v13) was measured after every blind set up to the twenty-first
    later = (*(f"prospective{i}" for i in range(blind_set, 30)), "offtile")
    earlier = [
        p
        for p in (ROOT / "data" / "gpu").rglob("h200_sparse24*.csv")
        if not p.name.startswith(tuple(f"h200_sparse24_{name}" for name in later))
    ]
    seen = {
        (int(r["m"]), int(r["n"]), int(r["k"])) for p in earlier for r in csv.DictReader(p.open())
    }
    assert len(earlier) >= 15 and len(set(shapes)) == len(shapes) == 66
    assert not seen & set(shapes)


def test_profiled_default_kernels_are_the_documented_tiles():
    """torch's default 2:4 kernels on the H200 (kernel names, data/gpu/raw): fp16 128x256 with two
    warpgroups, bf16 64x256 with one warpgroup in 8-CTA clusters, on every shape."""
    import csv

    path = ROOT / "data" / "gpu" / "raw" / "h200_sparse24_kernels.csv"
    rows = [r for r in csv.DictReader(path.open()) if r["kind"] == "sparse24"]
    tiles = {"fp16": "tilesize128x256x64_cgasize1x1x1_warpgroupsize2x1x1",
             "bf16": "tilesize64x256x64_cgasize8x1x1_warpgroupsize1x1x1"}  # fmt: skip
    assert len(rows) == 172
    for r in rows:
        assert r["status"] == "ok" and tiles[r["dtype"]] in r["kernels"], r["source"]


@pytest.mark.parametrize("dtype", ["fp16", "bf16"])
def test_segment_k_rule_is_the_profiled_one(dtype):
    # torch-default on the H200: segment-K on iff the last wave of tiles (fp16 128x256 over the
    # 132 SMs; bf16 64x256 in clusters of 8 over 120 slots) is less than half full and
    # k > 1024 (bf16: k > 4096 and more than one wave), on every profiled shape of both
    # profiles (campaign shapes, wave sweep)
    import csv

    from archgym.simulators.gpu.devices import get_device
    from archgym.simulators.gpu.sparse import _segment_k_on, _slots

    bm, cl, min_k, multi = {"fp16": (128, 1, 1024, False), "bf16": (64, 8, 4096, True)}[dtype]
    slots = _slots(get_device("h200-sxm"), cl)
    raw = ROOT / "data" / "gpu" / "raw"
    rows = [
        r
        for name in ("h200_sparse24_kernels.csv", "h200_sparse24_waves_kernels.csv")
        for r in csv.DictReader((raw / name).open())
        if r.get("kind", "sparse24") == "sparse24" and r["dtype"] == dtype
    ]
    assert len(rows) >= 130
    for r in rows:
        m, n, k = int(r["m"]), int(r["n"]), int(r["k"])
        tiles = math.ceil(math.ceil(n / bm) / cl) * cl * math.ceil(m / 256)
        on = bool(_segment_k_on(tiles, k, slots, min_k, multi))
        assert on == ("segment_k_on" in r["kernels"]), r


def test_wave_sweep_steps_where_the_model_steps():
    # the bf16 kernel's time steps at 120, 240, 360 tiles (15 clusters of 8 resident), not at
    # 128, 256, 384 (wave sweep, m = 256, k = 8192, the rows without segment-K by bf16's rule):
    # measured times within a wave agree within 25 % (more active SMs cost a little), across a
    # step they jump by at least 40 % of the wave ratio's excess over 1; and the shipped model
    # follows every row within 10 %
    import csv

    from archgym.simulators.gpu.sparse import _segment_k_on, sparse24_time_us

    path = ROOT / "data" / "gpu" / "h200_sparse24_waves.csv"
    t = {
        int(r["n"]) // 64: float(r["time_us"])
        for r in csv.DictReader(path.open())
        if (r["dtype"], r["kind"], r["k"], r["m"]) == ("bf16", "sparse24", "8192", "256")
    }
    off = {n: v for n, v in t.items() if not _segment_k_on(n, 8192, 120, 4096.0, True)}
    assert len(off) >= 15
    waves = {n: math.ceil(n / 120) for n in off}
    for a in off:
        for b in off:
            ratio = off[b] / off[a]
            if waves[a] == waves[b]:
                assert ratio < 1.25, (a, b)
            elif waves[b] > waves[a]:
                assert ratio > 1.0 + 0.4 * (waves[b] / waves[a] - 1.0), (a, b)
    for n, v in off.items():
        pred = float(sparse24_time_us("h200-sxm", 256, 64 * n, 8192, "bf16"))
        assert abs(pred / v - 1.0) < 0.10, (n, pred, v)


def test_2to4_clusters_and_segment_k_physics():
    from archgym.simulators.gpu.devices import get_device
    from archgym.simulators.gpu.sparse import Sparse24Params, _slots, sparse24_time_us

    h200 = get_device("h200-sxm")
    assert (_slots(h200, 1), _slots(h200, 8), _slots(h200, 4)) == (132, 120, 128)
    assert _slots(get_device("a100-sxm"), 8) == 108  # no clusters before Hopper
    base = dict(rate_frac=0.8, bw_frac=0.8, launch_us=4.0, fill_us=1.0, tile=(128, 256))
    # 64 tiles (under half a wave), k = 4096: 128 half-depth segments on the idle SMs pay,
    # net of the workspace reduction
    args = ("h200-sxm", 512, 4096, 4096, "fp16")
    whole = sparse24_time_us(*args, params=Sparse24Params(**base))
    seg = sparse24_time_us(*args, params=Sparse24Params(**base, segk_us=2.0, segk_frac=1.0))
    assert seg < 0.95 * whole
    # 128 tiles (a full wave): the rule leaves segment-K off
    args = ("h200-sxm", 1024, 4096, 4096, "fp16")
    assert sparse24_time_us(*args, params=Sparse24Params(**base, segk_us=2.0)) == pytest.approx(
        sparse24_time_us(*args, params=Sparse24Params(**base))
    )
    # 8-CTA clusters: 128 tiles of 64 rows take two waves (120 slots), not one
    b16 = dict(base, tile=(64, 256), launch_us=0.0, fill_us=0.0, bw_frac=1.0)
    args = ("h200-sxm", 256, 64 * 120, 8192, "bf16")
    t1 = sparse24_time_us(*args, params=Sparse24Params(**b16, cluster=8))
    args2 = ("h200-sxm", 256, 64 * 128, 8192, "bf16")
    t2 = sparse24_time_us(*args2, params=Sparse24Params(**b16, cluster=8))
    assert t2 > 1.9 * t1


def test_sparse24_cv_smoke():
    script = ROOT / "experiments" / "sparse" / "sparse24_cv.py"
    out = subprocess.run(
        [sys.executable, str(script), "--folds", "2", "--max-rows", "160", "--methods", "profiled"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr
    assert "fold-mean" in out.stdout and "profiled" in out.stdout and "GBM" in out.stdout


CHECK = ROOT / "experiments" / "sparse" / "check_sparse24.py"


def _check_lines(name: str) -> dict[str, list[str]]:
    """``check_sparse24.py`` on both runs of one blind set: its table rows by their first word."""
    runs = sorted((ROOT / "data" / "gpu" / "raw").glob(f"h200_sparse24_{name}_run_*.csv"))
    out = subprocess.run(
        [sys.executable, str(CHECK), *map(str, runs)], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    return {ln.split()[0]: ln.split() for ln in out.stdout.splitlines()[1:]}


def _pct(cell: str) -> float:
    return float(cell.rstrip("%"))


def test_check_script_on_the_third_blind_set():
    pooled = _check_lines("prospective3")["fp16+bf16"]
    assert int(pooled[1]) > 50
    assert _pct(pooled[3]) < _pct(pooled[8])  # measured: 7.5 % vs 12.4 % (7 % is not met)
    bad = subprocess.run(
        [sys.executable, str(CHECK), "no-such.csv"], capture_output=True, text=True, timeout=60
    )
    assert bad.returncode == 2 and "no-such.csv" in bad.stderr


def test_check_script_on_the_fourth_blind_set():
    # measured after data/gpu/raw/h200_frozen_model_v5.sha256: bf16 meets the figures
    # (6.1 %, rho 0.79), fp16 does not (13.5 % frozen; 11.6 % after the serial split-K change
    # this set motivated, pooled 9.8 -> 8.9 %); docs/sparse_gpu.md
    lines = _check_lines("prospective4")
    bf16, pooled = lines["bf16"], lines["fp16+bf16"]
    assert _pct(bf16[3]) <= 7.5 and float(bf16[4]) >= 0.7
    assert _pct(pooled[3]) < _pct(pooled[8])  # beats the constant


def _default_2to4_times(*paths: Path) -> dict[tuple, float]:
    """(dtype, m, n, k) -> the fastest time (us) over the runs of torch's default 2:4 call."""
    import csv

    times: dict[tuple, float] = {}
    for path in paths:
        for r in csv.DictReader(path.open()):
            if (r["kind"], r["variant"], r["status"]) == ("sparse24", "default", "ok"):
                key = (r["dtype"], int(r["m"]), int(r["n"]), int(r["k"]))
                times[key] = min(float(r["time_us"]), times.get(key, np.inf))
    return times


def test_check_script_on_the_fifth_blind_set():
    # measured after data/gpu/raw/h200_frozen_model_v6.sha256: frozen model 10.7 % pooled (bf16
    # 5.1 %, rho 0.86; fp16 16.3 %); with the off-tile and alignment terms 7.6 % (docs/sparse_gpu.md)
    lines = _check_lines("prospective5")
    bf16, fp16, pooled = lines["bf16"], lines["fp16"], lines["fp16+bf16"]
    assert int(pooled[1]) == 92
    assert _pct(bf16[3]) <= 6.0 and float(bf16[4]) >= 0.8
    assert _pct(fp16[3]) < 11.0 and _pct(pooled[3]) < 8.0
    assert _pct(pooled[3]) < _pct(pooled[8]) / 2  # constant: 20.8 %


def test_check_script_on_the_sixth_blind_set():
    # measured after data/gpu/raw/h200_frozen_model_v7.sha256: frozen model 14.9 % pooled (bf16
    # 13.7 %, fp16 16.0 %: m = 1000 is off a multiple of 16); with the alignment term that the
    # probe it motivated fitted, 9.8 % (docs/sparse_gpu.md)
    lines = _check_lines("prospective6")
    bf16, pooled = lines["bf16"], lines["fp16+bf16"]
    assert int(pooled[1]) == 86
    assert _pct(bf16[3]) < 8.0 and _pct(pooled[3]) < 11.0
    assert _pct(pooled[3]) < _pct(pooled[8]) / 2


def test_check_script_on_the_seventh_blind_set():
    # measured after data/gpu/raw/h200_frozen_model_v8.sha256: 11.2 % pooled then (rho 0.84;
    # constant 28.0 %), bf16 7.9 % (kernel 2.9 %), fp16 14.6 %; 8.2 % since dense v9 and the
    # per-wave off-tile term (a check now, not blind); docs/sparse_gpu.md
    lines = _check_lines("prospective7")
    bf16, pooled = lines["bf16"], lines["fp16+bf16"]
    assert int(pooled[1]) == 62
    assert _pct(bf16[6]) < 4.0 and float(pooled[4]) >= 0.8
    assert _pct(pooled[3]) < 12.0 and _pct(pooled[3]) < _pct(pooled[8]) / 2


def test_check_script_on_the_eighth_and_ninth_blind_sets():
    # eighth: measured after data/gpu/raw/h200_frozen_model_v9.sha256, 8.6 % pooled then (rho
    # 0.70), 8.5 % with the per-wave off-tile term that followed (a check now). Ninth: measured
    # after h200_frozen_model_v10.sha256 (2:4 v10, dense v9): 6.4 % pooled then (rho 0.88;
    # constant 18.0 %), bf16 5.4 %, fp16 7.4 %; 6.5 % with dense v11; docs/sparse_gpu.md
    eighth = _check_lines("prospective8")["fp16+bf16"]
    assert int(eighth[1]) == 86 and _pct(eighth[3]) < 9.0 and float(eighth[4]) >= 0.65
    lines = _check_lines("prospective9")
    bf16, pooled = lines["bf16"], lines["fp16+bf16"]
    assert int(pooled[1]) == 86
    assert _pct(bf16[3]) < 6.0 and float(pooled[4]) >= 0.85
    assert _pct(pooled[3]) < 7.0 and _pct(pooled[3]) < _pct(pooled[8]) / 2


def test_check_script_on_the_tenth_blind_set():
    # measured after data/gpu/raw/h200_frozen_model_v12.sha256: 29.2 % pooled then; the 2:4
    # kernel model held (sparse-only 7.9 %), the dense model did not on the 2900-token layers
    # (8-byte aligned rows: cuBLAS's sm80 kernels, 40-85 % faster than the sm75 rate said).
    # Dense v13 gives the sm80 kernels their own rate (fitted on the unaligned draw, seed
    # 20261210, not on this set): 9.7 %; 2:4 v11's align8_frac (fitted on this set and the
    # next two): 8.4 %; docs/sparse_gpu.md. Guards the figure, not a target.
    pooled = _check_lines("prospective10")["fp16+bf16"]
    assert int(pooled[1]) == 84
    assert _pct(pooled[6]) < 9.0 and _pct(pooled[3]) < 9.0


def test_check_script_on_the_eleventh_and_twelfth_blind_sets():
    # eleventh: measured after data/gpu/raw/h200_frozen_model_v13.sha256, 10.9 % pooled then
    # (rho 0.84; fp16 13.0, bf16 8.8); twelfth: after h200_frozen_model_v14.sha256 (dense v14,
    # 2:4 v10), 8.0 % (rho 0.96; fp16 7.8, bf16 8.1; v13 would have said 7.8 %), constant
    # 43.7 %. 2:4 v11's align8_frac (fitted on both and the tenth): 9.6 and 7.1 %; with dense
    # v19's baselines (4-byte sm80 loads, column-major sm80 tiles) 9.6 and 8.1 %.
    # docs/sparse_gpu.md. Guards the figures; issue 13's 7 % is NOT met on either.
    eleventh = _check_lines("prospective11")["fp16+bf16"]
    assert int(eleventh[1]) == 88 and _pct(eleventh[3]) < 10.0 and _pct(eleventh[8]) > 40.0
    twelfth = _check_lines("prospective12")["fp16+bf16"]
    assert int(twelfth[1]) == 84 and _pct(twelfth[3]) < 8.5 and float(twelfth[4]) >= 0.9
    assert _pct(twelfth[3]) < _pct(twelfth[8]) / 4


def test_check_script_rows_show_the_fp16_off_tile_term():
    # --rows: every compute-bound row's 2:4 kernel error, with and without fp16's off-tile term
    # (docs/sparse_gpu.md, "Where the misses are"); on the twelfth set m = 3333 and 2052 run
    # slower than even the term says at n = 4544 and deep k
    runs = sorted((ROOT / "data" / "gpu" / "raw").glob("h200_sparse24_prospective12_run_*.csv"))
    out = subprocess.run(
        [sys.executable, str(CHECK), "--rows", *map(str, runs)],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout.splitlines()  # fmt: skip
    rows = {tuple(c[:4]): c for c in (ln.split() for ln in out) if len(c) == 10 and c[4] == "|"}
    assert len(rows) == 84
    with_term, without = (_pct(c) for c in rows[("fp16", "3333", "4544", "18176")][7:10:2])
    assert without < with_term < -0.1  # the term helps, not enough
    assert rows[("bf16", "3333", "4544", "18176")][7] == rows[("bf16", "3333", "4544", "18176")][9]


def test_token_counts_off_a_multiple_of_16_run_slower_on_both_dtypes():
    # alignment probe (data/gpu/h200_sparse24_align.csv, fitted): m = 1000 and 1016 take
    # 1.2-1.4x the time of 1008 and 1024 on both dtypes; the model orders them alike
    from archgym.simulators.gpu.sparse import sparse24_time_us

    t = _default_2to4_times(ROOT / "data" / "gpu" / "h200_sparse24_align.csv")
    for dtype in ("fp16", "bf16"):
        for n, k in ((8192, 4096), (28672, 3584)):
            slow, fast = t[(dtype, 1000, n, k)], t[(dtype, 1008, n, k)]
            assert slow > 1.15 * fast, (dtype, n, k)
            p1000, p1008 = sparse24_time_us("h200-sxm", [1000, 1008], n, k, dtype)
            assert p1000 > 1.05 * p1008, (dtype, n, k)


@pytest.mark.parametrize("device", ["h100-sxm", "h200-sxm"])
@pytest.mark.parametrize("dtype", ["fp16", "bf16"])
def test_sparse24_time_never_falls_with_more_tokens_or_rows(device, dtype):
    # 20,000 seeded pairs of 16-aligned shapes, m or n grown by 16 to 128: segment-K is taken
    # only where it beats the plain waves, so more work is never faster, except the measured
    # fp16 cliffs: a token count off the 256-wide token tile runs the mainloop slower by a share
    # of 1 / mis_frac that steps down at each 64-token TMA box edge (off_tile_weight; the sweep
    # data/gpu/h200_sparse24_offtile.csv: 1040 tokens 260 us, 1104 245, 1168 225, 1232 202 at
    # n = k = 8192) and falls with m (off_tile_decay, 2:4 v14: the sweep
    # data/gpu/h200_sparse24_offtile_m.csv), so growing m past a box edge, onto the tile or
    # further into the fall may be faster, by at most 1 / mis_frac. (k may cross the profiled
    # segment-K threshold, where the library switches schedule: not checked here.)
    from archgym.simulators.gpu.sparse import (
        _sparse24_params,
        off_tile_decay,
        off_tile_weight,
        sparse24_time_us,
    )

    rng = np.random.default_rng(0)
    mnk = 16 * rng.integers(1, 513, (3, 20_000))
    big = mnk.copy()
    big[rng.integers(0, 2, 20_000), np.arange(20_000)] += 16 * rng.integers(1, 9, 20_000)
    small_t = sparse24_time_us(device, *mnk, dtype)
    big_t = sparse24_time_us(device, *big, dtype)
    falls = big_t < small_t * (1 - 1e-12)
    p, _ = _sparse24_params(device, dtype, "torch-default")

    def factor(m):  # the largest off-tile factor a token count pays (every wave charged)
        w = off_tile_weight(m, 256) * off_tile_decay(m, p.off_tile_tokens, p.off_tile_floor)
        return 1.0 + w * (1.0 / p.mis_frac - 1.0)

    onto_tile = off_tile_weight(big[0], 256) < off_tile_weight(mnk[0], 256)
    # where the weight holds, a fall is the decay's alone: at most its ratio of factors
    decay_only = falls & ~onto_tile
    bound = small_t * factor(big[0]) / factor(mnk[0]) * (1 - 1e-9)
    assert np.all(big_t[decay_only] >= bound[decay_only]), np.argwhere(big_t < bound)[:3]
    if dtype == "bf16":
        assert not np.any(falls) and p.mis_frac == 1.0
    else:
        assert np.any(falls & onto_tile) and np.all(
            big_t[falls] >= small_t[falls] * p.mis_frac * 0.999
        )
        # the decay's falls (only where it is fitted: the H200) are small: under 2 % per step
        # of at most 128 tokens
        assert np.any(decay_only) == (p.off_tile_tokens is not None)
        assert np.all(big_t[decay_only] >= small_t[decay_only] * 0.98)


def test_fp16_off_tile_token_counts_match_the_stress_set():
    # The token-count stress set (never fitted): at n = 16384, k = 8192 the fp16 kernel takes
    # longer at m = 320 than at m = 512 (one more token tile, aligned), and the off-tile term
    # brings the kernel-time error of its fp16 rows well below the model without it.
    from dataclasses import replace

    from archgym.simulators.gpu.sparse import _sparse24_params, sparse24_time_us

    raw = ROOT / "data" / "gpu" / "raw"
    runs = _default_2to4_times(*sorted(raw.glob("h200_sparse24_tokens_run_*.csv")))
    times = {key[1:]: t for key, t in runs.items() if key[0] == "fp16"}
    m, n, k = (np.array([key[i] for key in times]) for i in range(3))
    meas = np.array(list(times.values()))
    p, _ = _sparse24_params("h200-sxm", "fp16", "torch-default")
    with_term = sparse24_time_us("h200-sxm", m, n, k, "fp16")
    without = sparse24_time_us("h200-sxm", m, n, k, "fp16", params=replace(p, mis_frac=1.0))
    err = np.mean(np.abs(np.log(with_term / meas)))
    assert err < 0.7 * np.mean(np.abs(np.log(without / meas))) and err < 0.10
    assert times[(320, 16384, 8192)] > times[(512, 16384, 8192)]
    t320, t512 = sparse24_time_us("h200-sxm", [320, 512], 16384, 8192, "fp16")
    assert t320 > t512


def _blind_set_shapes(n_set: int) -> set[tuple[int, int, int]]:
    """(m, n, k) of ``prospective_sparse24.py --set n_set`` (its dry run)."""
    out = subprocess.run(
        [sys.executable, str(ROOT / "experiments" / "sparse" / "prospective_sparse24.py"),
         "--set", str(n_set), "--dry-run"],
        capture_output=True, text=True, timeout=60, cwd=ROOT, check=True,
    ).stdout.splitlines()  # fmt: skip
    return {tuple(map(int, line.split()[2:5])) for line in out[:-1]}


def _shapes_in(paths) -> set[tuple[int, int, int]]:
    import csv

    return {
        (int(r["m"]), int(r["n"]), int(r["k"])) for p in paths for r in csv.DictReader(p.open())
    }


def _sparse_files_but(n_set: int) -> list[Path]:
    return [
        p
        for p in (ROOT / "data" / "gpu").rglob("h200_sparse24*.csv")
        # the pad-kernel profile came after every blind set up to the seventeenth (m = 3111 and
        # 3870 from them); no fit reads its 2:4 times. The off-tile sweep (2:4 v13, fitted) came
        # after every set up to the twenty-first, the token-count sweep (2:4 v14) after every
        # set up to the twenty-third; the sets after each are checked against it
        if f"prospective{n_set}" not in p.name
        and "residues" not in p.name
        and ("offtile" not in p.name or n_set > 21)
        and ("offtile_m" not in p.name or n_set > 23)
    ]


def test_thirteenth_blind_set_shapes_are_new_to_every_fitted_2to4_file():
    # the set measured after data/gpu/raw/h200_frozen_model_v16.sha256 (seed 2037): none of its
    # 66 shapes is in a file any 2:4 fit reads (the training CSVs, the sets 10-12 of the
    # align8_frac fit); two (1184 tokens: 4096 x 4096 and 4608 x 4096) repeat the eighth
    # blind set's, which no fit reads
    shapes, earlier = _blind_set_shapes(13), _sparse_files_but(13)
    eighth = [p for p in earlier if "prospective8_" in p.name]
    assert len(shapes) == 66 and len(earlier) >= 25 and len(eighth) == 2
    repeated = {(1184, 4096, 4096), (1184, 4608, 4096)}
    assert _shapes_in(earlier) & shapes == _shapes_in(eighth) & shapes == repeated


def test_check_script_on_the_fourteenth_blind_set():
    # measured after data/gpu/raw/h200_frozen_model_v17.sha256 (2:4 v11): 8.8 % pooled (rho
    # 0.95; fp16 8.5, bf16 9.0; constant 51.3 %; v10 on the same rows 9.4 %), the 2:4 kernel
    # alone (sparse-only) 7.4 % (v10 9.7). docs/sparse_gpu.md. Issue 13's 7 % is NOT met.
    pooled = _check_lines("prospective14")["fp16+bf16"]
    assert int(pooled[1]) == 84 and _pct(pooled[3]) < 9.5 and float(pooled[4]) >= 0.9
    assert _pct(pooled[6]) < 8.0 and _pct(pooled[3]) < _pct(pooled[8]) / 4


def test_check_script_on_the_thirteenth_blind_set():
    # measured after data/gpu/raw/h200_frozen_model_v16.sha256 (2:4 v10): 8.8 % pooled (rho
    # 0.92; fp16 8.7, bf16 9.0; constant 27.7 %), the 3300-token layers (rows of X^T off 16
    # bytes) -12.7 % (bf16) and -7.5 % (fp16) too fast. 2:4 v11's second alignment level
    # (align8_frac, fitted on sets 10-12 only; this set is held out of that fit): 7.5 % (fp16
    # 8.0, bf16 6.9). docs/sparse_gpu.md. Guards the figure; issue 13's 7 % is not met here.
    pooled = _check_lines("prospective13")["fp16+bf16"]
    assert int(pooled[1]) == 88 and _pct(pooled[3]) < 8.0 and float(pooled[4]) >= 0.9
    assert _pct(pooled[3]) < _pct(pooled[8]) / 3


def test_torch_pads_token_counts_to_a_multiple_of_8():
    # 2:4 v12: torch's semi-structured matmul zero-fills a padded X^T, copies X^T into it and
    # runs the 2:4 kernel on m rounded up to a multiple of 8 (the kernel names of
    # data/gpu/raw/h200_sparse24_residues_kernels.csv); the pad constants come back from that
    # profile, and the model's time is the padded kernel's plus the pad kernels'
    import json

    from archgym.simulators.gpu.sparse import PAD_TOKENS, pad_time_s, sparse24_time_us

    fsg = _script()
    shipped = json.loads((ROOT / "simulators" / "gpu" / "data" / "sparse-kernels.json").read_text())
    assert fsg.fit_pad(fsg.PAD_PROFILE) == shipped["pad"]["h200-sxm"]
    assert shipped["pad"]["h200-sxm"]["calls"] == 68
    # every profiled pad (fill + copy, us) within 6 % of the model's pad time
    for m, k, dtype, fill_us, copy_us in fsg.pad_kernel_times(fsg.PAD_PROFILE):
        pad_us = float(pad_time_s(m, k, dtype, "h200-sxm")) * 1e6
        assert abs(pad_us / (fill_us + copy_us) - 1) < 0.06, (m, k, dtype)
    m = np.arange(2041, 2100)
    up = -(-m // PAD_TOKENS) * PAD_TOKENS
    for dtype in ("fp16", "bf16"):
        pad = pad_time_s(m, 8192, dtype, "h200-sxm")
        assert np.all((pad == 0) == (m % PAD_TOKENS == 0)) and np.all(pad < 60e-6)
        t = sparse24_time_us("h200-sxm", m, 8192, 8192, dtype)
        np.testing.assert_allclose(
            t, sparse24_time_us("h200-sxm", up, 8192, 8192, dtype) + pad * 1e6
        )


@pytest.mark.parametrize(
    ("blind_set", "tokens"), [(13, 3300), (14, 2308), (14, 3111), (17, 2650), (17, 3870)]
)
def test_padded_token_counts_on_the_blind_sets(blind_set, tokens):
    # the layers whose token count is off a multiple of 8: m % 16 <= 7 pads onto the slower
    # m % 16 = 8 kernel (2308, 3111, 3300: 1.4x the aligned bf16 rate), m % 16 >= 9 onto a
    # multiple of 16 (2650, 3870: the aligned rate plus the pad kernels). 2:4 v11's
    # align8_frac charged both alike (set 17: +15 to +40 % at 2650 and 3870 tokens). The 2:4
    # kernel's mean |log error| on each layer set (12 layers): bf16 0.01-0.06, fp16 0.05-0.08
    # but 0.13 at 3870 tokens (fp16's off-tile term, docs/sparse_gpu.md); 2:4 v13 reads 0.18
    # there: 3872 is 32 tokens past the tile, charged in full, and the sweep shows the slowdown
    # shrinking as m grows (1.42x near 1040 tokens, 1.21-1.28x near 3100), which the per-wave
    # term does not have
    from archgym.simulators.gpu.sparse import sparse24_time_us

    raw = ROOT / "data" / "gpu" / "raw"
    t = _default_2to4_times(*sorted(raw.glob(f"h200_sparse24_prospective{blind_set}_run_*.csv")))
    for dtype in ("fp16", "bf16"):
        keys = [key for key in t if key[:2] == (dtype, tokens)]
        assert len(keys) == 12
        meas = np.array([t[key] for key in keys])
        n, k = (np.array([key[i] for key in keys]) for i in (2, 3))
        err = np.abs(np.log(sparse24_time_us("h200-sxm", tokens, n, k, dtype) / meas)).mean()
        assert err < (0.2 if dtype == "fp16" else 0.1), (dtype, err)


def test_fourteenth_blind_set_shapes_are_new_to_every_earlier_2to4_file():
    # the set measured after data/gpu/raw/h200_frozen_model_v17.sha256 (seed 2038): none of its
    # 66 shapes is in any earlier 2:4 file
    shapes, earlier = _blind_set_shapes(14), _sparse_files_but(14)
    assert len(shapes) == 66 and len(earlier) >= 27 and not _shapes_in(earlier) & shapes


@pytest.mark.parametrize("n_set", [15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25])
def test_blind_set_shapes_since_v19_are_new_to_every_other_2to4_file(n_set):
    # the sets measured after data/gpu/raw/h200_frozen_model_v19.sha256 (15: seed 2039;
    # Qwen2-72B, a DBRX expert, MiniCPM3-4B at 1320 / 2470 / 3210 tokens; 16: seed 2040;
    # Gemma-2-2B, Yi-1.5-6B, Llama-3.2-1B at 1728 / 2836 / 3480) and after
    # h200_frozen_model_v19r.sha256 (17: seed 2041; Qwen2.5-32B, CodeLlama-34B,
    # Mistral-Large-123B at 1496 / 2650 / 3870) and after h200_frozen_model_v20.sha256 (18:
    # seed 2042; Llama-2-13B, MPT-7B, StableLM-2-1.6B at 1811 / 2765 / 3592, m mod 16 = 3, 13,
    # 8), after h200_frozen_model_v21.sha256 (19: seed 2043; Qwen1.5-14B, Gemma-7B, BLOOM-3B at
    # 1333 / 2219 / 3104, m mod 16 = 5, 11, 0; 20, the same freeze: seed 2044; InternLM2-7B,
    # Granite-20B-Code, Phi-1.5 at 1555 / 2441 / 3736, m mod 16 = 3, 9, 8) and after
    # h200_frozen_model_v22.sha256 (21: seed 2045; Qwen2.5-1.5B, Gemma-3-12B, Granite-3-2B at
    # 1177 / 2333 / 3552, m mod 16 = 9, 13, 0) and after h200_frozen_model_v23.sha256 (22: seed
    # 2046; Phi-4, StarCoder2-7B, Gemma-2B at 2687 / 3302 / 3639, drawn by random.Random(2046)
    # from 1024-4095; 23, the same freeze: seed 2047; Gemma-3-4B, Llama-3.1-8B, Qwen2.5-0.5B at
    # 1926 / 2959 / 3619, random.Random(2047)) and after h200_frozen_model_v24.sha256 (24:
    # seed 2048; Qwen2.5-3B, Llama-2-7B, StableLM-3B at 2207 / 3069 / 3150,
    # random.Random(2048)) and, under the same freeze, 25 (seed 2049; StableLM-2-12B,
    # Minitron-4B, GPT-NeoX-20B at 1468 / 2070 / 3165, random.Random(2049)): none of the 66
    # shapes of any is in any other 2:4 file, but for one seeded random shape of the
    # twenty-fifth set (128 x 192 x 64, launch-bound) that the fifth set had drawn too
    shapes, others = _blind_set_shapes(n_set), _sparse_files_but(n_set)
    repeats = {(128, 192, 64)} if n_set == 25 else set()
    assert len(shapes) == 66 and len(others) >= 31 and _shapes_in(others) & shapes == repeats


@pytest.mark.parametrize(
    ("n_set", "pooled_max", "rho_min", "sparse_only_max", "bf16_max"),
    [
        # 10.3 % pooled (rho 0.88; fp16 10.5, bf16 10.1; constant 44.7 %; with v17's dense
        # baselines 9.8), the 2:4 kernel alone 8.2 %: the 3210-token rows (off 16 bytes) run
        # 13-32 % faster than the alignment term says, as 3100 did on the eleventh set
        (15, 10.8, 0.85, 8.7, 10.5),
        # 11.1 % pooled (rho 0.93; fp16 14.2, bf16 8.0; constant 27.5 %; v17's dense baselines
        # 9.9 %); the 2:4 kernel alone 10.4 %, fp16's off-tile term the main miss (1728 tokens
        # +27.5 % with it, 11.3 % off without)
        (16, 11.5, 0.9, 10.8, 8.5),
        # v12 read 7.7 / 8.0 % on those two; set 17 (after h200_frozen_model_v19r.sha256) read
        # 12.9 % under v11, 6.8 % under v12, which was built after it (not blind: see the test
        # above). Set 18, after h200_frozen_model_v20.sha256 (2:4 v12), blind: 9.9 % pooled
        # (rho 0.94; fp16 9.4, bf16 10.4; constant 48.1 %), the 2:4 kernel alone 5.8 %
        # (fp16 6.9, bf16 4.7); the rest is the dense baselines at 1811 and 2765 tokens
        # (odd: the sm75 path; bf16 -13.8 / -11.9 % on average)
        # under dense v20 (the H200's sm75 rate, fitted after this set was seen): 6.5 %
        (18, 7.0, 0.9, 6.2, 6.5),
        # set 19, after h200_frozen_model_v21.sha256 (dense v20, 2:4 v12), blind: 6.7 % pooled
        # (rho 0.94; fp16 7.9, bf16 5.6; constant 45.2 %), the 2:4 kernel alone 5.4 %
        (19, 7.0, 0.9, 5.8, 6.0),
        # set 20, the same freeze, blind: 6.5 % (rho 0.95; fp16 7.3, bf16 5.6; constant 52.1 %),
        # the 2:4 kernel alone 5.4 %
        (20, 7.0, 0.9, 5.8, 6.0),
        # set 21, after h200_frozen_model_v22.sha256 (the same model), blind: 9.1 % pooled, a
        # miss (rho 0.92; fp16 9.9, bf16 8.2; constant 44.5 %), the 2:4 kernel alone 7.2 %
        # (fp16 11.1, bf16 3.2): fp16's off-tile term charges 3552 tokens (m mod 256 = 224)
        # 17-32 % that the kernel does not pay (docs/sparse_gpu.md)
        (21, 9.5, 0.9, 7.6, 8.6),
        # set 22, after h200_frozen_model_v23.sha256 (2:4 v13), blind: 7.2 % pooled (rho 0.99;
        # fp16 7.8, bf16 6.7; constant 60.4 %), the 2:4 kernel alone 4.8 % (fp16 6.8, bf16
        # 2.8); v12 on the same rows 7.9 % (kernel alone 5.7, fp16 8.6)
        (22, 7.5, 0.95, 5.2, 7.0),
        # set 23, the same freeze, blind: 4.7 % pooled (rho 0.99; fp16 5.0, bf16 4.3; constant
        # 64.6 %), the 2:4 kernel alone 4.0 %; v12 on the same rows 5.9 %
        (23, 5.0, 0.95, 4.4, 4.6),
        # set 24, after h200_frozen_model_v24.sha256 (2:4 v14), blind: 4.9 % pooled (rho 0.99;
        # fp16 5.4, bf16 4.5; constant 64.3 %), the 2:4 kernel alone 3.8 % (fp16 4.9, bf16
        # 2.7); v13 on the same rows 5.4 % (kernel alone 4.7, fp16 6.4). Sets 21-23 read 8.0,
        # 6.9 and 4.8 % under v14 (built after them)
        (24, 5.2, 0.95, 4.1, 4.8),
        # set 25, the same freeze, blind: 6.5 % pooled (rho 0.99; fp16 6.2, bf16 6.9; constant
        # 61.1 %), the 2:4 kernel alone 4.8 % (fp16 5.6, bf16 4.0); v13 6.9 % on the same rows
        (25, 6.8, 0.95, 5.1, 7.2),
    ],
)
def test_check_script_on_the_blind_sets_since_the_v19_freeze(
    n_set, pooled_max, rho_min, sparse_only_max, bf16_max
):
    # measured after data/gpu/raw/h200_frozen_model_v19.sha256 (15, 16: 2:4 v11, dense v19), v20
    # (18: 2:4 v12, dense v19), v21 (19, 20: 2:4 v12, dense v20), v22 (21, the same model) and
    # v23 (22, 23: 2:4 v13) and v24 (24, 25: 2:4 v14); docs/sparse_gpu.md. Issue 13's 7 % is
    # met blind on the nineteenth, twentieth and twenty-third to twenty-fifth sets, missed on
    # the twenty-first and twenty-second (7.2 %), and not measured on the H100.
    lines = _check_lines(f"prospective{n_set}")
    pooled = lines["fp16+bf16"]
    rows = {18: 88, 19: 100, 20: 78, 21: 72, 22: 88, 23: 68, 24: 84, 25: 84}.get(n_set, 90)
    assert int(pooled[1]) == rows and _pct(pooled[3]) < pooled_max and float(pooled[4]) >= rho_min
    assert _pct(pooled[6]) < sparse_only_max and _pct(pooled[3]) < _pct(pooled[8]) / 2
    assert _pct(lines["bf16"][3]) < bf16_max


@pytest.mark.parametrize("bad", [0.0, 1.5, np.array([0.8, 1.2]), np.array([[0.5], [-0.1]])])
def test_sparse24_params_reject_fractions_outside_0_1_scalar_or_array(bad):
    # the fits pass array-valued fractions (one per candidate); every element is checked
    from archgym.simulators.gpu.sparse import Sparse24Params

    for name in ("mis_frac", "align_frac", "off_tile_floor"):
        with pytest.raises(ValueError, match=name):
            Sparse24Params(0.9, 0.6, 8.0, 2.0, off_tile_tokens=3000.0, **{name: bad})
    Sparse24Params(0.9, 0.6, 8.0, 2.0, mis_frac=np.array([0.5, 1.0]))


def test_sparse24_params_reject_a_decay_without_its_token_count():
    # 2:4 v14: the fall with m needs both constants; a floor alone would be silently ignored
    from archgym.simulators.gpu.sparse import Sparse24Params

    with pytest.raises(ValueError, match="needs `off_tile_tokens`"):
        Sparse24Params(0.9, 0.6, 8.0, 2.0, mis_frac=0.7, off_tile_floor=0.3)
    for tokens in (0.0, -3000.0):
        with pytest.raises(ValueError, match="off_tile_tokens"):
            Sparse24Params(0.9, 0.6, 8.0, 2.0, off_tile_tokens=tokens, off_tile_floor=0.3)
    Sparse24Params(0.9, 0.6, 8.0, 2.0, off_tile_tokens=3000.0, off_tile_floor=0.3)


def test_token_counts_sort_by_m_mod_16_not_by_alignment():
    # experiments/sparse/token_residues.py (docs/sparse_gpu.md, "2:4 v12"): measured over the
    # model without alignment terms, bf16 m mod 16 in 2-7 runs 1.37-1.54x, 9-15 1.04-1.24x,
    # although both are off a multiple of 8 alike: torch pads them onto the m mod 16 = 8 kernel
    # (1.22-1.39x) and onto an aligned one. fp16's ratio also carries its off-tile term, which
    # since 2:4 v13 charges m = 8 mod 16 in full (off_tile_weight): its classes no longer
    # separate here (the twenty-first set's 2333 tokens read 1.25x, inside 2-7's range); the
    # off-tile test below checks fp16
    module = _sparse_script("token_residues")
    ratio = module.ratios(module.rows())
    low = [v for (d, m), v in ratio.items() if d == "bf16" and 1 <= m % 16 <= 7]
    high = [v for (d, m), v in ratio.items() if d == "bf16" and m % 16 >= 9]
    assert len(low) >= 12 and len(high) >= 9
    assert min(low) > max(high)


def test_fp16_off_tile_term_follows_the_token_residue():
    # experiments/sparse/token_residues.py --off-tile (docs/sparse_gpu.md, "2:4 v13", "2:4
    # v14"): over the model without the term, fp16 rows with the padded m off the 256-wide tile
    # run 1.37x (r = 8 mod 16), 1.24x (r = 0 mod 16, r < 128) and 1.14x (r >= 128), the
    # token-count sweep's and sets 24-25's rows included; v14 charges 1.39, 1.27 and 1.15x (v13 on the files
    # before the sweep: 1.39, 1.37, 1.18, the r < 128 class overcharged at large m; v12 at
    # commit 4e4d5ed, on that commit's files: 1.35, 1.32, 1.34)
    module = _sparse_script("token_residues")
    lines = module.off_tile_lines(module.rows())[2:]
    cells = [[c.strip() for c in ln.strip("|").split("|")] for ln in lines]
    meas, model = ([float(c[i]) for c in cells] for i in (3, 4))
    assert all(int(c[1]) >= 150 for c in cells)
    assert abs(meas[0] - model[0]) < 0.05 and abs(meas[2] - model[2]) < 0.06
    assert abs(model[1] - meas[1]) < 0.04 and model[1] - model[2] > 0.1


def test_off_tile_weight_counts_the_boxes_that_reach_m():
    # 2:4 v13 (sparse.off_tile_weight): 0 on the tile; the share of the four 64-token boxes of
    # the last 256-wide tile that end at or past m (a box ending exactly at m counts: the sweep's
    # r = 64 runs as slow as r = 16); all of it where m is off a multiple of 16
    from archgym.simulators.gpu.sparse import off_tile_weight

    m = 1024 + np.array([0, 16, 64, 80, 128, 144, 192, 208, 240, 8, 200, 65, 255, 256])
    want = [0, 1, 1, 0.75, 0.75, 0.5, 0.5, 0.25, 0.25, 1, 1, 1, 1, 0]
    np.testing.assert_allclose(off_tile_weight(m, 256), want)
    assert float(off_tile_weight(1040, 256)) == 1.0 and np.ndim(off_tile_weight(1040, 256)) == 0
    with pytest.raises(ValueError, match="multiple of 64"):
        off_tile_weight(1040, 96)


def test_off_tile_decay_falls_with_tokens_to_its_floor_and_spares_m_off_16():
    # 2:4 v14 (sparse.off_tile_decay): 1 without a fitted fall; floor + (1 - floor) / (1 +
    # (m / tokens)^4) for 16-aligned m (half-way at m = tokens, the floor far past it); m off a
    # multiple of 16 keeps the whole slowdown (the sweep's r = 8 rows: 1.30-1.54 at every m)
    from archgym.simulators.gpu.sparse import off_tile_decay

    m = np.array([512, 2000, 4000, 32000, 4008])
    np.testing.assert_allclose(off_tile_decay(m, None, 0.3), 1.0)
    got = off_tile_decay(m, 2000.0, 0.3)
    np.testing.assert_allclose(got[[1, 4]], [0.65, 1.0])
    assert 0.99 < got[0] < 1.0 and 0.3 < got[3] < 0.301 and np.all(np.diff(got[:4]) < 0)


def test_fp16_off_tile_slowdown_falls_with_tokens_in_the_sweep_and_the_model():
    # the designed token-count sweep (data/gpu/h200_sparse24_offtile_m.csv, fitted since 2:4
    # v14): at r = 64 (the last 64-token box of the tile) the fp16 kernel over the model
    # without the off-tile term runs 1.40-1.45x at m = 576-1088 and 0.98-1.16x from 4160
    # tokens on at n x k = 8192 x 8192 and 28672 x 4096, while m = 8 mod 16 (r = 8) stays at
    # 1.31-1.54x at every m; the model follows both (docs/sparse_gpu.md, "2:4 v14")
    module = _sparse_script("token_residues")
    path = ROOT / "data" / "gpu" / "h200_sparse24_offtile_m.csv"
    sel = [r for r in module.rows((path,)) if r["dtype"] == "fp16" and r["n"] != 4096]
    m, meas, model = module._fp16_over_flat(sel)
    r = m % 256
    small, large = (r == 64) & (m <= 1088), (r == 64) & (m >= 4160)
    assert small.sum() == 4 and large.sum() == 10 and (r == 8).sum() == 16
    assert np.all(meas[small] > 1.38) and np.all(meas[large] < 1.17) and np.all(meas[r == 8] > 1.3)
    assert np.all(model[small] > 1.38) and np.all(model[large] < 1.2)
    assert np.all(model[r == 8] > 1.33)


def test_prospective_script_names_a_bad_sweep_file_and_refuses_two_shape_sources(tmp_path):
    # prospective_sparse24.py --shapes (the off-tile sweep's route): a missing column or a
    # non-integer size is one line naming the file (and line), exit 2; --set with --shapes is
    # refused rather than one of them ignored
    script = ROOT / "experiments" / "sparse" / "prospective_sparse24.py"
    bad = tmp_path / "bad.csv"
    for text, want in (("m,n,k\n1,2,3\n", "missing column(s) family, source"),
                       ("family,source,m,n,k\nf,s,1x,2,3\n", "bad.csv:2:")):  # fmt: skip
        bad.write_text(text)
        out = subprocess.run(
            [sys.executable, str(script), "--shapes", str(bad), "--dry-run"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert out.returncode == 2 and want in out.stderr and len(out.stderr.splitlines()) == 1
    sweep = ROOT / "experiments" / "sparse" / "off_tile_sweep.csv"
    both = subprocess.run(
        [sys.executable, str(script), "--set", "22", "--shapes", str(sweep), "--dry-run"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert both.returncode == 2 and "not allowed with" in both.stderr
