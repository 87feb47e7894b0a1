import importlib.util
import math

import pytest
from archgym.agents.bayes import SAMPLERS, OptunaAgent, OptunaNSGA2
from optuna.trial import TrialState

from archgym.result import Result
from archgym.space import DesignSpace, Integer, PowerOfTwo, Real
from archgym.testing import AgentContract, run_loop, toy_problem, toy_space

HAS_TORCH = importlib.util.find_spec("torch") is not None


class TestOptunaTPEContract(AgentContract):
    agent_name = "optuna"
    budget = 40


class TestOptunaCmaesContract(AgentContract):
    agent_name = "optuna"
    hyperparams = {"sampler": "cmaes"}
    budget = 40


class TestNSGA2Contract(AgentContract):
    agent_name = "nsga2"
    hyperparams = {"n_objectives": 1, "population": 10}
    budget = 40


@pytest.mark.parametrize("sampler", [s for s in SAMPLERS if s != "gp"])
def test_every_sampler_runs_and_is_seeded(sampler):
    a = run_loop(OptunaAgent(toy_space(), seed=5, sampler=sampler), toy_problem, 25)
    b = run_loop(OptunaAgent(toy_space(), seed=5, sampler=sampler), toy_problem, 25)
    assert [d for d, _ in a] == [d for d, _ in b]


@pytest.mark.skipif(not HAS_TORCH, reason="GPSampler needs torch")
def test_gp_sampler_with_torch():
    run_loop(OptunaAgent(toy_space(), seed=0, sampler="gp", n_startup=5), toy_problem, 12)


@pytest.mark.skipif(HAS_TORCH, reason="checks the message shown without torch")
def test_gp_sampler_without_torch_says_what_to_install():
    with pytest.raises(ValueError, match="torch"):
        OptunaAgent(toy_space(), sampler="gp")


def test_infeasible_results_become_failed_trials():
    agent = OptunaAgent(toy_space(), seed=0)
    infeasible = lambda d: Result(d, {}, -math.inf, feasible=False, error="no")  # noqa: E731
    run_loop(agent, infeasible, 10)
    states = {t.state for t in agent.study.trials}
    assert states == {TrialState.FAIL}


def test_constraint_violations_are_never_asked():
    space = DesignSpace(
        [PowerOfTwo("rows", 1, 1024), PowerOfTwo("cols", 1, 1024)],
        constraints=["rows * cols <= 64"],
    )
    agent = OptunaAgent(space, seed=0, sampler="qmc")
    for d, _ in run_loop(agent, lambda d: Result(d, {}, float(d["rows"] * d["cols"])), 40):
        assert d["rows"] * d["cols"] <= 64
    # Optuna saw exponents: the best trial's params are log2 of the design.
    best = max(
        (t for t in agent.study.trials if t.state == TrialState.COMPLETE), key=lambda t: t.value
    )
    assert 2 ** best.params["log2(rows)"] * 2 ** best.params["log2(cols)"] == best.value
    # ... and the user attributes hold the design as users read it.
    assert best.user_attrs["rows"] * best.user_attrs["cols"] == best.value


def test_repeated_proposals_are_not_evaluated_twice():
    space = DesignSpace([Integer("a", 0, 3), Integer("b", 0, 3)])  # 16 designs
    agent = OptunaAgent(space, seed=0)
    history = run_loop(agent, lambda d: Result(d, {}, -float(d["a"] + d["b"])), 16)
    keys = [tuple(d.values()) for d, _ in history]
    assert len(set(keys)) == len(keys)


def test_tpe_beats_its_random_start_on_a_smooth_problem():
    space = DesignSpace([Real("x", -5.0, 5.0), Real("y", -5.0, 5.0)])
    bowl = lambda d: Result(d, {}, -((d["x"] - 1) ** 2) - (d["y"] + 2) ** 2)  # noqa: E731
    rewards = [r.reward for _, r in run_loop(OptunaAgent(space, seed=0, n_startup=10), bowl, 60)]
    assert max(rewards[10:]) > max(rewards[:10])
    assert max(rewards) > -0.5


def test_nsga2_tells_the_value_vector():
    space = DesignSpace([Real("x", 0.0, 1.0)])
    pareto = lambda d: Result(d, {}, 0.0, values=(d["x"], 1 - d["x"] ** 2))  # noqa: E731
    agent = OptunaNSGA2(space, seed=0, population=8)
    assert agent.multi_objective
    run_loop(agent, pareto, 24)
    assert all(len(t.values) == 2 for t in agent.study.trials if t.state == TrialState.COMPLETE)


def test_wrong_number_of_values_is_a_clear_error():
    agent = OptunaNSGA2(toy_space(), seed=0)
    with pytest.raises(ValueError, match="n_objectives"):
        run_loop(agent, toy_problem, 2)


def test_journal_storage_resumes_from_a_checkpoint(tmp_path):
    # Reference: 12 evaluations in one go.
    ref = OptunaAgent(toy_space(), seed=0, storage=f"journal:{tmp_path / 'ref.log'}")
    expected = [d for d, _ in run_loop(ref, toy_problem, 12)]
    # Same, interrupted after 8 and restored from a checkpoint into a new agent.
    storage = f"journal:{tmp_path / 'study.log'}"
    a = OptunaAgent(toy_space(), seed=0, storage=storage, study_name="s")
    first = [d for d, _ in run_loop(a, toy_problem, 8)]
    state = a.state_dict()
    assert state["study"] is None  # a stored study is restored from its trials, not copied
    del a
    b = OptunaAgent(toy_space(), seed=0, storage=storage, study_name="s")
    b.load_state_dict(state)
    assert len(b.study.trials) >= 8
    assert first + [d for d, _ in run_loop(b, toy_problem, 4)] == expected


@pytest.mark.parametrize("store", ["journal", "sqlite"])
def test_replayed_run_rebuilds_its_study(tmp_path, store):
    """The runner's resume: a fresh agent told the recorded results asks the same designs, and
    the study holds the run once (not twice), with every storage."""
    storage = (
        f"journal:{tmp_path / 'j.log'}" if store == "journal" else f"sqlite:///{tmp_path}/s.db"
    )
    a = OptunaAgent(toy_space(), seed=3, storage=storage)
    history = run_loop(a, toy_problem, 15)
    n_trials = len(a.study.trials)
    b = OptunaAgent(toy_space(), seed=3, storage=storage)
    assert b.study_name == a.study_name
    for design, result in history[:10]:
        assert b.ask() == design
        b.tell(design, result)
    assert [d for d, _ in run_loop(b, toy_problem, 5)] == [d for d, _ in history[10:]]
    assert len(b.study.trials) == n_trials


def test_study_names_separate_runs():
    names = {
        OptunaAgent(toy_space(), seed=0).study_name,
        OptunaAgent(toy_space(), seed=1).study_name,
        OptunaAgent(toy_space(), seed=0, n_startup=5).study_name,
        OptunaAgent(toy_space(constrained=False), seed=0).study_name,
        OptunaAgent(toy_space(), seed=0, budget=50).study_name,
    }
    assert len(names) == 5
    assert OptunaAgent(toy_space(), seed=0, study_name="exp1").study_name.startswith("exp1-")


def test_trials_carry_metrics_and_design_as_user_attributes():
    agent = OptunaAgent(toy_space(), seed=0)
    run_loop(agent, toy_problem, 12)
    done = [t for t in agent.study.trials if t.state == TrialState.COMPLETE]
    assert done
    for t in done:
        assert t.value == pytest.approx(-t.user_attrs["m.cost"])
        assert t.user_attrs["rows"] == 2 ** t.params["log2(rows)"]
        assert t.user_attrs["feasible"] is True


def test_missing_sampler_package_is_refused_when_parsed(monkeypatch):
    import archgym.agents.bayes as bayes

    monkeypatch.setitem(bayes._NEEDS, "cmaes", ("no_such_module_xyz", "pip install cmaes"))
    with pytest.raises(ValueError, match=r"sampler 'cmaes' needs .* pip install cmaes"):
        OptunaAgent.resolve_hyperparams({"sampler": "cmaes"})


def test_default_is_multivariate_tpe():
    agent = OptunaAgent(toy_space(), seed=0)
    assert agent.params["sampler"] == "tpe-multivariate"
    assert agent.study.sampler._multivariate


def test_storage_must_be_a_string():
    with pytest.raises(ValueError, match="storage"):
        OptunaAgent(toy_space(), storage=3)


def test_nsga2_population_follows_the_budget():
    assert OptunaNSGA2(toy_space(), seed=0, budget=200)._population() == 10
    assert OptunaNSGA2(toy_space(), seed=0, budget=600)._population() == 30
    assert OptunaNSGA2(toy_space(), seed=0, budget=10**6)._population() == 50
    assert OptunaNSGA2(toy_space(), seed=0, budget=200, population=7)._population() == 7
    assert OptunaNSGA2(toy_space(), seed=0, budget=200).study.sampler._population_size == 10
