"""Ant colony optimisation over per-parameter value choices."""

from __future__ import annotations

import math

import numpy as np
from archgym.agents._util import (
    MAX_TRIES,
    choice_index,
    choice_sizes,
    choice_value,
    design_key,
    score,
)
from archgym.agents.base import Agent, HyperParam, register_agent

from archgym.result import Result
from archgym.space import Design

__all__ = ["AntColony"]


@register_agent("aco")
class AntColony(Agent):
    """Max-min ant system over the choice graph "one value per parameter".

    Each parameter has one pheromone level per value (reals: per one of ``real_bins`` bins, the
    value drawn uniformly inside the bin). An ant builds a design by drawing every parameter's
    value with probability proportional to ``pheromone ** alpha``. After each colony of ``ants``
    told results, all pheromone evaporates by ``evaporation``; then the colony's best ant and the
    best design found so far (elitist) deposit ``deposit`` on their values (the elitist ant with
    weight ``elitist_weight``). Deposits use ranks, not reward values, so the scale of the
    reward does not matter. Pheromone is kept in ``[tau_min, 1]`` (max-min ant system), which
    keeps every value reachable. Infeasible ants deposit nothing; ants violating a constraint
    are redrawn before they are asked.
    """

    hyperparams = {
        "ants": HyperParam(10, low=1, high=100_000, doc="designs per colony (pheromone update)"),
        "evaporation": HyperParam(0.1, low=0.0, high=1.0, doc="fraction of pheromone lost"),
        "alpha": HyperParam(1.0, low=0.0, high=10.0, doc="exponent of pheromone in choices"),
        "deposit": HyperParam(0.2, low=0.0, high=10.0, doc="pheromone added per best ant"),
        "elitist_weight": HyperParam(
            1.0, low=0.0, high=100.0, doc="deposit weight of the best-so-far design"
        ),
        "tau_min": HyperParam(0.01, low=0.0, high=1.0, doc="lower pheromone bound"),
        "real_bins": HyperParam(16, low=2, high=10_000, doc="bins per real parameter"),
        "dedupe": HyperParam(True, choices=(True, False), doc="avoid asking a design twice"),
    }

    def __init__(self, space, *, seed=None, budget=None, **hyperparams) -> None:
        super().__init__(space, seed=seed, budget=budget, **hyperparams)
        self.pheromone = [np.ones(n) for n in choice_sizes(space, self.params["real_bins"])]
        self.best: tuple[Design, float] | None = None
        self._colony: list[tuple[Design, float]] = []
        self._asked: set[tuple] = set()

    def probabilities(self) -> list[np.ndarray]:
        """Per parameter, the probability of each value (or real bin)."""
        out = []
        for tau in self.pheromone:
            w = tau ** self.params["alpha"]
            out.append(w / w.sum())
        return out

    def _construct(self, probs: list[np.ndarray]) -> Design:
        bins = self.params["real_bins"]
        return {
            p.name: choice_value(p, int(self.rng.choice(len(pr), p=pr)), bins, self.rng)
            for p, pr in zip(self.space.params, probs, strict=True)
        }

    def ask(self) -> Design:
        probs = self.probabilities()
        design = self._construct(probs)
        for _ in range(MAX_TRIES):
            fresh = not (self.params["dedupe"] and design_key(self.space, design) in self._asked)
            if fresh and not self.space.violated(design):
                break
            design = self._construct(probs)
        if self.space.violated(design):
            design = self.space.sample(self.rng)
        self._asked.add(design_key(self.space, design))
        return design

    def _deposit(self, design: Design, amount: float) -> None:
        bins = self.params["real_bins"]
        for p, tau in zip(self.space.params, self.pheromone, strict=True):
            tau[choice_index(p, design[p.name], bins)] += amount

    def tell(self, design: Design, result: Result) -> None:
        reward = score(result)
        self._colony.append((dict(design), reward))
        if self.best is None or reward > self.best[1]:
            self.best = (dict(design), reward)
        if len(self._colony) >= self.params["ants"]:
            self.update()

    def update(self) -> None:
        """Evaporate, then deposit for the colony's best ant and the best-so-far design."""
        rho, q = self.params["evaporation"], self.params["deposit"]
        for tau in self.pheromone:
            tau *= 1.0 - rho
        winner = max(self._colony, key=lambda dr: dr[1]) if self._colony else None
        if winner is not None and winner[1] > -math.inf:
            self._deposit(winner[0], q)
        if self.best is not None and self.best[1] > -math.inf:
            self._deposit(self.best[0], q * self.params["elitist_weight"])
        for tau in self.pheromone:
            np.clip(tau, self.params["tau_min"], 1.0, out=tau)
        self._colony = []
