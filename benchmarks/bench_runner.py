"""Throughput of the experiment runner against the raw model, and the cost of a resume.

    OMP_NUM_THREADS=1 python benchmarks/bench_runner.py [--env archgym/SystolicArray-v0]
        [--workload resnet50] [--evals 300000] [--seeds 2] [--batch 5000] [--no-dask]

Random search (``random_walk``) over ``--env`` with ``--evals`` evaluations in all, split over
``--seeds`` runs, each asking ``--batch`` designs at a time. Prints designs/s for:

* the raw model: ``env.evaluate_batch`` (or ``env.evaluate`` one design at a time when the env
  has no batched form) on batches of random designs, in this process, nothing written;
* ``run_experiment`` in this process (1 worker), with 2 local worker processes, and with Dask
  LocalClusters of 1 and 2 single-threaded workers (whole runs on the workers, records written by
  this process; cluster start-up timed separately), each writing the whole Parquet dataset;
* a resume of the finished experiment (every run skipped), as a share of the 1-worker run;
* the runner without the model: the same runs with every evaluation answered by a stored result
  (ask, tell, Parquet writes only), the ceiling the runner puts on a fast model.

"vs raw" is the ratio to the raw model's designs/s in one process (above 1 with several
workers). "CPU s" is the CPU time of this process and its worker processes (counted when they
exit, so it includes their start-up): on a shared machine it shows what a mode costs even when
the wall time is stretched by other load.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import textwrap
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

import archgym
from archgym.experiment import (
    DaskExecutor,
    OutputFolder,
    execute_run,
    parse_experiment,
    run_experiment,
)
from archgym.experiment.asking import sample_designs
from archgym.experiment.loop import evaluate_here

EXP = """
[experiment]
name = "bench-runner"
budget = {budget}
seeds = {seeds}
batch = {batch}
flush_every = {batch}

[env]
id = "{env}"
kwargs = {{ workload = "{workload}" }}

[[agents]]
name = "random_walk"
"""


def raw_model(env_id: str, workload: str, n: int, batch: int) -> tuple[float, str]:
    """Designs/s of the model alone (batches of random designs, nothing written)."""
    env = archgym.make(env_id, workload=workload)
    rng = np.random.default_rng(0)
    batches = [sample_designs(env.space, rng, min(batch, n - i)) for i in range(0, n, batch)]
    start = time.perf_counter()
    for designs in batches:
        evaluate_here(env, designs)
    path = "evaluate_batch" if hasattr(env, "evaluate_batch") else "evaluate (one at a time)"
    return n / (time.perf_counter() - start), path


def runner_alone(exp, out: Path) -> float:
    """Seconds for every run with evaluations answered from a stored pool of results."""
    env = archgym.make(exp.envs[0].id, **exp.envs[0].kwargs)
    designs = sample_designs(env.space, np.random.default_rng(1), 256)
    pool = evaluate_here(env, designs)

    def stored(env: object, asked: list[dict]) -> list[object]:
        return [replace(pool[i % len(pool)], design=d) for i, d in enumerate(asked)]

    start = time.perf_counter()
    with OutputFolder(out) as folder:
        folder.prepare(exp)
        for run in exp.runs():
            execute_run(run, folder.dataset, flush_every=exp.flush_every, evaluate_many=stored)
    return time.perf_counter() - start


def cpu_seconds() -> float:
    """CPU time (user + system) of this process and its exited children, seconds."""
    own, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def timed_run(exp, out: Path, **kwargs) -> float:
    start = time.perf_counter()
    run_experiment(exp, out, show_progress=False, **kwargs)
    return time.perf_counter() - start


def measured(name: str, count: int, work) -> tuple[str, int, float, float]:
    """``(name, count, wall seconds, CPU seconds)`` of ``work()`` (which returns wall seconds)."""
    cpu = cpu_seconds()
    seconds = work()
    return name, count, seconds, cpu_seconds() - cpu


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="archgym/SystolicArray-v0")
    parser.add_argument("--workload", default="resnet50")
    parser.add_argument("--evals", type=int, default=300_000, help="evaluations in all")
    parser.add_argument("--seeds", type=int, default=2, help="runs (one per seed)")
    parser.add_argument("--batch", type=int, default=5000, help="designs asked at once")
    parser.add_argument("--no-dask", action="store_true", help="skip the Dask LocalCluster")
    args = parser.parse_args(argv)
    text = EXP.format(
        budget=args.evals // args.seeds,
        seeds=args.seeds,
        batch=args.batch,
        env=args.env,
        workload=args.workload,
    )
    exp = parse_experiment(textwrap.dedent(text), "bench_runner.toml")
    n = exp.budget * len(exp.seeds)
    cpu = cpu_seconds()
    raw, path = raw_model(args.env, args.workload, min(n, 4 * args.batch), args.batch)
    raw_cpu = (cpu_seconds() - cpu) * n / min(n, 4 * args.batch)
    rows = [("raw model, 1 process, " + path, n, n / raw, raw_cpu)]
    tmp = Path(tempfile.mkdtemp(prefix="bench-runner-"))
    try:
        rows.append(
            measured("runner without the model, 1 process", n, lambda: runner_alone(exp, tmp / "a"))
        )
        rows.append(
            measured("archgym run, 1 worker", n, lambda: timed_run(exp, tmp / "w1", workers=1))
        )
        rows.append(
            measured("resume of the finished run", 0, lambda: timed_run(exp, tmp / "w1", workers=1))
        )
        rows.append(
            measured(
                "archgym run, 2 local workers", n, lambda: timed_run(exp, tmp / "w2", workers=2)
            )
        )
        if not args.no_dask:
            rows += _dask_rows(exp, tmp, n)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{args.env} / {args.workload}: random_walk, {n:,} evaluations, batch {args.batch}")
    print(
        f"{'mode':44s} {'designs':>9s} {'seconds':>8s} {'designs/s':>10s} {'vs raw':>7s} {'CPU s':>7s}"
    )
    for name, count, seconds, cpu_s in rows:
        rate = count / seconds if count else float("nan")
        if count:
            ratio = f"{rate / raw:7.2f}"
        else:
            ratio = f"{seconds / rows[2][2]:6.0%} " if name.startswith("resume") else "      -"
        print(f"{name:44s} {count:9,d} {seconds:8.2f} {rate:10,.0f} {ratio} {cpu_s:7.1f}")
    print("(resume row: its time as a share of the 1-worker run; raw model's CPU scaled to n)")


def _proc_cpu(pids: list[int]) -> float:
    """CPU seconds (user + system) used so far by running processes ``pids`` (Linux /proc;
    NaN elsewhere)."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return float("nan")
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _dask_rows(exp, tmp: Path, n: int) -> list[tuple[str, int, float, float]]:
    try:
        from dask.distributed import Client
    except ImportError:
        return []
    from archgym.distributed import local_cluster

    rows = []
    for workers in (1, 2):
        plural = "s" if workers > 1 else ""
        cpu, start = cpu_seconds(), time.perf_counter()
        cluster = local_cluster(workers)
        client = Client(cluster)
        client.wait_for_workers(workers)
        startup = time.perf_counter() - start
        pids = list(client.run(os.getpid).values())
        try:
            own, kids = cpu_seconds(), _proc_cpu(pids)
            seconds = timed_run(exp, tmp / f"dask{workers}", executor=DaskExecutor(client))
            run_cpu = cpu_seconds() - own + _proc_cpu(pids) - kids
        finally:
            client.close()
            cluster.close()
        cpu = cpu_seconds() - cpu
        rows.append((f"Dask LocalCluster start-up ({workers} worker{plural})", 0, startup, 0.0))
        rows.append((f"Dask, {workers} worker{plural}", n, seconds, cpu))
        rows.append(("  the same run without start-up and shut-down", n, seconds, run_cpu))
    return rows


if __name__ == "__main__":
    main()
