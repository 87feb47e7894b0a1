"""Exact SCALE-Sim 3.0.0 USER-bandwidth memory system: stalls and DRAM traffic, replayed.

In USER mode SCALE-Sim (``memory/double_buffered_scratchpad_mem.py``, ``read_buffer.py``,
``write_buffer.py``) serves the array's per-cycle demand lines through two read buffers and one
write buffer. Its quirks, reproduced here on the same demand and prefetch matrices
(``compute/systolic_compute_{os,ws,is}.py``):

- a read buffer cuts its prefetch stream (im2col copies and padding slots included, ``-1`` skipped)
  into lines of ``ceil(words / 100)`` words; half the SRAM (in lines) is the active window, the
  rest the prefetch window; a request that misses the window advances it by one prefetch window
  (circularly, never backwards) until it hits, each advance reading ``ceil(half / bw) * bw`` words
  from DRAM and ending ``ceil(half / bw) + 1`` cycles after the previous one;
- the line's stall offset adds each prefetch's lateness once when negative and twice when positive;
- the array stalls by the largest of the ifmap, filter and ofmap offsets of each cycle line;
- the write buffer drains ``ceil(half / bw)`` lines of ``bw`` words whenever its free space drops
  below half, and stalls only when full while a drain is in flight.

The window test is vectorised with NumPy (one pass per miss); the timing is a Python loop over
demand lines and output words. Its cost grows with the im2col matrix (0.01-1.4 s on the stored
runs), so it is opt-in (``archgym simulate --scalesim-compat --replay`` on a USER cfg) rather
than part of ``analyze``. Checked against every stored SCALE-Sim USER run and fresh ones
(``experiments/systolic/check_replay_user.py``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np
from archgym.simulators.systolic.analytical import analyze
from archgym.simulators.systolic.config import ArrayConfig
from archgym.simulators.systolic.layers import ConvLayer, GemmLayer, Layer
from archgym.simulators.systolic.replay import _im2col

__all__ = ["UserReplay", "demand_matrices", "replay_memory", "scalesim_user_analyze"]


def _skew(mat: np.ndarray) -> np.ndarray:
    rows, cols = mat.shape
    out = np.full((rows + cols - 1, cols), -1, dtype=np.int64)
    for c in range(cols):
        out[c : c + rows, c] = mat[:, c]
    return out


def _diag(mat: np.ndarray) -> np.ndarray:
    """SCALE-Sim's anti-diagonal prefetch order: diagonals in order, bottom row first."""
    r, c = np.indices(mat.shape)
    order = np.lexsort((-r.ravel(), (r + c).ravel()))
    return mat.ravel()[order]


def _pad(mat: np.ndarray, rows: int, cols: int) -> np.ndarray:
    out = np.full((rows, cols), -1, dtype=np.int64)
    out[: mat.shape[0], : mat.shape[1]] = mat
    return out


def _gap(rows: int, cols: int) -> np.ndarray:
    return np.full((rows, cols), -1, dtype=np.int64)


def _operands(layer: Layer) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    m, n, k = layer.gemm_shape(scalesim=True)
    if isinstance(layer, ConvLayer):
        ifmap = _im2col(layer).astype(np.int64)
    else:
        ifmap = np.arange(m * k, dtype=np.int64).reshape(m, k)
    filt = np.arange(k * n, dtype=np.int64).reshape(n, k).T.copy()
    ofmap = np.arange(m * n, dtype=np.int64).reshape(m, n)
    return ifmap, filt, ofmap


def demand_matrices(config: ArrayConfig, layer: Layer) -> dict[str, np.ndarray]:
    """SCALE-Sim's prefetch streams (1-D) and per-cycle demand matrices of one layer group.

    Keys ``ifmap_prefetch``, ``filter_prefetch`` (word ids, ``-1`` = empty slot) and
    ``ifmap_demand``, ``filter_demand``, ``ofmap_demand`` (one row per cycle).
    """
    ifm, flt, ofm = _operands(layer)
    rows, cols, df = config.rows, config.cols, config.dataflow
    m, n, k = ifm.shape[0], flt.shape[1], ifm.shape[1]
    dem: dict[str, list[np.ndarray]] = {"ifmap": [], "filter": [], "ofmap": []}
    if df == "os":
        fr_n, fc_n = -(-m // rows), -(-n // cols)
        ipf = [_pad(ifm.T[:, f * rows : (f + 1) * rows], k, rows) for f in range(fr_n)]
        fpf = [_pad(flt[:, f * cols : (f + 1) * cols], k, cols) for f in range(fc_n)]
        pre = (_diag(np.vstack(ipf)), _diag(np.vstack(fpf)))
        for fc in range(fc_n):
            for fr in range(fr_n):
                dem["ifmap"].append(_skew(np.vstack([ipf[fr], _gap(cols - 1, rows)])))
                dem["filter"].append(_skew(np.vstack([fpf[fc], _gap(rows - 1, cols)])))
                blk = ofm[fr * rows : (fr + 1) * rows, fc * cols : (fc + 1) * cols]
                blk = _pad(blk, rows, cols)[::-1]
                dem["ofmap"].append(_skew(np.vstack([_gap(k - 1, cols), blk])))
    elif df == "ws":
        fr_n, fc_n = -(-k // rows), -(-n // cols)
        ipf = [_pad(ifm[:, f * rows : (f + 1) * rows], m, rows) for f in range(fr_n)]
        fpf = [_pad(flt[:, f * cols : (f + 1) * cols], k, cols) for f in range(fc_n)]
        pre = (_diag(np.vstack(ipf)), np.vstack(fpf).ravel())
        for fc in range(fc_n):
            for fr in range(fr_n):
                blk = np.vstack([_gap(rows, rows), ipf[fr], _gap(cols - 1, rows)])
                dem["ifmap"].append(_skew(blk))
                blk = flt[fr * rows : (fr + 1) * rows, fc * cols : (fc + 1) * cols]
                blk = _pad(blk, rows, cols)[::-1]
                dem["filter"].append(np.vstack([blk, _gap(rows + cols + m - 2, cols)]))
                blk = _pad(ofm[:, fc * cols : (fc + 1) * cols], m, cols)
                dem["ofmap"].append(_skew(np.vstack([_gap(2 * rows - 1, cols), blk])))
    else:
        fr_n, fc_n = -(-k // rows), -(-m // cols)
        ipf = [_pad(ifm.T[:, f * cols : (f + 1) * cols], k, cols) for f in range(fc_n)]
        fpf = [_pad(flt[f * rows : (f + 1) * rows, :].T, n, rows) for f in range(fr_n)]
        pre = (np.vstack(ipf).ravel(), _diag(np.vstack(fpf)))
        for fc in range(fc_n):
            for fr in range(fr_n):
                blk = ifm.T[fr * rows : (fr + 1) * rows, fc * cols : (fc + 1) * cols]
                blk = _pad(blk, rows, cols)[::-1]
                dem["ifmap"].append(np.vstack([blk, _gap(rows + cols + n - 2, cols)]))
                blk = np.vstack([_gap(rows, rows), fpf[fr], _gap(cols - 1, rows)])
                dem["filter"].append(_skew(blk))
                blk = _pad(ofm[fc * cols : (fc + 1) * cols, :].T, n, cols)
                dem["ofmap"].append(_skew(np.vstack([_gap(2 * rows - 1, cols), blk])))
    out = {f"{key}_demand": np.vstack(value) for key, value in dem.items()}
    out["ifmap_prefetch"], out["filter_prefetch"] = pre
    return out


@dataclasses.dataclass(frozen=True)
class UserReplay:
    """One layer (one group) through SCALE-Sim's USER memory system (cycles, words)."""

    cycles: int  # SCALE-Sim's ``Total Cycles``
    stall_cycles: int
    total_cycles: int  # ``Total Cycles (incl. prefetch)``: first DRAM read to last DRAM write
    fill_cycles: int  # cycles the first DRAM read precedes cycle 0
    ifmap_reads: int
    filter_reads: int
    ofmap_writes: int


class _ReadBuffer:
    """SCALE-Sim's USER-mode ``read_buffer`` (no custom layout, one bank, DRAM latency 1)."""

    def __init__(self, prefetch: np.ndarray, words: int, bw: int) -> None:
        valid = prefetch[prefetch >= 0]
        per_line = math.ceil(words / 100)
        active = math.ceil(words * 0.5)
        self.lines = valid.size // per_line + 1
        self.n_active = min(math.ceil(active / per_line), self.lines)
        self.n_prefetch = min(math.ceil((words - active) / per_line), self.lines - self.n_active)
        # (word, line) pairs as sorted keys word_index * lines + line
        self.words, index = np.unique(valid, return_inverse=True)
        self.keys = np.unique(index * self.lines + np.arange(valid.size) // per_line)
        fetch_rows = -(-prefetch.size // bw)
        first_lines = min(math.ceil(active / bw), fetch_rows)
        self.reads = first_lines * bw
        self.first_response = -first_lines  # the initial fill's first DRAM response
        self.step_words = math.ceil((words - active) / bw) * bw
        self.step_cycles = math.ceil((words - active) / bw) + 1
        self.start = 0
        self.last = -1  # cycle the latest prefetch completes

    def _hits(self, word_index: np.ndarray) -> np.ndarray:
        """Whether each word has a line in the active window (lines start .. start + active)."""
        base, n = word_index * self.lines, self.lines
        ranges = [(self.start, min(self.start + self.n_active, n))]
        if self.start + self.n_active > n:
            ranges.append((0, self.start + self.n_active - n))
        hit = np.zeros(word_index.size, dtype=bool)
        for lo, hi in ranges:
            found = np.searchsorted(self.keys, base + hi) - np.searchsorted(self.keys, base + lo)
            hit |= found > 0
        return hit

    def _advance(self, word_index: int) -> int:
        """Advance the window until ``word_index`` hits; the number of prefetches."""
        count, one = 0, np.array([word_index])
        while not self._hits(one)[0]:
            if self.n_prefetch == 0 or count > self.lines:
                word = self.words[word_index]
                raise ValueError(f"word {word} never enters SCALE-Sim's read window (it hangs)")
            self.start = (self.start + self.n_prefetch) % self.lines
            count += 1
        return count

    def prefetch_counts(self, demand: np.ndarray) -> np.ndarray:
        """Prefetches triggered in each demand line (requests served in row-major order)."""
        counts = np.zeros(demand.shape[0], dtype=np.int64)
        if self.n_active == self.lines:
            return counts
        line_of, col = np.nonzero(demand >= 0)
        addr = demand[line_of, col]
        index = np.searchsorted(self.words, addr)
        if np.any(index >= self.words.size) or np.any(self.words[index] != addr):
            raise ValueError("a demanded word is missing from the prefetch stream")
        pos, width = 0, 64
        while pos < index.size:
            hit = self._hits(index[pos : pos + width])
            if hit.all():
                pos, width = pos + width, width * 2
                continue
            miss = pos + int(np.argmin(hit))
            counts[line_of[miss]] += self._advance(int(index[miss]))
            pos, width = miss + 1, max(64, (miss - pos) * 2)
        return counts

    def line_offset(self, prefetches: int, cycle: int) -> int:
        """Stall offset of a demand line issued at ``cycle`` that triggers ``prefetches``."""
        offset = 1
        for _ in range(prefetches):
            self.last += self.step_cycles
            self.reads += self.step_words
            late = self.last - (cycle + offset)
            offset += late + max(late, 0)
        return offset - 1


class _WriteBuffer:
    """SCALE-Sim's ``write_buffer`` (active fraction 0.5, DRAM latency 0)."""

    def __init__(self, words: int, bw: int) -> None:
        self.total, self.bw = words, bw
        self.drain = words - math.ceil(words * 0.5)
        self.free = words
        self.drain_end = 0
        self.line_idx = 0
        self.cache: list[int] = []
        self.trace: list[int] = []
        self.drain_start = 0
        self.writes = 0
        self.stop = 0  # cycle of the last DRAM write

    def _store(self) -> None:
        self.line_idx += 1
        self.free -= 1
        if self.line_idx >= self.bw:
            self.cache.append(self.bw)
            self.line_idx = 0
            if len(self.cache) >= 2**10:
                self._append()

    def _append(self, force: bool = False) -> None:
        if force and self.line_idx:
            self.cache.append(self.line_idx)
            self.line_idx = 0
        self.trace += self.cache
        self.cache = []

    def _empty(self, start: int) -> int:
        end = min(self.drain_start + math.ceil(self.drain / self.bw), len(self.trace))
        rows = self.trace[self.drain_start : end]
        data = len(rows) * self.bw - (self.bw - rows[-1])
        self.writes += data
        self.free += data
        self.drain_start = end
        self.stop = max(self.stop, start + len(rows) - 1)
        return start + len(rows) - 1

    def line_offset(self, count: int, cycle: int) -> int:
        """Stall offset of a demand line of ``count`` output words issued at ``cycle``."""
        current = cycle
        for _ in range(count):
            self._store()
            if current < self.drain_end:
                if self.free <= 0:
                    current = max(current, self.drain_end)
            elif self.free < self.total - self.drain:
                self._append(force=True)
                self.drain_end = self._empty(current)
        return current - cycle

    def flush(self, cycle: int) -> None:
        self._append(force=True)
        while self.drain_start < len(self.trace):
            cycle = self._empty(cycle) + 1


def replay_memory(
    config: ArrayConfig, mats: dict[str, np.ndarray], bws: tuple[int, int, int]
) -> UserReplay:
    """Replay SCALE-Sim's ``service_memory_requests`` on one layer's matrices.

    ``bws``: ifmap, filter (DRAM read) and ofmap (drain) bandwidth in words/cycle.
    """
    words = [int(config.sram_words(op)) for op in ("ifmap", "filter", "ofmap")]
    ifb = _ReadBuffer(mats["ifmap_prefetch"], words[0], bws[0])
    flb = _ReadBuffer(mats["filter_prefetch"], words[1], bws[1])
    wrb = _WriteBuffer(words[2], bws[2])
    idem, fdem, odem = mats["ifmap_demand"], mats["filter_demand"], mats["ofmap_demand"]
    out_counts = (odem >= 0).sum(axis=1).tolist()
    n_if = ifb.prefetch_counts(idem).tolist()
    n_f = flb.prefetch_counts(fdem).tolist()
    stalls, last_out = 0, 0
    for i, count in enumerate(out_counts):
        cycle = i + stalls
        s_if = ifb.line_offset(n_if[i], cycle) if n_if[i] else 0
        s_f = flb.line_offset(n_f[i], cycle) if n_f[i] else 0
        s_o = wrb.line_offset(count, cycle) if count else 0
        stalls += int(max(s_if, s_f, s_o))
        last_out = max(last_out, cycle + s_o)
    wrb.flush(last_out)
    fill = min(ifb.first_response, flb.first_response)
    return UserReplay(
        cycles=last_out,
        stall_cycles=stalls,
        total_cycles=wrb.stop - fill,
        fill_cycles=-fill,
        ifmap_reads=ifb.reads,
        filter_reads=flb.reads,
        ofmap_writes=wrb.writes,
    )


def scalesim_user_analyze(
    config: ArrayConfig,
    layers: Layer | Sequence[Layer],
    *,
    ifmap_bw: int | None = None,
    filter_bw: int | None = None,
) -> dict[str, np.ndarray]:
    """SCALE-Sim 3.0.0's numbers in USER mode, its memory system replayed exactly.

    ``analyze`` with ``scalesim_compat=True`` for the compute side, with SCALE-Sim's ``Total
    Cycles`` (``cycles``), ``Stall Cycles``, ``Total Cycles (incl. prefetch)``
    (``total_cycles``), ifmap/filter DRAM reads and ofmap DRAM writes replaced by a replay of
    its memory system (:func:`replay_memory`). ``config`` must set ``read_bw_words`` (ifmap and
    filter DRAM words/cycle, SCALE-Sim's ``IfmapSRAMBankBandwidth`` /
    ``FilterSRAMBankBandwidth``; ``ifmap_bw`` / ``filter_bw`` override them one by one) and
    ``write_bw_words`` (its ``Bandwidth``: the ofmap drain). Keys as ``analyze`` (totals over
    a depthwise layer's groups, which SCALE-Sim runs as separate identical layers).
    """
    if not config.user_bandwidth:
        raise ValueError(
            "scalesim_user_analyze replays SCALE-Sim's USER mode: `read_bw_words` and "
            "`write_bw_words` must be set, but they are None (use scalesim_calc_analyze)"
        )
    layers = [layers] if isinstance(layers, (ConvLayer, GemmLayer)) else list(layers)
    config = dataclasses.replace(config, scalesim_compat=True)
    bws = (
        int(ifmap_bw or config.read_bw_words),
        int(filter_bw or config.read_bw_words),
        int(config.write_bw_words),
    )
    out = {key: np.array(value, copy=True) for key, value in analyze(config, layers).items()}
    for i, layer in enumerate(layers):
        groups = int(getattr(layer, "groups", 1))
        r = replay_memory(config, demand_matrices(config, layer), bws)
        out["cycles"][i] = r.cycles * groups
        out["stall_cycles"][i] = r.stall_cycles * groups
        out["compute_cycles"][i] = (r.cycles - r.stall_cycles) * groups
        out["fill_cycles"][i] = r.fill_cycles * groups
        out["drain_cycles"][i] = (r.total_cycles - r.fill_cycles - r.cycles) * groups
        out["total_cycles"][i] = r.total_cycles * groups
        out["ifmap_dram_reads"][i] = r.ifmap_reads * groups
        out["filter_dram_reads"][i] = r.filter_reads * groups
        out["ofmap_dram_writes"][i] = r.ofmap_writes * groups
        out["ofmap_dram_reads"][i] = 0
    out["utilisation"] = out["macs"] / (out["cycles"] * config.pes)
    out["dram_words"] = out["ifmap_dram_reads"] + out["filter_dram_reads"]
    out["dram_words"] = out["dram_words"] + out["ofmap_dram_writes"]
    return out
