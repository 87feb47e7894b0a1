"""Run experiments with evaluations on a Dask cluster.

The driver (this process) runs every run's agent loop in a thread and writes every record; only
evaluations travel: each batch an agent asks for (``[experiment] batch = N``) becomes Dask tasks,
spread over the workers, each worker process keeping one env per (id, kwargs). A worker that dies
takes no record with it: the scheduler re-runs its tasks on another worker (and ``retries``
re-runs a task that raised). Simulators are pure functions of the design, so the records are the
same as those of :func:`archgym.experiment.run_experiment` with the same seeds, wall time aside,
and a stopped run resumes like a local one.

Start a cluster with ``dask scheduler`` on one machine and ``dask worker tcp://HOST:8786
--nthreads 1`` on each machine (all need archgym installed, and the same proxy files if envs use
``backend="proxy"``), then ``run_with_dask(exp, out, scheduler="tcp://HOST:8786")``; or
``local_workers=N`` for a ``LocalCluster`` of N single-threaded processes on this machine.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from archgym.errors import UserError
from archgym.experiment import Experiment, RunSpec, execute_run, prepare_output

__all__ = ["DaskEvaluator", "run_with_dask"]

#: Envs built in this (worker) process, by (env id, JSON of kwargs).
_ENVS: dict[tuple[str, str], Any] = {}
_ENVS_LOCK = threading.Lock()


def _worker_env(env_id: str, kwargs_json: str) -> Any:
    import archgym

    key = (env_id, kwargs_json)
    with _ENVS_LOCK:
        env = _ENVS.get(key)
        if env is None:
            env = _ENVS[key] = archgym.make(env_id, **json.loads(kwargs_json))
    return env


def _evaluate_chunk(env_id: str, kwargs_json: str, designs: list[dict[str, Any]]) -> list[Any]:
    """Evaluate designs on a worker (a Dask task): one batched call of the env's backend."""
    return _worker_env(env_id, kwargs_json).evaluate_batch(designs)


class DaskEvaluator:
    """The ``evaluate_many(env, designs)`` hook of :func:`execute_run` for one run's env.

    Splits a batch into at most one chunk per worker thread (fewer, larger tasks keep the per-task
    overhead of about a millisecond small), submits the chunks and gathers the results in order.

    Args:
        client: A ``dask.distributed.Client``.
        env_id: The run's env id; ``env_kwargs`` its keywords (JSON-able, as in TOML files).
        retries: Times a task that raised is re-run before the error reaches the driver.
    """

    def __init__(
        self, client: Any, env_id: str, env_kwargs: Mapping[str, Any], *, retries: int = 2
    ) -> None:
        self.client = client
        self.env_id = env_id
        self.kwargs_json = json.dumps(dict(env_kwargs), sort_keys=True)
        self.retries = retries

    def __call__(self, env: Any, designs: list[dict[str, Any]]) -> list[Any]:
        if not designs:
            return []
        slots = max(1, sum(self.client.nthreads().values()))
        n_chunks = min(len(designs), slots)
        size = -(-len(designs) // n_chunks)
        chunks = [designs[i : i + size] for i in range(0, len(designs), size)]
        futures = [
            self.client.submit(
                _evaluate_chunk,
                self.env_id,
                self.kwargs_json,
                chunk,
                pure=False,
                retries=self.retries,
            )
            for chunk in chunks
        ]
        return [r for chunk in self.client.gather(futures) for r in chunk]


def _connect(scheduler: str | None, local_workers: int | None, timeout_s: float) -> tuple[Any, Any]:
    """A client (and the LocalCluster it owns, or None) for a scheduler address or N workers."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise UserError(
            "running on Dask needs dask.distributed: pip install 'archgym[dask]'"
        ) from None
    if scheduler is not None:
        try:
            return Client(scheduler, timeout=f"{timeout_s}s"), None
        except (OSError, TimeoutError) as exc:
            raise UserError(f"cannot connect to the Dask scheduler {scheduler!r}: {exc}") from None
    from archgym.experiment import _single_threaded_children

    with _single_threaded_children():  # worker processes inherit one BLAS thread each
        cluster = LocalCluster(
            n_workers=local_workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
        )
    return Client(cluster), cluster


def run_with_dask(
    experiment: Experiment,
    out: str | os.PathLike[str],
    *,
    scheduler: str | None = None,
    local_workers: int | None = None,
    client: Any = None,
    overwrite: bool = False,
    show_progress: bool = True,
    progress: Callable[[int], None] | None = None,
    retries: int = 2,
    max_concurrent_runs: int = 64,
    connect_timeout_s: float = 20.0,
) -> Path:
    """Run ``experiment`` into ``out`` with evaluations on a Dask cluster; returns the dataset.

    Give one of ``scheduler`` (``"tcp://HOST:8786"``), ``local_workers`` (start a LocalCluster
    of that many single-threaded processes, closed at the end) or ``client`` (an existing
    ``dask.distributed.Client``, left open). With none, a LocalCluster of the experiment's
    ``workers`` is started.

    Args:
        experiment: The parsed experiment; ``batch`` sets how many designs an agent asks at once
            (population agents and Optuna keep ``batch`` workers busy per run).
        out: Output folder, as for :func:`archgym.experiment.run_experiment` (resumes).
        overwrite: Replace a different experiment already in ``out``.
        show_progress: Draw a tqdm bar of evaluations.
        progress: Called with the number of new evaluations after each batch (from driver
            threads).
        retries: Re-runs of a task that raised, before the error stops the run.
        max_concurrent_runs: Runs whose loops are driven at the same time.
        connect_timeout_s: How long to wait for the scheduler.
    """
    given = [x is not None for x in (scheduler, local_workers, client)]
    if sum(given) > 1:
        raise UserError("give one of a scheduler address, a local worker count or a client")
    if local_workers is not None and (isinstance(local_workers, bool) or local_workers < 1):
        raise UserError(f"the local worker count must be positive, but got {local_workers!r}")
    owned = client is None
    owned_cluster = None
    if owned:
        workers = local_workers or (None if scheduler else experiment.workers)
        client, owned_cluster = _connect(scheduler, workers, connect_timeout_s)
    try:
        return _drive_runs(
            experiment, Path(out), client, overwrite, show_progress, progress, retries,
            max_concurrent_runs,
        )  # fmt: skip
    finally:
        if owned:
            client.close()
        if owned_cluster is not None:
            owned_cluster.close()


def _drive_runs(
    experiment: Experiment,
    out: Path,
    client: Any,
    overwrite: bool,
    show_progress: bool,
    progress: Callable[[int], None] | None,
    retries: int,
    max_concurrent_runs: int,
) -> Path:
    from tqdm import tqdm

    from archgym.experiment import _count_records

    prepare_output(out, experiment, overwrite=overwrite)
    dataset_dir = out / "dataset"
    dataset_dir.mkdir(parents=True, exist_ok=True)
    runs = experiment.runs()
    bar = tqdm(
        total=len(runs) * experiment.budget,
        unit="eval",
        disable=not show_progress,
        desc=experiment.name,
    )
    bar.update(sum(_count_records(dataset_dir / r.run_id) for r in runs))
    lock = threading.Lock()

    def advance(n: int) -> None:
        with lock:
            bar.update(n)
        if progress is not None:
            progress(n)

    def drive(run: RunSpec) -> int:
        evaluator = DaskEvaluator(client, run.env.id, run.env.kwargs, retries=retries)
        return execute_run(
            run,
            dataset_dir,
            flush_every=experiment.flush_every,
            progress=advance,
            evaluate_many=evaluator,
        )

    try:
        with ThreadPoolExecutor(max_workers=max(1, min(len(runs), max_concurrent_runs))) as pool:
            for future in [pool.submit(drive, run) for run in runs]:
                future.result()  # re-raise a run's error here
    finally:
        bar.close()
    return dataset_dir
