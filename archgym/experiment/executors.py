"""Where runs execute: one interface, three executors.

* :class:`InProcess` drives every run here, one after another.
* :class:`LocalProcesses` runs whole runs in N spawned processes (each writes its own runs), so
  expensive agents (Bayesian, RL) use every core too.
* :class:`DaskExecutor` runs whole runs on a Dask cluster (one actor per run, see
  :mod:`archgym.distributed`); their records come back as Arrow tables and are written here.

:func:`run_experiment` locks the output folder, skips finished runs and hands the rest to one.
"""

from __future__ import annotations

import contextlib
import os
import sys
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from archgym.experiment.config import Experiment, RunSpec
from archgym.experiment.loop import execute_run
from archgym.experiment.store import OutputFolder, is_finished, read_status

__all__ = ["DaskExecutor", "Executor", "InProcess", "LocalProcesses", "run_experiment"]

Progress = Callable[[int], None]
_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


class Executor(ABC):
    """Runs a list of runs to their budgets, writing records under ``dataset_dir``."""

    @abstractmethod
    def run_all(
        self, runs: Sequence[RunSpec], dataset_dir: Path, *, flush_every: int, progress: Progress
    ) -> None:
        """Execute (or resume) every run; re-raise the first error of any run."""


class InProcess(Executor):
    """Every run in this process, one after another."""

    def run_all(
        self, runs: Sequence[RunSpec], dataset_dir: Path, *, flush_every: int, progress: Progress
    ) -> None:
        for run in runs:
            execute_run(run, dataset_dir, flush_every=flush_every, progress=progress)


@contextlib.contextmanager
def single_threaded_children() -> Iterator[None]:
    """Child processes start with one BLAS/OpenMP thread each (no oversubscription)."""
    saved = {n: os.environ.get(n) for n in _THREAD_VARS}
    os.environ.update({n: "1" for n in _THREAD_VARS})
    try:
        yield
    finally:
        for n, v in saved.items():
            if v is None:
                os.environ.pop(n, None)
            else:
                os.environ[n] = v


def _defined_in_main(runs: Sequence[RunSpec]) -> bool:
    """Whether an agent or env of ``runs`` comes from the user's ``__main__`` script."""
    import gymnasium

    from archgym.agents.base import get_agent

    for run in runs:
        if get_agent(run.agent).__module__ == "__main__":
            return True
        spec = gymnasium.registry.get(run.env.id)
        entry = getattr(spec, "entry_point", None)
        module = entry.split(":")[0] if isinstance(entry, str) else getattr(entry, "__module__", "")
        if module == "__main__":
            return True
    return False


@contextlib.contextmanager
def spawn_without_main(runs: Sequence[RunSpec]) -> Iterator[None]:
    """Start children that do not re-import the user's script (the spawn guard).

    Spawned children normally re-run the parent's ``__main__`` module, so a script that calls
    :func:`run_experiment` without ``if __name__ == "__main__":`` would start workers forever.
    The runner's workers need nothing from ``__main__`` unless an agent or env is defined there;
    then the usual guard is needed and the script is imported as Python does by default.
    """
    main = sys.modules.get("__main__")
    if main is None or _defined_in_main(runs):
        yield
        return
    saved = {k: main.__dict__[k] for k in ("__file__", "__spec__") if k in main.__dict__}
    main.__dict__.pop("__file__", None)
    main.__dict__["__spec__"] = None
    try:
        yield
    finally:
        main.__dict__.pop("__spec__", None)
        main.__dict__.update(saved)


_QUEUE: Any = None


def _init_worker(queue: Any) -> None:
    global _QUEUE
    _QUEUE = queue


def _worker(run: RunSpec, dataset_dir: str, flush_every: int) -> int:
    return execute_run(run, dataset_dir, flush_every=flush_every, progress=_QUEUE.put)


class LocalProcesses(Executor):
    """Whole runs in ``workers`` spawned processes on this machine."""

    def __init__(self, workers: int) -> None:
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ValueError(f"`workers` must be a positive integer, but got {workers!r}")
        self.workers = workers

    def run_all(
        self, runs: Sequence[RunSpec], dataset_dir: Path, *, flush_every: int, progress: Progress
    ) -> None:
        import multiprocessing as mp
        import queue as queue_mod
        from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

        ctx = mp.get_context("spawn")
        q = ctx.Queue()
        workers = min(self.workers, len(runs))
        with single_threaded_children(), spawn_without_main(runs):
            pool = ProcessPoolExecutor(
                workers, mp_context=ctx, initializer=_init_worker, initargs=(q,)
            )
            pending = {pool.submit(_worker, r, str(dataset_dir), flush_every) for r in runs}
        try:
            while pending:
                finished, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                _drain(q, progress, queue_mod)
                for fut in finished:
                    fut.result()  # re-raise a worker's error here
            _drain(q, progress, queue_mod)
        finally:
            pool.shutdown(cancel_futures=True)


def _drain(q: Any, progress: Progress, queue_mod: Any) -> None:
    while True:
        try:
            progress(q.get_nowait())
        except queue_mod.Empty:
            return


class DaskExecutor(Executor):
    """Whole runs on a Dask cluster (one actor per run), records written here.

    See :mod:`archgym.distributed`: the agents and envs live on the workers, record batches come
    back as Arrow tables, and a run whose worker is lost restarts elsewhere from its records.

    Args:
        client: A ``dask.distributed.Client``.
        retries: Restarts of a run whose worker was lost or whose actor raised, before the error
            stops the experiment.
        max_concurrent_runs: Runs on the cluster at the same time (default: its worker threads).
    """

    def __init__(
        self, client: Any, *, retries: int = 2, max_concurrent_runs: int | None = None
    ) -> None:
        self.client = client
        self.retries = retries
        self.max_concurrent_runs = max_concurrent_runs

    def run_all(
        self, runs: Sequence[RunSpec], dataset_dir: Path, *, flush_every: int, progress: Progress
    ) -> None:
        from archgym.distributed import drive_runs

        drive_runs(
            self.client,
            list(runs),
            dataset_dir,
            flush_every=flush_every,
            progress=progress,
            retries=self.retries,
            max_concurrent_runs=self.max_concurrent_runs,
        )


def _done_records(run_dir: Path) -> int:
    status = read_status(run_dir)
    if status and status.get("finished"):
        return int(status.get("records", 0))
    import pyarrow.parquet as pq

    from archgym.dataset import _part_files

    return sum(pq.ParquetFile(f).metadata.num_rows for f in _part_files(run_dir))


def run_experiment(
    experiment: Experiment,
    out: str | os.PathLike[str],
    *,
    workers: int | None = None,
    overwrite: bool = False,
    show_progress: bool = True,
    executor: Executor | None = None,
) -> Path:
    """Run every run of ``experiment`` into ``out``: resume, grow or start it.

    Runs already finished (checked by their record count and a digest of their part files) are
    skipped without reading their records; partial runs resume; a larger budget or new seeds
    extend the folder. The folder is locked while this runs: a second process writing it gets a
    :class:`~archgym.errors.FolderInUseError`.

    Args:
        experiment: The parsed experiment.
        out: Output folder (manifest, experiment copy, ``dataset/``).
        workers: Local processes (default: the experiment's ``workers``); 1 runs in this process.
        overwrite: Replace a different experiment already in ``out``.
        show_progress: Draw a tqdm progress bar of evaluations.
        executor: Where runs execute (default: :class:`InProcess` or :class:`LocalProcesses`).

    Returns:
        The dataset folder.
    """
    from tqdm import tqdm

    with OutputFolder(out) as folder:
        folder.prepare(experiment, overwrite=overwrite)
        runs = experiment.runs()
        dataset_dir = folder.dataset
        todo = [r for r in runs if not is_finished(dataset_dir / r.run_id, r.identity(), r.budget)]
        if not todo:
            return dataset_dir
        n_workers = workers or experiment.workers
        if executor is None:
            executor = LocalProcesses(n_workers) if n_workers > 1 and len(todo) > 1 else InProcess()
        total = len(todo) * experiment.budget
        done = sum(min(_done_records(dataset_dir / r.run_id), r.budget) for r in todo)
        with tqdm(
            total=total, initial=done, unit="eval", disable=not show_progress, desc=experiment.name
        ) as bar:
            executor.run_all(
                todo, dataset_dir, flush_every=experiment.flush_every, progress=bar.update
            )
    return dataset_dir
