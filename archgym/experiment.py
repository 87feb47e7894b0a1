"""Experiments: TOML files that pair agents (with hyperparameter grids) with envs over seeds.

A file::

    [experiment]
    name = "quickstart"
    budget = 200            # evaluations per run
    seeds = [0, 1, 2]       # or a count: seeds = 3
    workers = 2             # local processes (1 = in this process)

    [env]                   # or several [[envs]] tables
    id = "archgym/GemmRoofline-v0"
    kwargs = { workload = "bert-base", objective = "edp" }

    [[agents]]
    name = "random_walk"
    hyperparams = { dedupe = [true, false] }   # lists are grids

A run is one (env, agent, hyperparameter setting, seed). Runs execute in parallel processes and
each appends its records to the Parquet dataset (:mod:`archgym.dataset`). The same file and seeds
give the same records (wall time aside). Running again into the same folder resumes: completed
runs are skipped, and a partial run's agent is replayed through its recorded results (asking the
same designs, which is checked) before it continues, so nothing is lost or duplicated.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
import tomllib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from archgym.errors import ConfigError, UserError

__all__ = [
    "QUICKSTART",
    "AgentSpec",
    "EnvSpec",
    "Experiment",
    "RunSpec",
    "execute_run",
    "load_experiment",
    "parse_experiment",
    "run_experiment",
]

QUICKSTART = Path(__file__).parent / "data" / "quickstart.toml"

_TOP_KEYS = {"experiment", "env", "envs", "agents"}
_EXPERIMENT_KEYS = {"name", "budget", "seeds", "workers", "flush_every", "batch", "description"}
_ENV_KEYS = {"id", "kwargs", "label"}
_AGENT_KEYS = {"name", "hyperparams", "label"}


@dataclass(frozen=True)
class EnvSpec:
    """An env id, its constructor keywords and a short label."""

    id: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    label: str = ""


@dataclass(frozen=True)
class AgentSpec:
    """An agent name and its hyperparameter grid (each value a list of settings)."""

    name: str
    grid: dict[str, list[Any]] = field(default_factory=dict)
    label: str = ""

    def settings(self) -> list[dict[str, Any]]:
        """Every combination of the grid (one empty dict when there is no grid)."""
        keys = list(self.grid)
        return [
            dict(zip(keys, combo, strict=True)) for combo in itertools.product(*self.grid.values())
        ]


@dataclass(frozen=True)
class RunSpec:
    """One run: everything a worker needs to reproduce it."""

    experiment: str
    run_id: str
    env: EnvSpec
    agent: str
    hyperparams: dict[str, Any]
    seed: int
    budget: int
    batch: int = 1


@dataclass(frozen=True)
class Experiment:
    """A parsed experiment file (see the module docstring)."""

    name: str
    envs: tuple[EnvSpec, ...]
    agents: tuple[AgentSpec, ...]
    budget: int
    seeds: tuple[int, ...]
    workers: int = 1
    flush_every: int = 50
    source: str = "<string>"
    batch: int = 1

    def runs(self) -> list[RunSpec]:
        """All runs, in a fixed order (env, agent, setting, seed)."""
        out = []
        for ei, env in enumerate(self.envs):
            for agent in self.agents:
                for hp in agent.settings():
                    tag = hashlib.sha1(json.dumps(hp, sort_keys=True).encode()).hexdigest()[:8]
                    for seed in self.seeds:
                        run_id = f"e{ei}-{agent.label or agent.name}-{tag}-s{seed}"
                        out.append(
                            RunSpec(
                                self.name,
                                run_id,
                                env,
                                agent.name,
                                hp,
                                seed,
                                self.budget,
                                self.batch,
                            )
                        )
        return out

    def fingerprint(self) -> str:
        """Hash of everything that determines the records (not workers or file paths)."""
        data = {
            "name": self.name,
            "envs": [(e.id, e.kwargs) for e in self.envs],
            "agents": [(a.name, a.grid, a.label) for a in self.agents],
            "budget": self.budget,
            "seeds": list(self.seeds),
            "flush_every": self.flush_every,
            "batch": self.batch,
        }
        return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


# -- parsing ------------------------------------------------------------------------------------


def _line_of(text: str, key: str) -> int | None:
    """Line number (1-based) where dotted ``key`` (``section.name``) is set in ``text``.

    The search starts at the section's table header (``[env]``, ``[[agents]]``) when there is one,
    and accepts ``name = ...`` lines as well as inline tables (``kwargs = { name = ... }``).
    """
    parts = key.split(".")
    lines = text.splitlines()
    start = 0
    if len(parts) > 1:
        header = re.compile(rf"^\s*\[+\s*{re.escape(parts[0])}s?\s*\]+")
        start = next((i for i, line in enumerate(lines) if header.match(line)), 0)
    leaf = re.escape(parts[-1])
    assign = re.compile(rf"^\s*(\[+\s*)?([\w.\"-]*\.)?\"?{leaf}\"?\s*(=|\]|\.)|[{{,]\s*{leaf}\s*=")
    for i in range(start, len(lines)):
        if assign.search(lines[i]):
            return i + 1
    return start + 1 if len(parts) > 1 and start else None


class _Ctx:
    """Builds error messages that name the file, the line and the key."""

    def __init__(self, source: str, text: str) -> None:
        self.source, self.text = source, text

    def error(self, key: str, message: str) -> ConfigError:
        line = _line_of(self.text, key)
        where = f"{self.source}:{line}" if line else self.source
        return ConfigError(f"{where}: `{key}`: {message}")

    def check_keys(self, table: Mapping[str, Any], allowed: set[str], prefix: str) -> None:
        from archgym.errors import unknown_name

        for key in table:
            if key not in allowed:
                msg = str(unknown_name("key", key, allowed))
                raise self.error(f"{prefix}{key}", msg)


def _positive_int(ctx: _Ctx, key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ctx.error(key, f"must be a positive integer, but got {value!r}")
    return value


def parse_experiment(text: str, source: str = "<string>", *, validate: bool = True) -> Experiment:
    """Parse experiment TOML text; errors name ``source``, the line and the key.

    With ``validate=True`` env ids, agent names and hyperparameters are checked, and each env is
    constructed once with its kwargs so that a bad workload name fails now, not in a worker.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: invalid TOML: {exc}") from None
    ctx = _Ctx(source, text)
    ctx.check_keys(data, _TOP_KEYS, "")
    exp = data.get("experiment", {})
    if not isinstance(exp, dict):
        raise ctx.error("experiment", "must be a table")
    ctx.check_keys(exp, _EXPERIMENT_KEYS, "experiment.")
    name = str(exp.get("name", Path(source).stem))
    if not re.fullmatch(r"[\w.-]+", name):
        raise ctx.error(
            "experiment.name", f"must use letters, digits, '.', '_' or '-', but got {name!r}"
        )
    budget = _positive_int(ctx, "experiment.budget", exp.get("budget", 100))
    seeds_raw = exp.get("seeds", 1)
    if isinstance(seeds_raw, int) and not isinstance(seeds_raw, bool):
        seeds = tuple(range(_positive_int(ctx, "experiment.seeds", seeds_raw)))
    elif (
        isinstance(seeds_raw, list)
        and seeds_raw
        and all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds_raw)
    ):
        seeds = tuple(seeds_raw)
        if len(set(seeds)) != len(seeds):
            raise ctx.error("experiment.seeds", f"must be distinct, but got {seeds_raw!r}")
    else:
        raise ctx.error(
            "experiment.seeds",
            f"must be a count or a list of non-negative integers, but got {seeds_raw!r}",
        )
    workers = _positive_int(ctx, "experiment.workers", exp.get("workers", 1))
    flush_every = _positive_int(ctx, "experiment.flush_every", exp.get("flush_every", 50))

    if "env" in data and "envs" in data:
        raise ctx.error("envs", "give either one [env] table or [[envs]] tables, not both")
    env_tables = data.get("envs", [data["env"]] if "env" in data else None)
    if not env_tables or not isinstance(env_tables, list):
        raise ConfigError(f"{source}: needs an [env] table (or [[envs]]) with an `id`")
    envs = tuple(_parse_env(ctx, t, i) for i, t in enumerate(env_tables))
    agent_tables = data.get("agents")
    if not agent_tables or not isinstance(agent_tables, list):
        raise ConfigError(f"{source}: needs at least one [[agents]] table with a `name`")
    agents = tuple(_parse_agent(ctx, t) for t in agent_tables)
    labels = [a.label or a.name for a in agents]
    dupes = sorted({x for x in labels if labels.count(x) > 1})
    if dupes:
        raise ctx.error("agents", f"agents {dupes} appear twice; give them distinct `label`s")
    batch = _positive_int(ctx, "experiment.batch", exp.get("batch", 1))
    experiment = Experiment(name, envs, agents, budget, seeds, workers, flush_every, source, batch)
    if validate:
        _validate(ctx, experiment)
    return experiment


def _parse_env(ctx: _Ctx, table: Any, index: int) -> EnvSpec:
    if not isinstance(table, dict):
        raise ctx.error("env", "must be a table")
    ctx.check_keys(table, _ENV_KEYS, "env.")
    if "id" not in table or not isinstance(table["id"], str):
        raise ctx.error("env", "needs a string `id` such as 'archgym/GemmRoofline-v0'")
    kwargs = table.get("kwargs", {})
    if not isinstance(kwargs, dict):
        raise ctx.error("env.kwargs", f"must be a table, but got {kwargs!r}")
    return EnvSpec(table["id"], kwargs, str(table.get("label", f"e{index}")))


def _parse_agent(ctx: _Ctx, table: Any) -> AgentSpec:
    if not isinstance(table, dict):
        raise ctx.error("agents", "each [[agents]] entry must be a table")
    ctx.check_keys(table, _AGENT_KEYS, "agents.")
    if "name" not in table or not isinstance(table["name"], str):
        raise ctx.error("agents", "each [[agents]] entry needs a string `name`")
    hp = table.get("hyperparams", {})
    if not isinstance(hp, dict):
        raise ctx.error("agents.hyperparams", f"must be a table, but got {hp!r}")
    grid = {k: (v if isinstance(v, list) else [v]) for k, v in hp.items()}
    for k, v in grid.items():
        if not v:
            raise ctx.error(f"agents.hyperparams.{k}", "an empty list gives no settings")
    return AgentSpec(table["name"], grid, str(table.get("label", "")))


def _validate(ctx: _Ctx, experiment: Experiment) -> None:
    import archgym
    from archgym.agents.base import get_agent

    objectives = []
    for env in experiment.envs:
        try:
            made = archgym.make(env.id, **env.kwargs)
        except UserError as exc:
            raise ctx.error("env.id" if "env id" in str(exc) else "env.kwargs", str(exc)) from None
        except (TypeError, ValueError, KeyError) as exc:
            raise ctx.error("env.kwargs", f"{env.id} rejected its kwargs: {exc}") from None
        objective = getattr(made, "objective", None)
        objectives.append((env.id, objective.n_objectives if objective is not None else 1))
    for agent in experiment.agents:
        try:
            cls = get_agent(agent.name)
        except UserError as exc:
            raise ctx.error("agents.name", str(exc)) from None
        for setting in agent.settings():
            try:
                cls.resolve_hyperparams(setting)
            except ValueError as exc:
                key = next((k for k in setting if f"`{k}`" in str(exc) or repr(k) in str(exc)), "")
                raise ctx.error(
                    f"agents.hyperparams.{key}" if key else "agents.hyperparams", str(exc)
                ) from None
            wanted = setting.get("n_objectives")
            for env_id, n in objectives:
                if cls.multi_objective and wanted is not None and wanted != n:
                    raise ctx.error(
                        "agents.hyperparams.n_objectives",
                        f"agent {agent.name!r} asks for {wanted} objectives but {env_id}'s "
                        f"objective has {n}; leave `n_objectives` out to use the env's",
                    )


def load_experiment(
    path: str | os.PathLike[str] | None = None, *, validate: bool = True
) -> Experiment:
    """Read an experiment file (the built-in quickstart when ``path`` is None)."""
    p = Path(path) if path is not None else QUICKSTART
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"experiment file {str(p)!r} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read experiment file {str(p)!r}: {exc}") from None
    return parse_experiment(text, str(p), validate=validate)


# -- running ------------------------------------------------------------------------------------


def execute_run(
    run: RunSpec,
    dataset_dir: str | os.PathLike[str],
    *,
    flush_every: int = 50,
    progress: Callable[[int], None] | None = None,
    evaluate_many: Callable[[Any, list[dict[str, Any]]], list[Any]] | None = None,
) -> int:
    """Run (or resume) one run, appending its records under ``dataset_dir/run_id``.

    The agent is driven in batches of ``run.batch`` designs (``ask_batch`` / ``tell_batch``);
    ``evaluate_many(env, designs) -> results`` evaluates a batch (default: one after another in
    this process; a cluster backend maps it onto workers). Records are written by this process
    only, so a lost evaluation worker loses no record.

    A partial run is resumed by replaying the recorded results into a fresh agent with the same
    batch structure; the agent must ask the recorded designs again (deterministic agents do),
    which is checked. Returns the number of new evaluations made.
    """
    import archgym
    from archgym.agents.base import get_agent, make_agent
    from archgym.dataset import RunWriter, read_run, result_of_row, schema_for

    env = archgym.make(run.env.id, **run.env.kwargs)
    env.reset(seed=run.seed)
    hyperparams = dict(run.hyperparams)
    cls = get_agent(run.agent)
    if cls.multi_objective and "n_objectives" in cls.hyperparams:
        # Pareto agents search the env's objective vector unless told otherwise.
        hyperparams.setdefault("n_objectives", env.objective.n_objectives)
    agent = make_agent(run.agent, env.space, seed=run.seed, budget=run.budget, **hyperparams)
    evaluate = evaluate_many or _evaluate_here
    run_dir = Path(dataset_dir) / run.run_id
    recorded = [result_of_row(row, env.space) for row in read_run(run_dir).to_dict("records")]
    constants = {
        "experiment": run.experiment,
        "run_id": run.run_id,
        "env_id": run.env.id,
        "agent": run.agent,
        "agent_params": json.dumps(run.hyperparams, sort_keys=True),
        "seed": run.seed,
        "archgym_version": archgym.__version__,
    }
    writer = RunWriter(
        run_dir, schema_for(env.space, env.metric_names), constants, flush_every=flush_every
    )
    step, new = 0, 0
    try:
        while step < run.budget and not agent.finished:
            designs = agent.ask_batch(min(run.batch, run.budget - step))
            old = recorded[step : step + len(designs)]
            for i, (asked, rec) in enumerate(zip(designs, old, strict=False)):
                if asked != rec.design:
                    raise UserError(
                        f"cannot resume run {run.run_id}: at step {step + i} agent {run.agent!r} "
                        f"asked {asked} but the dataset holds {rec.design}; the agent is not "
                        "deterministic"
                    )
            fresh = evaluate(env, designs[len(old) :]) if len(old) < len(designs) else []
            agent.tell_batch(designs, [*old, *fresh])
            for i, result in enumerate(fresh, start=step + len(old)):
                writer.add(i, result)
            step += len(designs)
            new += len(fresh)
            if progress is not None and fresh:
                progress(len(fresh))
    finally:
        writer.flush()
    return new


def _evaluate_here(env: Any, designs: list[dict[str, Any]]) -> list[Any]:
    return env.evaluate_batch(designs)


@contextmanager
def _single_threaded_children() -> Iterator[None]:
    """Worker processes inherit one BLAS/OpenMP thread each (oversubscription on few cores)."""
    names = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
    saved = {n: os.environ.get(n) for n in names}
    os.environ.update({n: "1" for n in names})
    try:
        yield
    finally:
        for n, v in saved.items():
            if v is None:
                os.environ.pop(n, None)
            else:
                os.environ[n] = v


def _worker(run: RunSpec, dataset_dir: str, flush_every: int, queue: Any) -> int:
    return execute_run(run, dataset_dir, flush_every=flush_every, progress=queue.put)


def _write_manifest(out: Path, experiment: Experiment, text: str) -> None:
    import archgym

    manifest = {
        "experiment": experiment.name,
        "fingerprint": experiment.fingerprint(),
        "archgym_version": archgym.__version__,
        "runs": [r.run_id for r in experiment.runs()],
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "experiment.toml").write_text(text, encoding="utf-8")
    tmp = out / "manifest.json.tmp"
    tmp.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    os.replace(tmp, out / "manifest.json")


def prepare_output(out: Path, experiment: Experiment, *, overwrite: bool = False) -> bool:
    """Create or check the output folder; returns True when resuming an earlier run of it."""
    manifest = out / "manifest.json"
    if manifest.exists():
        old = json.loads(manifest.read_text(encoding="utf-8"))
        if old.get("fingerprint") == experiment.fingerprint():
            return True
        if not overwrite:
            raise UserError(
                f"{out} holds a different experiment ({old.get('experiment')!r}); choose another "
                "--out, or pass --overwrite to replace it"
            )
        import shutil

        shutil.rmtree(out / "dataset", ignore_errors=True)
    elif out.exists() and any(out.iterdir()) and not overwrite:
        raise UserError(
            f"{out} exists and is not an archgym experiment folder; choose another --out"
        )
    text = (
        Path(experiment.source).read_text(encoding="utf-8")
        if Path(experiment.source).is_file()
        else ""
    )
    _write_manifest(out, experiment, text)
    return False


def run_experiment(
    experiment: Experiment,
    out: str | os.PathLike[str],
    *,
    workers: int | None = None,
    overwrite: bool = False,
    show_progress: bool = True,
    executor: Any = None,
) -> Path:
    """Run every run of ``experiment`` into ``out`` (resuming if ``out`` holds it already).

    Args:
        experiment: The parsed experiment.
        out: Output folder (manifest, experiment copy, ``dataset/``).
        workers: Local processes (default: the experiment's ``workers``); 1 runs in this process.
        overwrite: Replace a different experiment already in ``out``.
        show_progress: Draw a tqdm progress bar of evaluations.
        executor: A ``concurrent.futures.Executor``-like object to use instead of local processes
            (for example a Dask client wrapper); it must accept ``submit(fn, *args)``.

    Returns:
        The dataset folder.
    """
    from tqdm import tqdm

    out = Path(out)
    prepare_output(out, experiment, overwrite=overwrite)
    dataset_dir = out / "dataset"
    dataset_dir.mkdir(parents=True, exist_ok=True)
    runs = experiment.runs()
    n_workers = workers or experiment.workers
    total = len(runs) * experiment.budget
    bar = tqdm(total=total, unit="eval", disable=not show_progress, desc=experiment.name)
    already = sum(_count_records(dataset_dir / r.run_id) for r in runs)
    bar.update(already)
    try:
        if executor is None and n_workers <= 1:
            for run in runs:
                execute_run(
                    run, dataset_dir, flush_every=experiment.flush_every, progress=bar.update
                )
        else:
            _run_parallel(runs, dataset_dir, experiment.flush_every, n_workers, bar, executor)
    finally:
        bar.close()
    return dataset_dir


def _count_records(run_dir: Path) -> int:
    from archgym.dataset import read_run

    return len(read_run(run_dir)) if run_dir.exists() else 0


def _run_parallel(
    runs: Sequence[RunSpec],
    dataset_dir: Path,
    flush_every: int,
    workers: int,
    bar: Any,
    executor: Any,
) -> None:
    import multiprocessing as mp
    import queue as queue_mod
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    ctx = mp.get_context("spawn")
    with _single_threaded_children(), ctx.Manager() as manager:
        q = manager.Queue()
        pool = executor or ProcessPoolExecutor(max_workers=workers, mp_context=ctx)
        try:
            pending = {pool.submit(_worker, r, str(dataset_dir), flush_every, q) for r in runs}
            while pending:
                finished, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                _drain(q, bar, queue_mod)
                for fut in finished:
                    fut.result()  # re-raise a worker's error here
            _drain(q, bar, queue_mod)
        finally:
            if executor is None:
                pool.shutdown(cancel_futures=True)


def _drain(q: Any, bar: Any, queue_mod: Any) -> None:
    while True:
        try:
            bar.update(q.get_nowait())
        except queue_mod.Empty:
            return


def with_overrides(
    experiment: Experiment,
    *,
    seed: int | None = None,
    budget: int | None = None,
    workers: int | None = None,
) -> Experiment:
    """A copy with CLI overrides applied (``--seed`` runs that one seed)."""
    changes: dict[str, Any] = {}
    if seed is not None:
        changes["seeds"] = (seed,)
    if budget is not None:
        changes["budget"] = budget
    if workers is not None:
        changes["workers"] = workers
    return replace(experiment, **changes)
