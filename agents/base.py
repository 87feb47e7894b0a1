"""The agent protocol: every search method is an ``Agent`` with ``ask`` and ``tell``.

Life cycle (the runner, a script or a notebook drives it)::

    agent = RandomWalk(space, seed=0)              # hyperparameters are keyword-only
    for _ in range(budget):
        design = agent.ask()                        # a dict valid in `space`
        result = env.evaluate(design)               # archgym.Result
        agent.tell(design, result)                  # infeasible results are told too

An agent sees only the design space and results, never the simulator. Randomness comes from
``self.rng`` (a ``numpy.random.Generator`` seeded by ``seed``), so the same seed and the same
results give the same designs. Agents declare their hyperparameters in ``hyperparams`` with
defaults and ranges; unknown or out-of-range values are errors. Third-party agents register with
``@register_agent("name")`` or through the ``archgym.agents`` entry-point group.
"""

from __future__ import annotations

import copy
import importlib
import math
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, ClassVar, TypeVar

import numpy as np

from archgym.errors import unknown_name
from archgym.result import Result
from archgym.space import Design, DesignSpace

__all__ = [
    "Agent",
    "HyperParam",
    "describe_agent",
    "get_agent",
    "list_agents",
    "make_agent",
    "register_agent",
]


@dataclass(frozen=True)
class HyperParam:
    """Declaration of one hyperparameter: default, allowed range or choices, and meaning."""

    default: Any
    low: float | None = None
    high: float | None = None
    choices: Sequence[Any] | None = None
    doc: str = ""

    def describe(self) -> str:
        """One line: default, then the choices or the range (what `archgym agents` prints)."""
        if self.choices is not None:
            allowed = " | ".join(repr(c) for c in self.choices)
        elif self.low is not None or self.high is not None:
            lo = "-inf" if self.low is None else f"{self.low:g}"
            hi = "inf" if self.high is None else f"{self.high:g}"
            allowed = f"[{lo}, {hi}]"
        else:
            allowed = "any"
        return f"default {self.default!r}; {allowed}"

    def check(self, agent: str, name: str, value: Any) -> Any:
        """Return ``value`` if allowed, else raise ``ValueError`` naming agent, field and value."""
        if self.choices is not None:
            if value not in self.choices:
                raise ValueError(
                    f"hyperparameter `{name}` of agent {agent!r} must be one of "
                    f"{list(self.choices)!r}, but got {value!r}"
                )
            return value
        if self.low is not None or self.high is not None:
            if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
                raise ValueError(
                    f"hyperparameter `{name}` of agent {agent!r} must be a number, but got {value!r}"
                )
            lo = -math.inf if self.low is None else self.low
            hi = math.inf if self.high is None else self.high
            if not lo <= value <= hi:
                raise ValueError(
                    f"hyperparameter `{name}` of agent {agent!r} must be in [{lo}, {hi}], "
                    f"but got {value!r}"
                )
            if isinstance(self.default, int) and not isinstance(self.default, bool):
                if not float(value).is_integer():
                    raise ValueError(
                        f"hyperparameter `{name}` of agent {agent!r} must be an integer, but got {value!r}"
                    )
                return int(value)
        return value


class Agent(ABC):
    """Base class of search agents (see the module docstring for the life cycle).

    Args:
        space: The design space to search.
        seed: Seed of ``self.rng``; ``None`` draws fresh entropy.
        budget: Number of evaluations the caller intends to make (agents may plan with it,
            e.g. a grid's stride); ``None`` when open-ended.
        **hyperparams: Values for the names declared in :attr:`hyperparams`.

    Subclasses implement :meth:`ask` and :meth:`tell`, and may override :attr:`finished` (an
    exhausted grid) and :meth:`ask_batch` / :meth:`tell_batch` (population methods).
    """

    #: Registry name, set by :func:`register_agent`.
    name: ClassVar[str] = ""
    #: Declared hyperparameters with defaults and ranges.
    hyperparams: ClassVar[dict[str, HyperParam]] = {}
    #: Whether the agent reads ``result.values`` (Pareto search) rather than ``result.reward``.
    multi_objective: ClassVar[bool] = False

    def __init__(
        self,
        space: DesignSpace,
        *,
        seed: int | None = None,
        budget: int | None = None,
        **hyperparams: Any,
    ) -> None:
        if not isinstance(space, DesignSpace):
            raise TypeError(f"`space` must be a DesignSpace, but got {type(space).__name__}")
        if budget is not None and (
            isinstance(budget, bool) or not isinstance(budget, int) or budget < 1
        ):
            raise ValueError(f"`budget` must be a positive integer or None, but got {budget!r}")
        self.space = space
        self.seed = seed
        self.budget = budget
        self.rng = np.random.default_rng(seed)
        self.params = self.resolve_hyperparams(hyperparams)

    @classmethod
    def resolve_hyperparams(cls, given: Mapping[str, Any]) -> dict[str, Any]:
        """Defaults overlaid with ``given``, each checked against its declaration."""
        label = cls.name or cls.__name__
        out = {}
        for key in given:
            if key not in cls.hyperparams:
                raise unknown_name(f"hyperparameter of agent {label!r}", key, cls.hyperparams)
        for key, decl in cls.hyperparams.items():
            out[key] = decl.check(label, key, given.get(key, decl.default))
        cls.check_requirements(out)
        return out

    @classmethod
    def check_requirements(cls, params: Mapping[str, Any]) -> None:
        """Raise ``ValueError`` (one line) if ``params`` need a package that is not installed.

        Called by :meth:`resolve_hyperparams`, so an experiment file is refused when it is
        parsed, not midway through a run. The default needs nothing.
        """
        return None

    @abstractmethod
    def ask(self) -> Design:
        """The next design to evaluate (valid in :attr:`space`)."""

    @abstractmethod
    def tell(self, design: Design, result: Result) -> None:
        """Report the result of evaluating ``design`` (feasible or not)."""

    @property
    def finished(self) -> bool:
        """True when the agent has nothing more to propose (e.g. an exhausted grid)."""
        return False

    def ask_batch(self, n: int) -> list[Design]:
        """``n`` designs to evaluate in parallel; told back with :meth:`tell_batch`."""
        return [self.ask() for _ in range(n)]

    def tell_batch(self, designs: Sequence[Design], results: Sequence[Result]) -> None:
        """Report a batch of results, in the order of :meth:`ask_batch`."""
        for d, r in zip(designs, results, strict=True):
            self.tell(d, r)

    def state_dict(self) -> dict[str, Any]:
        """A deep copy of the agent's state (including its random generator) for checkpoints."""
        return copy.deepcopy({k: v for k, v in vars(self).items() if k != "space"})

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore a state from :meth:`state_dict`."""
        vars(self).update(copy.deepcopy(dict(state)))

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{type(self).__name__}(seed={self.seed!r}{', ' if params else ''}{params})"


_REGISTRY: dict[str, type[Agent]] = {}
# Modules of the built-in agents; imported on first registry look-up so that `import agents`
# stays cheap and optional dependencies stay optional.
BUILTIN_MODULES: list[str] = [
    "archgym.agents.random_walk",
    "archgym.agents.local_walk",
    "archgym.agents.grid",
    "archgym.agents.genetic",
    "archgym.agents.aco",
    "archgym.agents.bayes",
    "archgym.agents.reinforce",
    "archgym.agents.ilp",
]
_loaded = False

A = TypeVar("A", bound=type[Agent])


def register_agent(name: str) -> Callable[[A], A]:
    """Class decorator adding an agent to the registry under ``name``."""

    def deco(cls: A) -> A:
        old = _REGISTRY.get(name)
        if old is not None and old is not cls and not _same_definition(old, cls):
            raise ValueError(
                f"agent name {name!r} is already registered by {old.__module__}.{old.__qualname__}"
            )
        cls.name = name
        _REGISTRY[name] = cls
        return cls

    return deco


def _same_definition(old: type, new: type) -> bool:
    """Whether ``new`` redefines ``old`` (same module and qualified name: a re-run cell)."""
    return (old.__module__, old.__qualname__) == (new.__module__, new.__qualname__)


def _load_all() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for module in BUILTIN_MODULES:
        importlib.import_module(module)
    for ep in entry_points(group="archgym.agents"):
        _load_entry_point(ep)


def _load_entry_point(ep: Any) -> None:
    """Register one third-party agent; a broken one is a warning naming it, not a crash."""
    try:
        cls = ep.load()
        if not (isinstance(cls, type) and issubclass(cls, Agent)):
            raise TypeError("it is not an archgym Agent subclass")
        if ep.name not in _REGISTRY:
            register_agent(ep.name)(cls)
    except Exception as exc:  # third-party code: any failure of it is reported, not raised
        warnings.warn(
            f"skipping agent entry point {ep.name!r} ({ep.value}): "
            f"{type(exc).__name__}: {exc}".splitlines()[0],
            RuntimeWarning,
            stacklevel=3,
        )


def describe_agent(name: str) -> str:
    """Several lines for `archgym agents`: summary, then each hyperparameter with its default,
    choices or range and its doc (one line per line of the doc)."""
    cls = get_agent(name)
    first = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
    lines = [f"{name:18s} {first}"]
    for key, hp in cls.hyperparams.items():
        lines.append(f"{'':20s}{key}: {hp.describe()}")
        lines += [f"{'':24s}{part.strip()}" for part in hp.doc.splitlines() if part.strip()]
    return "\n".join(lines)


def list_agents() -> list[str]:
    """Names of all registered agents (built-in and entry points)."""
    _load_all()
    return sorted(_REGISTRY)


def get_agent(name: str) -> type[Agent]:
    """The agent class registered as ``name``; unknown names get a did-you-mean error."""
    _load_all()
    if name not in _REGISTRY:
        raise unknown_name("agent", name, _REGISTRY)
    return _REGISTRY[name]


def make_agent(
    name: str, space: DesignSpace, *, seed: int | None = None, budget: int | None = None, **hp: Any
) -> Agent:
    """Instantiate the agent registered as ``name``."""
    return get_agent(name)(space, seed=seed, budget=budget, **hp)
