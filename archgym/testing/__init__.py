"""Contract suites that every agent and every env, built-in or third-party, should pass.

:class:`AgentContract` (in :mod:`archgym.testing.agents`) checks the ask/tell protocol of an agent;
env contracts live in :mod:`archgym.testing.envs`.
"""

from archgym.testing.agents import AgentContract, run_loop, toy_problem, toy_space
from archgym.testing.envs import EnvContract

__all__ = ["AgentContract", "EnvContract", "run_loop", "toy_problem", "toy_space"]
