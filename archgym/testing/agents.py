"""Contract tests that every agent, built-in or third-party, should pass.

Subclass :class:`AgentContract` in a pytest module and set ``agent_name`` (a registered name) or
``agent_cls``, plus ``hyperparams`` if the defaults are not what you want to test::

    from archgym.testing import AgentContract

    class TestMyAgent(AgentContract):
        agent_cls = MyAgent
        hyperparams = {"population": 8}

The suite checks that asked designs are valid, that the same seed and results give the same
designs, that a budget-long loop runs, that infeasible results are accepted, that spaces with a
single value per parameter and constrained spaces work, and that the agent explores more than one
design. Like Optuna's sampler tests, the kind-specific checks are parametrised over one space per
parameter kind (:data:`SPACE_KINDS`: int, log-int, stepped int, power of two, categorical, real,
log-real, mixed, constrained), plus batch parity (``ask_batch``/``tell_batch``) and the budget.
An agent that cannot search a kind lists it in ``unsupported_kinds``; it must then refuse such
a space with a ``ValueError`` when built, not fail mid-run.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import pytest

from archgym.agents.base import Agent, get_agent
from archgym.result import Result
from archgym.space import Categorical, DesignSpace, Integer, PowerOfTwo, Real

__all__ = ["SPACE_KINDS", "AgentContract", "kind_problem", "run_loop", "toy_problem", "toy_space"]

# One space per parameter kind, with a known optimum for kind_problem (the "target" values).
_KIND_PARAMS: dict[str, list[tuple[Any, Any]]] = {
    "int": [(Integer("n", -5, 20), 7), (Integer("m", 0, 9), 2)],
    "log": [(Integer("size", 1, 4096, log=True), 300), (Integer("k", 1, 64, log=True), 4)],
    "step": [(Integer("depth", 0, 100, step=10), 30), (Integer("w", 2, 32, step=6), 14)],
    "pow2": [(PowerOfTwo("rows", 4, 1024), 64), (PowerOfTwo("cols", 1, 32), 8)],
    "categorical": [(Categorical("flow", ["os", "ws", "is", 4, True]), "ws")],
    "real": [(Real("x", -1.0, 1.0), 0.25), (Real("y", 0.0, 10.0), 3.0)],
    "log_real": [(Real("lr", 1e-5, 1.0, log=True), 1e-3)],
    "mixed": [
        (Integer("n", 0, 15), 11),
        (Real("x", -1.0, 1.0), -0.5),
        (Categorical("c", ["a", "b", "c"]), "c"),
        (PowerOfTwo("p", 1, 64), 16),
    ],
}
SPACE_KINDS: tuple[str, ...] = (*_KIND_PARAMS, "constrained")


def kind_space(kind: str) -> DesignSpace:
    """The test space of one of :data:`SPACE_KINDS`."""
    if kind == "constrained":
        return toy_space()
    return DesignSpace([p for p, _ in _KIND_PARAMS[kind]])


def kind_problem(kind: str) -> Callable[[dict[str, Any]], Result]:
    """An objective on :func:`kind_space` with its optimum at the kind's target values."""
    if kind == "constrained":
        return toy_problem
    space = kind_space(kind)
    targets = dict((p.name, t) for p, t in _KIND_PARAMS[kind])

    def problem(design: dict[str, Any]) -> Result:
        cost = 0.0
        for p in space.params:
            v, t = design[p.name], targets[p.name]
            if isinstance(p, Categorical):
                cost += 0.0 if v == t else 1.0
            elif isinstance(p, PowerOfTwo) or getattr(p, "log", False):
                cost += (math.log(v) - math.log(t)) ** 2
            else:
                cost += ((v - t) / (p.high - p.low)) ** 2
        return Result(design=design, metrics={"cost": cost}, reward=-cost, values=(-cost,))

    return problem


def _check_kind(space: DesignSpace, design: dict[str, Any]) -> None:
    """Valid in ``space`` and of the parameter's Python type (no numpy scalars, no floats
    where integers are declared)."""
    space.validate(design)
    assert list(design) == list(space.names), f"keys {list(design)} != {space.names}"
    for p in space.params:
        v = design[p.name]
        assert not isinstance(v, np.generic), f"{p.name}={v!r} is a numpy scalar"
        if isinstance(p, (Integer, PowerOfTwo)):
            assert isinstance(v, int) and not isinstance(v, bool), f"{p.name}={v!r} not an int"
        if isinstance(p, Real):
            assert isinstance(v, float), f"{p.name}={v!r} is not a float"


def toy_space(*, constrained: bool = True) -> DesignSpace:
    """A small mixed space (7 x 9 x 3 x 5 = 945 boxes) with one constraint."""
    return DesignSpace(
        [
            PowerOfTwo("rows", 4, 256),
            Integer("banks", 1, 9),
            Categorical("dataflow", ["os", "ws", "is"]),
            Integer("depth", 0, 40, step=10),
        ],
        constraints=["rows * banks <= 1024"] if constrained else [],
    )


def toy_problem(design: dict[str, Any]) -> Result:
    """A known objective on :func:`toy_space`: optimum at rows=64, banks=5, ws, depth=20.

    Designs with ``depth == 0 and dataflow == "is"`` are infeasible, to exercise that path.
    """
    if design["depth"] == 0 and design["dataflow"] == "is":
        return Result(
            design=design, metrics={}, reward=-math.inf, feasible=False, error="toy infeasible"
        )
    cost = (
        (math.log2(design["rows"]) - 6) ** 2
        + (design["banks"] - 5) ** 2
        + {"os": 1.0, "ws": 0.0, "is": 2.0}[design["dataflow"]]
        + ((design["depth"] - 20) / 10) ** 2
    )
    return Result(design=design, metrics={"cost": cost}, reward=-cost, values=(-cost,))


def run_loop(
    agent: Agent, problem: Callable[[dict[str, Any]], Result], budget: int
) -> list[tuple[dict[str, Any], Result]]:
    """Drive ``agent`` for ``budget`` evaluations (or until it is finished)."""
    history = []
    for _ in range(budget):
        if agent.finished:
            break
        design = agent.ask()
        result = problem(design)
        agent.tell(design, result)
        history.append((design, result))
    return history


class AgentContract:
    """Pytest mix-in with the agent contract; see the module docstring."""

    agent_name: ClassVar[str | None] = None
    agent_cls: ClassVar[type[Agent] | None] = None
    hyperparams: ClassVar[dict[str, Any]] = {}
    budget: ClassVar[int] = 60
    #: Kinds of :data:`SPACE_KINDS` the agent refuses (with a ValueError when built).
    unsupported_kinds: ClassVar[frozenset[str]] = frozenset()
    #: Batch size of the batch-parity checks.
    batch: ClassVar[int] = 6

    def make(self, space: DesignSpace, seed: int | None = 0, **extra: Any) -> Agent:
        cls = self.agent_cls or get_agent(str(self.agent_name))
        return cls(space, seed=seed, budget=self.budget, **{**self.hyperparams, **extra})

    def test_asks_valid_designs(self) -> None:
        space = toy_space()
        agent = self.make(space)
        for design, _ in run_loop(agent, toy_problem, self.budget):
            space.validate(design)

    def test_same_seed_same_designs(self) -> None:
        a = [d for d, _ in run_loop(self.make(toy_space(), seed=7), toy_problem, self.budget)]
        b = [d for d, _ in run_loop(self.make(toy_space(), seed=7), toy_problem, self.budget)]
        assert a == b

    def test_accepts_infeasible_results(self) -> None:
        def all_infeasible(design: dict[str, Any]) -> Result:
            return Result(design=design, metrics={}, reward=-math.inf, feasible=False, error="nope")

        history = run_loop(self.make(toy_space()), all_infeasible, 20)
        assert len(history) >= 1

    def test_single_value_space(self) -> None:
        space = DesignSpace([Integer("a", 3, 3), Categorical("b", ["only"])])
        history = run_loop(self.make(space), lambda d: Result(d, {"x": 1.0}, -1.0), 10)
        assert history
        assert all(d == {"a": 3, "b": "only"} for d, _ in history)

    def test_unconstrained_space(self) -> None:
        space = toy_space(constrained=False)
        for design, _ in run_loop(self.make(space), toy_problem, 20):
            space.validate(design)

    def test_rejects_unknown_hyperparameter(self) -> None:
        import pytest

        with pytest.raises(ValueError, match=r"did you mean|valid"):
            self.make(toy_space(), no_such_hyperparameter_xyz=1)

    def test_explores_more_than_one_design(self) -> None:
        history = run_loop(self.make(toy_space(), seed=3), toy_problem, self.budget)
        distinct = {tuple(d.values()) for d, _ in history}
        assert len(distinct) > 1, "the agent asked the same design for the whole budget"

    def test_state_dict_round_trip(self) -> None:
        agent = self.make(toy_space(), seed=11)
        run_loop(agent, toy_problem, 10)
        state = agent.state_dict()
        twin = self.make(toy_space(), seed=11)
        twin.load_state_dict(state)
        a = run_loop(agent, toy_problem, 10)
        b = run_loop(twin, toy_problem, 10)
        assert [d for d, _ in a] == [d for d, _ in b]

    # -- parametrised over space kinds (as Optuna's sampler tests are) -------------------------
    def _make_kind(self, kind: str, seed: int | None = 0, **extra: Any) -> Agent | None:
        space = kind_space(kind)
        if kind in self.unsupported_kinds:
            with pytest.raises(ValueError):
                self.make(space, seed=seed, **extra)
            return None
        return self.make(space, seed=seed, **extra)

    @pytest.mark.parametrize("kind", SPACE_KINDS)
    def test_kind_designs_are_valid_and_typed(self, kind: str) -> None:
        agent = self._make_kind(kind)
        if agent is None:
            return
        history = run_loop(agent, kind_problem(kind), self.budget)
        assert history
        for design, _ in history:
            _check_kind(agent.space, design)
        assert len({repr(d) for d, _ in history}) > 1, "asked one design for the whole budget"

    @pytest.mark.parametrize("kind", SPACE_KINDS)
    def test_kind_same_seed_same_designs(self, kind: str) -> None:
        runs = []
        for _ in range(2):
            agent = self._make_kind(kind, seed=5)
            if agent is None:
                return
            runs.append([d for d, _ in run_loop(agent, kind_problem(kind), 30)])
        assert runs[0] == runs[1]

    @pytest.mark.parametrize("kind", SPACE_KINDS)
    def test_kind_batch_ask_tell(self, kind: str) -> None:
        """``ask_batch``/``tell_batch``: valid, typed, the size asked, deterministic."""
        problem = kind_problem(kind)
        runs = []
        for _ in range(2):
            agent = self._make_kind(kind, seed=9)
            if agent is None:
                return
            asked: list[dict[str, Any]] = []
            for _ in range(4):
                if agent.finished:
                    break
                designs = agent.ask_batch(self.batch)
                assert 1 <= len(designs) <= self.batch
                for d in designs:
                    _check_kind(agent.space, d)
                agent.tell_batch(designs, [problem(d) for d in designs])
                asked += designs
            runs.append(asked)
        assert runs[0] == runs[1]

    def test_batch_of_one_matches_ask_tell(self) -> None:
        """Batch parity: ``ask_batch(1)``/``tell_batch`` drive the agent as ``ask``/``tell`` do."""
        space = toy_space()
        one = self.make(space, seed=4)
        seq = [d for d, _ in run_loop(self.make(space, seed=4), toy_problem, 30)]
        batched = []
        for _ in range(30):
            if one.finished:
                break
            designs = one.ask_batch(1)
            one.tell_batch(designs, [toy_problem(d) for d in designs])
            batched += designs
        assert batched == seq

    def test_batch_results_in_order(self) -> None:
        """``tell_batch`` with a batch's results in order; mixed infeasible results accepted."""
        space = toy_space()
        agent = self.make(space, seed=2)
        for _ in range(3):
            designs = agent.ask_batch(self.batch)
            results = [
                toy_problem(d)
                if i % 2
                else Result(design=d, metrics={}, reward=-math.inf, feasible=False, error="x")
                for i, d in enumerate(designs)
            ]
            agent.tell_batch(designs, results)
        with pytest.raises(ValueError):
            designs = agent.ask_batch(2)
            agent.tell_batch(designs, [toy_problem(designs[0])])  # one result short

    @pytest.mark.parametrize("budget", [1, 12])
    def test_budget(self, budget: int) -> None:
        """A run of exactly ``budget`` evaluations works on a space of 12 designs."""
        space = DesignSpace([Integer("a", 0, 3), Categorical("b", ["x", "y", "z"])])
        cls = self.agent_cls or get_agent(str(self.agent_name))
        agent = cls(space, seed=0, budget=budget, **self.hyperparams)
        problem = lambda d: Result(d, {"c": float(d["a"])}, -float(d["a"]))  # noqa: E731
        history = run_loop(agent, problem, budget)
        assert 1 <= len(history) <= budget
        for d, _ in history:
            space.validate(d)
