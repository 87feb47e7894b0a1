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
design.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, ClassVar

from archgym.agents.base import Agent, get_agent
from archgym.result import Result
from archgym.space import Categorical, DesignSpace, Integer, PowerOfTwo

__all__ = ["AgentContract", "run_loop", "toy_problem", "toy_space"]


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
