"""Every registered one-step env passes the env contract (archgym.testing.EnvContract)."""

from __future__ import annotations

from archgym.testing import EnvContract


class TestGemmRoofline(EnvContract):
    env_id = "archgym/GemmRoofline-v0"
    env_kwargs = {"max_pes": 1024}


class TestSystolicArray(EnvContract):
    env_id = "archgym/SystolicArray-v0"
    env_kwargs = {"workload": "alexnet", "max_area_mm2": 4.0}


class TestSystolicArrayCycle(EnvContract):
    env_id = "archgym/SystolicArray-v0"
    env_kwargs = {"workload": "bert-base", "fidelity": "cycle"}
    samples = 3


class TestSparseTensorCore(EnvContract):
    env_id = "archgym/SparseTensorCore-v0"
    env_kwargs = {"workload": "alexnet", "max_area_mm2": 6.0}
    samples = 4


class TestGPUGemmTiling(EnvContract):
    env_id = "archgym/GPUGemmTiling-v0"
    env_kwargs = {"m": 2048, "n": 1024, "k": 4096, "dtype": "bf16"}


class TestScratchpadSize(EnvContract):
    env_id = "archgym/ScratchpadSize-v0"
    env_kwargs = {"method": "belady"}
    samples = 4


class TestDictActions(EnvContract):
    env_id = "archgym/GemmRoofline-v0"
    env_kwargs = {"action_space": "dict", "reward_scale": "raw", "max_pes": 1024}
