"""Policy-gradient agents in NumPy: REINFORCE with a baseline or PPO-clip.

* :class:`PolicyGradient` (registered as ``"reinforce"``) searches one-step envs through
  ask/tell with a factorised categorical policy: one softmax per parameter (reals split into
  bins), so a design's log-probability is the sum over parameters.
* :class:`MaskedPolicyGradient` drives multi-step envs (``reset`` / ``step``) whose ``info``
  carries an ``action_mask`` over a ``Discrete`` action space, with a linear softmax policy on
  the flattened observation; masked actions get probability zero.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from archgym.agents._util import (
    MAX_TRIES,
    choice_index,
    choice_sizes,
    choice_value,
    design_key,
    score,
    unseen_design,
)
from archgym.agents.base import Agent, HyperParam, register_agent

from archgym.result import Result
from archgym.space import Design

__all__ = ["MaskedPolicyGradient", "PolicyGradient"]

# Internal re-draws per ask when the policy proposes a design whose reward is already known
# (its known reward joins the batch at no evaluation cost); then an unseen design is asked.
_MAX_KNOWN_REDRAWS = 64


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = np.exp(logits - logits.max())
    return z / z.sum()


def _shape(rewards: np.ndarray, how: str) -> np.ndarray:
    """Advantages of a batch: centred ranks in [-0.5, 0.5], or standardised rewards."""
    n = len(rewards)
    if n < 2:
        return np.zeros(n)
    if how == "rank":
        ranks = np.argsort(np.argsort(rewards, kind="stable"), kind="stable").astype(float)
        # Equal rewards get equal advantages (their mean rank).
        for value in np.unique(rewards):
            tie = rewards == value
            ranks[tie] = ranks[tie].mean()
        return ranks / (n - 1) - 0.5
    std = rewards.std()
    return (rewards - rewards.mean()) / std if std > 0 else np.zeros(n)


@register_agent("reinforce")
class PolicyGradient(Agent):
    """Policy-gradient search over a factorised categorical policy (one softmax per parameter).

    Every ``batch`` told results the logits are updated with the batch's advantages (reward
    minus the batch baseline, as centred ranks by default so the reward's scale does not
    matter): ``algorithm="reinforce"`` takes one gradient step of size ``lr``;
    ``algorithm="ppo"`` takes ``epochs`` steps on the clipped surrogate (ratio clipped to
    ``1 +- clip``). An entropy bonus of weight ``entropy`` keeps the policy exploring.
    Infeasible results get a penalty below the worst reward seen (``penalty`` times the reward
    range under it). Constraint-violating draws are redrawn before they are asked; a draw whose
    reward is already known joins the batch without an evaluation and the policy draws again,
    and after 64 such draws an unseen neighbour of the last one is asked: no evaluation is spent
    on a duplicate while unseen designs remain (batches included).

    Three practitioner's refinements, tuned on the systolic study space and checked on the GPU
    tiling space (docs/agents.md): ``memory`` keeps the best distinct designs seen so far and
    adds them to every update (priority-queue training: a factorised policy otherwise drifts off
    a good combination of values it sampled once); ``elite`` > 0 replaces the advantages by
    the cross-entropy method's (the top fraction of the batch weighted 1, the rest 0, minus the
    mean); ``anneal`` decays ``lr`` and ``entropy`` linearly to 0 over ``budget``.
    """

    hyperparams = {
        "algorithm": HyperParam("reinforce", choices=("reinforce", "ppo"), doc="update rule"),
        "lr": HyperParam(1.0, low=0.0, high=100.0, doc="step size on the logits"),
        "batch": HyperParam(8, low=1, high=100_000, doc="results per policy update"),
        "entropy": HyperParam(0.01, low=0.0, high=10.0, doc="weight of the entropy bonus"),
        "shaping": HyperParam(
            "rank", choices=("rank", "standardise"), doc="advantage of a result in its batch"
        ),
        "clip": HyperParam(0.2, low=0.0, high=10.0, doc="PPO ratio clip"),
        "epochs": HyperParam(4, low=1, high=1000, doc="PPO passes per batch"),
        "penalty": HyperParam(
            0.1, low=0.0, high=100.0, doc="infeasible reward below the worst, in reward ranges"
        ),
        "real_bins": HyperParam(16, low=2, high=10_000, doc="bins per real parameter"),
        "elite": HyperParam(
            0.0,
            low=0.0,
            high=1.0,
            doc="CEM-like update: only this top fraction of a batch gets a positive advantage "
            "(0 = every result against the batch baseline)",
        ),
        "memory": HyperParam(
            4, low=0, high=100_000, doc="best distinct designs seen so far that join every update"
        ),
        "anneal": HyperParam(
            False, choices=(True, False), doc="decay lr and entropy linearly to 0 over the budget"
        ),
    }

    def __init__(self, space, *, seed=None, budget=None, **hyperparams) -> None:
        super().__init__(space, seed=seed, budget=budget, **hyperparams)
        self.logits = [np.zeros(n) for n in choice_sizes(space, self.params["real_bins"])]
        self._seen: dict[tuple, float] = {}
        self._pending: set[tuple] = set()  # asked, not told yet
        self._batch: list[tuple[list[int], float]] = []
        self._lo = math.inf  # worst and best feasible rewards seen, for the penalty
        self._hi = -math.inf
        self._memory: list[tuple[float, list[int]]] = []  # best (reward, actions), best first
        self.updates = 0
        self.told = 0

    # -- policy -------------------------------------------------------------------------------
    def probabilities(self) -> list[np.ndarray]:
        """Per parameter, the policy's probability of each value (or real bin)."""
        return [_softmax(lg) for lg in self.logits]

    def _actions(self, design: Mapping[str, Any]) -> list[int]:
        bins = self.params["real_bins"]
        return [choice_index(p, design[p.name], bins) for p in self.space.params]

    def _draw(self, probs: list[np.ndarray]) -> Design:
        bins = self.params["real_bins"]
        return {
            p.name: choice_value(p, int(self.rng.choice(len(pr), p=pr)), bins, self.rng)
            for p, pr in zip(self.space.params, probs, strict=True)
        }

    def _penalised(self, reward: float) -> float:
        if reward > -math.inf:
            return reward
        if self._lo == math.inf:
            return -1.0  # nothing feasible yet: any constant ranks below later rewards in a batch
        spread = self._hi - self._lo
        return self._lo - self.params["penalty"] * (
            spread if spread > 0 else max(1.0, abs(self._lo))
        )

    def _record(self, design: Mapping[str, Any], reward: float) -> None:
        self._batch.append((self._actions(design), reward))
        if len(self._batch) >= self.params["batch"]:
            self._update()

    def ask(self) -> Design:
        design: Design = {}
        for _ in range(_MAX_KNOWN_REDRAWS):
            probs = self.probabilities()
            design = self._draw(probs)
            for _ in range(MAX_TRIES):
                if not self.space.violated(design):
                    break
                design = self._draw(probs)
            if self.space.violated(design):
                design = self.space.sample(self.rng)
            key = design_key(self.space, design)
            if key in self._pending:
                continue  # asked in this batch, not told yet: draw again
            known = self._seen.get(key)
            if known is None:
                self._pending.add(key)
                return design
            self._record(design, self._penalised(known))
        # A converged policy keeps drawing known designs: spend the evaluation on an unseen
        # neighbour of its last draw instead of a duplicate.
        design = unseen_design(self.space, design, self._taken, self.rng)
        self._pending.add(design_key(self.space, design))
        return design

    def _taken(self, key: tuple) -> bool:
        return key in self._seen or key in self._pending

    def tell(self, design: Design, result: Result) -> None:
        reward = score(result)
        key = design_key(self.space, design)
        self._pending.discard(key)
        new = key not in self._seen
        self._seen[key] = reward
        self.told += 1
        if reward > -math.inf:
            self._lo, self._hi = min(self._lo, reward), max(self._hi, reward)
            if new and self.params["memory"]:
                self._remember(reward, self._actions(design))
        self._record(design, self._penalised(reward))

    def _remember(self, reward: float, actions: list[int]) -> None:
        keep = self.params["memory"]
        if len(self._memory) < keep or reward > self._memory[-1][0]:
            self._memory.append((reward, actions))
            self._memory.sort(key=lambda m: -m[0])
            del self._memory[keep:]

    def _schedule(self) -> float:
        """Multiplier of ``lr`` and ``entropy``: 1, or falling linearly to 0 over the budget."""
        if not self.params["anneal"] or not self.budget:
            return 1.0
        return max(0.0, 1.0 - self.told / self.budget)

    def _advantages(self, rewards: np.ndarray) -> np.ndarray:
        elite = self.params["elite"]
        if elite <= 0 or len(rewards) < 2:
            return _shape(rewards, self.params["shaping"])
        # Cross-entropy method as a policy gradient: the elite get weight 1, the rest 0, minus
        # the mean weight as the baseline; ties at the cut-off share the weight.
        k = max(1, round(elite * len(rewards)))
        cut = np.sort(rewards)[::-1][k - 1]
        top = (rewards > cut).astype(float)
        tie = rewards == cut
        top[tie] = (k - top.sum()) / tie.sum()
        return top - top.mean()

    # -- learning -----------------------------------------------------------------------------
    def _update(self) -> None:
        # The remembered best designs join the batch, so the update keeps pulling towards them
        # (a factorised policy otherwise drifts off a good combination of values).
        batch = self._batch + [(a, r) for r, a in self._memory]
        actions = np.array([a for a, _ in batch], dtype=np.int64)  # (batch, params)
        adv = self._advantages(np.array([r for _, r in batch], dtype=float))
        self._batch = []
        self.updates += 1
        decay = self._schedule()
        lr, ent = self.params["lr"] * decay, self.params["entropy"] * decay
        old = [_softmax(lg)[actions[:, j]] for j, lg in enumerate(self.logits)]
        old_logp = np.sum(np.log(old), axis=0)
        epochs = self.params["epochs"] if self.params["algorithm"] == "ppo" else 1
        for _ in range(epochs):
            probs = self.probabilities()
            weight = adv
            if self.params["algorithm"] == "ppo":
                logp = sum(np.log(p[actions[:, j]]) for j, p in enumerate(probs))
                ratio = np.exp(logp - old_logp)
                clip = self.params["clip"]
                # The clipped objective has zero gradient where the ratio left the trust region
                # in the direction the advantage pushes it.
                active = ~(((adv > 0) & (ratio > 1 + clip)) | ((adv < 0) & (ratio < 1 - clip)))
                weight = adv * ratio * active
            for j, p in enumerate(probs):
                onehot = np.zeros((len(actions), len(p)))
                onehot[np.arange(len(actions)), actions[:, j]] = 1.0
                grad = (weight[:, None] * (onehot - p)).mean(axis=0)
                entropy_grad = -p * (np.log(p) + (-(p * np.log(p)).sum()))
                self.logits[j] = self.logits[j] + lr * (grad + ent * entropy_grad)
                # Keep logits bounded: a probability that underflows to 0 would make log(p)
                # and the entropy gradient NaN (large lr); e^-30 is still negligible.
                self.logits[j] = np.maximum(self.logits[j] - self.logits[j].max(), -30.0)


class MaskedPolicyGradient:
    """REINFORCE with a baseline for multi-step envs with ``info["action_mask"]``.

    The policy is linear in the flattened observation (each feature divided by the largest
    magnitude seen so far) plus a bias per action; actions whose mask entry is 0 get
    probability zero. Returns-to-go (discount ``gamma``) minus a per-step moving-average
    baseline, divided by their running scale, weight the log-probability gradients; an entropy
    bonus keeps it exploring. All randomness comes from ``seed``.

    Args:
        n_actions: Size of the env's ``Discrete`` action space.
        obs_dim: Length of the flattened observation.
        seed: Seed of the policy's random generator.
        lr: Step size. entropy: Entropy bonus weight. gamma: Discount of returns-to-go.
    """

    def __init__(
        self,
        n_actions: int,
        obs_dim: int,
        *,
        seed: int | None = None,
        lr: float = 0.05,
        entropy: float = 0.01,
        gamma: float = 1.0,
    ) -> None:
        if n_actions < 1 or obs_dim < 0:
            raise ValueError(
                f"`n_actions` must be >= 1 and `obs_dim` >= 0, but got ({n_actions}, {obs_dim})"
            )
        if not 0.0 <= gamma <= 1.0:
            raise ValueError(f"`gamma` must be in [0, 1], but got {gamma}")
        self.rng = np.random.default_rng(seed)
        self.weights = np.zeros((n_actions, obs_dim + 1))
        self.lr, self.entropy, self.gamma = float(lr), float(entropy), float(gamma)
        self._scale = np.ones(obs_dim)
        self._baseline: dict[int, float] = {}
        self._adv_scale = 1.0

    @classmethod
    def for_env(cls, env: Any, **kwargs: Any) -> MaskedPolicyGradient:
        """A policy sized for ``env`` (``Discrete`` actions, any flattenable observation)."""
        from gymnasium import spaces

        if not isinstance(env.action_space, spaces.Discrete):
            raise ValueError(
                f"the masked policy needs a Discrete action space, but got {env.action_space}"
            )
        return cls(int(env.action_space.n), int(spaces.flatdim(env.observation_space)), **kwargs)

    def _features(self, env: Any, obs: Any) -> np.ndarray:
        from gymnasium import spaces

        x = np.asarray(spaces.flatten(env.observation_space, obs), dtype=float)
        self._scale = np.maximum(self._scale, np.abs(x))
        return np.append(x / self._scale, 1.0)

    def probabilities(self, x: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
        """Action probabilities for features ``x`` (masked actions get 0)."""
        logits = self.weights @ x
        if mask is not None:
            mask = np.asarray(mask, dtype=bool)
            if not mask.any():
                raise ValueError("the env's action_mask allows no action")
            logits = np.where(mask, logits, -np.inf)
        return _softmax(logits)

    def run_episode(
        self, env: Any, *, seed: int | None = None, learn: bool = True, greedy: bool = False
    ) -> float:
        """Play one episode (updating the policy when ``learn``); returns the total reward."""
        obs, info = env.reset(seed=seed)
        steps: list[tuple[np.ndarray, np.ndarray, int, float]] = []
        done = False
        while not done:
            x = self._features(env, obs)
            p = self.probabilities(x, info.get("action_mask"))
            a = int(np.argmax(p)) if greedy else int(self.rng.choice(len(p), p=p))
            obs, reward, terminated, truncated, info = env.step(a)
            steps.append((x, p, a, float(reward)))
            done = bool(terminated or truncated)
        if learn:
            self._learn(steps)
        return float(sum(r for *_, r in steps))

    def _learn(self, steps: list[tuple[np.ndarray, np.ndarray, int, float]]) -> None:
        g = 0.0
        returns = []
        for *_, r in reversed(steps):
            g = r + self.gamma * g
            returns.append(g)
        returns.reverse()
        grad = np.zeros_like(self.weights)
        for t, ((x, p, a, _), g) in enumerate(zip(steps, returns, strict=True)):
            base = self._baseline.get(t, g)
            adv = g - base
            self._baseline[t] = 0.9 * base + 0.1 * g
            self._adv_scale = 0.99 * self._adv_scale + 0.01 * abs(adv) if adv else self._adv_scale
            onehot = np.zeros(len(p))
            onehot[a] = 1.0
            safe = np.where(p > 0, p, 1.0)
            entropy_grad = np.where(p > 0, -p * (np.log(safe) + (-(p * np.log(safe)).sum())), 0.0)
            grad += np.outer(
                adv / max(self._adv_scale, 1e-12) * (onehot - p) + self.entropy * entropy_grad, x
            )
        self.weights += self.lr * grad / max(1, len(steps))

    def learn(self, env: Any, episodes: int, *, seed: int | None = None) -> list[float]:
        """Train for ``episodes`` episodes (env seeded once with ``seed``); the returns."""
        out = [self.run_episode(env, seed=seed)]
        out += [self.run_episode(env) for _ in range(episodes - 1)]
        return out

    def state_dict(self) -> dict[str, Any]:
        """A deep copy of the policy and its random generator."""
        import copy

        return copy.deepcopy(vars(self))

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore a state from :meth:`state_dict`."""
        import copy

        vars(self).update(copy.deepcopy(dict(state)))
