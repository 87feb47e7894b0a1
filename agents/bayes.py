"""Bayesian and evolutionary optimisation through Optuna's ask/tell interface."""

from __future__ import annotations

import contextlib
import copy
import math
from collections.abc import Iterator, Mapping
from typing import Any

from archgym.agents._util import design_key, score
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
# Largest box scanned for an unseen design when random draws keep hitting evaluated ones.
_MAX_SCAN = 100_000


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


def make_sampler(name: str, seed: int | None, n_startup: int, population: int) -> Any:
    """The Optuna sampler called ``name`` (one of :data:`SAMPLERS`), seeded."""
    import warnings

    import optuna

    s = optuna.samplers
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    if name in ("tpe", "tpe-multivariate"):
        multi = name == "tpe-multivariate"
        return s.TPESampler(seed=seed, n_startup_trials=n_startup, multivariate=multi, group=multi)
    if name == "cmaes":
        try:
            import cmaes  # noqa: F401
        except ImportError:
            raise ImportError(
                "sampler 'cmaes' needs the `cmaes` package: pip install cmaes"
            ) from None
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
        try:
            import torch  # noqa: F401
        except ImportError:
            raise ImportError(
                "sampler 'gp' needs torch (Optuna's GPSampler): pip install torch==2.13.0"
            ) from None
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
    across machines. ``study_name`` names it there (default derived from sampler and seed); an
    existing study of that name is resumed.
    """

    hyperparams = {
        "sampler": HyperParam("tpe", choices=SAMPLERS, doc="Optuna sampler (see class doc)"),
        "n_startup": HyperParam(
            10, low=0, high=100_000, doc="random trials before the model is used (tpe, cmaes, gp)"
        ),
        "population": HyperParam(
            0, low=0, high=100_000, doc="population of nsga2/cmaes; 0: Optuna's default"
        ),
        "n_objectives": HyperParam(1, low=1, high=16, doc="length of result.values to maximise"),
        "reuse_seen": HyperParam(
            True, choices=(True, False), doc="never evaluate a design twice (see class doc)"
        ),
        "storage": HyperParam(None, doc="None, 'journal:PATH' or an RDB URL"),
        "study_name": HyperParam(None, doc="study name in a persistent storage"),
    }

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
        self._dists = space.to_optuna()
        self._seen: dict[tuple, tuple[float, ...] | None] = {}
        self._pending: dict[tuple, list[int]] = {}
        sampler = make_sampler(
            self.params["sampler"],
            self._sampler_seed,
            self.params["n_startup"],
            self.params["population"],
        )
        self.study = self._open_study(sampler)

    def _open_study(self, sampler: Any) -> Any:
        import optuna

        name = self.params["study_name"]
        if name is None and self.params["storage"] is not None:
            name = f"archgym-{self.params['sampler']}-seed{self.seed}"
        with _quiet_optuna():
            return optuna.create_study(
                storage=_storage(self.params["storage"]),
                sampler=sampler,
                study_name=name,
                directions=["maximize"] * self.params["n_objectives"],
                load_if_exists=True,
            )

    def _to_optuna_params(self, design: Mapping[str, Any]) -> dict[str, Any]:
        return {
            p.name: (
                int(design[p.name]).bit_length() - 1
                if isinstance(p, PowerOfTwo)
                else design[p.name]
            )
            for p in self.space.params
        }

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
            design = self.space.from_optuna(trial.params)
            key = design_key(self.space, design)
            if self.space.violated(design):
                self._tell_known(trial.number, None)
            elif self.params["reuse_seen"] and key in self._seen:
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

    def _fallback(self, proposal: Design) -> Design:
        near = [] if self.space.violated(proposal) else self.space.neighbours(proposal)
        near = [d for d in near if design_key(self.space, d) not in self._seen]
        if near:
            return near[int(self.rng.integers(len(near)))]
        for _ in range(4 * _MAX_PROPOSALS):
            design = self.space.sample(self.rng)
            if design_key(self.space, design) not in self._seen:
                return design
        if self.space.is_finite and self.space.box_size <= _MAX_SCAN:
            # Nearly exhausted small space: pick among the designs not evaluated yet.
            unseen = [d for d in self.space.grid() if design_key(self.space, d) not in self._seen]
            if unseen:
                return unseen[int(self.rng.integers(len(unseen)))]
        return design

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
        """Agent state; an in-memory study is copied whole, a stored one is reopened by name."""
        state = copy.deepcopy({k: v for k, v in vars(self).items() if k not in ("space", "study")})
        in_memory = self.params["storage"] is None
        state["study"] = copy.deepcopy(self.study) if in_memory else None
        state["sampler"] = copy.deepcopy(self.study.sampler)
        return state

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        state = dict(state)
        study, sampler = state.pop("study"), state.pop("sampler")
        vars(self).update(copy.deepcopy(state))
        self.study = (
            copy.deepcopy(study) if study is not None else self._open_study(copy.deepcopy(sampler))
        )


@register_agent("nsga2")
class OptunaNSGA2(OptunaAgent):
    """NSGA-II (Optuna) for Pareto search over ``result.values``; ``n_objectives`` defaults to 2."""

    multi_objective = True
    hyperparams = {
        **OptunaAgent.hyperparams,
        "sampler": HyperParam("nsga2", choices=("nsga2",), doc="fixed: NSGA-II"),
        "n_objectives": HyperParam(2, low=1, high=16, doc="length of result.values to maximise"),
    }
