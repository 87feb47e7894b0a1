"""Types shared by every simulator, cost model and the layers above (the bottom of the arrows).

Simulators are pure functions of (hardware configuration, workload). They know nothing of
Gymnasium, agents or rewards; the only contract with the layers above is this module:

- :class:`InfeasibleDesign`: the one way to say "this design cannot run this workload"; an env
  turns it (and only it) into an infeasible result. Any other exception is a bug.
- :class:`UserError` / :class:`UnknownNameError` and :func:`unknown_name`: a mistake in user
  input, reported on one line (the CLI exits 2), with one did-you-mean helper for every kind of
  name (env, agent, workload, dataflow, device, dtype, metric...).
- :func:`read_json`: a JSON file read with one-line user errors naming the file (and line).
"""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

__all__ = [
    "InfeasibleDesign",
    "UnknownNameError",
    "UserError",
    "closest",
    "read_json",
    "unknown_name",
]


class InfeasibleDesign(ValueError):
    """A design that is valid as data but cannot run the workload.

    Raised by a simulator when, for example, a layer's operands cannot fit any buffer or a
    schedule needs more memory than the design has. Environments turn it into an infeasible
    ``Result`` carrying ``str(exc)`` as the reason, so a long search goes on.
    """


class UserError(ValueError):
    """A mistake in user input (a file, a flag, a name, a value); reported on one line."""


class UnknownNameError(UserError, KeyError):
    """An unknown env, agent, workload, objective, dataflow, device or metric name."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0]) if self.args else ""


def closest(name: str, valid: Iterable[str]) -> str | None:
    """The valid name closest to ``name`` (difflib ratio >= 0.5), or None."""
    close = difflib.get_close_matches(str(name), [str(v) for v in valid], n=1, cutoff=0.5)
    return close[0] if close else None


def unknown_name(kind: str, name: object, valid: Iterable[str]) -> UnknownNameError:
    """An error naming the unknown ``name``, the closest valid one and every valid one.

    >>> str(unknown_name("agent", "randm_walk", ["random_walk", "grid"]))
    "unknown agent 'randm_walk'; did you mean 'random_walk'? (valid: grid, random_walk)"
    """
    valid = sorted(str(v) for v in valid)
    near = closest(str(name), valid)
    hint = f"; did you mean {near!r}?" if near else ""
    return UnknownNameError(f"unknown {kind} {name!r}{hint} (valid: {', '.join(valid)})")


def read_json(path: str | os.PathLike[str]) -> Any:
    """The JSON value in the file ``path``.

    Raises:
        UserError: the file does not exist (``"<path>: no such file"``) or is not valid JSON
            (``"<path>:<line>: not valid JSON (<reason>)"``).
    """
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None
