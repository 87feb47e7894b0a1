"""The env base and every registered env: Gymnasium's checker, evaluate(), infeasible designs."""

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import archgym
from archgym.envs import ENV_IDS


@pytest.mark.parametrize("env_id", sorted(ENV_IDS))
def test_check_env_passes_for_every_registered_id(env_id):
    env = gymnasium.make(env_id)
    check_env(env.unwrapped, skip_render_check=False)


def test_registry_matches_gymnasium():
    for env_id in archgym.list_envs():
        assert env_id in gymnasium.registry


def test_make_passes_kwargs_and_rejects_unknown_ids():
    env = gymnasium.make("archgym/GemmRoofline-v0", workload="gpt2-decode", objective="latency_s")
    assert env.unwrapped.objective.name == "min:latency_s"
    with pytest.raises(archgym.UserError, match="did you mean 'archgym/GemmRoofline-v0'"):
        archgym.make("archgym/GemmRoofline-v1")


def test_evaluate_feasible_infeasible_and_out_of_space():
    env = archgym.make("archgym/GemmRoofline-v0", max_pes=4096)
    ok = env.evaluate(
        {"rows": 32, "cols": 32, "buffer_kib": 1024, "clock_mhz": 1000, "dram_gbps": 102.4}
    )
    assert ok.feasible and ok.reward < 0 and ok.error is None
    assert set(ok.metrics) == set(env.metric_names)
    over = env.evaluate(
        {"rows": 128, "cols": 64, "buffer_kib": 1024, "clock_mhz": 1000, "dram_gbps": 102.4}
    )
    assert not over.feasible and "rows * cols <= 4096" in over.error
    big_env = archgym.make("archgym/GemmRoofline-v0")
    small = big_env.evaluate(
        {"rows": 128, "cols": 128, "buffer_kib": 64, "clock_mhz": 1000, "dram_gbps": 102.4}
    )
    assert not small.feasible and "cannot hold one 128x128 output tile" in small.error
    assert small.reward == env.objective.reward_on_error
    with pytest.raises(ValueError, match="`rows` must be a power of two"):
        env.evaluate(
            {"rows": 33, "cols": 32, "buffer_kib": 1024, "clock_mhz": 1000, "dram_gbps": 102.4}
        )


def test_step_observation_is_normalised_to_the_reference():
    env = archgym.make("archgym/GemmRoofline-v0")
    env.reset(seed=0)
    ref = {"rows": 32, "cols": 32, "buffer_kib": 1024, "clock_mhz": 1000, "dram_gbps": 102.4}
    obs, _reward, terminated, truncated, info = env.step(env.action_of_design(ref))
    assert terminated and not truncated and info["feasible"]
    assert obs == pytest.approx([1.0] * len(env.metric_names))
    assert info["design"] == ref


def test_objective_needing_unknown_metric_is_rejected():
    with pytest.raises(ValueError, match="needs metric"):
        archgym.make("archgym/GemmRoofline-v0", objective="watts")


def test_vectorised_bandit_with_same_step_autoreset():
    from gymnasium.vector import AutoresetMode

    vec = gymnasium.make_vec(
        "archgym/GemmRoofline-v0",
        num_envs=3,
        vectorization_mode="sync",
        vector_kwargs={"autoreset_mode": AutoresetMode.SAME_STEP},
    )
    vec.reset(seed=0)
    for _ in range(2):  # every step evaluates three designs; no step is wasted on a reset
        obs, reward, terminated, _, info = vec.step(vec.action_space.sample())
        assert terminated.all() and obs.shape == (3, 8) and np.isfinite(reward).all()
        assert "final_info" in info
