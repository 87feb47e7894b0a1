"""Run experiments on a Dask cluster: whole runs on the workers, records written by the driver.

Each run lives on one worker as a Dask actor (:class:`RunActor`): its agent and env stay there,
so only records travel, as Arrow tables of ``flush_every`` or more records (the columns of the
dataset's part files), while the worker already computes the next ones. The driver (this
process) writes every part file and the runs' status, under the output folder's lock, so the
workers need no shared file system. A worker that dies takes no written record with it: the
driver, which checks while it waits that the worker is still in the cluster, starts the run again
on another worker, which replays the records written so far and continues (as a resume does;
``retries`` bounds how often). Simulators are pure functions of the design and agents are
seeded, so the records equal those of :func:`archgym.experiment.run_experiment` with the same
seeds, wall time aside.

Start a cluster with ``dask scheduler`` on one machine and ``dask worker tcp://HOST:8786
--nthreads 1`` on each machine (all need archgym installed, and the same proxy files if envs use
``backend="proxy"``), then ``run_with_dask(exp, out, scheduler="tcp://HOST:8786")``; or
``local_workers=N`` for a ``LocalCluster`` of N single-threaded processes on this machine.
:class:`DaskEvaluator` instead keeps a run's loop here and sends only its evaluations to the
cluster (for agents that must run in the driver).
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from archgym.errors import UserError
from archgym.experiment import DaskExecutor, Executor, Experiment, run_experiment

__all__ = ["DaskEvaluator", "RunActor", "drive_runs", "local_cluster", "run_with_dask"]

_LOG = logging.getLogger(__name__)

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
    """Evaluate designs on a worker (a Dask task): ``env.evaluate_batch`` when the env has it."""
    from archgym.experiment.loop import evaluate_here

    return evaluate_here(_worker_env(env_id, kwargs_json), designs)


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


class _RecordBuffer:
    """A run's new records in the columns of its part files (filled on a worker)."""

    def __init__(self, env: Any, run: Any) -> None:
        import tempfile

        from archgym.dataset import RunWriter, schema_for
        from archgym.experiment.loop import run_constants

        # A RunWriter that never flushes: its columns travel to the driver, which writes them.
        self.writer = RunWriter(
            Path(tempfile.gettempdir()),
            schema_for(env.space, env.metric_names),
            run_constants(run),
            flush_every=2**62,
        )

    @property
    def size(self) -> int:
        return self.writer._n

    def take(self) -> tuple[int, Any] | None:
        """``(first step, pyarrow.Table)`` of the buffered records (None if empty); clears."""
        import pyarrow as pa

        w = self.writer
        if not w._n or w._first is None:
            return None
        n = w._n
        arrays = [
            pa.array([w.constants[name]] * n, type=dtype)
            if name in w.constants
            else pa.array(w._columns[name], type=dtype)
            for name, dtype in zip(w.schema.names, w.schema.types, strict=True)
        ]
        first = w._first
        w._first, w._n = first + n, 0
        w._columns = {name: [] for name in w.schema.names}
        return first, pa.Table.from_arrays(arrays, schema=w.schema)


class RunActor:
    """One run on a Dask worker (created with ``actor=True``): its agent and env stay there.

    Args:
        run: The run.
        budgets: Every budget the run was given; ``agent_budget`` the one its agent is built with.
        recorded: The run's records already written (a DataFrame from ``read_run``), replayed
            into the agent first; None for a new run.
    """

    def __init__(self, run: Any, budgets: list[int], agent_budget: int, recorded: Any) -> None:
        from archgym.experiment.loop import RunLoop, make_run_env, results_of_frame

        env = make_run_env(run)
        replay = results_of_frame(recorded, env.space) if recorded is not None else []
        self.loop = RunLoop(run, env, budgets, agent_budget, replay)
        self.buffer = _RecordBuffer(env, run)

    def advance(self, n: int) -> tuple[int, Any, bool, int, bool]:
        """Evaluate whole batches until ``n`` new records (or the run's end).

        Returns ``(first step, records as a pyarrow.Table or None, done, the run's record
        count, whether its agent finished)``.
        """
        from archgym.experiment.loop import evaluate_here

        done = False
        while self.buffer.size < n:
            batch = self.loop.next_batch(evaluate_here)
            if batch is None:
                done = True
                break
            self.buffer.writer.add_batch(*batch)
        first, table = self.buffer.take() or (0, None)
        return first, table, done, self.loop.records, self.loop.agent_finished


def _write_part(run_dir: Path, first: int, table: Any) -> None:
    """Write records as the run's part file starting at step ``first`` (atomic rename)."""
    import uuid

    import pyarrow.parquet as pq

    from archgym.dataset import _PART_PREFIX

    run_dir.mkdir(parents=True, exist_ok=True)
    final = run_dir / f"{_PART_PREFIX}{first:06d}.parquet"
    tmp = run_dir / f".{final.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp"
    pq.write_table(table, tmp)
    os.replace(tmp, final)


class _Placement:
    """Spreads actors over the cluster's workers: the worker holding the fewest of ours."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.lock = threading.Lock()
        self.held: dict[str, int] = {}

    def take(self) -> str | None:
        with self.lock:
            workers = list(self.client.nthreads())
            if not workers:
                return None
            addr = min(workers, key=lambda w: (self.held.get(w, 0), w))
            self.held[addr] = self.held.get(addr, 0) + 1
            return addr

    def give(self, addr: str | None) -> None:
        with self.lock:
            if addr is not None and self.held.get(addr, 0) > 0:
                self.held[addr] -= 1


#: Seconds between the driver's checks that an awaited actor's worker is still in the cluster
#: (one scheduler call each); workers a run may lose before its actor starts, until it fails.
_POLL_S, _EARLY_LOSSES = 1.0, 20


class _WorkerLost(Exception):
    """The worker holding, or chosen to hold, a run's actor left the cluster."""


def _result_while_alive(client: Any, future: Any, addr: str | None) -> Any:
    """``future.result()`` (a task's or an actor call's), raising :class:`_WorkerLost` once
    worker ``addr`` has left the cluster (checked every :data:`_POLL_S` seconds).

    Dask can leave either pending forever when a worker dies: a task with a loose restriction
    (``allow_other_workers``) to it, if no other worker was running then (the scheduler moves it
    to ``no-worker``, and workers that join later, restarted ones at new addresses, never take
    it); and a call to an actor on it that failed before Dask marked the actor lost (the call
    then awaits the actor's task, whose error never reaches the call).
    """
    while True:
        try:
            return future.result(timeout=_POLL_S)
        except TimeoutError:
            if future.done():  # a TimeoutError of the task itself, or it ended just now
                return future.result()
            if addr is not None and addr not in client.nthreads():
                raise _WorkerLost(addr) from None


def _start_actor(
    client: Any, run: Any, status: dict[str, Any], recorded: Any, addr: str | None
) -> tuple[Any, Any, str]:
    """Start a run's :class:`RunActor`, preferably on worker ``addr``.

    Returns ``(its task's future, the actor, the address of its worker)``; the actor lives as
    long as that future is held. Raises :class:`_WorkerLost` if ``addr`` leaves before the actor
    starts (nothing of the run is lost then).
    """
    # A preferred worker, not a requirement: another one may start the actor.
    where = {"workers": [addr], "allow_other_workers": True} if addr else {}
    args = (run, status["budgets"], status["agent_budget"], recorded if len(recorded) else None)
    future = client.submit(RunActor, *args, actor=True, pure=False, **where)
    try:
        actor = _result_while_alive(client, future, addr)
        holders = client.who_has([future]).get(future.key)
        if not holders:
            raise _WorkerLost(addr)
    except BaseException:
        future.release()
        raise
    # A call that fails to reach the actor's worker then fails at once (its worker is watched
    # here), instead of awaiting this task, whose error would never reach it.
    actor._future = None
    return future, actor, holders[0]


def _drive_one(
    client: Any,
    run: Any,
    dataset_dir: Path,
    *,
    flush_every: int,
    progress: Callable[[int], None],
    retries: int,
    placement: _Placement,
) -> None:
    """Drive one run's actor to the end, writing its records here; restart it on a lost worker."""
    from archgym.dataset import read_run
    from archgym.experiment.loop import finish_run, run_status
    from archgym.experiment.store import is_finished, write_status

    run_dir = dataset_dir / run.run_id
    if is_finished(run_dir, run.identity(), run.budget):
        return
    status = run_status(run, run_dir)
    failures = early = 0
    while True:
        addr = placement.take()
        future = None
        try:
            future, actor, holder = _start_actor(client, run, status, read_run(run_dir), addr)
            write_status(run_dir, {**status, "finished": False})
            call = actor.advance(flush_every)
            while True:
                first, table, done, records, agent_finished = _result_while_alive(
                    client, call, holder
                )
                if not done:
                    call = actor.advance(flush_every)  # the worker goes on while we write
                if table is not None:
                    _write_part(run_dir, first, table)
                    progress(table.num_rows)
                if done:
                    finish_run(run_dir, status, records, agent_finished)
                    return
        except Exception as exc:
            # A worker lost before the actor started costs no restart (_EARLY_LOSSES at most).
            lost_early = future is None and isinstance(exc, _WorkerLost)
            failures, early = failures + (not lost_early), early + lost_early
            if failures > retries or early > _EARLY_LOSSES:
                raise
            _LOG.warning(
                "run %s stopped on the cluster (%s: %s); restarting it from its written "
                "records (%d of %d restarts used)",
                *(run.run_id, type(exc).__name__, exc, failures, retries),
            )
        finally:
            placement.give(addr)
            if future is not None:
                future.release()  # the actor goes with its task


def drive_runs(
    client: Any,
    runs: list[Any],
    dataset_dir: Path,
    *,
    flush_every: int,
    progress: Callable[[int], None],
    retries: int = 2,
    max_concurrent_runs: int | None = None,
) -> None:
    """Run every run as an actor on the cluster, writing records here (see the module doc).

    At most ``max_concurrent_runs`` runs at a time (default: the cluster's worker threads);
    the first run's error that outlives ``retries`` restarts is re-raised here.
    """
    from concurrent.futures import ThreadPoolExecutor

    lock = threading.Lock()

    def advance(n: int) -> None:
        with lock:
            progress(n)

    placement = _Placement(client)
    slots = max_concurrent_runs or max(1, sum(client.nthreads().values()))
    with ThreadPoolExecutor(max_workers=max(1, min(len(runs), slots))) as pool:
        futures = [
            pool.submit(
                _drive_one,
                client,
                run,
                Path(dataset_dir),
                flush_every=flush_every,
                progress=advance,
                retries=retries,
                placement=placement,
            )
            for run in runs
        ]
        for future in futures:
            future.result()  # re-raise a run's error here


#: Dask settings of :func:`local_cluster`. Idle, a default LocalCluster of one worker took 7.8%
#: of a core (event-loop ticks every 20 ms, system and memory monitors, the profiler); with these
#: 1.3%. That overhead grows with wall time, so it mattered most on a loaded machine.
_LOCAL_SETTINGS: dict[str, Any] = {
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
    # The statistical profiler samples every thread's stack each 10 ms; no dashboard here.
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.system-monitor.interval": "2s",
    "distributed.worker.memory.monitor-interval": "1s",
}


def local_cluster(n_workers: int) -> Any:
    """A ``LocalCluster`` of ``n_workers`` single-threaded worker processes, without Dask's
    ``MALLOC_TRIM_THRESHOLD_``.

    Dask's nanny starts workers with ``MALLOC_TRIM_THRESHOLD_=65536``, which turns off glibc's
    adaptive mmap threshold: every batch's NumPy arrays are then mapped and unmapped afresh,
    and a worker evaluated batches with 2.5x the page faults and about 1.4x the CPU time of this
    process (measured on the systolic env). Workers started here keep glibc's defaults (start
    remote workers with ``dask worker --no-nanny``, or that variable unset, for the same), run
    without Dask's statistical profiler (there is no dashboard to show it) and with slower
    monitoring ticks (:data:`_LOCAL_SETTINGS`).
    """
    import dask
    from dask.distributed import LocalCluster

    from archgym.experiment.executors import single_threaded_children

    with single_threaded_children(), dask.config.set(_LOCAL_SETTINGS):
        return LocalCluster(
            n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None
        )


def _connect(scheduler: str | None, local_workers: int | None, timeout_s: float) -> tuple[Any, Any]:
    """A client (and the LocalCluster it owns, or None) for a scheduler address or N workers."""
    try:
        from dask.distributed import Client
    except ImportError:
        raise UserError(
            "running on Dask needs dask.distributed: pip install 'archgym[dask]'"
        ) from None
    if scheduler is not None:
        try:
            return Client(scheduler, timeout=f"{timeout_s}s"), None
        except (OSError, TimeoutError) as exc:
            raise UserError(f"cannot connect to the Dask scheduler {scheduler!r}: {exc}") from None
    cluster = local_cluster(local_workers or 1)
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
    max_concurrent_runs: int | None = None,
    connect_timeout_s: float = 20.0,
) -> Path:
    """Run ``experiment`` into ``out`` with its runs on a Dask cluster; returns the dataset.

    Give one of ``scheduler`` (``"tcp://HOST:8786"``), ``local_workers`` (start a LocalCluster
    of that many single-threaded processes, closed at the end) or ``client`` (an existing
    ``dask.distributed.Client``, left open). With none, a LocalCluster of the experiment's
    ``workers`` is started.

    Args:
        experiment: The parsed experiment; each run lives on one worker, its records come back
            every ``flush_every`` records.
        out: Output folder, as for :func:`archgym.experiment.run_experiment` (resumes, grows).
        overwrite: Replace a different experiment already in ``out``.
        show_progress: Draw a tqdm bar of evaluations.
        progress: Called with the number of new evaluations after each batch (from driver
            threads).
        retries: Restarts of a run whose worker was lost (or whose actor raised), before the
            error stops the experiment.
        max_concurrent_runs: Runs on the cluster at the same time (default: its worker
            threads).
        connect_timeout_s: How long to wait for the scheduler.
    """
    given = [x is not None for x in (scheduler, local_workers, client)]
    if sum(given) > 1:
        raise UserError("give one of a scheduler address, a local worker count or a client")
    if local_workers is not None and (
        isinstance(local_workers, bool) or not isinstance(local_workers, int) or local_workers < 1
    ):
        raise UserError(f"--dask-local must be a positive integer, but got {local_workers!r}")
    owned = client is None
    owned_cluster = None
    if owned:
        workers = local_workers or (None if scheduler else experiment.workers)
        client, owned_cluster = _connect(scheduler, workers, connect_timeout_s)
    executor = _ProgressTee(
        DaskExecutor(client, retries=retries, max_concurrent_runs=max_concurrent_runs), progress
    )
    try:
        return run_experiment(
            experiment, out, overwrite=overwrite, show_progress=show_progress, executor=executor
        )
    finally:
        if owned:
            client.close()
        if owned_cluster is not None:
            owned_cluster.close()


class _ProgressTee(Executor):
    """An executor that also reports progress to a caller's callback."""

    def __init__(self, inner: Executor, extra: Callable[[int], None] | None) -> None:
        self.inner, self.extra = inner, extra

    def run_all(self, runs, dataset_dir, *, flush_every, progress):  # type: ignore[no-untyped-def]
        def both(n: int) -> None:
            progress(n)
            if self.extra is not None:
                self.extra(n)

        self.inner.run_all(runs, dataset_dir, flush_every=flush_every, progress=both)
