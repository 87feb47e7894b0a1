"""Design parameters: the typed axes of a :class:`~archgym.space.DesignSpace`.

Finite parameters (:class:`Integer`, :class:`PowerOfTwo`, :class:`Categorical`) index their values;
:class:`Real` is a continuous range. Each validates and normalises values, samples, encodes to a
number, lists neighbours and converts itself to Gymnasium and Optuna spaces.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from archgym.errors import unknown_name

__all__ = [
    "Categorical",
    "Integer",
    "Parameter",
    "PowerOfTwo",
    "Real",
    "parameter_from_dict",
]


class Parameter(ABC):
    """One named axis of a design space."""

    name: str

    def __init__(self, name: str) -> None:
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"parameter name must be a Python identifier, but got {name!r}")
        self.name = name

    @property
    @abstractmethod
    def is_finite(self) -> bool:
        """Whether the parameter has finitely many values."""

    @abstractmethod
    def describe(self) -> str:
        """A short text of the allowed values, used in error messages."""

    @abstractmethod
    def contains(self, value: Any) -> bool:
        """Whether ``value`` is allowed."""

    @abstractmethod
    def sample(self, rng: np.random.Generator) -> Any:
        """A value drawn with ``rng`` (uniform over values; log-uniform where ``log=True``)."""

    @abstractmethod
    def encode(self, value: Any) -> float:
        """The value's index (finite parameters) or the value itself (reals)."""

    @abstractmethod
    def decode(self, code: float) -> Any:
        """Inverse of :meth:`encode`; rounds and clips codes into range."""

    @abstractmethod
    def neighbours(self, value: Any) -> list[Any]:
        """Values next to ``value``: adjacent indices, other categories, or nearby reals."""

    @abstractmethod
    def to_gymnasium(self) -> Any:
        """The Gymnasium space of this parameter's action (index or value)."""

    @abstractmethod
    def to_optuna(self) -> Any:
        """The Optuna distribution of this parameter."""

    def from_optuna(self, value: Any) -> Any:
        """Map an Optuna-suggested value back to a parameter value."""
        return value

    def normalise(self, value: Any) -> Any:
        """Cast numpy scalars and equal numbers to the canonical Python value."""
        return value

    def to_dict(self) -> dict[str, Any]:
        """A plain mapping that :func:`parameter_from_dict` reads back."""
        out = {"type": type(self).__name__.lower(), "name": self.name}
        out.update({k: v for k, v in vars(self).items() if k not in ("name", "values")})
        return out

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.to_dict().items() if k != "type")
        return f"{type(self).__name__}({args})"

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.to_dict() == other.to_dict()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(repr(self))


class _Finite(Parameter):
    """A parameter with an ordered tuple of values; index-based operations live here."""

    values: tuple[Any, ...]

    @property
    def is_finite(self) -> bool:
        return True

    @property
    def size(self) -> int:
        """Number of values."""
        return len(self.values)

    def index(self, value: Any) -> int:
        """Position of ``value`` in :attr:`values`; ``ValueError`` if absent."""
        value = self.normalise(value)
        try:
            return self._index[value]
        except (KeyError, TypeError):
            raise ValueError(
                f"parameter `{self.name}` must be {self.describe()}, but got {value!r}"
            ) from None

    def _build_index(self) -> None:
        self._index = {v: i for i, v in enumerate(self.values)}

    def contains(self, value: Any) -> bool:
        try:
            self.index(value)
        except ValueError:
            return False
        return True

    def sample(self, rng: np.random.Generator) -> Any:
        return self.values[int(rng.integers(self.size))]

    def encode(self, value: Any) -> float:
        return float(self.index(value))

    def decode(self, code: float) -> Any:
        if not math.isfinite(float(code)):
            raise ValueError(f"code for parameter `{self.name}` must be finite, but got {code!r}")
        i = int(np.clip(round(float(code)), 0, self.size - 1))
        return self.values[i]

    def neighbours(self, value: Any) -> list[Any]:
        i = self.index(value)
        return [self.values[j] for j in (i - 1, i + 1) if 0 <= j < self.size]

    def to_gymnasium(self) -> Any:
        from gymnasium import spaces

        return spaces.Discrete(self.size)

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out.pop("_index", None)
        return out


class Integer(_Finite):
    """Integers ``low, low + step, ..., <= high``; ``log=True`` samples log-uniformly.

    Args:
        name: Parameter name.
        low: Smallest value (inclusive).
        high: Largest value (inclusive when reachable from ``low`` in steps).
        step: Spacing between values (positive).
        log: Sample log-uniformly (needs ``low >= 1`` and ``step == 1``, as in Optuna).
    """

    def __init__(self, name: str, low: int, high: int, *, step: int = 1, log: bool = False) -> None:
        super().__init__(name)
        for field, v in (("low", low), ("high", high), ("step", step)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
                raise ValueError(
                    f"`{field}` of parameter `{name}` must be an integer, but got {v!r}"
                )
        if low > high:
            raise ValueError(
                f"`low <= high` must hold for `{name}`, but got (low={low}, high={high})"
            )
        if step < 1:
            raise ValueError(f"`step` of parameter `{name}` must be >= 1, but got {step}")
        if log and (low < 1 or step != 1):
            raise ValueError(
                f"`log=True` needs `low >= 1` and `step == 1` for `{name}`, "
                f"but got (low={low}, step={step})"
            )
        self.low, self.high, self.step, self.log = int(low), int(high), int(step), bool(log)
        self.values = tuple(range(self.low, self.high + 1, self.step))
        self._build_index()

    def describe(self) -> str:
        step = f" in steps of {self.step}" if self.step != 1 else ""
        return f"an integer in [{self.low}, {self.high}]{step}"

    def normalise(self, value: Any) -> Any:
        if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
            return int(value)
        if isinstance(value, (float, np.floating)) and float(value).is_integer():
            return int(value)
        return value

    def sample(self, rng: np.random.Generator) -> int:
        if not self.log:
            return super().sample(rng)
        x = math.exp(rng.uniform(math.log(self.low), math.log(self.high + 1)))
        return int(min(self.high, math.floor(x)))

    def to_optuna(self) -> Any:
        from optuna.distributions import IntDistribution

        return IntDistribution(self.low, self.high, step=self.step, log=self.log)


class PowerOfTwo(_Finite):
    """Powers of two from ``low`` to ``high`` (both powers of two), e.g. 4, 8, ..., 256.

    Optuna sees the exponent (an ordered integer), so samplers keep the order.
    """

    def __init__(self, name: str, low: int, high: int) -> None:
        super().__init__(name)
        for field, v in (("low", low), ("high", high)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1 or v & (v - 1):
                raise ValueError(
                    f"`{field}` of parameter `{name}` must be a power of two, but got {v!r}"
                )
        if low > high:
            raise ValueError(
                f"`low <= high` must hold for `{name}`, but got (low={low}, high={high})"
            )
        self.low, self.high = int(low), int(high)
        self.values = tuple(2**e for e in range(self.low.bit_length() - 1, self.high.bit_length()))
        self._build_index()

    def describe(self) -> str:
        return f"a power of two in [{self.low}, {self.high}]"

    normalise = Integer.normalise

    def to_optuna(self) -> Any:
        from optuna.distributions import IntDistribution

        return IntDistribution(self.low.bit_length() - 1, self.high.bit_length() - 1)

    def from_optuna(self, value: Any) -> int:
        return 2 ** int(value)


class Categorical(_Finite):
    """Unordered choices (strings, numbers or booleans); neighbours are all other choices."""

    def __init__(self, name: str, choices: Sequence[Any]) -> None:
        super().__init__(name)
        if isinstance(choices, (str, bytes)) or not isinstance(choices, Sequence) or not choices:
            raise ValueError(
                f"`choices` of parameter `{name}` must be a non-empty list, but got {choices!r}"
            )
        if len(set(choices)) != len(choices):
            raise ValueError(
                f"`choices` of parameter `{name}` must be distinct, but got {list(choices)!r}"
            )
        self.choices = list(choices)
        self.values = tuple(choices)
        self._build_index()

    def describe(self) -> str:
        return f"one of {list(self.values)!r}"

    def normalise(self, value: Any) -> Any:
        if isinstance(value, np.generic):
            return value.item()
        return value

    def neighbours(self, value: Any) -> list[Any]:
        i = self.index(value)
        return [v for j, v in enumerate(self.values) if j != i]

    def to_optuna(self) -> Any:
        from optuna.distributions import CategoricalDistribution

        return CategoricalDistribution(self.values)


class Real(Parameter):
    """Real numbers in ``[low, high]``; ``log=True`` samples log-uniformly.

    Neighbours are the value moved by ``neighbour_frac`` of the range (of the log-range with
    ``log=True``) down and up, clipped to the bounds.
    """

    def __init__(
        self, name: str, low: float, high: float, *, log: bool = False, neighbour_frac: float = 0.05
    ) -> None:
        super().__init__(name)
        if not (math.isfinite(low) and math.isfinite(high)) or low > high:
            raise ValueError(
                f"`low <= high` must hold for `{name}`, but got (low={low}, high={high})"
            )
        if log and low <= 0:
            raise ValueError(f"`log=True` needs `low > 0` for `{name}`, but got low={low}")
        if not 0 < neighbour_frac <= 1:
            raise ValueError(
                f"`neighbour_frac` of `{name}` must be in (0, 1], but got {neighbour_frac}"
            )
        self.low, self.high, self.log = float(low), float(high), bool(log)
        self.neighbour_frac = float(neighbour_frac)

    @property
    def is_finite(self) -> bool:
        return self.low == self.high

    def describe(self) -> str:
        return f"a real number in [{self.low:g}, {self.high:g}]"

    def normalise(self, value: Any) -> Any:
        if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
            return float(value)
        return value

    def contains(self, value: Any) -> bool:
        value = self.normalise(value)
        return isinstance(value, float) and self.low <= value <= self.high

    def sample(self, rng: np.random.Generator) -> float:
        if self.log:
            return float(np.exp(rng.uniform(np.log(self.low), np.log(self.high))))
        return float(rng.uniform(self.low, self.high))

    def encode(self, value: Any) -> float:
        if not self.contains(value):
            raise ValueError(
                f"parameter `{self.name}` must be {self.describe()}, but got {value!r}"
            )
        return float(value)

    def decode(self, code: float) -> float:
        if not math.isfinite(float(code)):
            raise ValueError(f"code for parameter `{self.name}` must be finite, but got {code!r}")
        return float(np.clip(float(code), self.low, self.high))

    def neighbours(self, value: Any) -> list[float]:
        v = self.encode(value)
        if self.log:
            d = self.neighbour_frac * (math.log(self.high) - math.log(self.low))
            cands = [math.exp(math.log(v) - d), math.exp(math.log(v) + d)]
        else:
            d = self.neighbour_frac * (self.high - self.low)
            cands = [v - d, v + d]
        return sorted({min(self.high, max(self.low, c)) for c in cands} - {v})

    def to_gymnasium(self) -> Any:
        from gymnasium import spaces

        return spaces.Box(low=self.low, high=self.high, shape=(1,), dtype=np.float64)

    def to_optuna(self) -> Any:
        from optuna.distributions import FloatDistribution

        return FloatDistribution(self.low, self.high, log=self.log)


_PARAM_TYPES: dict[str, type[Parameter]] = {
    "integer": Integer,
    "poweroftwo": PowerOfTwo,
    "categorical": Categorical,
    "real": Real,
}


def parameter_from_dict(data: Mapping[str, Any]) -> Parameter:
    """Build a parameter from ``{"type": "integer", "name": ..., ...}`` (inverse of ``to_dict``)."""
    data = dict(data)
    kind = str(data.pop("type", "")).lower().replace("_", "")
    if kind not in _PARAM_TYPES:
        raise unknown_name("parameter type", kind, _PARAM_TYPES)
    return _PARAM_TYPES[kind](**data)
