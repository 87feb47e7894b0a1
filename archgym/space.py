"""Typed design spaces: parameters, constraints between them, and the operations agents need.

A design is a plain ``dict`` mapping parameter names to values. A :class:`DesignSpace` validates
designs, samples them uniformly (rejection sampling keeps the distribution uniform over the designs
that satisfy the constraints), enumerates finite spaces, encodes designs to index vectors for
agents that work on numbers, lists neighbours for local search, and converts itself to Gymnasium
and Optuna spaces.

>>> space = DesignSpace(
...     [PowerOfTwo("rows", 4, 256), PowerOfTwo("cols", 4, 256), Categorical("dataflow", ["os", "ws"])],
...     constraints=["rows * cols <= 16384"],
... )
>>> space.validate({"rows": 128, "cols": 128, "dataflow": "os"})
{'rows': 128, 'cols': 128, 'dataflow': 'os'}
"""

from __future__ import annotations

import itertools
import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from archgym.constraint import Constraint
from archgym.errors import unknown_name

__all__ = [
    "Categorical",
    "Constraint",
    "DesignSpace",
    "Integer",
    "Parameter",
    "PowerOfTwo",
    "Real",
]

Design = dict[str, Any]
_MAX_SAMPLE_TRIES = 100_000


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


class DesignSpace:
    """An ordered set of parameters plus constraints that every valid design satisfies.

    Args:
        params: The parameters, in the order used by encodings.
        constraints: Expressions over parameter names (``"rows * cols <= 16384"``), callables
            taking a design dict and returning ``bool``, or :class:`Constraint` objects.
    """

    def __init__(
        self,
        params: Sequence[Parameter],
        constraints: Sequence[str | Callable[[Design], bool] | Constraint] = (),
    ) -> None:
        if not params:
            raise ValueError("a DesignSpace needs at least one parameter")
        names = [p.name for p in params]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"parameter names must be unique, but got duplicates {dupes}")
        self.params: tuple[Parameter, ...] = tuple(params)
        self._by_name = {p.name: p for p in self.params}
        self.constraints: tuple[Constraint, ...] = tuple(
            c if isinstance(c, Constraint) else Constraint(c) for c in constraints
        )
        for c in self.constraints:
            c.check_names(self._by_name)
        self._cardinality: int | None = None

    # -- basic container protocol -------------------------------------------------------------
    @property
    def names(self) -> tuple[str, ...]:
        """Parameter names in encoding order."""
        return tuple(self._by_name)

    def __len__(self) -> int:
        return len(self.params)

    def __iter__(self) -> Iterator[Parameter]:
        return iter(self.params)

    def __getitem__(self, name: str) -> Parameter:
        try:
            return self._by_name[name]
        except KeyError:
            raise unknown_name("parameter", name, self._by_name) from None

    def __repr__(self) -> str:
        cons = [c.text for c in self.constraints]
        return f"DesignSpace({list(self.params)!r}, constraints={cons!r})"

    @property
    def is_finite(self) -> bool:
        """Whether every parameter has finitely many values."""
        return all(p.is_finite for p in self.params)

    @property
    def box_size(self) -> float:
        """Number of designs ignoring constraints (``inf`` with real parameters)."""
        if not self.is_finite:
            return math.inf
        return math.prod(p.size for p in self.params)  # type: ignore[attr-defined]

    # -- validation ---------------------------------------------------------------------------
    def violated(self, design: Mapping[str, Any]) -> list[str]:
        """The texts of the constraints that ``design`` violates (empty when it is valid)."""
        return [c.text for c in self.constraints if not c(design)]

    def check_box(self, design: Mapping[str, Any]) -> Design:
        """Check names and ranges (not constraints); return canonical values in parameter order.

        Raises:
            ValueError: naming the unknown, missing or out-of-range parameter and its value.
        """
        if not isinstance(design, Mapping):
            raise ValueError(
                f"a design must be a mapping of parameter names to values, but got {design!r}"
            )
        for key in design:
            if key not in self._by_name:
                raise unknown_name("parameter", key, self._by_name)
        out: Design = {}
        for p in self.params:
            if p.name not in design:
                raise ValueError(f"design is missing parameter `{p.name}` ({p.describe()})")
            value = p.normalise(design[p.name])
            if not p.contains(value):
                raise ValueError(
                    f"parameter `{p.name}` must be {p.describe()}, but got {design[p.name]!r}"
                )
            out[p.name] = value
        return out

    def validate(self, design: Mapping[str, Any]) -> Design:
        """Check a design and return it with canonical Python values, in parameter order.

        Raises:
            ValueError: naming the unknown, missing or out-of-range parameter and its value, or the
                violated constraint.
        """
        out = self.check_box(design)
        bad = self.violated(out)
        if bad:
            shown = ", ".join(f"{k}={v!r}" for k, v in out.items())
            raise ValueError(f"design violates constraint `{bad[0]}` ({shown})")
        return out

    def contains(self, design: Mapping[str, Any]) -> bool:
        """Whether :meth:`validate` would accept ``design``."""
        try:
            self.validate(design)
        except ValueError:
            return False
        return True

    # -- sampling and enumeration ---------------------------------------------------------------
    def sample(self, rng: np.random.Generator) -> Design:
        """A design drawn uniformly from those that satisfy the constraints.

        Rejection sampling keeps the draw uniform; a space whose constraints are (almost) never
        satisfied raises ``ValueError`` instead of looping forever.
        """
        for _ in range(_MAX_SAMPLE_TRIES):
            design = {p.name: p.sample(rng) for p in self.params}
            if all(c(design) for c in self.constraints):
                return design
        raise ValueError(
            f"no design satisfying the constraints {[c.text for c in self.constraints]} was found "
            f"in {_MAX_SAMPLE_TRIES} random draws"
        )

    def grid(self) -> Iterator[Design]:
        """Every valid design, in lexicographic order of parameter indices (finite spaces only)."""
        if not self.is_finite:
            reals = [p.name for p in self.params if not p.is_finite]
            raise ValueError(f"cannot enumerate a space with real parameters {reals}")
        values = [p.values for p in self.params]  # type: ignore[attr-defined]
        for combo in itertools.product(*values):
            design = dict(zip(self.names, combo, strict=True))
            if all(c(design) for c in self.constraints):
                yield design

    @property
    def cardinality(self) -> float:
        """Number of valid designs (exact; ``inf`` with real parameters).

        Counted by vectorised enumeration when there are constraints, so it is exact but costs
        time proportional to :attr:`box_size`; the result is cached.
        """
        if not self.is_finite:
            return math.inf
        if self._cardinality is None:
            self._cardinality = self._count_valid()
        return self._cardinality

    def _count_valid(self) -> int:
        if not self.constraints:
            return int(self.box_size)
        # Parameters no constraint mentions multiply the count; constraints that share
        # parameters are counted together over just those parameters. A callable constraint
        # may read any parameter, so it joins every parameter into one group.
        groups: list[tuple[set[str], list[Constraint]]] = []
        for c in self.constraints:
            names = set(c.names) if c.names else set(self.names)
            merged = [g for g in groups if g[0] & names]
            for g in merged:
                groups.remove(g)
                names |= g[0]
            groups.append((names, [x for g in merged for x in g[1]] + [c]))
        constrained = set().union(*(g[0] for g in groups))
        count = math.prod(p.size for p in self.params if p.name not in constrained)  # type: ignore[attr-defined]
        for names, constraints in groups:
            count *= self._count_group([p for p in self.params if p.name in names], constraints)
        return int(count)

    @staticmethod
    def _count_group(params: list[Parameter], constraints: list[Constraint]) -> int:
        """Valid combinations of ``params`` under ``constraints`` (vectorised, in chunks)."""
        sizes = [p.size for p in params]  # type: ignore[attr-defined]
        values = [np.asarray(p.values, dtype=object) for p in params]  # type: ignore[attr-defined]
        total, chunk = math.prod(sizes), 1 << 20
        count = 0
        for start in range(0, total, chunk):
            idx = np.unravel_index(np.arange(start, min(total, start + chunk)), sizes)
            cols = {p.name: v[i] for p, v, i in zip(params, values, idx, strict=True)}
            ok = np.ones(len(idx[0]), dtype=bool)
            for c in constraints:
                ok &= c.evaluate_columns(cols)
            count += int(ok.sum())
        return count

    # -- encodings ------------------------------------------------------------------------------
    def encode(self, design: Mapping[str, Any]) -> np.ndarray:
        """The index vector of a design: value index for finite params, the value for reals."""
        d = self.validate(design)
        return np.array([p.encode(d[p.name]) for p in self.params], dtype=float)

    def decode(self, vector: Sequence[float] | np.ndarray) -> Design:
        """The design of an index vector (rounded and clipped); constraints are not checked."""
        vec = np.asarray(vector, dtype=float).ravel()
        if vec.shape != (len(self.params),):
            raise ValueError(
                f"vector must have length {len(self.params)}, but got shape {vec.shape}"
            )
        return {p.name: p.decode(v) for p, v in zip(self.params, vec, strict=True)}

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper bounds of the index vector."""
        lo = [0.0 if isinstance(p, _Finite) else p.low for p in self.params]  # type: ignore[attr-defined]
        hi = [float(p.size - 1) if isinstance(p, _Finite) else p.high for p in self.params]  # type: ignore[attr-defined]
        return np.array(lo, dtype=float), np.array(hi, dtype=float)

    def to_unit(self, design: Mapping[str, Any]) -> np.ndarray:
        """The design scaled to ``[0, 1]^d`` (index / (size - 1); reals by range or log-range)."""
        out = []
        d = self.validate(design)
        for p in self.params:
            if isinstance(p, _Finite):
                out.append(p.index(d[p.name]) / max(1, p.size - 1))
            else:
                assert isinstance(p, Real)
                lo, hi, v = p.low, p.high, d[p.name]
                if p.log:
                    lo, hi, v = math.log(lo), math.log(hi), math.log(v)
                out.append(0.0 if hi == lo else (v - lo) / (hi - lo))
        return np.array(out, dtype=float)

    # -- local search ---------------------------------------------------------------------------
    def neighbours(self, design: Mapping[str, Any]) -> list[Design]:
        """Valid designs that differ from ``design`` in one parameter by one step."""
        d = self.validate(design)
        out = []
        for p in self.params:
            for value in p.neighbours(d[p.name]):
                cand = {**d, p.name: value}
                if all(c(cand) for c in self.constraints):
                    out.append(cand)
        return out

    # -- other libraries ----------------------------------------------------------------------
    def to_gymnasium(self) -> Any:
        """A ``gymnasium.spaces.Dict``: ``Discrete`` indices for finite params, ``Box`` for reals."""
        from gymnasium import spaces

        return spaces.Dict({p.name: p.to_gymnasium() for p in self.params})

    def from_action(self, action: Mapping[str, Any]) -> Design:
        """The design of a Gymnasium action from :meth:`to_gymnasium` (not validated)."""
        out: Design = {}
        for p in self.params:
            if p.name not in action:
                raise ValueError(f"action is missing parameter `{p.name}`")
            out[p.name] = p.decode(float(np.asarray(action[p.name]).ravel()[0]))
        return out

    def to_action(self, design: Mapping[str, Any]) -> dict[str, Any]:
        """The Gymnasium action of a design (inverse of :meth:`from_action`)."""
        d = self.validate(design)
        out: dict[str, Any] = {}
        for p in self.params:
            if isinstance(p, _Finite):
                out[p.name] = np.int64(p.index(d[p.name]))
            else:
                out[p.name] = np.array([d[p.name]], dtype=np.float64)
        return out

    def to_optuna(self) -> dict[str, Any]:
        """Optuna distributions per parameter; map suggestions back with :meth:`from_optuna`."""
        return {p.name: p.to_optuna() for p in self.params}

    def from_optuna(self, params: Mapping[str, Any]) -> Design:
        """The design of an Optuna trial's ``params`` (powers of two come back from exponents)."""
        return {p.name: p.normalise(p.from_optuna(params[p.name])) for p in self.params}

    def restricted(self, keep: Mapping[str, Sequence[Any]]) -> DesignSpace:
        """This space with some parameters limited to the given values (same constraints).

        ``space.restricted({"bandwidth": [4, 16]})``: each listed value must be in the space.
        """
        params = []
        for name in keep:
            if name not in self.names:
                raise unknown_name("parameter", name, self.names)
        for p in self.params:
            if p.name not in keep:
                params.append(p)
                continue
            values = [p.normalise(v) for v in keep[p.name]]
            outside = [v for v in values if not p.contains(v)]
            if outside or not values:
                raise ValueError(
                    f"`restrict` of `{p.name}` must list values of {p.describe()}, "
                    f"but got {list(keep[p.name])!r}"
                )
            params.append(Categorical(p.name, values))
        return DesignSpace(params, constraints=list(self.constraints))

    # -- serialisation --------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A plain mapping (params and string constraints) for files and dataset metadata."""
        return {
            "params": [p.to_dict() for p in self.params],
            "constraints": [c.to_dict() for c in self.constraints],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DesignSpace:
        """Inverse of :meth:`to_dict`."""
        return cls(
            [parameter_from_dict(p) for p in data.get("params", [])],
            constraints=[Constraint.from_dict(c) for c in data.get("constraints", [])],
        )
