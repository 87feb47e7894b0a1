"""Error types shared across archgym (defined at the bottom, in :mod:`archgym.simulators.common`).

:class:`UserError` is a mistake in user input: the CLI prints it on one line and exits 2. Any
other exception is a bug and keeps its traceback.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from archgym.simulators.common import (
    InfeasibleDesign,
    UnknownNameError,
    UserError,
    closest,
    unknown_name,
)

__all__ = [
    "ConfigError",
    "DatasetError",
    "FolderInUseError",
    "InfeasibleDesign",
    "UnknownNameError",
    "UserError",
    "closest",
    "unknown_name",
    "user_input",
]


class ConfigError(UserError):
    """A problem in an experiment file; the message names the file, line and key."""


class DatasetError(UserError):
    """A damaged or mixed dataset folder (missing or repeated part files, two experiments)."""


class FolderInUseError(UserError):
    """An output folder that another process is writing (its lock is held)."""


@contextmanager
def user_input(what: str, *kinds: type[Exception]) -> Iterator[None]:
    """Report ``kinds`` of errors (default ``ValueError``) raised inside as user mistakes.

    ``what`` prefixes the message (leave it empty when the message already names the input).
    The CLI prints a :class:`UserError` on one line and lets every other exception show its
    traceback (a bug). Wrap only code whose input the user gave, e.g. building a config from a
    file the user named::

        with user_input(f"config file {path}"):
            config = ArrayConfig(**fields)
    """
    caught = tuple(kinds) or (ValueError,)
    try:
        yield
    except UserError:
        raise
    except caught as exc:
        message = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
        raise UserError(f"{what}: {message}" if what else message) from exc
