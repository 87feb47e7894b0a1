"""Experiments: agents paired with envs over seeds and budgets, run in parallel, recorded.

* :mod:`~archgym.experiment.config` parses experiment TOML files (``[experiment]``, ``[env]`` or
  ``[[envs]]``, ``[[agents]]`` with hyperparameter grids) into :class:`Experiment` and its runs.
* :mod:`~archgym.experiment.loop` runs one run: ask a batch, evaluate it (``env.evaluate_batch``
  when the env has it), tell, write the records; it resumes and grows runs.
* :mod:`~archgym.experiment.executors` runs many: in this process, in local processes, or with
  whole runs on a Dask cluster, behind one :class:`Executor` interface.
* :mod:`~archgym.experiment.store` is the output folder: lock, manifest, per-run status.

The same file and seeds give the same records (wall time aside). Running again into the same
folder resumes: finished runs are skipped (record count and a digest of their part files), a
partial run's agent is replayed through its recorded results before it continues, a larger
budget continues every run, more seeds add runs. See docs/experiments.md.
"""

from archgym.experiment.config import (
    MAX_SEED,
    QUICKSTART,
    AgentSpec,
    EnvSpec,
    Experiment,
    RunSpec,
    load_experiment,
    parse_experiment,
    with_overrides,
)
from archgym.experiment.executors import (
    DaskExecutor,
    Executor,
    InProcess,
    LocalProcesses,
    run_experiment,
)
from archgym.experiment.loop import evaluate_here, execute_run
from archgym.experiment.store import OutputFolder

__all__ = [
    "MAX_SEED",
    "QUICKSTART",
    "AgentSpec",
    "DaskExecutor",
    "EnvSpec",
    "Executor",
    "Experiment",
    "InProcess",
    "LocalProcesses",
    "OutputFolder",
    "RunSpec",
    "evaluate_here",
    "execute_run",
    "load_experiment",
    "parse_experiment",
    "run_experiment",
    "with_overrides",
]
