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
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from archgym.errors import DatasetError, UserError
from archgym.result import Result
from archgym.space import Categorical, DesignSpace, Integer, PowerOfTwo

__all__ = [
    "WALL_TIME_COLUMNS",
    "RunWriter",
    "check",
    "load",
    "part_problems",
    "read_run",
    "result_of_row",
    "schema_for",
]

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
        pa.field("env_kwargs", pa.string()),
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


class RunWriter:
    """Buffers one run's records in columns and writes them as atomic Parquet part files.

    Args:
        run_dir: Folder of the run (created if missing).
        schema: From :func:`schema_for`.
        constants: Column values shared by every record of the run (experiment, run_id, ...).
        flush_every: Write a part file once this many records are buffered.
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
        self._first: int | None = None
        self._columns: dict[str, list[Any]] = {n: [] for n in schema.names}
        self._n = 0

    def add(self, step: int, result: Result) -> None:
        """Append the record of evaluation number ``step``."""
        self.add_batch(step, [result])

    def add_batch(self, first_step: int, results: Sequence[Result]) -> None:
        """Append the records of evaluations ``first_step, first_step + 1, ...``; flushes once
        ``flush_every`` records are buffered."""
        if not results:
            return
        if self._first is None:
            self._first = first_step
        elif first_step != self._first + self._n:
            raise ValueError(
                f"records must be added in step order: expected step {self._first + self._n}, got {first_step}"
            )
        cols = self._columns
        n = len(results)
        for name, dtype in zip(self.schema.names, self.schema.types, strict=True):
            if name.startswith("p."):
                key = name[2:]
                values = [r.design[key] for r in results]
                if pa.types.is_string(dtype):
                    values = [v if isinstance(v, str) else json.dumps(v) for v in values]
                cols[name] += values
            elif name.startswith("m."):
                key = name[2:]
                cols[name] += [r.metrics.get(key, math.nan) for r in results]
        cols["step"] += range(first_step, first_step + n)
        cols["reward"] += [float(r.reward) for r in results]
        cols["feasible"] += [bool(r.feasible) for r in results]
        cols["error"] += [r.error for r in results]
        cols["objective_values"] += [[float(v) for v in r.values] for r in results]
        cols["eval_s"] += [float(r.eval_s) for r in results]
        self._n += n
        if self._n >= self.flush_every:
            self.flush()

    def flush(self) -> None:
        """Write buffered records to a new part file (a temporary name unique to this writer,
        then an atomic rename), so a killed process leaves only complete files."""
        if not self._n or self._first is None:
            return
        n = self._n
        arrays = []
        for name, dtype in zip(self.schema.names, self.schema.types, strict=True):
            if name in self.constants:
                arrays.append(pa.array([self.constants[name]] * n, type=dtype))
            else:
                arrays.append(pa.array(self._columns[name], type=dtype))
        table = pa.Table.from_arrays(arrays, schema=self.schema)
        final = self.run_dir / f"{_PART_PREFIX}{self._first:06d}.parquet"
        tmp = self.run_dir / f".{final.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp"
        pq.write_table(table, tmp)
        os.replace(tmp, final)
        self._first += n
        self._n = 0
        self._columns = {name: [] for name in self.schema.names}


def _part_files(run_dir: Path) -> list[Path]:
    return sorted(run_dir.glob(f"{_PART_PREFIX}*.parquet"))


def _step_span(f: Path) -> tuple[int, int] | None:
    """(first, last) step of a part file from its footer statistics (None when empty)."""
    meta = pq.ParquetFile(f).metadata
    if meta.num_rows == 0:
        return None
    col = meta.schema.names.index("step") if "step" in meta.schema.names else -1
    stats = [meta.row_group(i).column(col).statistics for i in range(meta.num_row_groups)]
    if col >= 0 and all(st is not None and st.has_min_max for st in stats):
        return min(int(st.min) for st in stats), max(int(st.max) for st in stats)
    steps = pq.read_table(f, columns=["step"]).column("step").to_numpy()
    return int(steps.min()), int(steps.max())


def part_problems(run_dir: Path) -> list[str]:
    """What is wrong with a run folder's part files (empty when its steps run 0, 1, ... n-1).

    Reads only the files' footers (the ``step`` column's statistics), so it is cheap; each
    problem names the files involved.
    """
    spans = []
    for f in _part_files(Path(run_dir)):
        try:
            span = _step_span(f)
        except (OSError, pa.ArrowInvalid, KeyError) as exc:
            return [f"{f} cannot be read ({exc})"]
        if span is not None:
            spans.append((*span, f.name))
    spans.sort()
    problems, expected, last = [], 0, None
    for lo, hi, name in spans:
        if lo < expected:
            problems.append(f"{name} repeats steps {lo}-{min(hi, expected - 1)} of {last}")
        elif lo > expected:
            problems.append(f"steps {expected}-{lo - 1} are missing (before {name})")
        expected, last = max(expected, hi + 1), name
    return [f"{run_dir}: {p}" for p in problems]


def read_run(run_dir: Path) -> pd.DataFrame:
    """The complete records of one run, sorted by step (empty frame if none).

    Raises:
        DatasetError: if steps are not contiguous from 0 (a part file is missing or repeated).
    """
    files = _part_files(Path(run_dir))
    if not files:
        return pd.DataFrame()
    problems = part_problems(Path(run_dir))
    if problems:
        raise DatasetError(f"cannot resume: {problems[0]}")
    df = pd.concat([pq.read_table(f).to_pandas() for f in files], ignore_index=True)
    return df.sort_values("step", kind="stable").reset_index(drop=True)


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


def _dataset_files(p: Path) -> tuple[Path, list[Path]]:
    """The folder checked and the Parquet files of an experiment, dataset, run folder or file."""
    if p.is_file():
        return p.parent, [p]
    root = p / "dataset" if (p / "dataset").is_dir() else p
    files = sorted(root.rglob(f"{_PART_PREFIX}*.parquet")) or sorted(root.rglob("*.parquet"))
    return root, files


def _manifest_of(root: Path) -> dict[str, Any] | None:
    for folder in (root.parent, root.parent.parent):
        f = folder / "manifest.json"
        if f.is_file():
            try:
                return json.loads(f.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                return None
    return None


def check(path: str | os.PathLike[str], df: pd.DataFrame | None = None) -> list[str]:
    """Problems of a dataset folder, each naming the folder or file (empty when it is sound).

    Detects part files that repeat or miss steps, run folders that the experiment's manifest does
    not list, and records of more than one experiment in one folder.
    """
    root, files = _dataset_files(Path(path))
    problems = []
    for run_dir in sorted({f.parent for f in files if f.name.startswith(_PART_PREFIX)}):
        problems += part_problems(run_dir)
    manifest = _manifest_of(root)
    if manifest is not None and root.name == "dataset":
        listed = set(manifest.get("runs", []))
        for run_dir in sorted({f.parent for f in files}):
            if run_dir.parent == root and run_dir.name not in listed:
                problems.append(
                    f"{run_dir}: run {run_dir.name!r} is not part of experiment "
                    f"{manifest.get('experiment')!r} (folders of two experiments merged?)"
                )
    if df is not None and "experiment" in df.columns:
        names = sorted(df["experiment"].dropna().unique())
        if len(names) > 1:
            problems.append(f"{root}: holds records of {len(names)} experiments: {names}")
    return problems


def load(path: str | os.PathLike[str], *, check_folder: bool = True) -> pd.DataFrame:
    """Load a dataset into pandas.

    Args:
        path: An experiment output folder, its ``dataset/`` folder, a run folder, or one Parquet
            file.
        check_folder: Refuse a damaged folder (see :func:`check`); False loads what is there.

    Raises:
        UserError: if the path does not exist or holds no readable Parquet records.
        DatasetError: if the folder is damaged (the message names each problem).
    """
    p = Path(path)
    if not p.exists():
        raise UserError(f"cannot read dataset {str(p)!r}: no such file or folder")
    _, files = _dataset_files(p)
    if not files:
        raise UserError(f"cannot read dataset {str(p)!r}: no Parquet files found there")
    frames = []
    for f in files:
        try:
            frames.append(pq.read_table(f).to_pandas())
        except (OSError, pa.ArrowInvalid) as exc:
            raise UserError(f"cannot read dataset file {str(f)!r}: {exc}") from None
    df = pd.concat(frames, ignore_index=True)
    if check_folder:
        problems = check(p, df)
        if problems:
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            raise DatasetError(f"damaged dataset: {problems[0]}{more}")
    if {"run_id", "step"} <= set(df.columns):
        df = df.sort_values(["run_id", "step"], kind="stable").reset_index(drop=True)
    return df
