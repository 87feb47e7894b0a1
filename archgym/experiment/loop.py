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

__all__ = [
    "EvaluateMany",
    "RunLoop",
    "evaluate_here",
    "execute_run",
    "finish_run",
    "make_run_env",
    "results_of_frame",
    "run_constants",
    "run_status",
]

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
    from archgym.dataset import read_run

    return results_of_frame(read_run(run_dir), space)


def results_of_frame(df: Any, space: Any) -> list[Any]:
    """The :class:`~archgym.result.Result` of every row of a run's records (to replay them)."""
    from archgym.dataset import result_of_row

    return [result_of_row(row, space) for row in df.to_dict("records")] if len(df) else []


class RunLoop:
    """One run's agent and env, stepped a batch at a time (in the driver or on a worker).

    Args:
        run: The run.
        env: Its env (made and reset with the run's seed).
        budgets: Every budget the run was given (batches are cut at each).
        agent_budget: The budget the agent is built with (the run's first).
        recorded: Results already in the dataset, replayed into the agent before new ones.
    """

    def __init__(
        self,
        run: RunSpec,
        env: Any,
        budgets: Sequence[int],
        agent_budget: int,
        recorded: Sequence[Any] = (),
    ) -> None:
        self.run, self.env, self.budgets = run, env, list(budgets)
        self.agent = _make_agent(run, env, agent_budget)
        self.recorded = list(recorded)
        self.step = 0
        self.agent_finished = False

    @property
    def records(self) -> int:
        """Records the run holds: those replayed or made, and those recorded before."""
        return max(self.step, len(self.recorded))

    def next_batch(self, evaluate: EvaluateMany) -> tuple[int, list[Any]] | None:
        """Ask, evaluate and tell one batch; ``(first new step, new results)``, or None when the
        run has reached its budget or its agent has finished. Replayed batches return no
        results."""
        if self.step >= self.run.budget:
            return None
        if self.agent.finished:
            self.agent_finished = True
            return None
        designs = ask_designs(self.agent, _batch_size(self.step, self.run.batch, self.budgets))
        if not designs:
            self.agent_finished = True
            return None
        step = self.step
        old = self.recorded[step : step + len(designs)]
        _check_replay(self.run, step, designs, old)
        fresh = evaluate(self.env, designs[len(old) :]) if len(old) < len(designs) else []
        self.agent.tell_batch(designs, [*old, *fresh])
        self.step += len(designs)
        return step + len(old), fresh


def make_run_env(run: RunSpec) -> Any:
    """The run's env, made and reset with the run's seed."""
    import archgym

    env = archgym.make(run.env.id, **run.env.kwargs)
    env.reset(seed=run.seed)
    return env


def run_constants(run: RunSpec) -> dict[str, Any]:
    """Column values shared by every record of ``run``."""
    import archgym

    return {
        "experiment": run.experiment,
        "run_id": run.run_id,
        "env_id": run.env.id,
        "env_kwargs": run.env_kwargs_json,
        "agent": run.agent,
        "agent_params": json.dumps(run.hyperparams, sort_keys=True),
        "seed": run.seed,
        "archgym_version": archgym.__version__,
    }


def run_status(run: RunSpec, run_dir: Path) -> dict[str, Any]:
    """The status ``run`` continues with: identity, agent budget and every budget given."""
    old = read_status(run_dir) or {}
    return {
        "identity": run.identity(),
        "agent_budget": int(old.get("agent_budget", run.budget)),
        "budgets": sorted({*old.get("budgets", []), run.budget}),
    }


def finish_run(run_dir: Path, status: dict[str, Any], records: int, agent_finished: bool) -> None:
    """Mark a run finished in its ``run.json``, with its record count and part-file digest."""
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
    from archgym.dataset import RunWriter, schema_for

    run_dir = Path(dataset_dir) / run.run_id
    if is_finished(run_dir, run.identity(), run.budget):
        return 0
    env = make_run_env(run)
    status = run_status(run, run_dir)
    loop = RunLoop(
        run, env, status["budgets"], status["agent_budget"], _recorded(run_dir, env.space)
    )
    write_status(run_dir, {**status, "finished": False})
    schema = schema_for(env.space, env.metric_names)
    writer = RunWriter(run_dir, schema, run_constants(run), flush_every=flush_every)
    evaluate = evaluate_many or evaluate_here
    new = 0
    try:
        while (batch := loop.next_batch(evaluate)) is not None:
            first, fresh = batch
            writer.add_batch(first, fresh)
            new += len(fresh)
            if progress is not None and fresh:
                progress(len(fresh))
    finally:
        writer.flush()
    finish_run(run_dir, status, loop.records, loop.agent_finished)
    return new


def _check_replay(run: RunSpec, step: int, designs: list[Any], old: list[Any]) -> None:
    for i, (asked, rec) in enumerate(zip(designs, old, strict=False)):
        if asked != rec.design:
            raise UserError(
                f"cannot resume run {run.run_id}: at step {step + i} agent {run.agent!r} asked "
                f"{asked} but the dataset holds {rec.design}; the agent is not deterministic"
            )
