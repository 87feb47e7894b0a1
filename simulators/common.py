"""Types shared by every simulator.

Simulators are pure functions of (hardware configuration, workload). They know nothing of
Gymnasium, agents or rewards; the only contract with the layers above is this module.
"""

from __future__ import annotations

__all__ = ["InfeasibleDesign"]


class InfeasibleDesign(ValueError):
    """A design that is valid as data but cannot run the workload.

    Raised by a simulator when, for example, a layer's operands cannot fit any buffer or a
    schedule needs more memory than the design has. Environments turn it into an infeasible
    ``Result`` carrying ``str(exc)`` as the reason, so a long search goes on.
    """
