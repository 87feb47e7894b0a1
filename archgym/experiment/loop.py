"""One run's loop: ask a batch, evaluate it, tell the agent, write the records.

A run resumes where its records end: the recorded results are replayed into a fresh agent with
the same batch structure (the agent must ask the recorded designs again, which is checked), then
the loop continues. A run may grow: a larger budget continues it from its last record; the agent
is built with the budget the run started with, and batches are cut at every budget the run was
given, so a grown run is the same whichever way it was stopped and resumed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from archgym.errors import UserError
from archgym.experiment.asking import ask_designs
from archgym.experiment.config import RunSpec
from archgym.experiment.store import is_finished, parts_digest, read_status, write_status

__all__ = ["EvaluateMany", "evaluate_here", "execute_run"]

#: ``(env, designs) -> results``: how a batch is evaluated (in this process, or on a cluster).
EvaluateMany = Callable[[Any, list[dict[str, Any]]], list[Any]]


def evaluate_here(env: Any, designs: list[dict[str, Any]]) -> list[Any]:
    """Evaluate a batch in this process: ``env.evaluate_batch`` when the env has it."""
    if not designs:
        return []
    batch = getattr(env, "evaluate_batch", None)
    if batch is not None:
        return list(batch(designs))
    if getattr(env, "proxy", None) is not None:
        from archgym.proxy import evaluate_batch  # one batched prediction on proxy envs

        return evaluate_batch(env, designs)
    return [env.evaluate(d) for d in designs]


def _batch_size(step: int, batch: int, budgets: Sequence[int]) -> int:
    """Designs to ask at ``step``: ``batch``, cut at the next budget the run was given."""
    limit = next((b for b in sorted(budgets) if b > step), max(budgets))
    return max(0, min(batch, limit - step))


def _make_agent(run: RunSpec, env: Any, agent_budget: int) -> Any:
    from archgym.agents.base import get_agent, make_agent

    hyperparams = dict(run.hyperparams)
    cls = get_agent(run.agent)
    if cls.multi_objective and "n_objectives" in cls.hyperparams:
        # Pareto agents search the env's objective vector unless told otherwise.
        hyperparams.setdefault("n_objectives", env.objective.n_objectives)
    if "study_name" in cls.hyperparams and not hyperparams.get("study_name"):
        # Stateful samplers (Optuna studies in a storage): one study per experiment and env,
        # never shared between envs whose spaces happen to match.
        hyperparams["study_name"] = f"{run.experiment}-{run.env.label}-{run.env.id}"
    return make_agent(run.agent, env.space, seed=run.seed, budget=agent_budget, **hyperparams)


def _recorded(run_dir: Path, space: Any) -> list[Any]:
    from archgym.dataset import read_run, result_of_row

    df = read_run(run_dir)
    return [result_of_row(row, space) for row in df.to_dict("records")] if len(df) else []


def execute_run(
    run: RunSpec,
    dataset_dir: str | os.PathLike[str],
    *,
    flush_every: int = 50,
    progress: Callable[[int], None] | None = None,
    evaluate_many: EvaluateMany | None = None,
) -> int:
    """Run, resume or grow one run, appending its records under ``dataset_dir/run_id``.

    ``evaluate_many(env, designs) -> results`` evaluates a batch (default :func:`evaluate_here`;
    a cluster backend maps it onto workers). Records are written by this process only, so a lost
    evaluation worker loses no record. Returns the number of new evaluations made (0 for a run
    that was already finished, which is skipped without reading its records).
    """
    import archgym
    from archgym.dataset import RunWriter, schema_for

    run_dir = Path(dataset_dir) / run.run_id
    identity = run.identity()
    if is_finished(run_dir, identity, run.budget):
        return 0
    env = archgym.make(run.env.id, **run.env.kwargs)
    env.reset(seed=run.seed)
    status = read_status(run_dir) or {}
    budgets = sorted({*status.get("budgets", []), run.budget})
    agent_budget = int(status.get("agent_budget", run.budget))
    agent = _make_agent(run, env, agent_budget)
    recorded = _recorded(run_dir, env.space)
    status = {"identity": identity, "agent_budget": agent_budget, "budgets": budgets}
    write_status(run_dir, {**status, "finished": False})
    constants = {
        "experiment": run.experiment,
        "run_id": run.run_id,
        "env_id": run.env.id,
        "env_kwargs": run.env_kwargs_json,
        "agent": run.agent,
        "agent_params": json.dumps(run.hyperparams, sort_keys=True),
        "seed": run.seed,
        "archgym_version": archgym.__version__,
    }
    schema = schema_for(env.space, env.metric_names)
    writer = RunWriter(run_dir, schema, constants, flush_every=flush_every)
    evaluate = evaluate_many or evaluate_here
    step, new, agent_finished = 0, 0, False
    try:
        while step < run.budget:
            if agent.finished:
                agent_finished = True
                break
            designs = ask_designs(agent, _batch_size(step, run.batch, budgets))
            if not designs:
                agent_finished = True
                break
            old = recorded[step : step + len(designs)]
            _check_replay(run, step, designs, old)
            fresh = evaluate(env, designs[len(old) :]) if len(old) < len(designs) else []
            agent.tell_batch(designs, [*old, *fresh])
            writer.add_batch(step + len(old), fresh)
            step += len(designs)
            new += len(fresh)
            if progress is not None and fresh:
                progress(len(fresh))
    finally:
        writer.flush()
    records = max(step, len(recorded))
    write_status(
        run_dir,
        {
            **status,
            "finished": True,
            "agent_finished": agent_finished,
            "records": records,
            "digest": parts_digest(run_dir),
        },
    )
    return new


def _check_replay(run: RunSpec, step: int, designs: list[Any], old: list[Any]) -> None:
    for i, (asked, rec) in enumerate(zip(designs, old, strict=False)):
        if asked != rec.design:
            raise UserError(
                f"cannot resume run {run.run_id}: at step {step + i} agent {run.agent!r} asked "
                f"{asked} but the dataset holds {rec.design}; the agent is not deterministic"
            )
