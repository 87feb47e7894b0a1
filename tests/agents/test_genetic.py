import math

from archgym.agents.genetic import Genetic

from archgym.result import Result
from archgym.space import DesignSpace, Integer, Real
from archgym.testing import AgentContract, run_loop, toy_problem, toy_space


class TestGeneticContract(AgentContract):
    agent_name = "genetic"
    hyperparams = {"population": 8}


class TestGeneticResampleContract(AgentContract):
    agent_name = "genetic"
    hyperparams = {"population": 6, "constraints": "resample", "elite": 0}


def test_elitism_keeps_the_best_design_in_the_population():
    agent = Genetic(toy_space(), seed=0, population=6, elite=1)
    best = -math.inf
    for _ in range(15):  # generations
        for _ in range(6):
            d = agent.ask()
            r = toy_problem(d)
            agent.tell(d, r)
            best = max(best, r.reward if r.feasible else -math.inf)
        assert max(rew for _, rew in agent.population) == best


def test_population_improves_over_generations():
    agent = Genetic(toy_space(), seed=1, population=10)
    run_loop(agent, toy_problem, 10)
    first = sorted(r for _, r in agent.population)[len(agent.population) // 2]
    run_loop(agent, toy_problem, 150)
    later = sorted(r for _, r in agent.population)[len(agent.population) // 2]
    assert later > first


def test_children_satisfy_constraints_with_repair():
    space = DesignSpace([Integer("a", 0, 50), Integer("b", 0, 50)], constraints=["a + b <= 20"])
    agent = Genetic(space, seed=0, population=8, mutation_rate=0.9, mutation_scale=1.0)
    for d, _ in run_loop(agent, lambda d: Result(d, {}, float(d["a"] * d["b"])), 80):
        assert d["a"] + d["b"] <= 20


def test_ask_batch_then_tell_batch():
    agent = Genetic(toy_space(), seed=0, population=8)
    for _ in range(4):
        designs = agent.ask_batch(8)
        agent.tell_batch(designs, [toy_problem(d) for d in designs])
    assert agent.generation == 4


def test_real_genes_mutate_within_bounds():
    space = DesignSpace([Real("x", 1e-3, 1.0, log=True), Real("y", -1.0, 1.0)])
    agent = Genetic(space, seed=0, population=6, mutation_rate=1.0, mutation_scale=1.0)
    for d, _ in run_loop(agent, lambda d: Result(d, {}, -abs(d["y"])), 60):
        space.validate(d)
