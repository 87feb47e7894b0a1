"""Operand element sizes: the systolic models timing a layer whose operands take more or fewer
words per element than the dense layer's.

An engine built on the systolic array that keeps the fold schedule but changes what an
operand element costs (compressed weights with their metadata, each array-side activation
standing for the M activations its select mux chooses from:
:mod:`archgym.simulators.sparse`) times its layers with the systolic models through the
``operand_scale`` keyword of :func:`~archgym.simulators.systolic.analytical.analyze_batch`,
:func:`~archgym.simulators.systolic.cycle.simulate` and
:func:`~archgym.simulators.systolic.cycle.simulate_batch`:

``operand_scale={"ifmap": s_if, "filter": s_f}`` makes every ifmap (filter) element of a layer
``s_if`` (``s_f``) words, per layer (shape ``(L,)``) or per design and layer (``(D, L)``); a
missing key means 1. The operand's scratchpad then holds ``1 / s`` as many elements (what
fits, what is re-fetched and what a fold prefetches are decided in elements, as for the
dense layer) and every element it moves costs ``s`` words on its DRAM port, in every fold;
the ofmap, the schedule and the compute are the layer's own. The returned DRAM counts are in
words (floats). With all factors 1 the results equal the unscaled model's, and the model
keeps its soundness: more SRAM or more bandwidth never slows a layer
(``tests/simulators/systolic/test_timing.py``).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

__all__ = ["SCALED_OPERANDS", "check_operand_scale"]

#: The operands ``operand_scale`` may scale (the two read ports).
SCALED_OPERANDS = ("ifmap", "filter")


def check_operand_scale(
    operand_scale: Mapping[str, np.ndarray | float], shape: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Validated ``(ifmap, filter)`` factors broadcast to ``shape = (D, L)`` (float arrays).

    Raises:
        ValueError: an unknown operand, a shape that does not broadcast, or a factor that is
            not positive and finite.
    """
    if not isinstance(operand_scale, Mapping):
        raise ValueError(
            f"`operand_scale` must map operands {list(SCALED_OPERANDS)} to factors, "
            f"but got {operand_scale!r}"
        )
    unknown = sorted(set(operand_scale) - set(SCALED_OPERANDS))
    if unknown:
        raise ValueError(
            f"`operand_scale` has unknown operand(s) {unknown}; valid: {list(SCALED_OPERANDS)}"
        )
    out = []
    for op in SCALED_OPERANDS:
        value = np.asarray(operand_scale.get(op, 1.0), dtype=float)
        try:
            value = np.broadcast_to(value, shape)
        except ValueError:
            raise ValueError(
                f"`operand_scale[{op!r}]` must broadcast to (designs, layers) = {shape}, "
                f"but has shape {value.shape}"
            ) from None
        bad = ~np.isfinite(value) | (value <= 0)
        if np.any(bad):
            raise ValueError(
                f"`operand_scale[{op!r}]` must hold finite factors > 0, "
                f"but got {value[bad][0].item()!r}"
            )
        out.append(value)
    return out[0], out[1]
