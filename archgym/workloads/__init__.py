"""Workloads by name or file: built-ins, SCALE-Sim topologies, ONNX models, Hugging Face configs.

One resolver names a workload everywhere (envs, experiment TOML files, the CLI):

- a built-in name (``list_workloads()``: layer lists of networks, GEMM sets of transformers,
  DNN graphs, sparse workloads);
- a SCALE-Sim topology ``.csv`` (conv or GEMM form);
- an ``.onnx`` file (:mod:`archgym.workloads.onnx_layers`);
- a Hugging Face ``config.json`` or a checkpoint folder holding one
  (:mod:`archgym.workloads.hf`).

Model files take options (:class:`~archgym.workloads.workload.WorkloadOptions`): ``phase``
(prefill / decode), ``tokens``, ``batch``, ``context`` and ``skip_unsupported``, given as
keyword arguments, as a mapping spec ``{"path": "llama.json", "phase": "decode"}`` or appended
to the path as a query, ``"llama.json?phase=decode&batch=8&context=4096"`` (the form that fits
an env's ``workload=`` string).

:func:`resolve_workload` returns a :class:`~archgym.workloads.workload.Workload` (entries with
kinds, FLOP totals, notes); :func:`get_workload` returns what the envs iterate: the built-in
object for a built-in name, else ``Workload.items()`` (``GemmShape`` rows when the model is
all matrix products, ``ConvLayer`` / ``GemmLayer`` lists otherwise).
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from archgym.errors import UserError, unknown_name
from archgym.workloads.workload import Entry, Workload, WorkloadOptions, as_gemms

__all__ = [
    "Workload",
    "WorkloadOptions",
    "as_gemms",
    "get_workload",
    "list_workloads",
    "parse_spec",
    "resolve_workload",
    "workload_family",
]

# Each module exports WORKLOADS: dict[name, zero-argument factory]. Modules are imported on first
# use so that importing archgym stays fast.
_FAMILIES = ("gemms", "networks", "graphs", "sparse")
_OPTIONS = ("phase", "tokens", "batch", "context", "skip_unsupported")
_FILE_TYPES = (".onnx", ".json", ".csv")


def _registry() -> dict[str, tuple[str, Callable[[], Any]]]:
    out: dict[str, tuple[str, Callable[[], Any]]] = {}
    for family in _FAMILIES:
        try:
            module = importlib.import_module(f"archgym.workloads.{family}")
        except ModuleNotFoundError as exc:
            if exc.name != f"archgym.workloads.{family}":
                raise
            continue
        for name, factory in module.WORKLOADS.items():
            out[name] = (family, factory)
    return out


def list_workloads(family: str | None = None) -> list[str]:
    """Names of the built-in workloads, optionally of one family (gemms, networks, graphs)."""
    return sorted(n for n, (f, _) in _registry().items() if family in (None, f))


def _option_value(key: str, text: str, spec: str) -> Any:
    if key == "phase":
        return text
    if key == "skip_unsupported":
        if text.lower() not in ("true", "false", "1", "0"):
            raise UserError(f"workload {spec!r}: skip_unsupported must be true or false")
        return text.lower() in ("true", "1")
    try:
        return int(text)
    except ValueError:
        raise UserError(f"workload {spec!r}: {key} must be an integer, but got {text!r}") from None


def parse_spec(spec: Any, **options: Any) -> tuple[Any, WorkloadOptions]:
    """Split a spec into its target (name, path or ``ModelProto``) and validated options.

    Options come from keyword arguments (None means unset), a mapping spec's keys or a
    ``?key=value&...`` query; the same option given twice is an error.
    """
    given = {k: v for k, v in options.items() if v is not None and v is not False}
    unknown = sorted(set(options) - set(_OPTIONS))
    if unknown:
        raise UserError(f"unknown workload option(s) {unknown}; valid: {', '.join(_OPTIONS)}")
    found: dict[str, Any] = {}
    if isinstance(spec, Mapping):
        rest = dict(spec)
        keys = [k for k in ("path", "name") if k in rest]
        if len(keys) != 1:
            raise UserError(f"a workload mapping needs exactly one of 'path' or 'name': {spec!r}")
        target = rest.pop(keys[0])
        bad = sorted(set(rest) - set(_OPTIONS))
        if bad:
            raise UserError(f"unknown workload option(s) {bad}; valid: {', '.join(_OPTIONS)}")
        found = rest
    elif isinstance(spec, str) and "?" in spec and spec not in _registry():
        target, query = spec.rsplit("?", 1)
        try:
            pairs = parse_qsl(query, strict_parsing=True)
        except ValueError:
            raise UserError(
                f"workload {spec!r}: the options must read key=value&key=value"
            ) from None
        for key, text in pairs:
            if key not in _OPTIONS:
                raise UserError(
                    f"workload {spec!r}: unknown option {key!r}; valid: {', '.join(_OPTIONS)}"
                )
            if key in found:
                raise UserError(f"workload {spec!r}: option {key!r} is given twice")
            found[key] = _option_value(key, text, spec)
    else:
        target = spec
    twice = sorted(set(found) & set(given))
    if twice:
        raise UserError(f"workload option(s) {twice} given both in the spec and as arguments")
    try:
        return target, WorkloadOptions(**found, **given)
    except ValueError as exc:
        raise UserError(f"workload {spec!r}: {exc}") from None


def _kind_by_name(name: str) -> str:
    """Built-ins and topologies name their attention GEMMs (as the sparse workloads do)."""
    return "attention" if name in ("attn_scores", "attn_values") else "weight"


def _builtin(name: str, family: str, value: Any) -> Workload:
    entries = []
    for item in value:
        source = "built-in"
        if family == "graphs":
            raise UserError(
                f"workload {name!r} is a scratchpad graph: use it with `archgym schedule --graph` "
                "or the scratchpad envs"
            )
        if family == "sparse":  # a SparseLayer: its dense layer, the pattern noted
            item, source = item.layer, f"pattern {item.pattern}"
        entries.append(Entry(item, 1, _kind_by_name(item.name), source))
    return Workload(name, tuple(entries), notes={"built_in": family})


def _topology(path: Path, opts: WorkloadOptions) -> Workload:
    from archgym.simulators.systolic.io import read_topology

    if opts.given():
        raise UserError(f"{path}: a topology CSV takes no options (got {opts.given()})")
    entries = [
        Entry(layer, 1, _kind_by_name(layer.name), "topology") for layer in read_topology(path)
    ]
    return Workload(path.stem, tuple(entries))


def _json(path: Path, opts: WorkloadOptions) -> Workload:
    from archgym.workloads.hf import hf_entries, load_config, transformer_from_config

    config_path = path / "config.json" if path.is_dir() else path
    data = load_config(config_path)
    if "model_type" not in data and {"ops", "tensors"} <= set(data):
        raise UserError(
            f"{path} is a scratchpad graph: use it with `archgym schedule --graph` "
            "or the scratchpad envs"
        )
    t = transformer_from_config(data, str(config_path))
    return hf_entries(t, opts, str(config_path))


@lru_cache(maxsize=32)
def _resolve_file(path: str, _stamp: tuple[int, int], opts: WorkloadOptions) -> Workload:
    p = Path(path)
    if p.suffix == ".onnx":
        from archgym.workloads.onnx_layers import onnx_workload

        return onnx_workload(p, opts)
    if p.suffix == ".csv":
        return _topology(p, opts)
    return _json(p, opts)


def resolve_workload(
    spec: Any,
    *,
    phase: str | None = None,
    tokens: int | None = None,
    batch: int | None = None,
    context: int | None = None,
    skip_unsupported: bool = False,
) -> Workload:
    """The :class:`Workload` of a built-in name, a topology CSV, an ONNX file (or
    ``ModelProto``) or a Hugging Face config.json (or its folder), with model options.

    Unknown names, missing files, unknown architectures and unsupported ops raise
    :class:`~archgym.errors.UserError` (a one-line message naming them).
    """
    target, opts = parse_spec(
        spec,
        phase=phase,
        tokens=tokens,
        batch=batch,
        context=context,
        skip_unsupported=skip_unsupported,
    )
    if type(target).__name__ == "ModelProto":
        from archgym.workloads.onnx_layers import onnx_workload

        return onnx_workload(target, opts, name=target.graph.name or "model")
    if not isinstance(target, (str, os.PathLike)):
        raise UserError(f"a workload spec must be a name or a path, but got {target!r}")
    registry = _registry()
    key = str(target)
    if key in registry:
        if opts.given():
            raise UserError(
                f"workload {key!r} is built in; options {opts.given()} apply to model files"
            )
        family, factory = registry[key]
        return _builtin(key, family, factory())
    path = Path(target).expanduser()
    if path.is_dir() and (path / "config.json").is_file():
        path = path / "config.json"
    if path.is_file():
        if path.suffix not in _FILE_TYPES:
            raise UserError(f"{path}: unknown workload file type (expected .onnx, .json, .csv)")
        st = path.stat()
        return _resolve_file(str(path.resolve()), (st.st_mtime_ns, st.st_size), opts)
    if path.suffix in _FILE_TYPES or os.sep in key:
        raise UserError(f"{path}: no such file")
    raise unknown_name("workload", key, registry)


def workload_family(spec: Any) -> str:
    """The family of a workload: a built-in name's module (gemms, networks, graphs, sparse), or
    for a file ``gemms`` (all matrix products) or ``networks`` (has convolutions)."""
    reg = _registry()
    if isinstance(spec, str) and spec in reg:
        return reg[spec][0]
    return resolve_workload(spec).family


def get_workload(
    spec: Any,
    *,
    phase: str | None = None,
    tokens: int | None = None,
    batch: int | None = None,
    context: int | None = None,
    skip_unsupported: bool = False,
) -> Any:
    """What the envs iterate for ``spec``: a built-in name's object (as registered), otherwise
    the resolved workload's items (``GemmShape`` rows or layers; see :func:`resolve_workload`)."""
    options = dict(
        phase=phase, tokens=tokens, batch=batch, context=context, skip_unsupported=skip_unsupported
    )
    reg = _registry()
    if isinstance(spec, str) and spec in reg:
        if any(v not in (None, False) for v in options.values()):
            resolve_workload(spec, **options)  # raises: options apply to model files
        return reg[spec][1]()
    return resolve_workload(spec, **options).items()
