"""Search agents: the protocol (:mod:`agents.base`) and the built-in agents.

>>> from agents import get_agent, list_agents
>>> "random_walk" in list_agents()
True
"""

from agents.base import Agent, HyperParam, get_agent, list_agents, make_agent, register_agent

__all__ = ["Agent", "HyperParam", "get_agent", "list_agents", "make_agent", "register_agent"]
