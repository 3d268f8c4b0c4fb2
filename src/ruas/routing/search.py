"""Shortest paths over the CSR lists: time-dependent A* with ALT landmarks, and a plain Dijkstra.

All costs are integer milliseconds. The time-dependent search is label-setting on the arrival
time at each node: an edge whose signature is refused at the arrival time may be entered
after waiting until the engine says it opens (waiting is part of the cost), which keeps the
problem FIFO, so the first time the target is taken from the heap its arrival is the earliest
possible. With an admissible heuristic (ALT lower bounds from free-flow times on a graph that
holds every edge the search can use: see ``Router.landmarks_for_leg``) the answer is exact;
nodes may be re-opened, so the answer stays exact even where the heuristic is admissible but
not consistent (the inside of a zone a search starts in is bounded by 0).
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

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
    waiver: Waiver | None = None,
) -> SearchResult:
    """Earliest arrival from ``source``, leaving at ``start_ms`` (ms after the trip's departure).

    Stops when ``target`` is settled, when every node of ``targets`` is settled, or when the
    next label exceeds ``limit_ms``. ``local`` maps edge ids to the offset of their stop
    variant signature (destination/delivery roads around the trip's stops); ``waiver`` lifts
    the zones the search starts in on edges that run inside them (a vehicle may leave a zone
    it stands in; the rules restrict entering). A node whose potential is ``INF`` cannot reach
    the target (the landmarks prove it) and is never labelled.

    Heap entries are single integers ``((key << H_BITS | h) << v_bits) | v``: ordered by key
    (arrival + bound), ties to the smaller bound (nearer the target), then by node; comparing
    ints is much cheaper than comparing tuples. The arrival time is ``key - h``.
    """
    first_out, head, weight, sig = lists
    dist: dict[int, int] = {source: start_ms}
    pred: dict[int, int] = {}
    h = potential.values() if potential is not None else None
    dead = potential.dead if potential is not None else INF
    h0 = int(h[source]) if h is not None else 0
    if h0 >= dead:  # the landmarks prove the target unreachable from here
        return SearchResult(dist, pred, 0, tails)
    v_bits = max(len(first_out) - 1, 1).bit_length()
    v_mask = (1 << v_bits) - 1
    h_mask = (1 << H_BITS) - 1
    heap: list[int] = [(((start_ms + h0) << H_BITS) | h0) << v_bits | source]
    if permits is not None and h is not None and not targets and limit_ms >= INF:
        return _point_to_point(lists, tails, source, target, permits, h, dead, local, start_ms, waiver)
    pending = set(targets)
    pending.discard(source)
    mode = permits.mode if permits is not None else None
    classify = permits.classify if permits is not None else None
    enter = permits.enter if permits is not None else None
    waived = permits.waived if permits is not None and waiver is not None else None
    node_set = waiver.node_set if waiver is not None else None
    drop_of = waiver.drop if waiver is not None else None
    settled = 0
    push, pop = heapq.heappush, heapq.heappop
    dget = dist.get
    drop: frozenset[str] | None = None
    while heap:
        item = pop(heap)
        v = item & v_mask
        item >>= v_bits
        t = (item >> H_BITS) - (item & h_mask)
        if t > dist[v]:
            continue
        settled += 1
        if v == target or t > limit_ms:
            break
        if pending:
            pending.discard(v)
            if not pending:
                break
        if drop_of is not None:
            drop = drop_of.get(node_set[v])  # type: ignore[index]
        for e in range(first_out[v], first_out[v + 1]):
            te = t
            if mode is not None:
                s = sig[e]
                m = mode[s]
                if m:
                    if local is not None and e in local:
                        s += local[e]
                        m = mode[s]
                    if drop is not None:
                        s = waived(s, drop)  # type: ignore[misc]
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
                if h is None:
                    dist[u] = nt
                    pred[u] = e
                    push(heap, (nt << H_BITS) << v_bits | u)
                else:
                    hu = h[u]
                    if hu >= dead:
                        continue
                    dist[u] = nt
                    pred[u] = e
                    push(heap, ((((nt + hu) << H_BITS) | hu) << v_bits) | u)
    return SearchResult(dist, pred, settled, tails)


def _point_to_point(
    lists: tuple[list[int], list[int], list[int], list[int]],
    tails: list[int] | npt.NDArray[np.int32],
    source: int,
    target: int,
    permits: QueryPermits,
    h: memoryview,
    dead: int,
    local: dict[int, int] | None,
    start_ms: int,
    waiver: Waiver | None,
) -> SearchResult:
    """:func:`td_search`'s hot case, A* to one target with permissions: the same steps, fewer branches.

    Kept apart so the loop tests nothing the case cannot need (no targets set, no time limit,
    always a potential and permissions); see :func:`td_search` for what each step means.
    """
    first_out, head, weight, sig = lists
    dist: dict[int, int] = {source: start_ms}
    pred: dict[int, int] = {}
    h0 = int(h[source])
    v_bits = max(len(first_out) - 1, 1).bit_length()
    v_mask = (1 << v_bits) - 1
    h_mask = (1 << H_BITS) - 1
    heap: list[int] = [(((start_ms + h0) << H_BITS) | h0) << v_bits | source]
    mode = permits.mode
    classify, enter, waived = permits.classify, permits.enter, permits.waived
    node_set = waiver.node_set if waiver is not None else None
    drop_of = waiver.drop if waiver is not None else None
    drop: frozenset[str] | None = None
    settled = 0
    push, pop = heapq.heappush, heapq.heappop
    dget = dist.get
    while heap:
        item = pop(heap)
        v = item & v_mask
        item >>= v_bits
        t = (item >> H_BITS) - (item & h_mask)
        if t > dist[v]:
            continue
        settled += 1
        if v == target:
            break
        if drop_of is not None:
            drop = drop_of.get(node_set[v])  # type: ignore[index]
        for e in range(first_out[v], first_out[v + 1]):
            m = mode[sig[e]]
            if m:
                s = sig[e]
                if local is not None and e in local:
                    s += local[e]
                    m = mode[s]
                if drop is not None:
                    s = waived(s, drop)
                    m = mode[s]
                if m == UNKNOWN:
                    m = classify(s)
                if m == CLOSED:
                    continue
                if m == DYNAMIC:
                    te = enter(s, t)
                    if te < 0:
                        continue
                    nt = te + weight[e]
                else:
                    nt = t + weight[e]
            else:
                nt = t + weight[e]
            u = head[e]
            if nt < dget(u, INF):
                hu = h[u]
                if hu < dead:
                    dist[u] = nt
                    pred[u] = e
                    push(heap, ((((nt + hu) << H_BITS) | hu) << v_bits) | u)
    return SearchResult(dist, pred, settled, tails)


H_BITS = 44
"""Bits kept for the bound in a heap entry (2**44 ms is over 500 years: no bound comes near)."""


@dataclass(frozen=True, slots=True)
class Waiver:
    """Zones a search starts in, lifted on edges that run inside them.

    ``node_set[v]`` is the zone-set id of node ``v`` (:attr:`RoutingNetwork.node_zoneset`);
    ``drop[k]`` the zones lifted on edges leaving a node of zone set ``k`` (those of the
    start that the tail lies in; the signature keeps only the head's zones, so the zones
    lifted on an edge are those its tail *and* head lie in).
    """

    node_set: list[int]
    drop: dict[int, frozenset[str]]


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
    """Free-flow distances (ms) from and to a few landmark nodes, on the edges a vehicle class may use.

    ``removed`` are the edge signatures left out of the graph the distances were computed on
    (those the engine closes for the class over the whole horizon), ``truck`` whether truck
    travel times were used. The bounds are lower bounds for any search whose usable edges are
    a subset of that graph with travel times at least those used (see
    :meth:`Router.landmarks_for_leg <ruas.routing.service.Router.landmarks_for_leg>`).

    Distances are ``int32`` when they all stay below ``2**29`` ms (six days), else ``int64``;
    an unreachable entry holds :attr:`unreachable` (``2**30``, resp. ``2**62``), so a bound
    that involves it lands at or above :attr:`dead` (``unreachable // 2``) exactly when the
    landmark proves the node cannot reach the target: no masks are needed.
    """

    nodes: list[int]
    d_from: npt.NDArray[np.signedinteger[Any]]  # (k, n): landmark -> node
    d_to: npt.NDArray[np.signedinteger[Any]]  # (k, n): node -> landmark
    seconds: float = 0.0
    removed: frozenset[int] = frozenset()
    truck: bool = False
    unreachable: int = INF

    @property
    def dead(self) -> int:
        """A potential at or above this value means: this node cannot reach the target."""
        return self.unreachable >> 1

    def potential(
        self, source: int, target: int, active: int = 4, *, zero: npt.NDArray[np.bool_] | None = None
    ) -> Potential:
        """The A* heuristic towards ``target`` from the ``active`` landmark bounds that best bound source->target.

        Each landmark gives two bounds (via the distances from it and to it); the ones that are
        largest at the source are kept, as they usually stay the largest along the way.
        ``zero``: nodes whose bound is forced to 0 (the inside of zones a search starts in,
        whose inner edges the landmark graph does not hold).
        """
        terms: list[tuple[int, int, int]] = []  # (score, landmark, direction)
        d_from, d_to = self.d_from, self.d_to
        for i in range(len(self.nodes)):
            terms.append((int(d_from[i, target]) - int(d_from[i, source]), i, 0))
            terms.append((int(d_to[i, source]) - int(d_to[i, target]), i, 1))
        terms.sort(reverse=True)
        chosen = terms[:active]
        return Potential(
            [(int(d_from[i, target]), d_from[i]) for _s, i, d in chosen if d == 0],
            [(int(d_to[i, target]), d_to[i]) for _s, i, d in chosen if d == 1],
            dead=self.dead,
            zero=zero,
        )


class Potential:
    """``h(v)``: a lower bound of the travel time from ``v`` to the target (ALT triangle bounds).

    The bounds of every node are computed at once with numpy (about a millisecond on a million
    edges) and read from a memoryview during the search, which is much cheaper than computing
    them per node in Python once a search settles more than a few thousand nodes. A value at or
    above :attr:`dead` means the node cannot reach the target at all.
    """

    __slots__ = ("_bwd", "_fwd", "_values", "_zero", "dead")

    def __init__(
        self,
        fwd: list[tuple[int, npt.NDArray[np.signedinteger[Any]]]],
        bwd: list[tuple[int, npt.NDArray[np.signedinteger[Any]]]],
        *,
        dead: int = INF >> 1,
        zero: npt.NDArray[np.bool_] | None = None,
    ) -> None:  # (d(L,t), d(L,.)), (d(t,L), d(.,L))
        self._fwd = fwd
        self._bwd = bwd
        self._zero = zero
        self.dead = dead
        self._values: memoryview | None = None

    def values(self) -> memoryview | None:
        """The bound of every node (0 where no landmark bounds it), indexable by node; None without landmarks.

        With ``U`` the unreachable marker: ``d(L,t) - d(L,v)`` is ``U - d(L,v) > U/2`` when ``v`` is
        reachable from ``L`` and ``t`` is not (so ``v`` cannot reach ``t``), and ``<= 0`` when ``v`` is
        unreachable from ``L``; ``d(v,L) - d(t,L)`` is ``> U/2`` when ``t`` reaches ``L`` and ``v`` does
        not (again ``v`` cannot reach ``t``), and ``<= 0`` when ``t`` does not reach ``L``.
        """
        if self._values is None:
            arrays = [arr for _dt, arr in (*self._fwd, *self._bwd)]
            if not arrays:
                return None
            best = np.zeros(len(arrays[0]), dtype=arrays[0].dtype)
            tmp = np.empty_like(best)
            for dt, arr in self._fwd:
                np.subtract(dt, arr, out=tmp)
                np.maximum(best, tmp, out=best)
            for dt, arr in self._bwd:
                np.subtract(arr, dt, out=tmp)
                np.maximum(best, tmp, out=best)
            if self._zero is not None:
                best[self._zero] = 0
            self._values = memoryview(best)  # type: ignore[arg-type]  # ndarray is a buffer
        return self._values

    def h(self, v: int) -> int:
        """The bound for node ``v`` (0 when no landmark bounds it; ``>= dead``: cannot reach the target)."""
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
    removed: frozenset[int] = frozenset(),
    truck: bool = False,
    lat: npt.NDArray[np.float64] | None = None,
    lon: npt.NDArray[np.float64] | None = None,
) -> Landmarks:
    """Pick ``count`` landmarks and compute their distances both ways.

    With node coordinates: *planar* selection (Goldberg & Harrelson): around a central node,
    ``count`` equal sectors of bearing, and in each the node of the central node's strongly
    connected part that is farthest from it by travel time, so the landmarks ring the network
    evenly. Without: farthest-point selection (each next landmark the node farthest both ways
    from those chosen).
    """
    import time

    started = time.perf_counter()
    if n == 0:
        return Landmarks([], np.zeros((0, 0), np.int64), np.zeros((0, 0), np.int64), removed=removed, truck=truck)
    rng = random.Random(seed)
    nodes: list[int] = []
    d_from: list[npt.NDArray[np.int64]] = []
    d_to: list[npt.NDArray[np.int64]] = []
    if lat is not None and lon is not None:
        nodes = _planar_nodes(n, tails, heads, weight, lat, lon, count, rng)
        for node in nodes:
            d_from.append(sssp(n, tails, heads, weight, node))
            d_to.append(sssp(n, heads, tails, weight, node))
    else:
        best = np.full(n, INF, dtype=np.int64)
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
    small_from, small_to, unreachable = _compact(np.stack(d_from), np.stack(d_to))
    return Landmarks(
        nodes,
        small_from,
        small_to,
        seconds=time.perf_counter() - started,
        removed=removed,
        truck=truck,
        unreachable=unreachable,
    )


def _planar_nodes(
    n: int,
    tails: npt.NDArray[np.int32],
    heads: npt.NDArray[np.int32],
    weight: npt.NDArray[np.int64],
    lat: npt.NDArray[np.float64],
    lon: npt.NDArray[np.float64],
    count: int,
    rng: random.Random,
) -> list[int]:
    """Landmarks by sector around a central node (see :func:`build_landmarks`)."""
    # the node nearest the centroid of a random probe's strongly connected part
    probe = rng.randrange(n)
    both = (sssp(n, tails, heads, weight, probe) < INF) & (sssp(n, heads, tails, weight, probe) < INF)
    part = np.flatnonzero(both)
    if len(part) < 2 * count:  # a small or broken graph: use the largest reach of the probe
        part = np.arange(n)
    c_lat, c_lon = float(lat[part].mean()), float(lon[part].mean())
    centre = int(part[np.argmin((lat[part] - c_lat) ** 2 + ((lon[part] - c_lon) * np.cos(np.radians(c_lat))) ** 2)])
    d_out = sssp(n, tails, heads, weight, centre)
    d_in = sssp(n, heads, tails, weight, centre)
    ok = (d_out < INF) & (d_in < INF)
    score = np.where(ok, np.minimum(d_out, d_in), -1)
    bearing = np.arctan2(lat - lat[centre], (lon - lon[centre]) * np.cos(np.radians(c_lat)))
    sector = np.minimum(((bearing + np.pi) / (2 * np.pi) * count).astype(np.int64), count - 1)
    nodes: list[int] = []
    for k in range(count):
        cand = np.where(sector == k, score, -1)
        best = int(np.argmax(cand))
        if cand[best] > 0:
            nodes.append(best)
    return nodes or [centre]


SMALL_UNREACHABLE = 1 << 30


def _compact(
    d_from: npt.NDArray[np.int64], d_to: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.signedinteger[Any]], npt.NDArray[np.signedinteger[Any]], int]:
    """The distances as ``int32`` with ``2**30`` for unreachable when every finite one is below ``2**29``."""
    finite = max(
        int(d_from[d_from < INF].max(initial=0)),
        int(d_to[d_to < INF].max(initial=0)),
    )
    if finite >= SMALL_UNREACHABLE >> 1:
        return d_from, d_to, INF
    out = []
    for arr in (d_from, d_to):
        small = np.where(arr < INF, arr, SMALL_UNREACHABLE).astype(np.int32)
        out.append(small)
    return out[0], out[1], SMALL_UNREACHABLE


__all__ = [
    "CLOSED",
    "DYNAMIC",
    "INF",
    "OPEN",
    "Landmarks",
    "Potential",
    "SearchResult",
    "Waiver",
    "build_landmarks",
    "dijkstra_plain",
    "td_search",
]
