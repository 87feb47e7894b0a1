"""Agent overhead: ask + tell time per evaluation for every built-in agent, vs random walk.

The objective is a cheap synthetic function on the GEMM roofline env's design space (5 params,
5,280 valid designs), so the time measured is the agent's own. For scale, the table ends with
the time of one real evaluation of two envs, after the ``cosma_ilp`` agent's cost on the
scratchpad-size env (its first ask solves the min-peak ILP; later asks walk a list). Run::

    OMP_NUM_THREADS=1 python benchmarks/bench_agents.py [--evals 300] [--repeats 3]
        [--agents random_walk grid]   # a subset (random_walk, the reference, is always run)

Optuna's TPE and GP samplers cost time that grows with the number of trials; the ``at N``
column shows the cost per evaluation over the last tenth of the run.
"""

from __future__ import annotations

import argparse
import math
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
from archgym.agents import make_agent

import archgym  # noqa: F401 - registers the env ids
from archgym.result import Result

AGENTS = [
    ("random_walk", {}),
    ("local_walk", {}),
    ("grid", {}),
    ("genetic", {}),
    ("aco", {}),
    ("reinforce", {}),
    ("reinforce", {"memory": 0}),
    ("reinforce", {"algorithm": "ppo"}),
    ("optuna", {"sampler": "random"}),
    ("optuna", {"sampler": "qmc"}),
    ("optuna", {"sampler": "cmaes"}),
    ("optuna", {"sampler": "tpe"}),
    ("optuna", {"sampler": "tpe-multivariate"}),
    ("nsga2", {"n_objectives": 1}),
]


def synthetic(design: dict) -> Result:
    """A smooth objective with an interior optimum (microseconds to compute)."""
    cost = (
        (math.log2(design["rows"]) - 5) ** 2
        + (math.log2(design["cols"]) - 6) ** 2
        + (math.log2(design["buffer_kib"]) - 9) ** 2
        + abs(design["clock_mhz"] - 1000) / 200
        + abs(math.log2(design["dram_gbps"] / 102.4))
    )
    return Result(design, {"cost": cost}, -cost)


def time_agent(name: str, hp: dict, space, evals: int, seed: int) -> tuple[float, float]:
    """Mean and final-tenth ask+tell seconds per evaluation."""
    agent = make_agent(name, space, seed=seed, budget=evals, **hp)
    per = np.zeros(evals)
    for i in range(evals):
        t0 = time.perf_counter()
        design = agent.ask()
        t1 = time.perf_counter()
        result = synthetic(design)
        t2 = time.perf_counter()
        agent.tell(design, result)
        per[i] = (t1 - t0) + (time.perf_counter() - t2)
    return float(per.mean()), float(per[-max(1, evals // 10) :].mean())


def ilp_overhead(repeats: int) -> tuple[float, float]:
    """``cosma_ilp`` on the scratchpad-size space: first ask (the min-peak ILP) and later asks."""
    from archgym.agents.ilp import CosmaILP

    from archgym.envs.scratchpad import ScratchpadSizeEnv

    env = ScratchpadSizeEnv("densenet-block-graph", method="belady")
    first, rest = [], []
    for seed in range(repeats):
        agent = CosmaILP(env.space, seed=seed)
        per = []
        while not agent.finished:
            t0 = time.perf_counter()
            design = agent.ask()
            t1 = time.perf_counter()
            result = env.evaluate(design)
            t2 = time.perf_counter()
            agent.tell(design, result)
            per.append((t1 - t0) + (time.perf_counter() - t2))
        first.append(per[0])
        rest.append(float(np.mean(per[1:])))
    return float(np.median(first)), float(np.median(rest))


def env_eval_s(env_id: str, kwargs: dict, n: int = 100) -> float:
    import gymnasium

    env = gymnasium.make(env_id, **kwargs).unwrapped
    rng = np.random.default_rng(0)
    designs = [env.space.sample(rng) for _ in range(n)]
    t0 = time.perf_counter()
    for d in designs:
        env.evaluate(d)
    return (time.perf_counter() - t0) / n


def main() -> None:
    parser = argparse.ArgumentParser(description="agent ask+tell overhead per evaluation")
    parser.add_argument("--evals", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--agents", nargs="+", help="only these agent names (and random_walk)")
    args = parser.parse_args()
    known = {name for name, _ in AGENTS}
    unknown = sorted(set(args.agents or []) - known)
    if unknown:
        parser.error(f"unknown agents {unknown}; choose from {sorted(known)}")
    chosen = [(n, hp) for n, hp in AGENTS if not args.agents or n in {"random_walk", *args.agents}]
    import gymnasium

    space = gymnasium.make("archgym/GemmRoofline-v0").unwrapped.space
    rows = []
    for name, hp in chosen:
        runs = [time_agent(name, hp, space, args.evals, s) for s in range(args.repeats)]
        mean = float(np.median([r[0] for r in runs]))
        last = float(np.median([r[1] for r in runs]))
        label = name + ("" if not hp else " " + ",".join(f"{k}={v}" for k, v in hp.items()))
        rows.append((label, mean, last))
    base = rows[0][1]
    print(f"ask+tell per evaluation, {args.evals} evaluations, median of {args.repeats} seeds")
    print(f"{'agent':<40} {'mean us':>10} {'at N us':>10} {'x random':>9}")
    for label, mean, last in rows:
        print(f"{label:<40} {mean * 1e6:>10.1f} {last * 1e6:>10.1f} {mean / base:>9.1f}")
    first, rest = ilp_overhead(args.repeats)
    print(
        f"cosma_ilp on archgym/ScratchpadSize-v0 (densenet-block-graph): first ask (min-peak ILP) "
        f"{first * 1e3:.1f} ms, then {rest * 1e6:.1f} us per evaluation ({rest / base:.1f} x)"
    )
    print()
    for env_id, kw in [
        ("archgym/GemmRoofline-v0", {"workload": "bert-base"}),
        ("archgym/SystolicArray-v0", {"workload": "resnet50"}),
    ]:
        try:
            s = env_eval_s(env_id, kw)
        except gymnasium.error.Error as exc:  # not registered in this checkout
            print(f"{env_id}: {exc}")
            continue
        print(f"one evaluation of {env_id} {kw}: {s * 1e6:.1f} us ({s / base:.1f} x random walk)")


if __name__ == "__main__":
    main()
