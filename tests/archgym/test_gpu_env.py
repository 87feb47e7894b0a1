"""GPUGemmTilingEnv (archgym/envs/gpu.py)."""

from __future__ import annotations

import numpy as np
import pytest
from archgym.simulators.gpu import GemmModel, TileConfig
from gymnasium.utils.env_checker import check_env

from archgym.envs.gpu import METRICS, GPUGemmTilingEnv

GOOD = {
    "block_m": 128,
    "block_n": 256,
    "block_k": 64,
    "num_warps": 8,
    "num_stages": 4,
    "split_k": 1,
}


def test_check_env_passes():
    check_env(GPUGemmTilingEnv(1024, 1024, 1024), skip_render_check=True)


def test_metrics_match_the_model():
    env = GPUGemmTilingEnv(4096, 4096, 4096, "fp16")
    r = env.evaluate(GOOD)
    assert r.feasible
    expected = GemmModel().predict_us(4096, 4096, 4096, "fp16", tile=TileConfig(**GOOD))
    assert r.metrics["time_us"] == pytest.approx(expected)
    assert r.reward == pytest.approx(-expected)
    assert set(r.metrics) == set(METRICS)


def test_oversized_tile_is_an_infeasible_result():
    env = GPUGemmTilingEnv()
    r = env.evaluate({**GOOD, "block_m": 256, "block_k": 128, "num_stages": 7})
    assert not r.feasible
    assert "shared memory" in r.error


def test_search_ranks_tiles_like_the_measured_sweep():
    # On the measured H100 sweep of square 8192 fp16 (data/gpu/h100_triton_tiles.csv) the
    # 128x256x64 / 8 warps / 4 stages tile took 1627 us, 64x64x32 / 4 warps / 3 stages 4004 us,
    # and the 128x256 tile with 4 warps 12316 us (register spilling); the env must agree in order.
    env = GPUGemmTilingEnv(8192, 8192, 8192, "fp16")
    big = env.evaluate(GOOD).metrics["time_us"]
    small = env.evaluate(
        {**GOOD, "block_m": 64, "block_n": 64, "block_k": 32, "num_warps": 4, "num_stages": 3}
    ).metrics["time_us"]
    spill = env.evaluate({**GOOD, "num_warps": 4}).metrics["time_us"]
    assert big < small
    assert big < spill


def test_random_search_is_seeded_and_finds_feasible_tiles():
    env = GPUGemmTilingEnv(2048, 2048, 2048, "bf16")
    rng = np.random.default_rng(0)
    designs = [env.space.sample(rng) for _ in range(20)]
    rng = np.random.default_rng(0)
    assert designs == [env.space.sample(rng) for _ in range(20)]
    results = [env.evaluate(d) for d in designs]
    assert any(r.feasible for r in results)


def test_bad_arguments():
    with pytest.raises(ValueError, match="`m` must be a positive integer"):
        GPUGemmTilingEnv(0)
    with pytest.raises(ValueError, match="unknown dtype"):
        GPUGemmTilingEnv(dtype="fp64")
