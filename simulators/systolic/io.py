"""Read and write SCALE-Sim configuration (``.cfg``) and topology (``.csv``) files.

Both formats are read as they exist in the wild:

- cfg: SCALE-Sim v2 (``[general]`` and ``[architecture_presets]`` only: estimated bandwidth) and v3
  (adds ``[layout]``, ``[sparsity]``, ``[run_presets]``). In v3 USER mode the ifmap/filter DRAM
  bandwidth is ``IfmapSRAMBankBandwidth`` / ``FilterSRAMBankBandwidth`` and the ofmap drain
  bandwidth the first ``Bandwidth`` value; in v2 ``Bandwidth`` is both. Keys are case-insensitive.
- topology: a header line, then ``name, IFMAP H, IFMAP W, Filter H, Filter W, Channels, Num Filter,
  Stride,`` rows (conv) or ``name, M, N, K,`` rows (GEMM, SCALE-Sim's ``-i gemm``). The trailing
  comma SCALE-Sim needs is optional here; a trailing sparsity ratio (``2:4``) is checked and, as
  in SCALE-Sim without ``SparsitySupport``, runs dense (``read_sparsity_ratios`` returns it; a
  cfg with ``SparsitySupport = true`` is refused with an error naming the key unless
  ``read_cfg(..., sparsity=True)``: ``sparse_compat`` reproduces that mode); a layer
  whose name contains ``DP`` is depthwise (SCALE-Sim runs it as one layer per channel).

Every error names the file, the line and the field.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from archgym.simulators.systolic.config import DATAFLOWS, ArrayConfig
from archgym.simulators.systolic.layers import ConvLayer, GemmLayer, Layer

__all__ = [
    "CfgError",
    "read_cfg",
    "read_read_bandwidths",
    "read_sparsity_ratios",
    "read_topology",
    "write_cfg",
    "write_topology",
]

CONV_FIELDS = ("IFMAP Height", "IFMAP Width", "Filter Height", "Filter Width", "Channels")
CONV_FIELDS += ("Num Filter", "Strides")
GEMM_FIELDS = ("M", "N", "K")


class CfgError(ValueError):
    """A malformed SCALE-Sim file; the message starts with ``file:line:``."""


def _parse_ini(path: Path) -> dict[str, dict[str, tuple[str, int]]]:
    """Sections -> lower-cased key -> (value, line number)."""
    sections: dict[str, dict[str, tuple[str, int]]] = {}
    current: str | None = None
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            if not line.endswith("]"):
                raise CfgError(f"{path}:{number}: malformed section header {line!r}")
            current = line[1:-1].strip().lower()
            sections.setdefault(current, {})
            continue
        sep = min((i for i in (line.find("="), line.find(":")) if i >= 0), default=-1)
        if sep < 0:
            raise CfgError(f"{path}:{number}: expected 'key = value', but got {line!r}")
        if current is None:
            raise CfgError(f"{path}:{number}: key {line[:sep].strip()!r} outside any section")
        sections[current][line[:sep].strip().lower()] = (line[sep + 1 :].strip(), number)
    return sections


def _get(sections, path: Path, section: str, key: str, required: bool = True):
    entry = sections.get(section, {}).get(key.lower())
    if entry is None and required:
        raise CfgError(f"{path}: missing field {key!r} in section [{section}]")
    return entry


def _int_field(path: Path, entry: tuple[str, int], key: str, positive: bool = True) -> int:
    value, line = entry
    try:
        number = int(value.split(",")[0].strip())
    except ValueError:
        raise CfgError(
            f"{path}:{line}: field {key!r} must be an integer, but got {value!r}"
        ) from None
    if positive and number <= 0:
        raise CfgError(f"{path}:{line}: field {key!r} must be positive, but got {value!r}")
    return number


def read_cfg(
    path: str | os.PathLike, *, sparsity: bool = False, **overrides: object
) -> ArrayConfig:
    """Read a SCALE-Sim v2/v3 ``.cfg`` file into an :class:`ArrayConfig` (``overrides`` are
    passed on, e.g. ``scalesim_compat=True``). ``SparsitySupport = true`` is refused unless
    ``sparsity`` is set (the caller then reads ``[sparsity]`` with
    :func:`archgym.simulators.systolic.sparse_compat.read_sparsity`)."""
    path = Path(path)
    if not path.is_file():
        raise CfgError(f"{path}: no such config file")
    sections = _parse_ini(path)
    arch = "architecture_presets"
    if arch not in sections:
        raise CfgError(f"{path}: missing section [{arch}]")
    fields: dict[str, object] = {}
    for key, name in (("ArrayHeight", "rows"), ("ArrayWidth", "cols")):
        fields[name] = _int_field(path, _get(sections, path, arch, key), key)
    for key, name in (
        ("IfmapSramSzkB", "ifmap_sram_kib"),
        ("FilterSramSzkB", "filter_sram_kib"),
        ("OfmapSramSzkB", "ofmap_sram_kib"),
    ):
        fields[name] = _int_field(path, _get(sections, path, arch, key), key)
    dataflow, line = _get(sections, path, arch, "Dataflow")
    if dataflow.lower() not in DATAFLOWS:
        raise CfgError(
            f"{path}:{line}: field 'Dataflow' must be one of {', '.join(DATAFLOWS)}, "
            f"but got {dataflow!r}"
        )
    fields["dataflow"] = dataflow.lower()
    sparse = _get(sections, path, "sparsity", "SparsitySupport", required=False)
    if not sparsity and sparse is not None and sparse[0].strip().lower() == "true":
        raise CfgError(
            f"{path}:{sparse[1]}: field 'SparsitySupport' = true: SCALE-Sim's sparse mode is "
            "reproduced only with --scalesim-compat (sparse_compat); set it to false, or model "
            "structured sparsity with archgym.simulators.sparse"
        )
    mode_entry = _get(sections, path, "run_presets", "InterfaceBandwidth", required=False)
    mode = "CALC" if mode_entry is None else mode_entry[0].upper()
    if mode not in ("CALC", "USER"):
        raise CfgError(
            f"{path}:{mode_entry[1]}: field 'InterfaceBandwidth' must be CALC or USER, "
            f"but got {mode_entry[0]!r}"
        )
    if mode == "USER":
        write_bw = _int_field(path, _get(sections, path, arch, "Bandwidth"), "Bandwidth")
        read_bw = write_bw
        bank_keys = ("IfmapSRAMBankBandwidth", "FilterSRAMBankBandwidth")
        banks = [_get(sections, path, "layout", key, required=False) for key in bank_keys]
        if all(banks):
            # One read bandwidth per port in ArrayConfig: the slower of the two governs.
            read_bw = min(_int_field(path, e, k) for e, k in zip(banks, bank_keys, strict=True))
        fields["read_bw_words"] = read_bw
        fields["write_bw_words"] = write_bw
    fields.update(overrides)
    try:
        return ArrayConfig(**fields)
    except ValueError as exc:
        raise CfgError(f"{path}: {exc}") from None


def write_cfg(path: str | os.PathLike, config: ArrayConfig, run_name: str = "archgym") -> None:
    """Write a SCALE-Sim v3 ``.cfg`` for ``config`` (SRAM sizes rounded up to whole kB)."""
    if config.word_bytes != 1:
        raise ValueError(f"SCALE-Sim has 1-byte words, but `word_bytes` is {config.word_bytes}")
    user = config.user_bandwidth
    bw = int(config.write_bw_words) if user else 10
    read_bw = int(config.read_bw_words) if user else 10

    def kib(value: float) -> int:
        return int(-(-value // 1))

    text = f"""[general]
run_name = {run_name}

[architecture_presets]
ArrayHeight = {config.rows}
ArrayWidth = {config.cols}
IfmapSramSzkB = {kib(config.ifmap_sram_kib)}
FilterSramSzkB = {kib(config.filter_sram_kib)}
OfmapSramSzkB = {kib(config.ofmap_sram_kib)}
IfmapOffset = 0
FilterOffset = 10000000
OfmapOffset = 20000000
Bandwidth = {bw}
Dataflow = {config.dataflow}
ReadRequestBuffer = 32
WriteRequestBuffer = 32

[layout]
IfmapCustomLayout = False
IfmapSRAMBankBandwidth = {read_bw}
IfmapSRAMBankNum = 1
IfmapSRAMBankPort = 2
FilterCustomLayout = False
FilterSRAMBankBandwidth = {read_bw}
FilterSRAMBankNum = 1
FilterSRAMBankPort = 2

[sparsity]
SparsitySupport = false
SparseRep = ellpack_block
OptimizedMapping = false
BlockSize = 8
RandomNumberGeneratorSeed = 40

[run_presets]
InterfaceBandwidth = {"USER" if user else "CALC"}
UseRamulatorTrace = False
"""
    Path(path).write_text(text)


def _row_fields(path: Path, number: int, line: str) -> list[str]:
    fields = [f.strip() for f in line.split(",")]
    while fields and fields[-1] == "":
        fields.pop()
    if fields and ":" in fields[-1]:  # sparsity ratio N:M
        _check_ratio(path, number, fields.pop())
    return fields


def _check_ratio(path: Path, number: int, text: str) -> tuple[int, int]:
    """Parse a topology row's ``N:M`` sparsity ratio (1 <= N <= M)."""
    try:
        n, m = (int(part) for part in text.split(":"))
    except ValueError:
        raise CfgError(
            f"{path}:{number}: field 'Sparsity' must be N:M (integers), but got {text!r}"
        ) from None
    if not 1 <= n <= m:
        raise CfgError(f"{path}:{number}: field 'Sparsity' must have 1 <= N <= M, but got {text!r}")
    return n, m


def read_sparsity_ratios(path: str | os.PathLike) -> list[tuple[int, int]]:
    """The ``N:M`` column of a topology file, one ratio per layer (``(1, 1)`` where absent).

    SCALE-Sim 3.0.0 uses it only with ``[sparsity] SparsitySupport = true`` (which
    :func:`read_cfg` refuses); without it the layer runs dense, as here.
    """
    path = Path(path)
    lines = path.read_text().splitlines()
    header_at = next((i for i, line in enumerate(lines) if line.strip()), len(lines))
    ratios = []
    for number, line in enumerate(lines[header_at + 1 :], start=header_at + 2):
        if not line.strip():
            continue
        fields = [f.strip() for f in line.split(",")]
        while fields and fields[-1] == "":
            fields.pop()
        has = bool(fields) and ":" in fields[-1]
        ratios.append(_check_ratio(path, number, fields[-1]) if has else (1, 1))
    return ratios


def read_topology(path: str | os.PathLike, gemm: bool | None = None) -> list[Layer]:
    """Read a SCALE-Sim topology CSV; ``gemm=None`` detects the form from the header."""
    path = Path(path)
    if not path.is_file():
        raise CfgError(f"{path}: no such topology file")
    lines = path.read_text().splitlines()
    header_at = next((i for i, line in enumerate(lines) if line.strip()), None)
    if header_at is None:
        raise CfgError(f"{path}: the topology file is empty")
    header = _row_fields(path, header_at + 1, lines[header_at])
    if len(header) > 1 and all(h.strip().isdigit() for h in header[1:]):
        raise CfgError(
            f"{path}:{header_at + 1}: the first line is a layer ({header[0]!r}), not a header; "
            "SCALE-Sim skips a topology's first line, so add a header line"
        )
    gemm_header = [h.upper() for h in header[1:4]] == ["M", "N", "K"]
    if gemm and not gemm_header:
        raise CfgError(
            f"{path}:{header_at + 1}: GEMM form asked (--gemm) but the header names the "
            f"columns {', '.join(header[1:])}; a GEMM topology has the columns M, N, K"
        )
    if gemm is None:
        gemm = gemm_header
    names = GEMM_FIELDS if gemm else CONV_FIELDS
    layers: list[Layer] = []
    for number, line in enumerate(lines[header_at + 1 :], start=header_at + 2):
        if not line.strip():
            continue
        fields = _row_fields(path, number, line)
        if len(fields) < 1 + len(names):
            raise CfgError(
                f"{path}:{number}: expected {1 + len(names)} fields (name, {', '.join(names)}), "
                f"but got {len(fields)}: {line.strip()!r}"
            )
        name = fields[0]
        values = []
        for field, text in zip(names, fields[1 : 1 + len(names)], strict=True):
            try:
                value = int(text)
            except ValueError:
                raise CfgError(
                    f"{path}:{number}: field {field!r} must be an integer, but got {text!r}"
                ) from None
            if value <= 0:
                raise CfgError(
                    f"{path}:{number}: field {field!r} must be positive, but got {value}"
                )
            values.append(value)
        try:
            if gemm:
                layers.append(GemmLayer(*values, name=name))
            else:
                h, w, r, s, c, k, stride = values
                layers.append(
                    ConvLayer(h, w, r, s, c, k, stride, depthwise="DP" in name, name=name)
                )
        except ValueError as exc:
            raise CfgError(f"{path}:{number}: {exc}") from None
    if not layers:
        raise CfgError(f"{path}: no layers after the header line")
    return layers


def write_topology(path: str | os.PathLike, layers: Sequence[Layer]) -> None:
    """Write layers as a SCALE-Sim topology CSV (GEMM form if all are GEMMs, else conv form).

    Padding is folded into the input size (SCALE-Sim has no padding field) and depthwise layer
    names get a ``DP_`` prefix when they lack ``DP``, so SCALE-Sim treats them as depthwise.
    """
    if all(isinstance(layer, GemmLayer) for layer in layers):
        rows = ["Layer, M, N, K,"]
        rows += [f"{la.name}, {la.M}, {la.N}, {la.K}," for la in layers]
    else:
        rows = ["Layer name, " + ", ".join(CONV_FIELDS) + ","]
        for la in layers:
            if isinstance(la, GemmLayer):
                # SCALE-Sim's own GEMM-to-conv view: an M x K image, a 1 x K filter.
                dims = (la.M, la.K, 1, la.K, 1, la.N, 1)
                name = la.name
            else:
                pad = 2 * la.padding
                dims = (la.H + pad, la.W + pad, la.R, la.S, la.C, la.K, la.stride)
                name = la.name if not la.depthwise or "DP" in la.name else f"DP_{la.name}"
            rows.append(f"{name}, " + ", ".join(map(str, dims)) + ",")
    Path(path).write_text("\n".join(rows) + "\n")


def read_read_bandwidths(path: str | os.PathLike) -> tuple[int | None, int | None]:
    """A v3 cfg's ifmap and filter DRAM read bandwidths for the USER replay
    (``IfmapSRAMBankBandwidth``, ``FilterSRAMBankBandwidth``, words/cycle; ``None`` where absent:
    :func:`read_cfg` keeps the slower of the two). Refuses the keys the replay does not model:
    ``IfmapCustomLayout`` / ``FilterCustomLayout`` = True and ``UseRamulatorTrace`` = True."""
    path = Path(path)
    sections = _parse_ini(path)
    for section, key in (
        ("layout", "IfmapCustomLayout"),
        ("layout", "FilterCustomLayout"),
        ("run_presets", "UseRamulatorTrace"),
    ):
        entry = _get(sections, path, section, key, required=False)
        if entry is not None and entry[0].strip().lower() == "true":
            raise CfgError(
                f"{path}:{entry[1]}: field {key!r} = True is not reproduced by the USER replay; "
                "set it to False"
            )
    out = []
    for key in ("IfmapSRAMBankBandwidth", "FilterSRAMBankBandwidth"):
        entry = _get(sections, path, "layout", key, required=False)
        out.append(None if entry is None else _int_field(path, entry, key))
    return out[0], out[1]
