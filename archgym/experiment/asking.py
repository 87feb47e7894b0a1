"""The runner's batch-ask protocol and a vectorised uniform sampler.

The runner asks an agent for a batch with :func:`ask_designs`. Every agent answers through its
``ask_batch``, except the agents listed in :data:`VECTORISED`, whose batches the runner draws
here in one vectorised call (random search costs a few microseconds per design instead of a
constraint interpretation per draw). An agent may return fewer designs than asked; an empty
batch ends the run (random search with ``dedupe`` after every valid design has been asked).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from archgym.space import Categorical, DesignSpace, Integer, PowerOfTwo, Real

__all__ = ["VECTORISED", "ask_designs", "sample_designs"]

Design = dict[str, Any]
#: Spaces with more box points than this are never enumerated (dedupe stops checking exhaustion).
_ENUMERABLE = 2_000_000
_ROUNDS = 32


def _column(param: Any, rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` uniform draws of one parameter (the distribution of ``param.sample``)."""
    if isinstance(param, Real):
        if param.log:
            return np.exp(rng.uniform(math.log(param.low), math.log(param.high), n))
        return rng.uniform(param.low, param.high, n)
    if isinstance(param, Integer) and param.log:
        x = np.exp(rng.uniform(math.log(param.low), math.log(param.high + 1), n))
        return np.minimum(param.high, np.floor(x)).astype(np.int64)
    idx = rng.integers(param.size, size=n)
    if isinstance(param, (Integer, PowerOfTwo)) or (
        isinstance(param, Categorical) and all(type(v) is int for v in param.values)
    ):
        return np.asarray(param.values, dtype=np.int64)[idx]
    return np.asarray(param.values, dtype=object)[idx]


def _draw(space: DesignSpace, rng: np.random.Generator, n: int) -> list[tuple[Any, ...]]:
    """``n`` uniform draws from the box, those violating a constraint dropped (rows as tuples)."""
    cols = {p.name: _column(p, rng, n) for p in space}
    ok = np.ones(n, dtype=bool)
    for c in space.constraints:
        ok &= c.evaluate_columns(cols)
    return list(zip(*(cols[name][ok].tolist() for name in space.names), strict=True))


def sample_designs(
    space: DesignSpace,
    rng: np.random.Generator,
    n: int,
    *,
    seen: set[tuple[Any, ...]] | None = None,
) -> list[Design]:
    """Up to ``n`` designs drawn uniformly from the valid designs of ``space``.

    With ``seen`` (a set of value tuples in parameter order, updated in place) no design in it is
    returned and the batch holds no repeats; fewer than ``n`` come back only when the space has
    fewer unseen designs left (found by enumeration once random draws stop finding them).
    """
    names = space.names
    if seen is None:
        rows: list[tuple[Any, ...]] = []
        for _ in range(_ROUNDS):
            rows += _draw(space, rng, max(16, int((n - len(rows)) * 1.3)))
            if len(rows) >= n:
                return [dict(zip(names, r, strict=True)) for r in rows[:n]]
        raise ValueError(
            f"no design satisfying the constraints {[c.text for c in space.constraints]} was found "
            f"in {_ROUNDS} rounds of random draws"
        )
    out: list[tuple[Any, ...]] = []
    for _ in range(_ROUNDS):
        for row in _draw(space, rng, max(16, int((n - len(out)) * 1.3))):
            if row not in seen:
                seen.add(row)
                out.append(row)
                if len(out) == n:
                    return [dict(zip(names, r, strict=True)) for r in out]
    out += _unseen_by_enumeration(space, rng, n - len(out), seen)
    return [dict(zip(names, r, strict=True)) for r in out]


def _unseen_by_enumeration(
    space: DesignSpace, rng: np.random.Generator, n: int, seen: set[tuple[Any, ...]]
) -> list[tuple[Any, ...]]:
    """Random draws have stopped finding new designs: list the unseen ones (small spaces)."""
    if not space.is_finite or space.box_size > _ENUMERABLE:
        raise ValueError(
            "random draws found no unseen design in a space too large to enumerate; "
            "use dedupe = false"
        )
    left = [row for d in space.grid() if (row := tuple(d.values())) not in seen]
    picked = [left[i] for i in rng.permutation(len(left))[:n]]
    seen.update(picked)
    return picked


def _random_walk(agent: Any, n: int) -> list[Design]:
    # RandomWalk keeps the value tuples it asked in ``_seen`` (its own ``ask`` does the same).
    seen = agent._seen if agent.params.get("dedupe") else None
    return sample_designs(agent.space, agent.rng, n, seen=seen)


#: Agents (by registry name) whose batches the runner draws vectorised: name -> (agent, n).
VECTORISED: dict[str, Callable[[Any, int], list[Design]]] = {"random_walk": _random_walk}


def ask_designs(agent: Any, n: int) -> list[Design]:
    """Ask ``agent`` for up to ``n`` designs (see the module docstring)."""
    fast = VECTORISED.get(getattr(agent, "name", ""))
    if fast is not None and hasattr(agent, "_seen") and hasattr(agent, "rng"):
        return fast(agent, n)
    return agent.ask_batch(n)
