"""Registration of every archgym environment id (the one place ids are registered).

``import archgym`` runs :func:`register_envs`; ``gymnasium.make("archgym/GemmRoofline-v0",
workload="llama2-7b-decode")`` then works with any constructor keyword.
"""

from __future__ import annotations

import importlib
from typing import Any

import gymnasium

__all__ = ["ENV_IDS", "build_env", "list_envs", "register_envs"]

ENV_IDS: dict[str, str] = {
    "archgym/GemmRoofline-v0": "archgym.envs.roofline:GemmRooflineEnv",
    "archgym/SystolicArray-v0": "archgym.envs.systolic:SystolicArrayEnv",
    "archgym/GPUGemmTiling-v0": "archgym.envs.gpu:GPUGemmTilingEnv",
    "archgym/SparseTensorCore-v0": "archgym.envs.sparse:SparseTensorCoreEnv",
    "archgym/ScratchpadSchedule-v0": "archgym.envs.scratchpad:ScratchpadScheduleEnv",
    "archgym/ScratchpadSize-v0": "archgym.envs.scratchpad:ScratchpadSizeEnv",
}


def build_env(
    env_class: str, backend: str = "simulator", proxy: Any = None, **kwargs: Any
) -> gymnasium.Env:
    """Construct ``env_class`` (``"module:Class"``) with ``kwargs``, optionally on a proxy model.

    ``backend="proxy", proxy=PATH_OR_MODEL`` replaces the simulator with a learned surrogate
    (:func:`archgym.proxy.attach_proxy`), which checks that the model was trained on this env.
    """
    if backend not in ("simulator", "proxy"):
        from archgym.errors import unknown_name

        raise unknown_name("backend", backend, ["simulator", "proxy"])
    module, _, name = env_class.partition(":")
    env = getattr(importlib.import_module(module), name)(**kwargs)
    if backend == "proxy":
        if proxy is None:
            raise ValueError("`backend='proxy'` needs `proxy=` (a trained model or its path)")
        from archgym.proxy import attach_proxy

        env = attach_proxy(env, proxy)
    elif proxy is not None:
        raise ValueError("`proxy=` is only used with `backend='proxy'`")
    return env


def register_envs() -> None:
    """Register every id in :data:`ENV_IDS` with Gymnasium (idempotent)."""
    for env_id, env_class in ENV_IDS.items():
        if env_id not in gymnasium.registry:
            gymnasium.register(
                id=env_id,
                entry_point="archgym.envs:build_env",
                kwargs={"env_class": env_class},
                # The tests run check_env on every id; skip the passive checker per make().
                disable_env_checker=True,
            )


def list_envs() -> list[str]:
    """The registered archgym env ids."""
    return sorted(ENV_IDS)
