"""Dask scale-out: a LocalCluster run, with a worker killed mid-run, equals a local run."""

import os
import signal
import textwrap
import threading

import pandas as pd
import pytest

pytest.importorskip("dask.distributed")

from archgym.dataset import WALL_TIME_COLUMNS, load
from archgym.distributed import run_with_dask
from archgym.errors import UserError
from archgym.experiment import parse_experiment, run_experiment

# Two runs of a batched population agent and two of a one-at-a-time agent: the driver keeps
# several batches in flight, so a killed worker always holds some of them.
EXP = textwrap.dedent(
    """
    [experiment]
    name = "dask-ci"
    budget = 48
    seeds = [0, 1]
    batch = 4
    flush_every = 10

    [env]
    id = "archgym/GemmRoofline-v0"
    kwargs = { workload = "bert-base", objective = "edp" }

    [[agents]]
    name = "random_walk"

    [[agents]]
    name = "genetic"
    """
)


def records(path) -> pd.DataFrame:
    df = load(path).drop(columns=list(WALL_TIME_COLUMNS))
    return df.sort_values(["run_id", "step"]).reset_index(drop=True)


@pytest.mark.slow
def test_dask_run_with_killed_workers_equals_local_run(tmp_path, caplog):
    """Both workers are killed (SIGKILL) mid-run: every run then in flight restarts from its
    written records once the nannies have restarted them, and nothing is lost or repeated."""
    from dask.distributed import Client

    from archgym.distributed import local_cluster

    exp = parse_experiment(EXP)
    local = records(run_experiment(exp, tmp_path / "local", workers=1, show_progress=False))

    cluster = local_cluster(2)
    client = Client(cluster)
    try:
        client.wait_for_workers(2)
        pids = client.run(os.getpid)
        done = {"n": 0}
        killed = threading.Event()

        def kill_after_some(n: int) -> None:
            done["n"] += n
            if done["n"] >= 40 and not killed.is_set():
                killed.set()
                for pid in pids.values():
                    os.kill(pid, signal.SIGKILL)  # a crash, not a clean shutdown

        out = run_with_dask(
            exp, tmp_path / "dask", client=client, show_progress=False, progress=kill_after_some
        )
        assert killed.is_set()
        # The runs whose workers died were restarted from their written records.
        assert any("restarting it from its written records" in m for m in caplog.messages)
        # The nannies restarted the killed processes.
        assert not set(client.run(os.getpid).values()) & set(pids.values())
    finally:
        client.close()
        cluster.close()

    dask = records(out)
    assert len(dask) == len(exp.runs()) * exp.budget
    pd.testing.assert_frame_equal(dask, local)


@pytest.mark.slow
def test_a_task_meant_for_a_killed_worker_is_given_up_not_waited_for(monkeypatch):
    """The cause of the hang above: a task with a loose restriction to a worker that dies while
    no other worker runs stays in Dask's ``no-worker`` state, even once a restarted worker has
    joined; the driver notices that the worker left and gives the task up."""
    import time

    from dask.distributed import Client

    from archgym import distributed
    from archgym.distributed import _result_while_alive, _WorkerLost, local_cluster

    monkeypatch.setattr(distributed, "_POLL_S", 0.2)
    with local_cluster(1) as cluster, Client(cluster) as client:
        ((addr, pid),) = client.run(os.getpid).items()
        task = client.submit(time.sleep, 2, workers=[addr], allow_other_workers=True, pure=False)
        time.sleep(1)  # the worker is running it
        os.kill(pid, signal.SIGKILL)
        start = time.monotonic()
        with pytest.raises(_WorkerLost, match=addr):
            _result_while_alive(client, task, addr)
        assert time.monotonic() - start < 10


class _Pending:
    """A future that times out ``waits`` times, then returns (or raises) ``outcome``."""

    def __init__(self, waits: int, outcome) -> None:
        self.waits, self.outcome = waits, outcome

    def done(self) -> bool:
        return self.waits <= 0

    def result(self, timeout=None):
        if self.waits > 0:
            self.waits -= 1
            raise TimeoutError
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return self.outcome


class _Cluster:
    def __init__(self, workers) -> None:
        self.workers, self.asked = workers, 0

    def nthreads(self):
        self.asked += 1
        assert self.asked < 10, "waits on a future that is done"
        return dict.fromkeys(self.workers, 1)


def test_a_wait_on_a_live_worker_goes_on_and_one_on_a_lost_worker_stops(monkeypatch):
    from archgym import distributed
    from archgym.distributed import _result_while_alive, _WorkerLost

    monkeypatch.setattr(distributed, "_POLL_S", 0.0)
    alive = _Cluster(["tcp://a:1"])
    assert _result_while_alive(alive, _Pending(3, "records"), "tcp://a:1") == "records"
    assert alive.asked > 0  # it looked while it waited
    with pytest.raises(_WorkerLost, match="tcp://a:1"):
        _result_while_alive(_Cluster(["tcp://b:1"]), _Pending(3, "records"), "tcp://a:1")
    # No worker named (no preference): wait on, as Dask would.
    nobody = _Cluster([])
    assert _result_while_alive(nobody, _Pending(3, "records"), None) == "records"
    assert nobody.asked == 0
    # A TimeoutError of the call itself is its error, not a wait to repeat.
    with pytest.raises(TimeoutError, match="simulator"):
        _result_while_alive(alive, _Pending(0, TimeoutError("simulator")), "tcp://a:1")


@pytest.mark.slow
def test_dask_runs_grow_and_resume_like_local_runs(tmp_path):
    """A Dask run grown from budget 24 to 48 (each run's actor replays its 24 written records)
    equals a local run of 48; a second call skips every finished run."""
    from dask.distributed import Client, LocalCluster

    exp = parse_experiment(EXP)
    small = parse_experiment(EXP.replace("budget = 48", "budget = 24"))
    local = records(run_experiment(exp, tmp_path / "local", workers=1, show_progress=False))
    cluster = LocalCluster(n_workers=2, processes=False, dashboard_address=None)
    with cluster, Client(cluster) as client:
        run_with_dask(small, tmp_path / "d", client=client, show_progress=False)
        assert len(records(tmp_path / "d")) == len(exp.runs()) * 24
        out = run_with_dask(exp, tmp_path / "d", client=client, show_progress=False)
        seen = []
        run_with_dask(exp, tmp_path / "d", client=client, show_progress=False, progress=seen.append)
        assert seen == []  # finished runs are skipped
    pd.testing.assert_frame_equal(records(out), local)


@pytest.mark.slow
def test_dask_evaluator_keeps_the_loop_here_and_equals_a_local_run(tmp_path):
    from dask.distributed import Client, LocalCluster

    from archgym.distributed import DaskEvaluator
    from archgym.experiment import execute_run

    exp = parse_experiment(EXP)
    local = records(run_experiment(exp, tmp_path / "local", workers=1, show_progress=False))
    cluster = LocalCluster(n_workers=2, processes=False, dashboard_address=None)
    with cluster, Client(cluster) as client:
        for run in exp.runs():
            evaluator = DaskEvaluator(client, run.env.id, run.env.kwargs)
            execute_run(run, tmp_path / "d" / "dataset", evaluate_many=evaluator)
    dask = records(tmp_path / "d" / "dataset")
    pd.testing.assert_frame_equal(dask, local)


def test_run_with_dask_rejects_two_cluster_choices(tmp_path):
    exp = parse_experiment(EXP)
    with pytest.raises(UserError, match="one of"):
        run_with_dask(exp, tmp_path, scheduler="tcp://127.0.0.1:1", local_workers=2)


def test_unreachable_scheduler_is_a_user_error(tmp_path):
    exp = parse_experiment(EXP)
    with pytest.raises(UserError, match="cannot connect"):
        run_with_dask(exp, tmp_path / "x", scheduler="tcp://127.0.0.1:9", connect_timeout_s=1)
    assert not (tmp_path / "x").exists()


def test_optuna_runs_on_two_machines_keep_their_own_studies_in_one_storage(tmp_path):
    """Two drivers (two `archgym run`s, e.g. on two machines) write one journal storage; each run
    has its own study, named from the run (prefix, sampler, seed, settings), never shared."""
    optuna = pytest.importorskip("optuna")
    journal = tmp_path / "study.journal"
    for seed in (0, 1):  # one driver per seed, as two machines would run them
        text = EXP.replace("seeds = [0, 1]", f"seeds = [{seed}]").replace(
            "budget = 48", "budget = 12"
        )
        text = text.split("[[agents]]")[0] + textwrap.dedent(
            f"""
            [[agents]]
            name = "optuna"
            hyperparams = {{ storage = "journal:{journal}", study_name = "shared", n_startup = 4 }}
            """
        )
        run_experiment(
            parse_experiment(text), tmp_path / f"m{seed}", workers=1, show_progress=False
        )
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    storage = JournalStorage(JournalFileBackend(str(journal)))
    names = optuna.get_all_study_names(storage)
    assert len(names) == 2 and all(n.startswith("shared") for n in names)
    for name in names:
        assert len(optuna.load_study(study_name=name, storage=storage).trials) >= 12
