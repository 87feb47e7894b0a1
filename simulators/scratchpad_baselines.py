"""Baseline scratchpad schedulers (as in the COSMA paper) and the paper's capacity budgets.

A baseline fixes an operator order (the graph's listed topological order or a greedy
memory-aware order), places tensors with a best-fit arena allocator and, when a tensor does not
fit, evicts resident tensors the current op does not use, chosen by

- ``belady``: furthest next use first (optimal for equal sizes, not for variable sizes);
- ``greedy``: smallest traffic first (a spill, if needed, plus the reload), then furthest use.

If evicting every unused tensor still leaves no hole (fragmentation), the op's resident inputs
are evicted too and the op's tensors are packed from address 0, so a baseline always succeeds
when the capacity holds the largest single-op footprint.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence

from simulators.common import InfeasibleDesign
from simulators.graph import Graph
from simulators.scratchpad import Schedule, Step

__all__ = [
    "EVICTIONS",
    "ORDERS",
    "EvictionPolicy",
    "budgets",
    "heuristic_schedule",
    "memory_aware_order",
    "min_peak_bytes",
    "no_spill_peak_bytes",
    "resolve_order",
]

ORDERS = ("topological", "memory-aware")
EVICTIONS = ("belady", "greedy")


def memory_aware_order(graph: Graph) -> list[str]:
    """Greedy order: run the ready op that grows the live bytes least (ties: listed order)."""
    position = {op.name: i for i, op in enumerate(graph.ops)}
    remaining = {t: len(c) for t, c in graph.consumers.items()}
    preds = {op.name: graph.predecessors(op.name) for op in graph.ops}
    done: set[str] = set()
    order: list[str] = []
    while len(order) < len(graph.ops):
        ready = [n for n in position if n not in done and preds[n] <= done]

        def growth(name: str) -> tuple[int, int]:
            op = graph.op_by_name[name]
            freed = sum(graph.size(t) for t in op.inputs if remaining[t] == 1)
            return sum(graph.size(t) for t in op.outputs) - freed, position[name]

        best = min(ready, key=growth)
        order.append(best)
        done.add(best)
        for t in graph.op_by_name[best].inputs:
            remaining[t] -= 1
    return order


def resolve_order(graph: Graph, order: str | Sequence[str]) -> list[str]:
    """An order by name (``topological`` / ``memory-aware``) or checked as given."""
    if isinstance(order, str):
        if order == "topological":
            return graph.topological_order()
        if order == "memory-aware":
            return memory_aware_order(graph)
        raise ValueError(f"unknown order {order!r}; valid: {', '.join(ORDERS)} or a list of ops")
    order = list(order)
    if not graph.is_topological(order):
        raise ValueError("the given order is not a topological order of every op of the graph")
    return order


def _holes(spans: list[tuple[int, int]], capacity: int) -> list[tuple[int, int]]:
    holes, cursor = [], 0
    for lo, hi in spans:
        if lo > cursor:
            holes.append((cursor, lo))
        cursor = max(cursor, hi)
    if cursor < capacity:
        holes.append((cursor, capacity))
    return holes


def _best_fit(graph: Graph, resident: dict[str, int], size: int, capacity: int) -> int | None:
    spans = sorted((a, a + graph.size(t)) for t, a in resident.items())
    fits = [(hi - lo, lo) for lo, hi in _holes(spans, capacity) if hi - lo >= size]
    return min(fits)[1] if fits else None


class EvictionPolicy:
    """Best-fit placement with Belady or greedy eviction, one op at a time.

    ``next_use(tensor) -> int`` ranks how soon a tensor is read again (smaller is sooner); a
    baseline with a known order passes the step index, the multi-step env an estimate.
    """

    def __init__(self, graph: Graph, capacity_bytes: int, eviction: str = "belady") -> None:
        if eviction not in EVICTIONS:
            raise ValueError(f"unknown eviction {eviction!r}; valid: {', '.join(EVICTIONS)}")
        need = graph.max_op_footprint_bytes()
        if capacity_bytes < need:
            raise InfeasibleDesign(
                f"capacity {capacity_bytes} bytes is below the largest single-op footprint "
                f"({need} bytes): no schedule fits"
            )
        self.graph, self.capacity, self.eviction = graph, capacity_bytes, eviction
        self.in_dram = set(graph.unproduced())
        self.resident: dict[str, int] = {}
        self.remaining = {t: len(c) for t, c in graph.consumers.items()}

    def step(self, name: str, next_use: Callable[[str], float]) -> Step:
        """The step that runs op ``name`` (and the state after it)."""
        graph, resident = self.graph, self.resident
        op = graph.op_by_name[name]
        protected = set(op.inputs) | set(op.outputs)
        evict: list[str] = []
        load: dict[str, int] = {}
        alloc: dict[str, int] = {}

        def victim_key(t: str) -> tuple:
            size = graph.size(t)
            if self.eviction == "belady":
                return (-next_use(t), -size)
            traffic = size + (0 if t in self.in_dram else size)
            return (traffic, -next_use(t))

        def drop(t: str) -> None:
            del resident[t]
            evict.append(t)
            self.in_dram.add(t)  # a live tensor is spilled; the replay counts it

        wanted = [t for t in op.inputs if t not in resident] + list(op.outputs)
        wanted.sort(key=lambda t: -graph.size(t))
        for t in wanted:
            addr = _best_fit(graph, resident, graph.size(t), self.capacity)
            while addr is None:
                candidates = [v for v in resident if v not in protected]
                if not candidates:
                    break
                drop(min(candidates, key=victim_key))
                addr = _best_fit(graph, resident, graph.size(t), self.capacity)
            if addr is None:
                # fragmented by the op's own tensors: re-pack all of them from address 0
                for v in [v for v in resident if v in protected]:
                    if v in load or v in alloc:  # placed during this step: just undo it
                        load.pop(v, None)
                        alloc.pop(v, None)
                        del resident[v]
                    else:
                        drop(v)
                cursor = 0
                # largest first; ties in the op's own order (never set order: hash-seeded)
                own = list(dict.fromkeys(op.inputs + op.outputs))
                for v in sorted(own, key=lambda v: -graph.size(v)):
                    (alloc if v in op.outputs else load)[v] = cursor
                    resident[v] = cursor
                    cursor += graph.size(v)
                break
            (alloc if t in op.outputs else load)[t] = addr
            resident[t] = addr
        self.in_dram.update(t for t in op.outputs if t in graph.outputs)
        for t in op.inputs:
            self.remaining[t] -= 1
        for t in list(resident):
            if self.remaining[t] == 0:
                del resident[t]
        return Step(name, tuple(evict), load, alloc)


def heuristic_schedule(
    graph: Graph,
    capacity_bytes: int,
    *,
    order: str | Sequence[str] = "topological",
    eviction: str = "belady",
) -> Schedule:
    """A baseline schedule (see the module docstring); raise InfeasibleDesign below the minimum."""
    policy = EvictionPolicy(graph, capacity_bytes, eviction)
    names = resolve_order(graph, order)
    uses: dict[str, list[int]] = {t: [] for t in graph.tensors}
    for i, n in enumerate(names):
        for t in graph.op_by_name[n].inputs:
            uses[t].append(i)
    steps = []
    for i, n in enumerate(names):

        def next_use(t: str, i: int = i) -> int:
            k = bisect.bisect_left(uses[t], i)
            return uses[t][k] if k < len(uses[t]) else len(names)

        steps.append(policy.step(n, next_use))
    return Schedule(tuple(steps))


def _step_bytes(graph: Graph, live: set[str], op_name: str) -> int:
    op = graph.op_by_name[op_name]
    return sum(graph.size(t) for t in live | set(op.inputs) | set(op.outputs))


def no_spill_peak_bytes(graph: Graph, order: Sequence[str]) -> int:
    """Peak resident bytes of ``order`` without any spill (tensors loaded just in time)."""
    remaining = {t: len(c) for t, c in graph.consumers.items()}
    live: set[str] = set()
    peak = 0
    for n in order:
        op = graph.op_by_name[n]
        peak = max(peak, _step_bytes(graph, live, n))
        live |= set(op.inputs) | set(op.outputs)
        for t in op.inputs:
            remaining[t] -= 1
        live = {t for t in live if remaining[t] > 0}
    return peak


def min_peak_bytes(graph: Graph, *, max_states: int = 200_000) -> tuple[int, list[str], bool]:
    """Minimum over all orders of the no-spill peak (sum of sizes, addresses ignored).

    Exact dynamic programme over the sets of finished ops (the DAG's down-sets). Returns
    ``(peak_bytes, order, exact)``; if the graph has more than ``max_states`` down-sets it falls
    back to the better of the two heuristic orders and ``exact`` is False (an upper bound).
    """
    names = [op.name for op in graph.ops]
    bit = {n: 1 << i for i, n in enumerate(names)}
    pred_mask = {n: sum(bit[p] for p in graph.predecessors(n)) for n in names}
    cons_mask = {t: sum(bit[c] for c in cs) for t, cs in graph.consumers.items()}
    prod_mask = {t: bit[p] for t, p in graph.producer.items()}
    full = (1 << len(names)) - 1

    def live(done: int) -> set[str]:
        out = set()
        for t, cm in cons_mask.items():
            if cm & ~done and (
                (t in prod_mask and prod_mask[t] & done) or (t not in prod_mask and cm & done)
            ):
                out.add(t)
        return out

    best: dict[int, tuple[int, int, str | None]] = {0: (0, -1, None)}
    frontier = [0]
    while frontier and len(best) <= max_states:
        nxt: list[int] = []
        for done in frontier:
            peak = best[done][0]
            alive = live(done)
            for n in names:
                if not done & bit[n] and pred_mask[n] & ~done == 0:
                    new = done | bit[n]
                    cand = max(peak, _step_bytes(graph, alive, n))
                    if new not in best:
                        nxt.append(new)
                    if new not in best or cand < best[new][0]:
                        best[new] = (cand, done, n)
        frontier = nxt
    if full in best:
        order, state = [], full
        while state:
            _, prev, n = best[state]
            order.append(n)
            state = prev
        return best[full][0], order[::-1], True
    heur = [resolve_order(graph, o) for o in ORDERS]
    peaks = [no_spill_peak_bytes(graph, o) for o in heur]
    k = min(range(len(heur)), key=peaks.__getitem__)
    return peaks[k], heur[k], False


def budgets(graph: Graph) -> dict[str, int]:
    """The COSMA paper's capacities: ``tight`` (largest op footprint), ``min_peak``, ``mid``."""
    tight = graph.max_op_footprint_bytes()
    peak = min_peak_bytes(graph)[0]
    return {"tight": tight, "mid": (tight + peak) // 2, "min_peak": peak}
