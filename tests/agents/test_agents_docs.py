"""The custom agent of the README runs and passes the contract suite."""

import re
from pathlib import Path

from archgym.agents.base import _REGISTRY, get_agent

from archgym.testing import AgentContract

DOC = Path(__file__).resolve().parents[2] / "README.md"


def _example_class():
    text = DOC.read_text(encoding="utf-8")
    block = re.search(r"<!-- custom-agent -->\s*```python\n(.*?)```", text, re.S).group(1)
    assert len(block.strip().splitlines()) <= 30  # the README promises a 30-line agent
    namespace: dict = {}
    exec(compile(block, str(DOC), "exec"), namespace)
    cls = get_agent("coordinate")
    # Keep the global registry as it was for other tests.
    _REGISTRY.pop("coordinate")
    return cls


class TestDocsCustomAgent(AgentContract):
    agent_cls = _example_class()
