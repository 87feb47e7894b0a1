"""Tests of archgym/SparseTensorCore-v0 (archgym/envs/sparse.py) and the sparse workloads."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from archgym.simulators.sparse import SparseLayer
from archgym.simulators.systolic import GemmLayer
from gymnasium.utils.env_checker import check_env

from archgym.envs.sparse import PATTERN_SETS, SparseTensorCoreEnv, sparse_workload
from archgym.workloads.sparse import WORKLOADS

DESIGN = {
    "rows": 32,
    "cols": 32,
    "dataflow": "os",
    "patterns": "2:4",
    "ifmap_sram_kib": 256,
    "filter_sram_kib": 256,
    "ofmap_sram_kib": 256,
    "metadata_sram_kib": 16,
    "bandwidth": 32,
}


def test_check_env_and_one_step():
    env = SparseTensorCoreEnv()
    check_env(env, skip_render_check=True)
    env.reset(seed=0)
    obs, _, terminated, truncated, _ = env.step(env.action_space.sample())
    assert terminated and not truncated and obs.shape == (7,)


def test_sparse_hardware_beats_dense_fallback_on_a_pruned_network():
    env = SparseTensorCoreEnv("resnet50-sparse", dense_fallback=True)
    sparse = env.evaluate(DESIGN)
    dense = env.evaluate({**DESIGN, "patterns": "none"})
    assert sparse.feasible and dense.feasible
    assert sparse.metrics["cycles"] < dense.metrics["cycles"]
    assert sparse.metrics["area_mm2"] > dense.metrics["area_mm2"]


def test_unsupported_pattern_is_an_infeasible_result():
    env = SparseTensorCoreEnv("llama2-7b-prefill-2to8-sparse")
    result = env.evaluate({**DESIGN, "patterns": "none"})
    assert not result.feasible
    assert "no supported pattern" in result.error
    # 2:8 weights also have 2:4, so a 2:4 engine runs them (at 2:4 speed).
    assert env.evaluate(DESIGN).feasible


def test_venom_needs_a_matching_block_width():
    env = SparseTensorCoreEnv("llama2-7b-prefill-venom64-sparse")
    # V = 128 does not divide the workload's 64: it runs as 2:4, the same as a 2:4 engine.
    plain = env.evaluate(DESIGN).metrics["energy_pj"]
    wide = env.evaluate({**DESIGN, "patterns": "2:4+128:2:8"}).metrics["energy_pj"]
    matched = env.evaluate({**DESIGN, "patterns": "2:4+64:2:8"}).metrics["energy_pj"]
    assert wide == pytest.approx(plain)
    assert matched < plain


def test_the_space_has_no_duplicate_designs_and_reaches_high_sparsity():
    """Every coordinate changes the config (no free `v` that some pattern sets ignore): over
    every (patterns, metadata_sram_kib) pair and every value of the other parameters, the
    number of designs that map to an already-seen config is 0."""
    env = SparseTensorCoreEnv("bert-base-sparse")
    assert "v" not in env.space.names
    seen = set()
    duplicates = 0
    for name in PATTERN_SETS:
        for kib in env.space["metadata_sram_kib"].values:
            config = env.config_from_design({**DESIGN, "patterns": name, "metadata_sram_kib": kib})
            duplicates += config in seen
            seen.add(config)
    for param in env.space.params:
        configs = {env.config_from_design({**DESIGN, param.name: v}) for v in param.values}
        duplicates += len(param.values) - len(configs)
    assert duplicates == 0
    assert {"2:4+2:8+2:16+2:32", "2:4+64:2:8..64"} <= set(PATTERN_SETS)


def test_high_sparsity_venom_beats_plain_nm_in_the_env():
    env = SparseTensorCoreEnv("llama2-7b-prefill", pattern="64:2:32", dense_fallback=True)
    design = {**DESIGN, "dataflow": "ws", "bandwidth": 16}
    venom = env.evaluate({**design, "patterns": "2:4+64:2:8..32"}).metrics
    plain = env.evaluate({**design, "patterns": "2:4+2:8+2:16+2:32"}).metrics
    assert venom["latency_s"] < plain["latency_s"] and venom["area_mm2"] < plain["area_mm2"]


def test_cycle_fidelity_agrees_without_stalls_and_rejects_typos():
    design = {**DESIGN, "bandwidth": 64, "ifmap_sram_kib": 2048, "filter_sram_kib": 2048}
    fast = SparseTensorCoreEnv("bert-base-sparse").evaluate(design).metrics
    slow = SparseTensorCoreEnv("bert-base-sparse", fidelity="cycle").evaluate(design).metrics
    # No stalls at this bandwidth; the two differ only in the first fill and the last drain.
    assert fast["stall_cycles"] == slow["stall_cycles"] == 0
    assert slow["cycles"] == pytest.approx(fast["cycles"], rel=0.05)
    assert slow["energy_pj"] == pytest.approx(fast["energy_pj"])
    with pytest.raises(ValueError, match=r"did you mean 'cycle'"):
        SparseTensorCoreEnv(fidelity="cycles")


def test_multi_objective():
    env = SparseTensorCoreEnv(
        "bert-base-sparse", objective={"type": "multi", "objectives": ["latency_s", "area_mm2"]}
    )
    result = env.evaluate(DESIGN)
    assert result.feasible and len(result.values) == 2


def test_workloads():
    assert all(name.endswith("-sparse") for name in WORKLOADS)
    layers, counts = sparse_workload("llama2-7b-prefill-sparse")
    attention = [x for x in layers if x.name in ("attn_scores", "attn_values")]
    assert attention and all(x.pattern.is_dense for x in attention)
    assert all(not x.pattern.is_dense for x in layers if x.name == "ffn_down")
    assert counts.sum() == len(WORKLOADS["llama2-7b-prefill-sparse"]())
    # A dense workload by name, pruned to a pattern; a list of layers.
    layers, _ = sparse_workload("resnet18", pattern="2:8")
    assert {str(x.pattern) for x in layers} == {"2:8", "dense"}  # conv1 has K = 147
    layers, counts = sparse_workload([SparseLayer(GemmLayer(8, 8, 8), "2:4")] * 3)
    assert len(layers) == 1 and counts[0] == 3
    with pytest.raises(ValueError, match=r"did you mean 'resnet50-sparse'"):
        sparse_workload("resnet50-sparce")
    with pytest.raises(ValueError, match=r"already has its pattern"):
        sparse_workload("resnet50-sparse", pattern="2:4")
    assert set(PATTERN_SETS) >= {"none", "2:4"}


_SCRIPTS = Path(__file__).resolve().parents[2] / "experiments" / "sparse"


def _run_script(name: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, str(_SCRIPTS / f"{name}.py"), *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "MPLBACKEND": "Agg"},
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_pareto_script_smoke(tmp_path):
    out = tmp_path / "front.png"
    args = ("--network", "bert-base", "--pattern", "64:2:16", "--designs", "60", "--plot", str(out))
    text = _run_script("pareto", *args)
    assert out.stat().st_size > 0
    assert "Overall front" in text and "Control 2" in text


def test_engine_table_script_smoke():
    text = _run_script("engine_table")
    assert text.count("\n") > 10 and "| resnet50 | 2:4 | 2:4 | os |" in text


def test_bench_sparse_smoke():
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_sparse.py"
    done = subprocess.run(
        [sys.executable, str(path), "--repeats", "1"], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert "| resnet50-sparse | " in done.stdout


def test_batched_evaluation_equals_one_design_at_a_time():
    # the env's batch goes through the batched sparse engine (runnable configs only); every
    # design gets the metrics, or the infeasibility reason, that it gets on its own
    env = SparseTensorCoreEnv("bert-base-sparse")
    rng = np.random.default_rng(0)
    designs = [env.space.sample(rng) for _ in range(60)]
    batch = env.evaluate_batch(designs)
    assert sum(r.feasible for r in batch) >= 10 and sum(not r.feasible for r in batch) >= 1
    for design, got in zip(designs, batch, strict=True):
        one = env.evaluate(design)
        assert (one.feasible, one.error) == (got.feasible, got.error)
        for name, value in one.metrics.items():
            assert got.metrics[name] == pytest.approx(value, rel=1e-12), name


def test_mode_policy_reaches_the_engine():
    """``mode_policy`` goes into every config (the reference's too); on one design the energy
    policy never uses more energy than the default latency policy, nor that more cycles
    (here 3.9 % less energy for 0.5 % more cycles); the batch path agrees with one design at a
    time; an unknown policy fails at construction."""
    latency = SparseTensorCoreEnv("resnet50-sparse")
    energy = SparseTensorCoreEnv("resnet50-sparse", mode_policy="energy")
    assert latency.mode_policy == "latency"
    assert energy.config_from_design(DESIGN).mode_policy == "energy"
    assert energy.reference_config().mode_policy == "energy"
    saver = {**DESIGN, "rows": 32, "cols": 256, "dataflow": "ws", "patterns": "1:4+2:4"}
    saver.update(ifmap_sram_kib=128, filter_sram_kib=32, ofmap_sram_kib=2048, bandwidth=4)
    rng = np.random.default_rng(1)
    designs = [saver, *(energy.space.sample(rng) for _ in range(20))]
    batch = energy.evaluate_batch(designs)
    for design, got in zip(designs, batch, strict=True):
        one = energy.evaluate(design)
        assert (one.feasible, one.error) == (got.feasible, got.error)
        if not one.feasible:
            continue
        for name, value in one.metrics.items():
            assert got.metrics[name] == pytest.approx(value, rel=1e-12), name
        fast = latency.evaluate(design).metrics
        assert one.metrics["energy_pj"] <= fast["energy_pj"] * (1 + 1e-12)
        assert fast["cycles"] <= one.metrics["cycles"]
    saved = batch[0].metrics["energy_pj"] / latency.evaluate(saver).metrics["energy_pj"]
    assert saved == pytest.approx(0.9607, abs=1e-4)
    with pytest.raises(ValueError, match=r"unknown mode_policy 'fast'"):
        SparseTensorCoreEnv("resnet50-sparse", mode_policy="fast")
