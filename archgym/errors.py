"""Error types shared across archgym (defined at the bottom, in :mod:`archgym.simulators.common`).

:class:`UserError` is a mistake in user input: the CLI prints it on one line and exits 2. Any
other exception is a bug and keeps its traceback.
"""

from __future__ import annotations

from archgym.simulators.common import (
    InfeasibleDesign,
    UnknownNameError,
    UserError,
    closest,
    unknown_name,
)

__all__ = [
    "ConfigError",
    "InfeasibleDesign",
    "UnknownNameError",
    "UserError",
    "closest",
    "unknown_name",
]


class ConfigError(UserError):
    """A problem in an experiment file; the message names the file, line and key."""
