"""How the sparse engine picks the mode each layer runs in: the mode-choice policies.

A layer can run in every supported pattern its own pattern satisfies, and dense
(:func:`~archgym.simulators.sparse.engine.mode_options`). The config's ``mode_policy`` names
the quantity the engine minimises, layer by layer, over those modes (:data:`MODE_POLICIES`):

- ``"latency"`` (default): the layer's analytical ``total_cycles``;
- ``"energy"``: the layer's energy (pJ, :func:`~archgym.simulators.sparse.costs.energy_pj`
  with the tech table and sparse costs of the evaluation);
- ``"edp"``: the layer's energy times its cycles (pJ x cycles);
- ``"dram"``: the layer's DRAM words.

Ties go to the least DRAM traffic, then to the sparsest mode (:func:`best_mode`). A layer's
metrics do not depend on the modes of the other layers and a workload's cycles, energy and DRAM
bytes are sums over its layers, so the latency, energy and dram policies give the least
workload total of their quantity over every per-layer choice of modes. The workload's EDP
(total energy times total cycles) is not such a sum: the edp policy minimises the sum of the
layers' EDPs, which can differ from the least workload EDP (docs/sparse.md).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import numpy as np
from archgym.cost_models.energy import TechTable
from archgym.cost_models.sparse_costs import SparseCosts
from archgym.simulators.common import unknown_name

if TYPE_CHECKING:
    from archgym.simulators.sparse.engine import SparseConfig

__all__ = ["MODE_POLICIES", "best_mode", "check_mode_policy", "layer_objective", "mode_objective"]

#: Mode-choice policies: the per-layer quantity each minimises (module docstring).
MODE_POLICIES: tuple[str, ...] = ("latency", "energy", "edp", "dram")


def check_mode_policy(policy: object) -> str:
    """``policy`` when it is one of :data:`MODE_POLICIES`; otherwise a one-line ``ValueError``
    (``UnknownNameError``) naming it and the valid ones."""
    if not isinstance(policy, str) or policy not in MODE_POLICIES:
        raise unknown_name("mode_policy", policy, MODE_POLICIES)
    return policy


def mode_objective(
    policy: str, metrics: Mapping[str, np.ndarray], energy_pj: Callable[[], np.ndarray]
) -> np.ndarray:
    """What ``policy`` minimises, per row of ``metrics`` (a layer run in one mode): cycles,
    energy (pJ), energy x cycles (pJ x cycles) or DRAM words. ``energy_pj``: the rows' energy
    (pJ), called only by the policies that need it."""
    if policy == "latency":
        return metrics["total_cycles"]
    if policy == "dram":
        return metrics["dram_words"]
    energy = energy_pj()
    if policy == "energy":
        return energy
    if policy == "edp":
        return energy * metrics["total_cycles"]
    raise unknown_name("mode_policy", policy, MODE_POLICIES)


def best_mode(objective: np.ndarray, dram_words: np.ndarray) -> np.ndarray:
    """Index (last axis) of the mode with the least ``objective``; ties go to the least DRAM
    traffic, then to the first (the sparsest): a plain N:M mode and its V:N:M twin can time
    alike."""
    tie = objective == objective.min(axis=-1, keepdims=True)
    return np.argmin(np.where(tie, dram_words, np.inf), axis=-1)


def layer_objective(
    config: SparseConfig, metrics: Mapping[str, np.ndarray], table: TechTable, costs: SparseCosts
) -> np.ndarray:
    """:func:`mode_objective` of ``config.mode_policy`` per row of ``metrics`` (a layer run on
    ``config`` in one mode), energy priced by the engine's energy model as ``evaluate`` prices
    a layer (:func:`~archgym.simulators.sparse.costs.energy_pj` with ``table`` and ``costs``)."""
    # costs.py imports the engine, which imports this module: import it when first priced.
    from archgym.simulators.sparse.costs import energy_pj

    def energy() -> np.ndarray:
        return energy_pj(config, dict(metrics), table, costs)

    return mode_objective(config.mode_policy, metrics, energy)
