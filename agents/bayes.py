"""Bayesian and evolutionary optimisation through Optuna's ask/tell interface."""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import math
import threading
from collections.abc import Iterator, Mapping
from typing import Any

from archgym.agents._util import design_key, score, unseen_design
from archgym.agents.base import Agent, HyperParam, register_agent

from archgym.result import Result
from archgym.space import Design, PowerOfTwo

__all__ = ["SAMPLERS", "OptunaAgent", "OptunaNSGA2"]

SAMPLERS = ("tpe", "tpe-multivariate", "cmaes", "nsga2", "qmc", "gp", "random")
# Optuna proposals per ask before falling back to an unseen neighbour of the last proposal (or
# a uniform design): proposals that violate a constraint, or repeat a design whose reward is
# already known, are told back at no evaluation cost, but every proposal costs the sampler time
# that grows with the number of trials, so the fallback comes early.
_MAX_PROPOSALS = 2


@contextlib.contextmanager
def _quiet_optuna() -> Iterator[None]:
    """Silence Optuna's INFO lines ("A new study created ...") without changing them for good."""
    import optuna

    level = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(level)


# Optional packages of some samplers: (module to import, pip line).
_NEEDS = {
    "cmaes": ("cmaes", "pip install cmaes"),
    "gp": ("torch", "pip install torch==2.13.0 (Optuna's GPSampler)"),
}

# What `archgym agents` prints about each sampler: method and the hyperparameters it reads.
SAMPLER_DOCS = {
    "tpe": "independent TPE (one density per parameter); n_startup random trials first",
    "tpe-multivariate": "joint TPE over all parameters (Optuna's multivariate+group); n_startup",
    "cmaes": "CMA-ES (needs `cmaes`), categoricals drawn at random; n_startup, population "
    "(0: CMA-ES's 4+3ln(d))",
    "nsga2": "NSGA-II genetic algorithm, also multi-objective; population (0: budget/20 "
    "within [10, 50], 50 without a budget)",
    "qmc": "scrambled Sobol sequence (quasi-random, no model)",
    "gp": "Gaussian-process BO with log-EI (needs torch); n_startup",
    "random": "uniform random (Optuna's RandomSampler)",
}


def sampler_missing(name: str) -> str | None:
    """A one-line message if sampler ``name`` needs a package that is not installed, else None."""
    import importlib.util

    if name not in _NEEDS:
        return None
    module, pip = _NEEDS[name]
    if importlib.util.find_spec(module) is None:
        return f"sampler {name!r} needs the `{module}` package: {pip}"
    return None


def make_sampler(name: str, seed: int | None, n_startup: int, population: int) -> Any:
    """The Optuna sampler called ``name`` (one of :data:`SAMPLERS`), seeded."""
    import warnings

    import optuna

    s = optuna.samplers
    missing = sampler_missing(name)
    if missing:
        raise ValueError(missing)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    if name in ("tpe", "tpe-multivariate"):
        multi = name == "tpe-multivariate"
        return s.TPESampler(
            seed=seed,
            n_startup_trials=n_startup,
            multivariate=multi,
            group=multi,
            constant_liar=True,  # batches (ask_batch) get distinct proposals
        )
    if name == "cmaes":
        # Categorical parameters are outside CMA-ES; they are drawn by the independent sampler.
        return s.CmaEsSampler(
            seed=seed,
            n_startup_trials=n_startup,
            warn_independent_sampling=False,
            independent_sampler=s.RandomSampler(seed=seed),
            popsize=population or None,
        )
    if name == "nsga2":
        return s.NSGAIISampler(seed=seed, population_size=population or 50)
    if name == "qmc":
        return s.QMCSampler(
            seed=seed,
            scramble=True,
            warn_independent_sampling=False,
            warn_asynchronous_seeding=False,
            independent_sampler=s.RandomSampler(seed=seed),
        )
    if name == "gp":
        return s.GPSampler(seed=seed, n_startup_trials=n_startup, warn_independent_sampling=False)
    return s.RandomSampler(seed=seed)


def _storage(spec: str | None) -> Any:
    """``None`` (in memory), ``"journal:PATH"`` (a journal file) or an RDB URL."""
    if spec is None:
        return None
    if spec.startswith("journal:"):
        from optuna.storages import JournalStorage
        from optuna.storages.journal import JournalFileBackend

        return JournalStorage(JournalFileBackend(spec.removeprefix("journal:")))
    return spec


_LOCKS = {type(threading.Lock()): threading.Lock, type(threading.RLock()): threading.RLock}


def _copy_optuna(obj: Any) -> Any:
    """A deep copy of an Optuna study or sampler. The locks some of them hold (Optuna 5.1's GA
    samplers keep one as ``_thread_lock``) cannot be copied, so the copy gets fresh ones."""
    memo: dict[int, Any] = {}
    holders = [obj, getattr(obj, "sampler", None), getattr(obj, "_storage", None)]
    for holder in holders:
        for value in getattr(holder, "__dict__", {}).values():
            if type(value) in _LOCKS:
                memo[id(value)] = _LOCKS[type(value)]()
    return copy.deepcopy(obj, memo)


def _rebind(sampler: Any, depth: int = 0) -> None:
    """Let a copied sampler serve a new study object: Optuna's search-space caches remember the
    id of the study they first saw (and refuse any other) though the trials are the same."""
    for value in list(vars(sampler).values()):
        if hasattr(value, "_study_id"):
            value._study_id = None
        elif depth < 2 and isinstance(value, optuna_base_sampler()):
            _rebind(value, depth + 1)


def optuna_base_sampler() -> type:
    """``optuna.samplers.BaseSampler`` (imported lazily)."""
    import optuna

    return optuna.samplers.BaseSampler


def _plain(value: Any) -> Any:
    """A JSON-friendly Python value (numpy scalars cast; non-finite floats as strings)."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


@register_agent("optuna")
class OptunaAgent(Agent):
    """An Optuna study driven by ask/tell; the ``sampler`` picks the method.

    Samplers: ``tpe`` (Tree-structured Parzen Estimator), ``tpe-multivariate`` (joint TPE over
    the parameters), ``cmaes`` (CMA-ES via the ``cmaes`` package; categorical parameters drawn
    at random), ``nsga2`` (NSGA-II genetic algorithm, also for Pareto search), ``qmc``
    (scrambled Sobol sequence), ``gp`` (Gaussian-process BO, needs torch) and ``random``.
    Samplers are seeded from the agent's seed.

    Designs that violate a constraint are told to the study as failed trials without an
    evaluation, and so are infeasible results. With ``reuse_seen`` a proposal equal to a design
    already evaluated is not evaluated again: it is told as failed and the study is asked again;
    after two such proposals an unseen neighbour of the last one (or a uniform design) is
    evaluated instead and added to the study. Multi-objective search
    (``n_objectives > 1``) tells ``result.values`` (all maximised).

    ``storage``: ``None`` keeps the study in memory; ``"journal:PATH"`` writes a journal file
    (fast on one machine); an RDB URL (``postgresql://...``, ``sqlite:///...``) shares the study
    across machines (optuna-dashboard reads it). The study's name is derived from the run:
    ``study_name`` (a prefix, e.g. the experiment's name) + sampler + a digest of the space, the
    hyperparameters, the budget and the seed, so runs never share a study. The run's dataset is
    the record; the study mirrors it: a study of the same name (the same run, resumed or
    re-run) is rebuilt from scratch, and the runner's replay of the recorded results fills it
    again, so resume works with every storage. Parameters are stored as users read them except
    powers of two, which the samplers see as their exponent (an ordered integer) under the name
    ``log2(NAME)``; every trial also carries the design as read (``NAME``), its metrics
    (``m.METRIC``), ``feasible`` and ``error`` as user attributes.
    """

    hyperparams = {
        "sampler": HyperParam(
            "tpe-multivariate",
            choices=SAMPLERS,
            doc="\n".join(f"{k}: {v}" for k, v in SAMPLER_DOCS.items()),
        ),
        "n_startup": HyperParam(
            10, low=0, high=100_000, doc="random trials before the model is used (tpe, cmaes, gp)"
        ),
        "population": HyperParam(
            0,
            low=0,
            high=100_000,
            doc="population of nsga2 (0: budget/20 within [10, 50]) or cmaes (0: Optuna's)",
        ),
        "n_objectives": HyperParam(1, low=1, high=16, doc="length of result.values to maximise"),
        "reuse_seen": HyperParam(
            True, choices=(True, False), doc="never evaluate a design twice (see class doc)"
        ),
        "storage": HyperParam(None, doc="None, 'journal:PATH' or an RDB URL"),
        "study_name": HyperParam(
            None, doc="prefix of the derived study name in a storage (default 'archgym')"
        ),
    }

    @classmethod
    def check_requirements(cls, params: Mapping[str, Any]) -> None:
        missing = sampler_missing(params["sampler"])
        if missing:
            raise ValueError(missing)

    def __init__(self, space, *, seed=None, budget=None, **hyperparams) -> None:
        super().__init__(space, seed=seed, budget=budget, **hyperparams)
        storage = self.params["storage"]
        if storage is not None and not isinstance(storage, str):
            raise ValueError(
                f"hyperparameter `storage` of agent {self.name!r} must be None, 'journal:PATH' or "
                f"an RDB URL, but got {storage!r}"
            )
        self.multi_objective = self.params["n_objectives"] > 1
        self._sampler_seed = int(self.rng.integers(2**31 - 1))
        # Optuna names: powers of two are sampled as their (ordered) exponent, named log2(NAME).
        self._onames = {
            p.name: f"log2({p.name})" if isinstance(p, PowerOfTwo) else p.name for p in space.params
        }
        self._dists = {self._onames[p.name]: p.to_optuna() for p in space.params}
        self._seen: dict[tuple, tuple[float, ...] | None] = {}
        self._pending: dict[tuple, list[int]] = {}
        sampler = make_sampler(
            self.params["sampler"],
            self._sampler_seed,
            self.params["n_startup"],
            self._population(),
        )
        self.study = self._open_study(sampler)

    def _population(self) -> int:
        """The population: as given, or for NSGA-II one twentieth of the budget within [10, 50]
        (tuned with `archgym bench`: Optuna's 50 leaves 2-4 generations in budgets of 100-200
        and was no better than random search there)."""
        given = self.params["population"]
        if given or self.params["sampler"] != "nsga2" or self.budget is None:
            return given
        return int(min(50, max(10, self.budget // 20)))

    @property
    def study_name(self) -> str:
        """The study's name: prefix, sampler and a digest of the run (space, settings, seed)."""
        settings = {k: v for k, v in self.params.items() if k not in ("storage", "study_name")}
        run = {
            "space": self.space.to_dict(),
            "settings": settings,
            "budget": self.budget,
            "seed": self.seed,
        }
        digest = hashlib.sha256(json.dumps(run, sort_keys=True, default=str).encode()).hexdigest()
        prefix = self.params["study_name"] or "archgym"
        return f"{prefix}-{self.params['sampler']}-seed{self.seed}-{digest[:12]}"

    def _open_study(self, sampler: Any, *, fresh: bool = True) -> Any:
        import optuna

        storage = _storage(self.params["storage"])
        name = self.study_name
        with _quiet_optuna():
            if storage is not None and fresh:
                # The same run again (resumed or re-run): rebuild, the replay refills it.
                with contextlib.suppress(KeyError):
                    optuna.delete_study(study_name=name, storage=storage)
            return optuna.create_study(
                storage=storage,
                sampler=sampler,
                study_name=name,
                directions=["maximize"] * self.params["n_objectives"],
                load_if_exists=not fresh,
            )

    def _to_optuna_params(self, design: Mapping[str, Any]) -> dict[str, Any]:
        return {
            self._onames[p.name]: (
                int(design[p.name]).bit_length() - 1
                if isinstance(p, PowerOfTwo)
                else design[p.name]
            )
            for p in self.space.params
        }

    def _from_optuna_params(self, params: Mapping[str, Any]) -> Design:
        return {p.name: p.from_optuna(params[self._onames[p.name]]) for p in self.space.params}

    def _annotate(self, number: int, design: Design, result: Result) -> None:
        """The design as read, metrics, feasibility and error as the trial's user attributes."""
        from optuna.trial import Trial

        storage = self.study._storage
        trial_id = storage.get_trial_id_from_study_id_trial_number(self.study._study_id, number)
        attrs: dict[str, Any] = {p.name: _plain(design[p.name]) for p in self.space.params}
        attrs.update({f"m.{k}": _plain(v) for k, v in (result.metrics or {}).items()})
        attrs["feasible"] = bool(result.feasible)
        if result.error:
            attrs["error"] = str(result.error)
        trial = Trial(self.study, trial_id)
        for key, value in attrs.items():
            trial.set_user_attr(key, value)

    def _values(self, result: Result) -> tuple[float, ...]:
        n = self.params["n_objectives"]
        values = tuple(result.values) if result.values else (float(result.reward),)
        if n == 1:
            return (float(result.reward),)
        if len(values) != n:
            raise ValueError(
                f"agent {self.name!r} was built with n_objectives={n}, but the result has "
                f"{len(values)} value(s) {values}; set `n_objectives` to match the objective"
            )
        return values

    def _tell_known(self, number: int, values: tuple[float, ...] | None) -> None:
        from optuna.trial import TrialState

        with _quiet_optuna():
            if values is None:
                self.study.tell(number, state=TrialState.FAIL)
            else:
                self.study.tell(number, list(values) if len(values) > 1 else values[0])

    def ask(self) -> Design:
        for _ in range(_MAX_PROPOSALS):
            trial = self.study.ask(self._dists)
            design = self._from_optuna_params(trial.params)
            key = design_key(self.space, design)
            if self.space.violated(design):
                self._tell_known(trial.number, None)
            elif self.params["reuse_seen"] and self._taken(key):
                # Told as failed, not as a duplicate of its value: duplicates add no
                # information and make a converged sampler propose the same design again.
                self._tell_known(trial.number, None)
            else:
                self._pending.setdefault(key, []).append(trial.number)
                return design
        # The study keeps proposing known or invalid designs: evaluate an unseen neighbour of its
        # last proposal (or a uniform design), and tell the study about it so that its model
        # learns from the evaluation too.
        design = self._fallback(design)
        self.study.enqueue_trial(self._to_optuna_params(design), skip_if_exists=False)
        trial = self.study.ask(self._dists)
        self._pending.setdefault(design_key(self.space, design), []).append(trial.number)
        return design

    def _taken(self, key: tuple) -> bool:
        return key in self._seen or key in self._pending

    def _fallback(self, proposal: Design) -> Design:
        return unseen_design(self.space, proposal, self._taken, self.rng)

    def tell(self, design: Design, result: Result) -> None:
        key = design_key(self.space, design)
        numbers = self._pending.get(key)
        if not numbers:
            # A design this agent did not ask (e.g. a warm start): add it as a trial.
            self.study.enqueue_trial(self._to_optuna_params(design), skip_if_exists=False)
            numbers = [self.study.ask(self._dists).number]
        number = numbers.pop(0)
        if not numbers:
            self._pending.pop(key, None)
        ok = score(result) > -math.inf
        values = self._values(result) if ok else None
        if values is not None and not all(math.isfinite(v) for v in values):
            values = None
        self._seen[key] = values
        self._annotate(number, design, result)
        self._tell_known(number, values)

    @property
    def best(self) -> tuple[Design, float] | None:
        """The best single-objective design so far and its reward (None before one)."""
        done = [(k, v) for k, v in self._seen.items() if v is not None]
        if not done:
            return None
        key, values = max(done, key=lambda kv: kv[1][0])
        return dict(zip(self.space.names, key, strict=True)), values[0]

    # -- checkpoints --------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Agent state; an in-memory study is copied whole, a stored one as its finished trials
        (so a checkpoint restores the study whatever the storage holds by then)."""
        state = copy.deepcopy({k: v for k, v in vars(self).items() if k not in ("space", "study")})
        in_memory = self.params["storage"] is None
        state["study"] = _copy_optuna(self.study) if in_memory else None
        state["trials"] = None if in_memory else self.study.get_trials(deepcopy=True)
        state["sampler"] = _copy_optuna(self.study.sampler)
        return state

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        state = dict(state)
        study, sampler = state.pop("study"), state.pop("sampler")
        trials = state.pop("trials", None)
        vars(self).update(copy.deepcopy(state))
        if study is not None:
            self.study = _copy_optuna(study)
            return
        sampler = _copy_optuna(sampler)
        _rebind(sampler)
        self.study = self._open_study(sampler)  # rebuilt from the checkpoint
        with _quiet_optuna():
            self.study.add_trials([t for t in trials or [] if t.state.is_finished()])


@register_agent("nsga2")
class OptunaNSGA2(OptunaAgent):
    """NSGA-II (Optuna) for Pareto search over ``result.values``; ``n_objectives`` defaults to 2."""

    multi_objective = True
    hyperparams = {
        **OptunaAgent.hyperparams,
        "sampler": HyperParam("nsga2", choices=("nsga2",), doc="fixed: NSGA-II"),
        "n_objectives": HyperParam(2, low=1, high=16, doc="length of result.values to maximise"),
    }
