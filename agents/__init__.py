"""Search agents: the protocol (:mod:`archgym.agents.base`) and the built-in agents.

The built-in agent modules are imported on the first registry look-up (``get_agent``,
``list_agents``), so ``import agents`` stays cheap and optional dependencies (cmaes, torch,
stable-baselines3) are only needed by the agents that use them.

>>> from archgym.agents import get_agent, list_agents
>>> "random_walk" in list_agents()
True
"""

from archgym.agents.base import (
    Agent,
    HyperParam,
    get_agent,
    list_agents,
    make_agent,
    register_agent,
)

__all__ = ["Agent", "HyperParam", "get_agent", "list_agents", "make_agent", "register_agent"]
