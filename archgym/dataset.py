"""The evaluation dataset: one Parquet row per evaluation, written in atomic part files.

Layout of an experiment's output folder::

    OUT/
      experiment.toml          the experiment as run (a copy)
      manifest.json            experiment fingerprint, archgym version, run list
      dataset/<run_id>/part-000000.parquet, part-000050.parquet, ...

Each part file is written to a temporary name and renamed, so a killed process leaves only
complete files: nothing already written is ever lost, and a resumed run continues after the last
complete part. Columns (see DESIGN.md): ``experiment, run_id, env_id, agent, agent_params (JSON),
seed, step, p.<param>..., m.<metric>..., reward, feasible, error, eval_s, archgym_version`` plus
``objective_values`` (the multi-objective vector).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from archgym.errors import UserError
from archgym.result import Result
from archgym.space import Categorical, DesignSpace, Integer, PowerOfTwo

__all__ = ["WALL_TIME_COLUMNS", "RunWriter", "load", "read_run", "result_of_row", "schema_for"]

#: Columns that hold wall-clock measurements and differ between otherwise identical runs.
WALL_TIME_COLUMNS = ("eval_s",)
_PART_PREFIX = "part-"


def _arrow_type(param: Any) -> pa.DataType:
    if isinstance(param, (Integer, PowerOfTwo)):
        return pa.int64()
    if isinstance(param, Categorical):
        kinds = {type(v) for v in param.values}
        if kinds == {bool}:
            return pa.bool_()
        if kinds <= {int}:
            return pa.int64()
        if kinds <= {int, float}:
            return pa.float64()
        return pa.string()
    return pa.float64()


def schema_for(space: DesignSpace, metric_names: Sequence[str]) -> pa.Schema:
    """The Arrow schema of a run's records for ``space`` and ``metric_names``."""
    fields = [
        pa.field("experiment", pa.string()),
        pa.field("run_id", pa.string()),
        pa.field("env_id", pa.string()),
        pa.field("agent", pa.string()),
        pa.field("agent_params", pa.string()),
        pa.field("seed", pa.int64()),
        pa.field("step", pa.int64()),
    ]
    fields += [pa.field(f"p.{p.name}", _arrow_type(p)) for p in space]
    fields += [pa.field(f"m.{m}", pa.float64()) for m in metric_names]
    fields += [
        pa.field("reward", pa.float64()),
        pa.field("feasible", pa.bool_()),
        pa.field("error", pa.string()),
        pa.field("objective_values", pa.list_(pa.float64())),
        pa.field("eval_s", pa.float64()),
        pa.field("archgym_version", pa.string()),
    ]
    return pa.schema(fields)


def _param_value(value: Any, dtype: pa.DataType) -> Any:
    if pa.types.is_string(dtype) and not isinstance(value, str):
        return json.dumps(value)
    return value


class RunWriter:
    """Buffers one run's records and writes them as atomic Parquet part files.

    Args:
        run_dir: Folder of the run (created if missing).
        schema: From :func:`schema_for`.
        constants: Column values shared by every record of the run (experiment, run_id, ...).
        flush_every: Records per part file.
    """

    def __init__(
        self,
        run_dir: Path,
        schema: pa.Schema,
        constants: Mapping[str, Any],
        *,
        flush_every: int = 50,
    ) -> None:
        if flush_every < 1:
            raise ValueError(f"`flush_every` must be >= 1, but got {flush_every}")
        self.run_dir = Path(run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.schema = schema
        self.constants = dict(constants)
        self.flush_every = flush_every
        self._buffer: list[dict[str, Any]] = []

    def add(self, step: int, result: Result) -> None:
        """Append the record of evaluation number ``step``; flushes every ``flush_every``."""
        row = dict(self.constants)
        row["step"] = step
        for name, dtype in zip(self.schema.names, self.schema.types, strict=True):
            if name.startswith("p."):
                row[name] = _param_value(result.design[name[2:]], dtype)
            elif name.startswith("m."):
                row[name] = result.metrics.get(name[2:], math.nan)
        row["reward"] = float(result.reward)
        row["feasible"] = bool(result.feasible)
        row["error"] = result.error
        row["objective_values"] = [float(v) for v in result.values]
        row["eval_s"] = float(result.eval_s)
        self._buffer.append(row)
        if len(self._buffer) >= self.flush_every:
            self.flush()

    def flush(self) -> None:
        """Write buffered records to a new part file (temporary name, then an atomic rename)."""
        if not self._buffer:
            return
        first = self._buffer[0]["step"]
        table = pa.Table.from_pylist(self._buffer, schema=self.schema)
        final = self.run_dir / f"{_PART_PREFIX}{first:06d}.parquet"
        tmp = final.with_suffix(".parquet.tmp")
        pq.write_table(table, tmp)
        os.replace(tmp, final)
        self._buffer.clear()


def _part_files(run_dir: Path) -> list[Path]:
    return sorted(run_dir.glob(f"{_PART_PREFIX}*.parquet"))


def read_run(run_dir: Path) -> pd.DataFrame:
    """The complete records of one run, sorted by step (empty frame if none).

    Steps must be contiguous from 0; a gap means a part file went missing and is an error.
    """
    files = _part_files(Path(run_dir))
    if not files:
        return pd.DataFrame()
    df = pd.concat([pq.read_table(f).to_pandas() for f in files], ignore_index=True)
    df = df.sort_values("step", kind="stable").reset_index(drop=True)
    expected = list(range(len(df)))
    if df["step"].tolist() != expected:
        raise UserError(
            f"run folder {run_dir} has missing or duplicated steps; it cannot be resumed"
        )
    return df


def result_of_row(row: Mapping[str, Any], space: DesignSpace) -> Result:
    """Rebuild the :class:`Result` of a dataset row (used to replay a run into an agent)."""
    design = {}
    for p in space:
        value = row[f"p.{p.name}"]
        if isinstance(p, Categorical) and isinstance(value, str) and value not in p.values:
            value = json.loads(value)
        design[p.name] = p.normalise(value.item() if hasattr(value, "item") else value)
    feasible = bool(row["feasible"])
    metrics = {}
    if feasible:
        metrics = {k[2:]: float(v) for k, v in row.items() if k.startswith("m.") and not pd.isna(v)}
    return Result(
        design=design,
        metrics=metrics,
        reward=float(row["reward"]),
        feasible=feasible,
        error=None if feasible else str(row["error"]),
        eval_s=float(row["eval_s"]),
        values=tuple(float(v) for v in row["objective_values"]),
    )


def load(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Load a dataset into pandas.

    Args:
        path: An experiment output folder, its ``dataset/`` folder, a run folder, or one Parquet
            file.

    Raises:
        UserError: if the path does not exist or holds no readable Parquet records.
    """
    p = Path(path)
    if not p.exists():
        raise UserError(f"cannot read dataset {str(p)!r}: no such file or folder")
    if p.is_file():
        files = [p]
    else:
        root = p / "dataset" if (p / "dataset").is_dir() else p
        files = sorted(root.rglob(f"{_PART_PREFIX}*.parquet")) or sorted(root.rglob("*.parquet"))
    if not files:
        raise UserError(f"cannot read dataset {str(p)!r}: no Parquet files found there")
    frames = []
    for f in files:
        try:
            frames.append(pq.read_table(f).to_pandas())
        except (OSError, pa.ArrowInvalid) as exc:
            raise UserError(f"cannot read dataset file {str(f)!r}: {exc}") from None
    df = pd.concat(frames, ignore_index=True)
    if {"run_id", "step"} <= set(df.columns):
        df = df.sort_values(["run_id", "step"], kind="stable").reset_index(drop=True)
    return df
