"""Bring your own model: size a systolic array for a Hugging Face config and a scratchpad for an
ONNX CNN, each searched by an agent and compared with random search on the same budget.

Run from the repository root:

    OMP_NUM_THREADS=1 python experiments/byom/search.py --budget 200

Defaults: Llama-3-8B (``tests/data/models/llama3-8b.json``) decoding 8 sequences against a
4096-token KV cache on ``archgym/SystolicArray-v0``, and the SqueezeNet the ``onnx`` package
ships (``onnx/backend/test/data/light``) on ``archgym/ScratchpadSize-v0`` (Belady eviction).
Both models are passed as ``workload=`` / ``graph=`` paths: no code per model. Prints one row
per (task, agent) with the best reward and its design, and
writes them to ``--out`` as JSON. Rewards are the envs' default objectives (higher is better:
minus energy x delay in pJ*s for the array, minus energy in pJ for the scratchpad).
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG = ROOT / "tests" / "data" / "models" / "llama3-8b.json"


def default_onnx() -> Path:
    """The SqueezeNet ONNX graph the onnx package ships as test data."""
    import onnx

    return Path(onnx.__file__).parent / "backend/test/data/light/light_squeezenet.onnx"


def search(env: Any, agent_name: str, budget: int, seed: int) -> dict[str, Any]:
    """Run one agent on one env for ``budget`` evaluations; the best feasible result."""
    from archgym.agents import make_agent

    agent = make_agent(agent_name, env.space, seed=seed, budget=budget)
    best: dict[str, Any] = {"reward": -math.inf, "design": None, "metrics": None}
    for _ in range(budget):
        if agent.finished:
            break
        design = agent.ask()
        result = env.evaluate(design)
        agent.tell(design, result)
        if result.feasible and result.reward > best["reward"]:
            best = {"reward": result.reward, "design": result.design, "metrics": result.metrics}
    return best


def tasks(args: argparse.Namespace) -> dict[str, Any]:
    """The two envs, built from the model files."""
    import archgym

    options = f"phase={args.phase}&batch={args.batch}&context={args.context}"
    if args.tokens:
        options += f"&tokens={args.tokens}"
    onnx_path = Path(args.onnx) if args.onnx else default_onnx()
    return {
        f"systolic: {Path(args.config).name}": archgym.make(
            "archgym/SystolicArray-v0", workload=f"{args.config}?{options}"
        ),
        f"scratchpad: {onnx_path.name}": archgym.make(
            "archgym/ScratchpadSize-v0",
            graph=str(onnx_path),
            method=args.method,
            low_kib=args.low_kib,
            high_kib=args.high_kib,
            step_kib=args.step_kib,
        ),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(DEFAULT_CONFIG), help="Hugging Face config.json")
    parser.add_argument("--phase", default="decode", choices=("prefill", "decode"))
    parser.add_argument("--tokens", type=int, help="tokens per sequence (default: per phase)")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--context", type=int, default=4096)
    parser.add_argument("--onnx", help="ONNX CNN (default: the onnx package's SqueezeNet)")
    parser.add_argument("--method", default="belady", choices=("ilp", "belady", "greedy"))
    parser.add_argument("--low-kib", type=int, default=256)
    parser.add_argument("--high-kib", type=int, default=4096)
    parser.add_argument("--step-kib", type=int, default=64)
    parser.add_argument("--agent", default="genetic")
    parser.add_argument("--budget", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="experiments/byom/results/search.json")
    args = parser.parse_args(argv)
    rows = []
    print(f"{'task':36s} {'agent':12s} {'best reward':>12s}  best design")
    for task, env in tasks(args).items():
        for agent in dict.fromkeys([args.agent, "random_walk"]):  # random: the trivial baseline
            best = search(env, agent, args.budget, args.seed)
            rows.append({"task": task, "agent": agent, "objective": str(env.objective), **best})
            print(f"{task:36s} {agent:12s} {best['reward']:12.5g}  {best['design']}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rows, indent=1, default=str) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
