"""Local random walk: first-improvement hill climbing over one-step neighbours, with restarts."""

from __future__ import annotations

import math

from archgym.agents._util import design_key, score
from archgym.agents.base import Agent, HyperParam, register_agent

from archgym.result import Result
from archgym.space import Design

__all__ = ["LocalWalk"]


@register_agent("local_walk")
class LocalWalk(Agent):
    """Hill climbing by random neighbour moves (:meth:`DesignSpace.neighbours`).

    From the current design, neighbours (one parameter moved one step) are tried in random order;
    the first one that is better (or, with ``accept_equal``, no worse) becomes the current design.
    When every neighbour has been tried without improvement (a local optimum), or after
    ``patience`` evaluations without improvement, the walk restarts from a uniform sample. With
    ``restart_prob`` it also restarts at random, which keeps it from sitting in one basin.
    Designs already evaluated are not asked again: their remembered reward is used instead.
    """

    hyperparams = {
        "patience": HyperParam(
            50, low=1, high=1_000_000, doc="evaluations without improvement before a restart"
        ),
        "restart_prob": HyperParam(
            0.0, low=0.0, high=1.0, doc="probability of a random restart at each ask"
        ),
        "accept_equal": HyperParam(
            True, choices=(True, False), doc="move to equally good neighbours (plateau walks)"
        ),
    }

    def __init__(self, space, *, seed=None, budget=None, **hyperparams) -> None:
        super().__init__(space, seed=seed, budget=budget, **hyperparams)
        self._seen: dict[tuple, float] = {}
        self._current: Design | None = None
        self._current_reward = -math.inf
        self._untried: list[Design] = []
        self._stale = 0
        self.best: tuple[Design, float] | None = None

    def _restart(self) -> None:
        self._current = None
        self._current_reward = -math.inf
        self._untried = []
        self._stale = 0

    def _move(self, design: Design, reward: float) -> None:
        # A strict improvement resets the patience counter; a sideways (equal) move does not,
        # so a plateau cannot hold the walk forever.
        if reward > self._current_reward:
            self._stale = 0
        self._current = dict(design)
        self._current_reward = reward
        self._untried = self.space.neighbours(design)

    def ask(self) -> Design:
        if self._current is not None and self.rng.uniform() < self.params["restart_prob"]:
            self._restart()
        while self._current is not None and self._untried:
            cand = self._untried.pop(int(self.rng.integers(len(self._untried))))
            known = self._seen.get(design_key(self.space, cand))
            if known is None:
                return cand
            # Already evaluated: decide on the remembered reward, no evaluation spent. Only a
            # strict improvement moves here, else equal known designs could swap forever.
            if known > self._current_reward:
                self._move(cand, known)
        # A local optimum (or nothing yet): restart from an unseen uniform sample if possible.
        self._restart()
        design = self.space.sample(self.rng)
        for _ in range(32):
            if design_key(self.space, design) not in self._seen:
                break
            design = self.space.sample(self.rng)
        return design

    def _improves(self, reward: float) -> bool:
        if self.params["accept_equal"] and reward > -math.inf:
            return reward >= self._current_reward
        return reward > self._current_reward

    def tell(self, design: Design, result: Result) -> None:
        reward = score(result)
        self._seen[design_key(self.space, design)] = reward
        if self.best is None or reward > self.best[1]:
            self.best = (dict(design), reward)
        if self._current is None:
            if reward > -math.inf:
                self._move(design, reward)
            return
        improved = reward > self._current_reward
        if self._improves(reward):
            self._move(design, reward)
        if not improved:
            self._stale += 1
        if self._stale >= self.params["patience"]:
            self._restart()
