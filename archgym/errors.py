"""Error types and message helpers shared across archgym."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

__all__ = [
    "ConfigError",
    "DatasetError",
    "FolderInUseError",
    "UnknownNameError",
    "UserError",
    "unknown_name",
    "user_input",
]


class UserError(ValueError):
    """A mistake in user input (a file, a flag, a name); the CLI prints it on one line."""


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


class UnknownNameError(UserError, KeyError):
    """An unknown env, agent, workload, objective or dataflow name."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0]) if self.args else ""


def unknown_name(kind: str, name: str, valid: Iterable[str]) -> UnknownNameError:
    """Build an error listing the valid names and the closest one.

    >>> str(unknown_name("agent", "randm_walk", ["random_walk", "grid"]))
    "unknown agent 'randm_walk'; did you mean 'random_walk'? (valid: grid, random_walk)"
    """
    valid = sorted(valid)
    close = difflib.get_close_matches(str(name), valid, n=1, cutoff=0.5)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return UnknownNameError(f"unknown {kind} {name!r}{hint} (valid: {', '.join(valid)})")
