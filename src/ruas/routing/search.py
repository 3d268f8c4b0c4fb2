"""Shortest paths over the CSR lists: time-dependent A* with ALT landmarks, and a plain Dijkstra.

All costs are integer milliseconds. The time-dependent search is label-setting on the arrival
time at each node: an edge whose signature is refused at the arrival time may be entered
after waiting until the engine says it opens (waiting is part of the cost), which keeps the
problem FIFO, so the first time the target is taken from the heap its arrival is the earliest
possible. With an admissible heuristic (ALT lower bounds from free-flow times on a graph that
holds every edge the vehicle could ever use) the answer is exact; nodes may be re-opened, so
the answer stays exact even where the heuristic is admissible but not consistent.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from ruas.routing.permits import CLOSED, DYNAMIC, OPEN, UNKNOWN, QueryPermits

INF = 1 << 62


@dataclass
class SearchResult:
    """Arrival time (ms after departure) and predecessor edge per reached node; ``settled`` counts heap pops."""

    dist: dict[int, int]
    pred: dict[int, int]
    settled: int

    def path_edges(self, target: int) -> list[int]:
        """The edges of the path found to ``target``, first to last (empty when target is the source)."""
        out: list[int] = []
        pred = self.pred
        v = target
        while v in pred:
            e = pred[v]
            out.append(e)
            v = self._tail_of[e]
        out.reverse()
        return out

    _tail_of: list[int] | npt.NDArray[np.int32]


def td_search(
    lists: tuple[list[int], list[int], list[int], list[int]],
    tails: list[int] | npt.NDArray[np.int32],
    source: int,
    *,
    permits: QueryPermits | None = None,
    target: int = -1,
    targets: Iterable[int] = (),
    limit_ms: int = INF,
    potential: Potential | None = None,
    local: dict[int, int] | None = None,
    start_ms: int = 0,
) -> SearchResult:
    """Earliest arrival from ``source``, leaving at ``start_ms`` (ms after the trip's departure).

    Stops when ``target`` is settled, when every node of ``targets`` is settled, or when the
    next label exceeds ``limit_ms``. ``local`` maps edge ids to the offset of their stop
    variant signature (destination/delivery roads around the trip's stops).
    """
    first_out, head, weight, sig = lists
    dist: dict[int, int] = {source: start_ms}
    pred: dict[int, int] = {}
    h = potential.values() if potential is not None else None
    # ties on the key go to the label with the larger arrival time (nearer the target)
    heap: list[tuple[int, int, int]] = [((h[source] if h else 0) + start_ms, -start_ms, source)]
    pending = set(targets)
    pending.discard(source)
    mode = permits.mode if permits is not None else None
    classify = permits.classify if permits is not None else None
    enter = permits.enter if permits is not None else None
    settled = 0
    push, pop = heapq.heappush, heapq.heappop
    dget = dist.get
    while heap:
        _f, t, v = pop(heap)
        t = -t
        if t > dist[v]:
            continue
        settled += 1
        if v == target or t > limit_ms:
            break
        if pending:
            pending.discard(v)
            if not pending:
                break
        for e in range(first_out[v], first_out[v + 1]):
            te = t
            if mode is not None:
                s = sig[e]
                m = mode[s]
                if m:
                    if local is not None and e in local:
                        s += local[e]
                        m = mode[s]
                    if m == UNKNOWN:
                        m = classify(s)  # type: ignore[misc]
                    if m == CLOSED:
                        continue
                    if m == DYNAMIC:
                        te = enter(s, t)  # type: ignore[misc]
                        if te < 0:
                            continue
            nt = te + weight[e]
            u = head[e]
            if nt < dget(u, INF):
                dist[u] = nt
                pred[u] = e
                if h is None:
                    push(heap, (nt, -nt, u))
                else:
                    push(heap, (nt + h[u], -nt, u))
    result = SearchResult(dist, pred, settled, tails)
    return result


def dijkstra_plain(
    first_out: list[int], head: list[int], weight: list[int], source: int, target: int = -1
) -> dict[int, int]:
    """Textbook Dijkstra with no restrictions (the reference the routing tests compare with)."""
    dist = {source: 0}
    heap = [(0, source)]
    done: set[int] = set()
    while heap:
        d, v = heapq.heappop(heap)
        if v in done:
            continue
        done.add(v)
        if v == target:
            break
        for e in range(first_out[v], first_out[v + 1]):
            u, nd = head[e], d + weight[e]
            if nd < dist.get(u, INF):
                dist[u] = nd
                heapq.heappush(heap, (nd, u))
    return dist


# --------------------------------------------------------------------------- ALT landmarks


@dataclass(eq=False)
class Landmarks:
    """Free-flow distances (ms) from and to a few landmark nodes; unreachable is ``INF``.

    Built on the edges a vehicle class could ever use (``usable``), with that class's
    travel times, so every bound is a lower bound for any vehicle of the class at any time.
    """

    nodes: list[int]
    d_from: npt.NDArray[np.int64]  # (k, n): landmark -> node
    d_to: npt.NDArray[np.int64]  # (k, n): node -> landmark
    seconds: float = 0.0
    d_to_masked: npt.NDArray[np.int64] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.d_to_masked = np.where(self.d_to < INF, self.d_to, -INF)

    def potential(self, source: int, target: int, active: int = 4) -> Potential:
        """The A* heuristic towards ``target`` from the ``active`` landmark bounds that best bound source->target.

        Each landmark gives two bounds (via the distances from it and to it); the ones that are
        largest at the source are kept, as they usually stay the largest along the way.
        """
        terms: list[tuple[int, int, int]] = []  # (score, landmark, direction)
        for i in range(len(self.nodes)):
            terms.append((_bound_fwd(int(self.d_from[i, target]), int(self.d_from[i, source])), i, 0))
            terms.append((_bound_fwd(int(self.d_to[i, source]), int(self.d_to[i, target])), i, 1))
        terms.sort(reverse=True)
        chosen = terms[:active]
        return Potential(
            [(int(self.d_from[i, target]), self.d_from[i]) for _s, i, d in chosen if d == 0],
            [(int(self.d_to[i, target]), self.d_to_masked[i]) for _s, i, d in chosen if d == 1],
        )


def _bound_fwd(a: int, b: int) -> int:
    if a >= INF or b >= INF:
        return 0
    return max(a - b, 0)


class Potential:
    """``h(v)``: a lower bound of the travel time from ``v`` to the target (ALT triangle bounds).

    The bounds of every node are computed at once with numpy (a few milliseconds on a million
    edges) and read from a list during the search, which is much cheaper than computing them per
    node in Python once a search settles more than a few thousand nodes.
    """

    __slots__ = ("_bwd", "_fwd", "_values")

    def __init__(
        self, fwd: list[tuple[int, npt.NDArray[np.int64]]], bwd: list[tuple[int, npt.NDArray[np.int64]]]
    ) -> None:  # (d(L,t), d(L,.)), (d(t,L), d(.,L))
        self._fwd = [(dt, arr) for dt, arr in fwd if dt < INF]
        self._bwd = [(dt, arr) for dt, arr in bwd if dt < INF]
        self._values: memoryview | None = None

    def values(self) -> memoryview | None:
        """The bound of every node (0 where no landmark bounds it), indexable by node; None without landmarks.

        Unreachable entries are ``INF`` in ``d(L,.)`` (so ``d(L,t) - INF`` is negative) and ``-INF`` in the
        masked ``d(.,L)`` (so ``-INF - d(t,L)`` is negative): neither raises a bound, no mask is needed.
        """
        if self._values is None:
            arrays = [arr for _dt, arr in (*self._fwd, *self._bwd)]
            if not arrays:
                return None
            best = np.zeros(len(arrays[0]), dtype=np.int64)
            tmp = np.empty_like(best)
            for dt, arr in self._fwd:
                np.subtract(dt, arr, out=tmp)
                np.maximum(best, tmp, out=best)
            for dt, arr in self._bwd:
                np.subtract(arr, dt, out=tmp)
                np.maximum(best, tmp, out=best)
            self._values = memoryview(best)  # type: ignore[arg-type]  # ndarray is a buffer
        return self._values

    def h(self, v: int) -> int:
        """The bound for node ``v`` (0 when no landmark bounds it)."""
        values = self.values()
        return int(values[v]) if values is not None else 0


def sssp(
    n: int, tails: npt.NDArray[np.int32], heads: npt.NDArray[np.int32], weight: npt.NDArray[np.int64], source: int
) -> npt.NDArray[np.int64]:
    """Single-source free-flow distances (ms) on the given edge arrays; SciPy's csgraph when installed."""
    try:
        from scipy.sparse import csr_matrix
        from scipy.sparse.csgraph import dijkstra
    except ImportError:  # pragma: no cover - scipy is a dev dependency; the pure-Python path is the fallback
        order = np.argsort(tails, kind="stable")
        fo = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(tails, minlength=n), out=fo[1:])
        d = dijkstra_plain(fo.tolist(), heads[order].tolist(), weight[order].tolist(), source)
        out = np.full(n, INF, dtype=np.int64)
        if d:
            out[list(d)] = list(d.values())
        return out
    # parallel edges: keep the cheapest (csr_matrix would sum duplicates)
    key = tails.astype(np.int64) * n + heads
    order = np.lexsort((weight, key))
    first = np.ones(len(order), dtype=np.bool_)
    first[1:] = key[order][1:] != key[order][:-1]
    keep = order[first]
    mat = csr_matrix((weight[keep].astype(np.float64), (tails[keep], heads[keep])), shape=(n, n))
    d = dijkstra(mat, directed=True, indices=source)
    out = np.where(np.isfinite(d), d, float(INF))
    return np.asarray(out, dtype=np.float64).astype(np.int64)


def build_landmarks(
    n: int,
    tails: npt.NDArray[np.int32],
    heads: npt.NDArray[np.int32],
    weight: npt.NDArray[np.int64],
    *,
    count: int = 12,
    seed: int = 1,
) -> Landmarks:
    """Pick ``count`` landmarks by farthest-point selection and compute their distances both ways."""
    import time

    started = time.perf_counter()
    if n == 0:
        return Landmarks([], np.zeros((0, 0), np.int64), np.zeros((0, 0), np.int64))
    rng = random.Random(seed)
    nodes: list[int] = []
    d_from: list[npt.NDArray[np.int64]] = []
    d_to: list[npt.NDArray[np.int64]] = []
    best = np.full(n, INF, dtype=np.int64)
    # start from the node farthest from a random one, inside the biggest reachable part
    start = rng.randrange(n)
    probe = sssp(n, tails, heads, weight, start)
    reach = probe < INF
    candidate = int(np.argmax(np.where(reach, probe, -1)))
    for _ in range(min(count, n)):
        nodes.append(candidate)
        df = sssp(n, tails, heads, weight, candidate)
        dt = sssp(n, heads, tails, weight, candidate)
        d_from.append(df)
        d_to.append(dt)
        both = np.minimum(df, dt)
        best = np.minimum(best, np.where(both < INF, both, best))
        score = np.where(best < INF, best, -1)
        score[nodes] = -1
        candidate = int(np.argmax(score))
        if score[candidate] <= 0:
            break
    return Landmarks(nodes, np.stack(d_from), np.stack(d_to), time.perf_counter() - started)


__all__ = [
    "CLOSED",
    "DYNAMIC",
    "INF",
    "OPEN",
    "Landmarks",
    "Potential",
    "SearchResult",
    "build_landmarks",
    "dijkstra_plain",
    "td_search",
]
