"""Random search: the reference agent, and the simplest example for writers of new ones."""

from __future__ import annotations

from archgym.agents.base import Agent, HyperParam, register_agent

from archgym.result import Result
from archgym.space import Design

__all__ = ["RandomWalk"]


@register_agent("random_walk")
class RandomWalk(Agent):
    """Draw designs uniformly at random from the space (constraints respected).

    With ``dedupe=True`` it avoids repeating a design already asked, as long as the space
    still has unseen designs (it stops trying after a few draws in nearly exhausted spaces).
    """

    hyperparams = {
        "dedupe": HyperParam(True, choices=(True, False), doc="avoid re-asking a seen design"),
    }

    def __init__(self, space, *, seed=None, budget=None, **hyperparams) -> None:
        super().__init__(space, seed=seed, budget=budget, **hyperparams)
        self._seen: set[tuple] = set()

    def ask(self) -> Design:
        design = self.space.sample(self.rng)
        if self.params["dedupe"]:
            for _ in range(32):
                if tuple(design.values()) not in self._seen:
                    break
                design = self.space.sample(self.rng)
            self._seen.add(tuple(design.values()))
        return design

    def tell(self, design: Design, result: Result) -> None:
        # Random search ignores results; the runner keeps the best.
        return None
