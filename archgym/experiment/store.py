"""The record store: an experiment's output folder, its lock, manifest and per-run status.

Layout::

    OUT/
      .lock                    held (flock) by the process writing OUT; released when it exits
      experiment.toml          the experiment as last run (a copy)
      manifest.json            experiment name and identity, archgym version, runs with settings
      dataset/<run_id>/part-*.parquet   records (see archgym.dataset)
      dataset/<run_id>/run.json         the run's settings, budgets, and when finished: its record
                                        count and a digest of its part files

A finished run is skipped on resume when its part files still match the digest and hold the
records the budget asks for, so resuming a finished experiment reads no records at all.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import socket
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from archgym.errors import FolderInUseError, UserError

__all__ = ["OutputFolder", "parts_digest", "read_status", "write_status"]

_STATUS = "run.json"


def _write_json(path: Path, data: Mapping[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True, default=str), encoding="utf-8")
    os.replace(tmp, path)


def parts_digest(run_dir: Path) -> str:
    """SHA-256 of the names and sizes of a run's part files (cheap: no file is read)."""
    h = hashlib.sha256()
    for f in sorted(Path(run_dir).glob("part-*.parquet")):
        h.update(f"{f.name}:{f.stat().st_size};".encode())
    return h.hexdigest()


def read_status(run_dir: Path) -> dict[str, Any] | None:
    """The run's ``run.json`` (None when absent or unreadable)."""
    try:
        return json.loads((Path(run_dir) / _STATUS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def write_status(run_dir: Path, status: Mapping[str, Any]) -> None:
    """Replace the run's ``run.json`` atomically."""
    Path(run_dir).mkdir(parents=True, exist_ok=True)
    _write_json(Path(run_dir) / _STATUS, status)


def is_finished(run_dir: Path, identity: Mapping[str, Any], budget: int) -> bool:
    """Whether a run needs no work: finished, unchanged on disk, and its budget reached.

    A run whose agent finished early (an exhausted space) counts as finished whatever the budget.
    """
    status = read_status(run_dir)
    if not status or not status.get("finished"):
        return False
    if status.get("identity") != json.loads(json.dumps(identity, default=str)):
        return False
    if status.get("digest") != parts_digest(run_dir):
        return False
    return status.get("agent_finished", False) or status.get("records", 0) >= budget


def _lock(handle: Any) -> bool:
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        try:
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


class OutputFolder:
    """An experiment's output folder, locked for the life of the object (a context manager).

    Args:
        path: The folder (created if missing).

    Raises:
        UserError: if ``path`` is a file, or cannot be created.
        FolderInUseError: if another process holds the folder's lock.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        if self.path.exists() and not self.path.is_dir():
            raise UserError(f"--out {str(self.path)!r} is a file; give a folder")
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UserError(f"cannot create output folder {str(self.path)!r}: {exc}") from None
        self.dataset = self.path / "dataset"
        self._handle: Any = None

    def __enter__(self) -> OutputFolder:
        lock = self.path / ".lock"
        try:
            handle = open(lock, "a+", encoding="utf-8")
        except OSError as exc:
            raise UserError(f"cannot write in output folder {str(self.path)!r}: {exc}") from None
        if not _lock(handle):
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise FolderInUseError(
                f"{self.path} is in use by another archgym run ({holder}); wait for it to "
                "finish or choose another --out"
            )
        handle.seek(0)
        handle.truncate()
        started = time.strftime("%Y-%m-%d %H:%M:%S")
        handle.write(f"pid {os.getpid()} on {socket.gethostname()}, since {started}")
        handle.flush()
        self._handle = handle
        return self

    def __exit__(self, *exc: object) -> None:
        if self._handle is not None:
            with contextlib.suppress(OSError):
                self._handle.seek(0)
                self._handle.truncate()
            self._handle.close()  # closing releases the lock
            self._handle = None

    # -- manifest -------------------------------------------------------------------------------
    def prepare(self, experiment: Any, *, overwrite: bool = False) -> bool:
        """Check ``experiment`` against the folder and record it; True when the folder held it.

        The same experiment may come back with another budget or more seeds (its runs grow); a
        run recorded with other settings (env kwargs, hyperparameters, batch) is refused.
        """
        import archgym

        manifest_path = self.path / "manifest.json"
        runs = {r.run_id: r.identity() for r in experiment.runs()}
        old = self._read_manifest(manifest_path)
        if old is not None and overwrite:
            shutil.rmtree(self.dataset, ignore_errors=True)
            old = None
        elif old is None and not overwrite and _has_foreign_files(self.path):
            raise UserError(
                f"{self.path} exists and is not an archgym experiment folder; choose another --out"
            )
        if old is not None:
            self._check_same(old, experiment, runs)
            runs = {**old.get("run_settings", {}), **runs}
        manifest = {
            "experiment": experiment.name,
            "fingerprint": experiment.fingerprint(),
            "archgym_version": archgym.__version__,
            "runs": list(runs),
            "run_settings": runs,
        }
        source = Path(experiment.source)
        if source.is_file():
            shutil.copyfile(source, self.path / "experiment.toml")
        _write_json(manifest_path, manifest)
        self.dataset.mkdir(exist_ok=True)
        return old is not None

    def _read_manifest(self, path: Path) -> dict[str, Any] | None:
        if not path.exists():
            return None
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise UserError(f"{path} is damaged ({exc}); pass --overwrite to start again") from None

    def _check_same(self, old: Mapping[str, Any], experiment: Any, runs: Mapping) -> None:
        if old.get("experiment") != experiment.name or "run_settings" not in old:
            raise UserError(
                f"{self.path} holds a different experiment ({old.get('experiment')!r}); choose "
                "another --out, or pass --overwrite to replace it"
            )
        settings = json.loads(json.dumps(dict(runs), default=str))
        for run_id, identity in settings.items():
            before = old["run_settings"].get(run_id)
            if before is not None and before != identity:
                changed = sorted(k for k in identity if identity.get(k) != before.get(k))
                raise UserError(
                    f"{self.path}: run {run_id} was recorded with other settings ({', '.join(changed)} "
                    "changed); choose another --out, or pass --overwrite to replace it"
                )


def _has_foreign_files(path: Path) -> bool:
    return any(p.name != ".lock" for p in path.iterdir())


@contextlib.contextmanager
def locked(path: str | os.PathLike[str]) -> Iterator[OutputFolder]:
    """``with locked(out) as folder:`` -- :class:`OutputFolder` as a context manager."""
    with OutputFolder(path) as folder:
        yield folder
