"""Baseline scratchpad schedulers (as in the COSMA paper) and the paper's capacity budgets.

A baseline fixes an operator order (the graph's listed topological order or a greedy
memory-aware order) and places tensors with a best-fit arena allocator. When no free block
fits a tensor, the ``hole`` allocator (default, the paper's baselines) evicts resident tensors
the current op does not use: only sets whose removal opens a large-enough contiguous hole are
considered, and among those the eviction policy picks

- ``belady``: the set whose soonest next use is furthest away (furthest-next-use; optimal for
  equal sizes, not for variable sizes), then the fewest bytes;
- ``greedy``: the set with the least traffic (spills, if needed, plus the reloads), then the
  furthest soonest next use.

If no such set exists (the op's own resident tensors fragment the arena), the op's resident
inputs are evicted too and its tensors are packed from address 0, so a baseline always
succeeds when the capacity holds the largest single-op footprint. The ``repack`` allocator is
the first-pass behaviour kept for comparison: it evicts unused tensors one at a time in policy
order until a hole fits (not only hole-opening ones) and re-packs as soon as that fails.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence

from archgym.simulators.common import InfeasibleDesign
from archgym.simulators.scratchpad.graph import Graph, Op
from archgym.simulators.scratchpad.replay import Schedule, Step, replay, retire

__all__ = [
    "ALLOCATORS",
    "EVICTIONS",
    "ORDERS",
    "PLANNERS",
    "EvictionPolicy",
    "baseline_schedules",
    "best_baseline",
    "budgets",
    "heuristic_schedule",
    "memory_aware_order",
    "min_peak_bytes",
    "no_spill_peak_bytes",
    "resolve_order",
]

ORDERS = ("topological", "memory-aware")
EVICTIONS = ("belady", "greedy")
ALLOCATORS = ("hole", "repack")
PLANNERS = (*ALLOCATORS, "arena")  # "arena": the offline planner of the arena module


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
    ``allocator`` is ``hole`` or ``repack`` (see the module docstring).
    """

    def __init__(
        self,
        graph: Graph,
        capacity_bytes: int,
        eviction: str = "belady",
        allocator: str = "hole",
    ) -> None:
        if eviction not in EVICTIONS:
            raise ValueError(f"unknown eviction {eviction!r}; valid: {', '.join(EVICTIONS)}")
        if allocator not in ALLOCATORS:
            raise ValueError(f"unknown allocator {allocator!r}; valid: {', '.join(ALLOCATORS)}")
        need = graph.max_op_footprint_bytes()
        if capacity_bytes < need:
            raise InfeasibleDesign(
                f"capacity {capacity_bytes} bytes is below the largest single-op footprint "
                f"({need} bytes): no schedule fits"
            )
        self.graph, self.capacity, self.eviction = graph, capacity_bytes, eviction
        self.allocator = allocator
        self.in_dram = set(graph.unproduced())
        self.resident: dict[str, int] = {}
        self.remaining = {t: len(c) for t, c in graph.consumers.items()}

    def _traffic(self, t: str) -> int:
        size = self.graph.size(t)
        return size + (0 if t in self.in_dram else size)

    def _victim_key(self, t: str, next_use: Callable[[str], float]) -> tuple:
        if self.eviction == "belady":
            return (-next_use(t), -self.graph.size(t))
        return (self._traffic(t), -next_use(t))

    def _hole_victims(
        self, size: int, protected: set[str], next_use: Callable[[str], float]
    ) -> list[str] | None:
        """The cheapest set of unprotected residents whose removal opens ``size`` bytes.

        A window of ``size`` bytes can start at 0 or right after a resident tensor (sliding
        any other window left to such a point only drops tensors it overlaps), must stay in
        the arena and must not overlap a protected tensor. None if no window qualifies.
        """
        graph = self.graph
        spans = sorted((a, a + graph.size(t), t) for t, a in self.resident.items())
        best: tuple | None = None
        for start in sorted({0} | {hi for _, hi, _ in spans}):
            end = start + size
            if end > self.capacity:
                break
            hit = [t for lo, hi, t in spans if lo < end and hi > start]
            if any(t in protected for t in hit):
                continue
            uses = [next_use(t) for t in hit]
            nbytes = sum(graph.size(t) for t in hit)
            if self.eviction == "belady":
                key = (-min(uses), nbytes, start)
            else:
                key = (sum(self._traffic(t) for t in hit), -min(uses), start)
            if best is None or key < best[0]:
                best = (key, hit)
        return None if best is None else best[1]

    def step(self, name: str, next_use: Callable[[str], float]) -> Step:
        """The step that runs op ``name`` (and the state after it)."""
        graph, resident = self.graph, self.resident
        op = graph.op_by_name[name]
        protected = set(op.inputs) | set(op.outputs)
        evict: list[str] = []
        load: dict[str, int] = {}
        alloc: dict[str, int] = {}

        def drop(t: str) -> None:
            del resident[t]
            evict.append(t)
            self.in_dram.add(t)  # a live tensor is spilled; the replay counts it

        wanted = [t for t in op.inputs if t not in resident] + list(op.outputs)
        wanted.sort(key=lambda t: -graph.size(t))
        budget = 2 * len(protected) + 2  # own inputs evicted and re-queued: bound the rounds
        while wanted:
            t = wanted.pop(0)
            addr = _best_fit(graph, resident, graph.size(t), self.capacity)
            if addr is None and self.allocator == "hole":
                victims = self._hole_victims(graph.size(t), protected, next_use)
                if victims is None and budget > 0:
                    # the op's own earlier-resident inputs may move (evicted, reloaded below)
                    budget -= 1
                    victims = self._hole_victims(graph.size(t), set(load) | set(alloc), next_use)
                for v in victims or ():
                    drop(v)
                    if v in protected:
                        wanted.append(v)
                if victims is not None:
                    addr = _best_fit(graph, resident, graph.size(t), self.capacity)
            while addr is None and self.allocator == "repack":
                candidates = [v for v in resident if v not in protected]
                if not candidates:
                    break
                drop(min(candidates, key=lambda v: self._victim_key(v, next_use)))
                addr = _best_fit(graph, resident, graph.size(t), self.capacity)
            if addr is None:
                self._repack(op, protected, load, alloc, drop)
                break
            (alloc if t in op.outputs else load)[t] = addr
            resident[t] = addr
        retire(graph, op, resident, self.remaining, self.in_dram)
        return Step(name, tuple(evict), load, alloc)

    def _repack(
        self,
        op: Op,
        protected: set[str],
        load: dict[str, int],
        alloc: dict[str, int],
        drop: Callable[[str], None],
    ) -> None:
        """Fragmented by the op's own tensors: pack all of them from address 0."""
        graph, resident = self.graph, self.resident
        need = sum(graph.size(v) for v in set(op.inputs) | set(op.outputs))
        for v in [v for v in resident if v not in protected and resident[v] < need]:
            drop(v)  # unprotected tensors in the range the op's tensors are packed into
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


def heuristic_schedule(
    graph: Graph,
    capacity_bytes: int,
    *,
    order: str | Sequence[str] = "topological",
    eviction: str = "belady",
    allocator: str = "hole",
) -> Schedule:
    """A baseline schedule (see the module docstring); raise InfeasibleDesign below the minimum."""
    policy = EvictionPolicy(graph, capacity_bytes, eviction, allocator)
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


def baseline_schedules(
    graph: Graph,
    capacity_bytes: int,
    *,
    order: str | Sequence[str] | None = None,
    allocators: Sequence[str] = PLANNERS,
) -> dict[str, Schedule]:
    """Every baseline, keyed ``order/eviction/allocator`` (``order`` None: both named orders),
    and ``order/arena`` for the offline planner (when ``arena`` is among ``allocators`` and
    its packing fits). A given order list is keyed ``given/...``.
    """
    from archgym.simulators.scratchpad.arena import arena_schedule

    orders = ORDERS if order is None else (order,)
    out = {}
    for o in orders:
        label = o if isinstance(o, str) else "given"
        for ev in EVICTIONS:
            for al in (a for a in allocators if a != "arena"):
                out[f"{label}/{ev}/{al}"] = heuristic_schedule(
                    graph, capacity_bytes, order=o, eviction=ev, allocator=al
                )
        if "arena" in allocators:
            planned = arena_schedule(graph, resolve_order(graph, o), capacity_bytes)
            if planned is not None:
                out[f"{label}/arena"] = planned
    return out


def best_baseline(
    graph: Graph,
    capacity_bytes: int,
    *,
    order: str | Sequence[str] | None = None,
    allocators: Sequence[str] = PLANNERS,
) -> tuple[str, Schedule, int]:
    """``(name, schedule, extra_dram_bytes)`` of the baseline with the least extra traffic."""
    best = None
    for name, sched in baseline_schedules(
        graph, capacity_bytes, order=order, allocators=allocators
    ).items():
        cost = replay(graph, sched, capacity_bytes).extra_dram_bytes
        if best is None or cost < best[2]:
            best = (name, sched, cost)
    return best


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


def min_peak_bytes(
    graph: Graph, *, max_states: int = 200_000, free: frozenset[str] = frozenset()
) -> tuple[int, list[str], bool]:
    """Minimum over all orders of the no-spill peak (sum of sizes, addresses ignored).

    Exact dynamic programme over the sets of finished ops (the DAG's down-sets); the live
    bytes of a down-set do not depend on the path to it, so each transition costs only the
    op's own tensors. Returns ``(peak_bytes, order, exact)``; if the graph has more than
    ``max_states`` down-sets it falls back to the better of the two heuristic orders and
    ``exact`` is False (an upper bound). Tensors in ``free`` count only at the steps of the
    ops that read or write them (as if they could leave and come back at no cost: a
    relaxation used for lower bounds).
    """
    key = ("min_peak", max_states, free)
    if key not in graph._cache:
        graph._cache[key] = _min_peak(graph, max_states, free)
    peak, order, exact = graph._cache[key]
    return peak, list(order), exact


def _min_peak(graph: Graph, max_states: int, free: frozenset[str]) -> tuple[int, list[str], bool]:
    names = [op.name for op in graph.ops]
    index = {n: i for i, n in enumerate(names)}
    bit = [1 << i for i in range(len(names))]
    pred_mask = [sum(bit[index[p]] for p in graph.predecessors(n)) for n in names]
    succs = [sorted(index[s] for s in graph.successors(n)) for n in names]
    cons = {t: sum(bit[index[c]] for c in cs) for t, cs in graph.consumers.items()}
    ops = [graph.op_by_name[n] for n in names]
    prod_bit = {t: bit[index[p]] for t, p in graph.producer.items()}
    full = (1 << len(names)) - 1
    # state -> (peak, live bytes, ready ops, previous state, op)
    start_ready = frozenset(i for i in range(len(names)) if pred_mask[i] == 0)
    best: dict[int, tuple[int, int, frozenset[int], int, int]] = {0: (0, 0, start_ready, -1, -1)}
    frontier = [0]
    while frontier and len(best) <= max_states:
        nxt: list[int] = []
        for done in frontier:
            if len(best) > max_states:
                break
            peak, live, ready, _, _ = best[done]
            for i in ready:
                new = done | bit[i]
                op = ops[i]
                # bytes of the op's tensors that are not live already
                live_now = step = live
                for t in set(op.inputs) | set(op.outputs):
                    was_live = (
                        t not in free
                        and cons[t] & ~done
                        and (prod_bit[t] & done if t in prod_bit else cons[t] & done)
                    )
                    if not was_live:
                        step += graph.size(t)
                    still = t not in free and cons[t] & ~new
                    if still and not was_live:
                        live_now += graph.size(t)
                    elif was_live and not still:
                        live_now -= graph.size(t)
                cand = max(peak, step)
                if new not in best:
                    nready = set(ready)
                    nready.discard(i)
                    nready.update(s for s in succs[i] if pred_mask[s] & ~new == 0)
                    best[new] = (cand, live_now, frozenset(nready), done, i)
                    nxt.append(new)
                elif cand < best[new][0]:
                    best[new] = (cand, *best[new][1:3], done, i)
        frontier = nxt
    if full in best:
        order, state = [], full
        while state:
            _, _, _, prev, i = best[state]
            order.append(names[i])
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
