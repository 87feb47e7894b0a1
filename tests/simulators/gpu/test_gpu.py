"""The GPU GEMM model (simulators/gpu): specs, properties, and validation against measurements."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from archgym.simulators.common import InfeasibleDesign
from archgym.simulators.gpu import (
    DEVICES,
    DTYPES,
    Efficiency,
    GemmModel,
    GPUSpec,
    TileConfig,
    get_device,
    kernel_time_s,
)
from archgym.simulators.gpu.model import SMALL_M, access_bytes, library_candidates, library_path
from hypothesis import example, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[3]
MODEL = GemmModel("h100-sxm")


def _measured_path(kernels: str) -> str:
    """The kernel path of a profiled cuBLAS call, from its kernel names (profile_kernels.py)."""
    if "nvjet" in kernels or "sm90_xmma" in kernels:
        return "tma"
    if any(name in kernels for name in ("gemvx", "gemv2", "dot_kernel")):
        return "gemv"
    if "cutlass_80" in kernels:
        return "sm80"
    if "cutlass_75" in kernels or "gemmSN" in kernels:
        return "sm75"
    return "other"


# ----------------------------------------------------------------------------- specs


@pytest.mark.parametrize(
    ("device", "fma_per_clk_per_sm", "boost_hz"),
    # Independent source: the Hopper and Ampere whitepapers give dense FP16/BF16 tensor-core
    # throughput per SM (1024 FMA/clk on H100, 512 on A100) and the boost clock the datasheet
    # peak is quoted at (1830 MHz H100 SXM5, 1410 MHz A100).
    # GA102 (Ampere whitepaper for GA102): 256 dense fp16 FMA/clk per SM with fp32 accumulation
    # on the A10, half that on GeForce (RTX 3090), at 1695 MHz boost.
    [
        ("h100-sxm", 1024 * 2, 1.83e9),
        ("h200-sxm", 1024 * 2, 1.83e9),
        ("a100-sxm", 1024, 1.41e9),
        ("a10", 512, 1.695e9),
        ("rtx3090", 256, 1.695e9),
    ],
)
def test_datasheet_peak_matches_whitepaper_per_sm_rate(device, fma_per_clk_per_sm, boost_hz):
    spec = get_device(device)
    expected = spec.sm_count * fma_per_clk_per_sm * 2 * boost_hz
    assert spec.peak_flops["bf16"] == pytest.approx(expected, rel=0.002)
    assert spec.peak_flops["fp16"] == spec.peak_flops["bf16"]


@pytest.mark.parametrize(
    ("device", "smem_sm_kib", "smem_block_kib", "l2_mib", "cc"),
    # CUDA programming guide (shared memory per SM / per block by compute capability) and the
    # L2 size torch reports (H100: data/gpu/raw/meta_run_a.json; H200: 60 MiB).
    [
        ("h100-sxm", 228, 227, 50, (9, 0)),
        ("h200-sxm", 228, 227, 60, (9, 0)),
        ("a100-sxm", 164, 163, 40, (8, 0)),
        ("a10", 100, 99, 6, (8, 6)),
        ("rtx3090", 100, 99, 6, (8, 6)),
    ],
)
def test_device_memory_specs(device, smem_sm_kib, smem_block_kib, l2_mib, cc):
    spec = get_device(device)
    assert spec.smem_per_sm_bytes == smem_sm_kib * 1024
    assert spec.smem_per_block_bytes == smem_block_kib * 1024
    assert spec.l2_bytes == l2_mib * 2**20
    assert spec.compute_capability == cc
    assert spec.sparse24_rate("bf16") == 2 * spec.peak_flops["bf16"]
    assert spec.sparse24_rate("fp32") is None


def test_library_stages_fit_the_device_shared_memory():
    for name in ("a100-sxm", "rtx3090"):
        dev = get_device(name)
        for t in library_candidates("bf16", "dense", "tma", dev):
            assert (
                t.num_stages * (t.block_m + t.block_n) * t.block_k * 2 <= dev.smem_per_block_bytes
            )


def test_h100_meta_reports_the_shipped_l2_size():
    import json

    meta = json.loads((ROOT / "data" / "gpu" / "raw" / "meta_run_a.json").read_text())
    assert meta["l2_bytes"] == get_device("h100-sxm").l2_bytes
    assert meta["sm_count"] == get_device("h100-sxm").sm_count


def test_unknown_device_suggests_closest_name():
    with pytest.raises(ValueError, match="did you mean 'h100-sxm'"):
        get_device("h100-sx")


def test_spec_validation_names_the_field():
    base = DEVICES["h100-sxm"]
    with pytest.raises(ValueError, match="`sm_count` must be a positive integer, but got 0"):
        GPUSpec(**{**base.__dict__, "sm_count": 0})


def test_tile_validation_names_the_field():
    with pytest.raises(ValueError, match="`block_k` must be a multiple of 16, but got 24"):
        TileConfig(64, 64, 24)
    with pytest.raises(ValueError, match="`num_stages` must be a positive integer"):
        TileConfig(64, 64, 32, 4, 0)


def test_efficiency_validation():
    with pytest.raises(ValueError, match="`mma` must be in"):
        Efficiency(mma=1.5)


def test_missing_dtype_and_oversized_tile_are_infeasible():
    with pytest.raises(InfeasibleDesign, match="no fp8"):
        GemmModel("a100-sxm").predict_us(1024, 1024, 1024, "fp8")
    with pytest.raises(InfeasibleDesign, match="shared memory"):
        MODEL.predict_us(4096, 4096, 4096, "fp16", tile=TileConfig(256, 256, 128, 8, 7))


# ----------------------------------------------------------------------------- properties

aligned = st.integers(1, 512).map(lambda x: 16 * x)


@settings(max_examples=40, deadline=None)
@given(
    m=aligned,
    n=aligned,
    k=aligned,
    dtype=st.sampled_from(sorted(DTYPES)),
    kind=st.sampled_from(["dense", "sparse24"]),
    axis=st.integers(0, 2),
    grow=st.integers(1, 8),
)
# segment-K charged where it loses to the plain waves: 40 us at 3760 tokens, 28 us at 3856
@example(m=3760, n=1552, k=1040, dtype="fp16", kind="sparse24", axis=0, grow=6)
def test_time_is_monotone_in_each_size(m, n, k, dtype, kind, axis, grow):
    # Aligned sizes only: an unaligned size runs slower kernels, so 8200 can beat 8193.
    if kind == "sparse24" and dtype not in ("bf16", "fp16"):
        kind = "dense"
    sizes = [m, n, k]
    bigger = list(sizes)
    bigger[axis] += 16 * grow
    small_t, big_t = (MODEL.predict_us(*s, dtype, kind) for s in (sizes, bigger))
    if kind == "sparse24" and axis == 0 and m % 256 and bigger[0] % 256 == 0:
        # fp16's measured off-tile cliff: a token count on the 256-wide token tile may be
        # faster, by at most the fitted mainloop fraction (test_sparse.py)
        from archgym.simulators.gpu.sparse import _sparse24_params

        small_t *= _sparse24_params(MODEL.device.name, dtype, "torch-default")[0].mis_frac
    assert big_t >= small_t


@settings(max_examples=60, deadline=None)
@given(
    m=st.integers(1, 16384),
    n=st.integers(1, 16384),
    k=st.integers(1, 16384),
    dtype=st.sampled_from(sorted(DTYPES)),
    device=st.sampled_from(sorted(DEVICES)),
)
def test_roofline_bounds_are_never_beaten(m, n, k, dtype, device):
    model = GemmModel(device)
    if not model.device.supports(dtype):
        return
    dt = DTYPES[dtype]
    t_s = model.predict_us(m, n, k, dtype) * 1e-6
    assert t_s >= 2.0 * m * n * k / model.device.peak_flops[dtype]
    unique_bytes = (m * k + k * n) * dt.in_bytes + m * n * dt.out_bytes
    assert t_s >= unique_bytes / model.device.hbm_bytes_per_s


def test_wave_quantisation_steps_at_a_full_wave():
    # 128x128 tiles with 4 stages of 64-deep fp16 slabs: 128 KiB of shared memory, one CTA per
    # SM. With 4 tiles along n, 33 tiles along m make 132 CTAs, one full wave on the H100's 132
    # SMs; a 34th row of tiles starts a second wave. k = 4096 keeps it compute bound.
    tile = {
        "block_m": 128,
        "block_n": 128,
        "block_k": 64,
        "num_warps": 4,
        "num_stages": 4,
        "split_k": 1,
    }
    eff = MODEL.efficiency_for("fp16", "dense")

    def run(tiles_m):
        t, terms = kernel_time_s(
            128 * tiles_m,
            512,
            4096,
            tile,
            dtype="fp16",
            kind="dense",
            device="h100-sxm",
            eff=eff,
            return_terms=True,
        )
        assert float(terms["tiles_s"]) > float(terms["hbm_s"])
        return float(t), float(terms["waves"])

    (t32, w32), (t33, w33), (t34, w34) = run(32), run(33), run(34)
    assert (w32, w33, w34) == (1.0, 1.0, 2.0)
    # Within a wave 4 more tiles cost little (L2 sharing); across the step, nearly a wave.
    launch_s = eff.launch_us * 1e-6
    assert t33 - t32 < 0.05 * t33
    assert t34 - t33 > 0.5 * (t33 - launch_s)


def test_sparse24_doubles_the_math_rate_on_compute_bound_shapes():
    # Ample load bandwidth isolates the math term: 2:4 halves the mainloop (and shrinks B).
    eff = Efficiency(mma=0.8, hbm=0.8, sm_load_bytes_per_clk=512, launch_us=5.0, l2_scale=4.0)
    tile = {
        "block_m": 128,
        "block_n": 256,
        "block_k": 64,
        "num_warps": 8,
        "num_stages": 4,
        "split_k": 1,
    }
    kw = {"dtype": "fp16", "device": "h100-sxm", "eff": eff}
    dense = float(kernel_time_s(8192, 8192, 8192, tile, kind="dense", **kw))
    sparse = float(kernel_time_s(8192, 8192, 8192, tile, kind="sparse24", **kw))
    assert sparse / dense == pytest.approx(0.5, abs=0.02)
    # With the calibrated (tighter) bandwidths the loads cap the gain below 2x.
    gain = MODEL.predict_us(8192, 8192, 8192, "fp16") / MODEL.predict_us(
        8192, 8192, 8192, "fp16", "sparse24"
    )
    assert 1.0 < gain < 2.0


def test_breakdown_reports_the_library_tile_and_terms():
    out = MODEL.breakdown(8192, 8192, 8192, "bf16")
    assert out["time_us"] == pytest.approx(MODEL.predict_us(8192, 8192, 8192, "bf16"))
    assert out["waves"] == math.ceil(out["ctas"] / (132 * out["ctas_per_sm"]))
    assert out["tiles_s"] > out["hbm_s"]  # 8192^3 is compute bound
    decode = MODEL.breakdown(1, 4096, 4096, "bf16")
    assert decode["hbm_s"] >= decode["tiles_s"] * 0.5  # decode is limited by weight streaming


# ----------------------------------------------------------------------------- kernel paths


@pytest.mark.parametrize(
    ("n", "k", "in_bytes", "expected"),
    # By hand: the widest power-of-two access (<= 16 bytes) dividing every row start, i.e.
    # in_bytes * gcd(n, k, 16).
    [
        (4096, 4096, 2, 16),
        (4098, 4096, 2, 4),
        (4097, 4096, 2, 2),
        (4100, 4104, 2, 8),
        (4098, 4096, 4, 8),
        (4104, 4096, 1, 8),
    ],
)
def test_access_bytes(n, k, in_bytes, expected):
    assert access_bytes(n, k, in_bytes) == expected


def test_library_path_matches_the_kernels_cublas_ran():
    # Independent reference: the cuBLAS kernel names torch.profiler recorded on the H100 for
    # every bf16/fp16 shape (data/gpu/raw/h100_kernels_*.csv, experiments/gpu/profile_kernels.py):
    # nvjet/sm90 = tma, cutlass_80 = sm80, cutlass_75 or gemmSN = sm75, gemv/dot = gemv.
    import csv

    n = match = 0
    for name in ("h100_kernels_train.csv", "h100_kernels_prospective2.csv"):
        with open(ROOT / "data" / "gpu" / "raw" / name) as f:
            for r in csv.DictReader(f):
                if r["status"] != "ok" or r["dtype"] not in ("bf16", "fp16"):
                    continue
                m, n_, k = int(r["m"]), int(r["n"]), int(r["k"])
                pred = MODEL.breakdown(m, n_, k, r["dtype"])["path"]
                pred = "gemv" if m == 1 and pred != "tma" else pred
                n += 1
                match += pred == _measured_path(r["kernels"])
    assert n >= 600
    assert match / n >= 0.99


def test_tma_tiles_cover_the_large_nvjet_tiles_cublas_ran():
    # Independent reference: the tile of every 16-bit nvjet kernel in the profiled H100 and
    # H200 kernel names ("nvjet_sm90_tst_256x128_64x4_..."), both orientations counted together
    # (the name's order follows cuBLAS's column-major view, so either side may be the token
    # side); those with both sides >= 64 that ran in at least 1 % of the calls must be model
    # candidates, except the 80-wide tiles the v14 profile added (64 x 80, 80 x 128: 1.1 and
    # 1.5 % of the calls): as candidates they move the H100 fit, the blind tenth dense set
    # reads 10.3 -> 10.6 % and the twelfth 2:4 set 8.0 -> 9.3 %; not taken (docs/gpu.md,
    # "Model v14"). With the twelfth and thirteenth sets' names 64 x 80 falls below 1 %.
    import collections
    import re

    from archgym.simulators.gpu.model import TMA_TILES

    seen: collections.Counter = collections.Counter()
    for path in sorted((ROOT / "data" / "gpu" / "raw").glob("h*kernels*.csv")):
        for a, b in re.findall(r"nvjet_sm90_(?:tst|hsh)_(\d+)x(\d+)_", path.read_text()):
            seen[tuple(sorted((int(a), int(b))))] += 1
    common = {t for t, c in seen.items() if c >= 0.01 * seen.total() and min(t) >= 64}
    assert {(128, 256), (192, 192), (128, 320)} <= common  # the data still says so
    missing = {t for t in common if t not in TMA_TILES and t[::-1] not in TMA_TILES}
    assert missing <= {(64, 80), (80, 128)}


def test_unaligned_16bit_shapes_take_the_legacy_paths_and_cost_more():
    assert str(library_path(4096, 4096, "bf16")) == "tma"
    assert str(library_path(4098, 4096, "bf16")) == "sm80"
    assert str(library_path(4097, 4096, "fp16")) == "sm75"
    assert str(library_path(4097, 4096, "fp32")) == "tma"  # fp32 keeps one factor
    assert str(library_path(4096, 4096, "bf16", "sparse24")) == "tma"
    aligned = MODEL.predict_us(2048, 4096, 4096, "bf16")
    four_byte = MODEL.predict_us(2048, 4098, 4096, "bf16")
    two_byte = MODEL.predict_us(2048, 4097, 4096, "bf16")
    assert aligned < four_byte < two_byte
    assert MODEL.breakdown(2048, 4097, 4096, "bf16")["path"] == "sm75"
    gemv = MODEL.breakdown(1, 4097, 4096, "bf16")
    assert gemv["path"] == "gemv"
    assert gemv["time_us"] == pytest.approx(MODEL.predict_us(1, 4097, 4096, "bf16"))


def test_small_m_tile_only_for_small_m():
    small = [t for t in library_candidates("bf16", "dense", "sm75") if t.block_m <= SMALL_M]
    assert small
    for m in (1, 8, 16, 17, 64, 4096):
        tile = MODEL.library_tile(m, 4097, 999, "bf16")
        assert m <= SMALL_M or tile.block_m > SMALL_M


def test_unknown_path_is_rejected():
    with pytest.raises(ValueError, match="unknown path 'sm70'"):
        library_candidates("bf16", "dense", "sm70")


def test_dirty_l2_write_back_slows_memory_bound_kernels_only():
    # The write-back of up to l2_dirty * L2 bytes shares HBM: a decode GEMM (HBM bound) slows
    # by about that many bytes over the bandwidth; a compute-bound one does not move.
    base = MODEL.efficiency_for("bf16", "dense")
    clean = GemmModel(
        efficiency={("bf16", "dense", "library"): Efficiency(**{**base.__dict__, "l2_dirty": 0.0})}
    )
    dev = MODEL.device
    extra_us = base.l2_dirty * dev.l2_bytes / (dev.hbm_bytes_per_s * base.hbm) * 1e6
    decode = MODEL.predict_us(1, 16384, 8192, "bf16") - clean.predict_us(1, 16384, 8192, "bf16")
    assert decode == pytest.approx(extra_us, rel=0.05)
    big = MODEL.predict_us(8192, 8192, 8192, "bf16") - clean.predict_us(8192, 8192, 8192, "bf16")
    assert abs(big) < 1e-6


# ----------------------------------------------------------------------------- validation


@pytest.fixture(scope="module")
def shipped_report():
    from archgym.simulators.gpu.validation import device_report

    return device_report("h100-sxm", baseline=False)


@pytest.mark.parametrize("dtype", ["bf16", "fp16"])
def test_heldout_mape_under_10_percent_for_dense_16bit(shipped_report, dtype):
    # Acceptance of issue 5: held-out MAPE < 10 % and Spearman >= 0.95 for dense bf16 / fp16,
    # measured on the committed H100 data (families never seen by the calibration).
    stats = shipped_report["test"][(dtype, "dense", "rr")]["model"]
    assert stats["n"] >= 100
    assert stats["mape"] < 10.0
    assert stats["spearman"] >= 0.95


def test_every_dtype_and_kind_ranks_heldout_shapes(shipped_report):
    for (dtype, kind, _), s in shipped_report["test"].items():
        assert s["model"]["spearman"] >= 0.95, (dtype, kind)
        # 2:4 library kernels come from the one cuSPARSELt model (simulators/gpu/sparse.py),
        # fitted on compute-bound training shapes; its errors: docs/sparse_gpu.md.
        assert s["model"]["mape"] < (25.0 if kind == "sparse24" else 15.0), (dtype, kind)
        assert s["model"]["mape"] < s["roofline"]["mape"], (dtype, kind)


def test_second_prospective_set_measured_after_the_second_pass_froze(shipped_report):
    # data/gpu/h100_gemm_prospective2.csv: measured after the second-pass model was frozen.
    pro = shipped_report["prospective h100_gemm_prospective2.csv"]
    for dtype in ("bf16", "fp16"):
        assert pro[(dtype, "dense", "rr")]["model"]["mape"] < 10.0
        assert pro[(dtype, "dense", "rr")]["model"]["spearman"] >= 0.95


def test_triton_pick_is_near_the_best_tile(shipped_report):
    tri = shipped_report["triton"]
    ok = sum(s["picked_over_best"] <= 1.10 for s in tri.values())
    assert len(tri) >= 10
    assert ok / len(tri) >= 0.9  # issue 12: >= 90 % of shapes (H200: docs/gpu.md)


def test_packaged_measurements_are_the_committed_data():
    # The package ships copies of data/gpu/*.csv so that `archgym gpu validate` runs from a
    # plain install; they must not drift from the committed measurements.
    from archgym.simulators.gpu.validation import DATASETS, data_path

    for dense, triton, prospective in DATASETS.values():
        for name in (dense, triton, *prospective):
            shipped = data_path(name)
            if (ROOT / "data" / "gpu" / name).exists():
                assert shipped is not None, name
                assert shipped.read_bytes() == (ROOT / "data" / "gpu" / name).read_bytes()


def _recalibrate_steps() -> tuple:
    """``STEPS`` of experiments/gpu/recalibrate.py: the commands in docs/gpu.md."""
    import runpy

    return runpy.run_path(str(ROOT / "experiments" / "gpu" / "recalibrate.py"))["STEPS"]


@pytest.mark.slow
@pytest.mark.parametrize(("csv_names", "device", "library", "extra"), _recalibrate_steps())
def test_calibrate_reproduces_the_shipped_file(tmp_path, csv_names, device, library, extra):
    """Byte for byte on any x86-64 CPU with AVX2 (the fit runs on pinned code paths,
    archgym.numerics); elsewhere the fit may land on other constants of equal cost (its loss
    has flat directions), so the regenerated file must then fit the CSVs as well and predict
    their rows alike. The H200 library file is a transfer fit from the H100 constants
    (--start); the H200 Triton file fits several tile sets together."""
    from archgym.simulators.gpu.fitting import calibration_agreement

    from archgym.cli import main
    from archgym.numerics import pinned_env

    srcs = [ROOT / "data" / "gpu" / name for name in csv_names]
    shipped = ROOT / "simulators" / "gpu" / "data" / f"{device}_{library}.json"
    if not all(src.exists() for src in srcs) or not shipped.exists():
        pytest.skip(f"{csv_names} not measured yet")
    out = tmp_path / "cal.json"
    argv = ["gpu", "calibrate", *map(str, srcs), "--device", device, "-o", str(out), *extra]
    assert main(argv) == 0
    if pinned_env() is not None:
        assert out.read_bytes() == shipped.read_bytes()
    elif out.read_bytes() != shipped.read_bytes():
        agreement = calibration_agreement(device, shipped.read_text(), out.read_text(), srcs)
        assert agreement["agree"], agreement


def test_calibration_agreement_flags_a_worse_fit():
    from archgym.simulators.gpu.fitting import calibration_agreement

    shipped = (ROOT / "simulators" / "gpu" / "data" / "h100-sxm_library.json").read_text()
    doc = json.loads(shipped)
    for values in doc["constants"].values():
        values["mma"] *= 0.9  # every kernel's math 10 % slower
    worse = calibration_agreement(
        "h100-sxm", shipped, json.dumps(doc), ROOT / "data/gpu/h100_gemm.csv"
    )
    assert not worse["agree"] and worse["err_regenerated"] > worse["err_shipped"]
    same = calibration_agreement("h100-sxm", shipped, shipped, ROOT / "data/gpu/h100_gemm.csv")
    assert same["agree"] and same["median_pct"] == 0.0


def test_committed_dataset_is_real_and_covers_the_plan():
    from archgym.simulators.gpu.measurements import load_measurements

    rows = load_measurements(ROOT / "data" / "gpu" / "h100_gemm.csv")
    kinds = {(r["dtype"], r["kind"]) for r in rows}
    assert kinds == {(d, "dense") for d in DTYPES} | {("bf16", "sparse24"), ("fp16", "sparse24")}
    assert len(rows) >= 1000
    times = np.array([r["time_us"] for r in rows])
    assert np.all(times > 1.0)  # nothing below a kernel launch: no placeholder zeros


@pytest.mark.parametrize("dtype", ["fp16", "bf16"])
def test_pre_hopper_devices_run_their_native_sm80_kernels_at_a_sane_rate(dtype):
    # Independent reference: VENOM (Castro et al., SC'23) timed cuBLAS on an RTX 3090 at
    # 0.67 ms for a 1024 x 4096 x 4096 fp16 GEMM (docs/sparse_gpu.md); v3 predicted 3.3 ms
    # (the Hopper mma.sync factor applied to the native Ampere kernels).
    t = GemmModel("rtx3090").predict_us(1024, 4096, 4096, dtype)
    assert 0.67e3 / 1.5 < t < 0.67e3 * 1.5
    # A10 and A100: between the datasheet-peak time and twice it on a large aligned GEMM.
    for device in ("a10", "a100-sxm"):
        model = GemmModel(device)
        peak_us = 2 * 4096**3 / model.device.peak_flops[dtype] * 1e6
        assert peak_us < model.predict_us(4096, 4096, 4096, dtype) < 2 * peak_us
        assert model.breakdown(4096, 4096, 4096, dtype)["path"] == "sm80"


def test_kernel_families_script_prints_the_agreement_table():
    import subprocess
    import sys

    script = ROOT / "experiments" / "gpu" / "kernel_families.py"
    out = subprocess.run(
        [sys.executable, str(script), "--limit", "40"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "path+split %" in out and "\nall " in out


def test_dense_checks_script_guards_the_quoted_figures():
    # docs/gpu.md "Model v9" / "Model v11" / "Model v14" quote this table: every dense set
    # pooled 9.40 % with the eleventh set (roofline 70.4 %), 16-bit m = 1 6.4 %, the 2:4
    # campaigns' bf16 / fp16 baselines 4.6 / 5.6 % (v13: 4.9 / 6.9; v14 transfers the energy
    # per operation), the weight-only campaign's bf16 baselines 6.7 % (v9: 2.7 %, the cost of
    # v11)
    import subprocess
    import sys

    script = ROOT / "experiments" / "gpu" / "dense_checks.py"
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=True)
    rows = {ln.split("|")[1].strip(): ln.split("|")[2:6] for ln in out.stdout.splitlines()[2:]}
    model = {label: float(cells[1]) for label, cells in rows.items()}
    roof = {label: float(cells[3]) for label, cells in rows.items()}
    pooled = "**all dense sets above, pooled**"
    assert int(rows[pooled][0]) > 4600 and model[pooled] < 9.6 and roof[pooled] > 60.0
    # m = 1: 6.4 % before the tenth set, whose aligned m = 1 rows run 7.5 % faster than said
    assert model["H200 16-bit m = 1 rows, every H200 file"] < 7.0
    for dtype, bound in (("bf16", 5.0), ("fp16", 6.0)):
        assert model[f"2:4 campaigns' dense baselines, {dtype}, m*n*k >= 2^33"] < bound
    assert 5.0 < model["weight-only campaign's bf16 baselines, every batch"] < 8.0
    # the later 2:4 sets' odd-token baselines (cuBLAS's sm75 kernels): 10.5 % under v19 (bias
    # -10.5), 4.5 % (-1.2) since dense v20 refits the H200's sm75 rate (188 rows, sets 10-20)
    odd = "2:4 blind sets 10+, dense baselines at odd m, m*n*k >= 2^33"
    assert int(rows[odd][0]) >= 188 and model[odd] < 5.5


def test_rtx3090_dense_prediction_tracks_venoms_cublas_times():
    # Independent reference: VENOM's published cuBLAS fp16 times on an RTX 3090 for the 12
    # BERT GEMM shapes of data/sparse/venom_spatha_rtx3090.csv (columns m, k, n, gemm_ms).
    import csv

    shapes = {}
    with open(ROOT / "data" / "sparse" / "venom_spatha_rtx3090.csv") as f:
        for r in csv.DictReader(f):
            shapes[(int(r["m"]), int(r["n"]), int(r["k"]))] = float(r["gemm_ms"]) * 1e3
    model = GemmModel("rtx3090")
    err = [abs(model.predict_us(*s, "fp16") / t - 1) for s, t in shapes.items()]
    assert len(err) >= 10
    assert np.mean(err) < 0.2 and max(err) < 0.3
