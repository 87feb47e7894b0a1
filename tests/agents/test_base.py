"""The agent registry: idempotent registration, entry points, `archgym agents` descriptions."""

import warnings
from importlib.metadata import EntryPoint

import archgym.agents.base as base
import pytest
from archgym.agents import Agent, HyperParam, register_agent
from archgym.agents.base import _REGISTRY, describe_agent


def _define(name):
    class Again(Agent):  # the same module and qualname every call: a re-run notebook cell
        hyperparams = {"x": HyperParam(1, low=0, high=3)}

        def ask(self):
            return self.space.sample(self.rng)

        def tell(self, design, result):
            pass

    return register_agent(name)(Again)


def test_registering_the_same_class_again_is_idempotent():
    try:
        first = _define("again_xyz")
        second = _define("again_xyz")  # a new class object of the same definition
        assert first is not second
        assert _REGISTRY["again_xyz"] is second  # the latest definition wins
    finally:
        _REGISTRY.pop("again_xyz", None)


def test_a_different_class_under_a_taken_name_is_refused():
    base.list_agents()  # the built-ins are registered lazily
    with pytest.raises(ValueError, match=r"already registered by .*RandomWalk"):

        @register_agent("random_walk")
        class Impostor(Agent):
            def ask(self):
                return {}

            def tell(self, design, result):
                pass


def test_a_broken_entry_point_is_one_warning_naming_it(monkeypatch):
    broken = EntryPoint("broken_xyz", "no_such_module_xyz:Agent", "archgym.agents")
    not_agent = EntryPoint("notagent_xyz", "math:pi", "archgym.agents")
    monkeypatch.setattr(base, "entry_points", lambda group: [broken, not_agent])
    monkeypatch.setattr(base, "_loaded", False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        names = base.list_agents()
    messages = [str(w.message) for w in caught]
    assert len(messages) == 2
    assert "broken_xyz" in messages[0] and "no_such_module_xyz" in messages[0]
    assert "notagent_xyz" in messages[1] and "not an archgym Agent" in messages[1]
    assert all("\n" not in m for m in messages)
    assert "random_walk" in names and "broken_xyz" not in names  # everything else works


def test_describe_lists_every_sampler_with_ranges():
    text = describe_agent("optuna")
    for sampler in ("tpe", "tpe-multivariate", "cmaes", "nsga2", "qmc", "gp", "random"):
        assert f"{sampler}: " in text
    assert "n_startup: default 10; [0, 100000]" in text
    assert "'cmaes'" in text  # the choices
