"""archgym: machine-learning-assisted design-space exploration of hardware accelerators.

Importing archgym registers its Gymnasium environments (ids ``archgym/<Name>-v<N>``).
"""

from __future__ import annotations

# First: in a source checkout, map simulators/ etc. as the wheel does (archgym._layout).
from archgym import _layout  # noqa: F401
from archgym.env import ArchGymEnv, FunctionEnv
from archgym.envs import list_envs, register_envs
from archgym.errors import UserError
from archgym.objective import make_objective
from archgym.result import Result
from archgym.space import Categorical, Constraint, DesignSpace, Integer, PowerOfTwo, Real

__version__ = "0.1.0"

__all__ = [
    "ArchGymEnv",
    "Categorical",
    "Constraint",
    "DesignSpace",
    "FunctionEnv",
    "Integer",
    "PowerOfTwo",
    "Real",
    "Result",
    "UserError",
    "__version__",
    "list_envs",
    "make",
    "make_objective",
]

register_envs()


def make(env_id: str, **kwargs: object) -> ArchGymEnv:
    """``gymnasium.make`` for archgym ids, unwrapped, with a did-you-mean error for unknown ids."""
    import gymnasium

    from archgym.errors import unknown_name

    if env_id not in gymnasium.registry or not env_id.startswith("archgym/"):
        raise unknown_name("env id", env_id, list_envs())
    return gymnasium.make(env_id, **kwargs).unwrapped  # type: ignore[return-value]
