"""Experiment files: TOML that pairs agents (with hyperparameter grids) with envs over seeds.

A file::

    [experiment]
    name = "quickstart"
    budget = 200            # evaluations per run
    seeds = [0, 1, 2]       # or a count: seeds = 3
    workers = 2             # local processes (1 = in this process)
    batch = 1               # designs an agent is asked for at once

    [env]                   # or several [[envs]] tables
    id = "archgym/GemmRoofline-v0"
    kwargs = { workload = "bert-base", objective = "edp" }

    [[agents]]
    name = "random_walk"
    hyperparams = { dedupe = [true, false] }   # lists are grids

A run is one (env, agent, hyperparameter setting, seed); :meth:`Experiment.runs` lists them.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from archgym.errors import ConfigError, UserError

__all__ = [
    "MAX_SEED",
    "QUICKSTART",
    "AgentSpec",
    "EnvSpec",
    "Experiment",
    "RunSpec",
    "load_experiment",
    "parse_experiment",
    "with_overrides",
]

QUICKSTART = Path(__file__).parent.parent / "data" / "quickstart.toml"
#: Seeds, budgets and counts are stored as Parquet int64 columns.
MAX_SEED = 2**63 - 1

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

    @property
    def env_kwargs_json(self) -> str:
        """The env's keywords as canonical JSON (stored in every record, for replay)."""
        return json.dumps(self.env.kwargs, sort_keys=True, default=str)

    def identity(self) -> dict[str, Any]:
        """What determines this run's records, apart from the budget (which may grow)."""
        return {
            "experiment": self.experiment,
            "run_id": self.run_id,
            "env_id": self.env.id,
            "env_kwargs": json.loads(self.env_kwargs_json),
            "agent": self.agent,
            "hyperparams": self.hyperparams,
            "seed": self.seed,
            "batch": self.batch,
        }


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
        """Hash of what makes two experiments the same: name, envs, agents and batch.

        Budget and seeds are left out so that an output folder can grow (a larger ``--budget``
        continues its runs, new seeds add runs); workers and ``flush_every`` do not change records.
        """
        data = {
            "name": self.name,
            "envs": [(e.id, e.kwargs) for e in self.envs],
            "agents": [(a.name, a.grid, a.label) for a in self.agents],
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
    if value > MAX_SEED:
        raise ctx.error(key, f"must be below 2**63, but got {value!r}")
    return value


def _is_seed(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_SEED


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
    name = exp.get("name", Path(source).stem)
    if not isinstance(name, str) or not re.fullmatch(r"[\w.-]+", name):
        raise ctx.error(
            "experiment.name", f"must use letters, digits, '.', '_' or '-', but got {name!r}"
        )
    budget = _positive_int(ctx, "experiment.budget", exp.get("budget", 100))
    seeds_raw = exp.get("seeds", 1)
    if isinstance(seeds_raw, int) and not isinstance(seeds_raw, bool):
        seeds = tuple(range(_positive_int(ctx, "experiment.seeds", seeds_raw)))
    elif isinstance(seeds_raw, list) and seeds_raw and all(_is_seed(s) for s in seeds_raw):
        seeds = tuple(seeds_raw)
        if len(set(seeds)) != len(seeds):
            raise ctx.error("experiment.seeds", f"must be distinct, but got {seeds_raw!r}")
    else:
        raise ctx.error(
            "experiment.seeds",
            f"must be a count or a list of integers in [0, 2**63), but got {seeds_raw!r}",
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


def with_overrides(
    experiment: Experiment,
    *,
    seed: int | None = None,
    budget: int | None = None,
    workers: int | None = None,
) -> Experiment:
    """A copy with command-line overrides applied (``seed`` runs that one seed).

    Raises:
        UserError: for a seed outside [0, 2**63) or a budget or worker count below 1.
    """
    changes: dict[str, Any] = {}
    for name, value, low in (("seed", seed, 0), ("budget", budget, 1), ("workers", workers, 1)):
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= MAX_SEED:
            kind = "a non-negative integer" if low == 0 else "a positive integer"
            raise UserError(f"--{name} must be {kind} below 2**63, but got {value!r}")
    if seed is not None:
        changes["seeds"] = (seed,)
    if budget is not None:
        changes["budget"] = budget
    if workers is not None:
        changes["workers"] = workers
    return replace(experiment, **changes)
