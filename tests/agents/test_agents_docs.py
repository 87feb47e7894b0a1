"""The custom agent of the README runs and passes the contract suite."""

import re
from pathlib import Path

from archgym.agents.base import _REGISTRY, list_agents

from archgym.testing import AgentContract

DOC = Path(__file__).resolve().parents[2] / "README.md"


def _example_class():
    """The README's agent, exec'd with the global registry left exactly as it was.

    A user who installed the README's example package already has a ``coordinate`` agent (its
    entry point): the exec'd copy is a different class of the same name, so it is registered
    with that name out of the way and the registry is restored afterwards.
    """
    text = DOC.read_text(encoding="utf-8")
    block = re.search(r"<!-- custom-agent -->\s*```python\n(.*?)```", text, re.S).group(1)
    assert len(block.strip().splitlines()) <= 30  # the README promises a 30-line agent
    list_agents()  # load built-ins and entry points first, so the restore below keeps them
    before = dict(_REGISTRY)
    _REGISTRY.pop("coordinate", None)
    try:
        namespace: dict = {}
        exec(compile(block, str(DOC), "exec"), namespace)
        return _REGISTRY["coordinate"]
    finally:
        _REGISTRY.clear()
        _REGISTRY.update(before)


class TestDocsCustomAgent(AgentContract):
    agent_cls = _example_class()
