"""Genetic algorithm on encoded designs: tournament selection, uniform crossover, mutation."""

from __future__ import annotations

import math

import numpy as np
from archgym.agents._util import MAX_TRIES, design_key, score
from archgym.agents.base import Agent, HyperParam, register_agent

from archgym.result import Result
from archgym.space import Categorical, Design, Real

__all__ = ["Genetic"]


@register_agent("genetic")
class Genetic(Agent):
    """A generational GA with elitism over :meth:`DesignSpace.encode` vectors.

    The first ``population`` designs are uniform samples. Afterwards each asked design is a child:
    two parents picked by tournaments of ``tournament`` members, uniform crossover with
    probability ``crossover_rate``, then per-gene mutation with probability ``mutation_rate``
    (0 means one gene per child on average): categorical genes jump to another value, ordered ones
    move by a Gaussian number of steps (``mutation_scale`` of the range, at least one step), reals
    by a Gaussian of ``mutation_scale`` of their (log-)range. Once ``population`` children have
    been told, the next population is the ``elite`` best of parents and children together, filled
    up with the best children (``elite == population`` gives a (mu + lambda) scheme).

    Children that violate a constraint are repaired (``constraints="repair"``: genes named by the
    violated constraints are redrawn) or bred again (``"resample"``); after a few failures a
    uniform sample is used. With ``dedupe`` a child equal to a design already asked is bred
    again (up to a few times), which saves evaluations on small discrete spaces.
    Asking several designs before telling (:meth:`ask_batch`) is supported.
    """

    hyperparams = {
        "population": HyperParam(20, low=2, high=100_000, doc="designs per generation"),
        "tournament": HyperParam(3, low=1, high=1000, doc="members per selection tournament"),
        "crossover_rate": HyperParam(0.9, low=0.0, high=1.0, doc="probability of crossover"),
        "mutation_rate": HyperParam(
            0.0, low=0.0, high=1.0, doc="per-gene mutation probability; 0: 1 / number of genes"
        ),
        "mutation_scale": HyperParam(
            0.1, low=0.0, high=1.0, doc="mutation step as a fraction of a gene's range"
        ),
        "elite": HyperParam(2, low=0, high=100_000, doc="best designs kept across generations"),
        "constraints": HyperParam(
            "repair", choices=("repair", "resample"), doc="handling of constraint violations"
        ),
        "dedupe": HyperParam(True, choices=(True, False), doc="avoid asking a design twice"),
    }

    def __init__(self, space, *, seed=None, budget=None, **hyperparams) -> None:
        super().__init__(space, seed=seed, budget=budget, **hyperparams)
        self.population: list[tuple[Design, float]] = []
        self.generation = 0
        self._offspring: list[tuple[Design, float]] = []
        self._asked: set[tuple] = set()
        n = len(space.params)
        self._rate = self.params["mutation_rate"] or 1.0 / n

    # -- variation ----------------------------------------------------------------------------
    def _tournament(self) -> np.ndarray:
        k = self.params["tournament"]
        picks = self.rng.integers(len(self.population), size=k)
        best = max(picks, key=lambda i: self.population[i][1])
        return self.space.encode(self.population[best][0])

    def _mutate_gene(self, i: int, code: float) -> float:
        p = self.space.params[i]
        scale = self.params["mutation_scale"]
        if isinstance(p, Real) and not p.is_finite:
            if p.log:
                step = scale * (math.log(p.high) - math.log(p.low)) * self.rng.normal()
                return float(np.clip(code * math.exp(step), p.low, p.high))
            return float(
                np.clip(code + scale * (p.high - p.low) * self.rng.normal(), p.low, p.high)
            )
        size = p.size  # type: ignore[attr-defined]
        if size == 1:
            return code
        if isinstance(p, Categorical):
            other = int(self.rng.integers(size - 1))
            return float(other if other < code else other + 1)
        step = round(float(self.rng.normal(0.0, max(1.0, scale * size))))
        if step == 0:
            step = 1 if self.rng.uniform() < 0.5 else -1
        return float(np.clip(code + step, 0, size - 1))

    def _breed(self) -> Design:
        a = self._tournament()
        if self.rng.uniform() < self.params["crossover_rate"]:
            b = self._tournament()
            mask = self.rng.uniform(size=len(a)) < 0.5
            child = np.where(mask, a, b)
        else:
            child = a.copy()
        for i in np.flatnonzero(self.rng.uniform(size=len(child)) < self._rate):
            child[i] = self._mutate_gene(int(i), float(child[i]))
        return self.space.decode(child)

    def _repair(self, design: Design) -> Design:
        for _ in range(MAX_TRIES):
            bad = [c for c in self.space.constraints if not c(design)]
            if not bad:
                return design
            names = sorted(set().union(*(c.names for c in bad))) or list(self.space.names)
            name = names[int(self.rng.integers(len(names)))]
            design = {**design, name: self.space[name].sample(self.rng)}
        return design

    def _child(self) -> Design:
        for _ in range(MAX_TRIES):
            child = self._breed()
            if self.params["constraints"] == "repair":
                child = self._repair(child)
            if self.space.violated(child):
                continue
            if not (self.params["dedupe"] and design_key(self.space, child) in self._asked):
                return child
        return child if not self.space.violated(child) else self.space.sample(self.rng)

    # -- protocol -----------------------------------------------------------------------------
    def ask(self) -> Design:
        if not self.population:
            design = self.space.sample(self.rng)
            for _ in range(MAX_TRIES):
                if not (self.params["dedupe"] and design_key(self.space, design) in self._asked):
                    break
                design = self.space.sample(self.rng)
        else:
            design = self._child()
        self._asked.add(design_key(self.space, design))
        return design

    def tell(self, design: Design, result: Result) -> None:
        self._offspring.append((dict(design), score(result)))
        size = self.params["population"]
        if len(self._offspring) < size:
            return
        children = sorted(self._offspring, key=lambda dr: dr[1], reverse=True)
        pool = sorted(self.population + children, key=lambda dr: dr[1], reverse=True)
        keep = pool[: min(self.params["elite"], size)]
        kept = {design_key(self.space, d) for d, _ in keep}
        for d, r in children + pool:
            if len(keep) >= size:
                break
            key = design_key(self.space, d)
            if key not in kept:
                keep.append((d, r))
                kept.add(key)
        self.population = keep
        self._offspring = []
        self.generation += 1
