from archgym.agents.random_walk import RandomWalk

from archgym.testing import AgentContract, run_loop, toy_problem, toy_space


class TestRandomWalkContract(AgentContract):
    agent_name = "random_walk"


def test_dedupe_avoids_repeats_while_space_has_unseen_designs():
    agent = RandomWalk(toy_space(), seed=0, dedupe=True)
    designs = [tuple(d.values()) for d, _ in run_loop(agent, toy_problem, 50)]
    assert len(set(designs)) == len(designs)
