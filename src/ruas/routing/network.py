"""The register on the graph: every edge tagged once with the zones it enters or runs in.

An edge belongs to a zone when its head node lies in the zone's area (the edge enters the
zone or runs inside it); leaving a zone is free, and a search that starts inside a zone its
target is not in lifts that zone on the edges running inside it (see ``Router.waiver``).
Together with the edge's OSM tag class this gives the edge's *signature*: the tuple of rule
zones (OSM tag-class zone first, then the register's zones) whose regulations apply to a
vehicle using the edge. Edges that share a signature are decided together, so a vehicle's
permissions cost one engine call per signature and moment, not per edge. Signature 0 is "no rules at all".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry import shape

from ruas.domain.regulation import Zone, ZoneStatus
from ruas.routing.graph import RoadGraph
from ruas.routing.restrictions import restriction_zones
from ruas.rules.engine import RuleBook
from ruas.sources.cbs import polygonal


@dataclass(frozen=True, slots=True)
class Signature:
    """The rule zones on an edge: an OSM tag-class zone (or None) and register zone ids."""

    tagclass: int
    zones: tuple[str, ...]
    local: frozenset[str] = frozenset()


@dataclass(eq=False)
class RoutingNetwork:
    """A road graph with the register's zones tagged on it and the OSM restrictions as zones.

    ``book`` is the register's rule book (zones, exemption types); ``osm_book`` holds the tag
    classes as zones with the same exemption types, so both are decided by the same engine.
    """

    graph: RoadGraph
    book: RuleBook
    osm_book: RuleBook
    signatures: list[Signature]
    edge_signature: npt.NDArray[np.int32]
    register_version: str = ""
    node_zoneset: npt.NDArray[np.int32] = field(default_factory=lambda: np.zeros(0, dtype=np.int32))
    """Per node: the id of the set of register zones it lies in (an index into :attr:`zone_sets`)."""
    zone_sets: list[frozenset[str]] = field(default_factory=lambda: [frozenset()])
    _cache: dict[str, object] = field(default_factory=dict, repr=False)

    @classmethod
    def build(cls, graph: RoadGraph, book: RuleBook, *, register_version: str = "") -> RoutingNetwork:
        """Tag the graph with every in-force zone of ``book`` that has an area."""
        osm_zones = restriction_zones(graph.tagclasses)
        osm_book = RuleBook(tuple(osm_zones), book.exemption_types)
        node_zones = zone_membership(graph, book.zones)
        # per edge: (tagclass, zone-set of its head); zone sets numbered by np.unique over membership rows
        zone_ids = [z for z, _ in node_zones]
        if zone_ids:
            member = np.stack([inside for _z, inside in node_zones], axis=1)
            sets, node_set = np.unique(member, axis=0, return_inverse=True)
            node_set = node_set.reshape(-1)
        else:
            sets = np.zeros((1, 0), dtype=np.bool_)
            node_set = np.zeros(graph.node_count, dtype=np.int64)
        n_sets = len(sets)
        empty = next((i for i in range(n_sets) if not sets[i].any()), -1)
        edge_set = node_set[graph.head.astype(np.int64)]
        key = graph.tagclass.astype(np.int64) * n_sets + edge_set + 1
        if empty >= 0:
            key[(graph.tagclass == 0) & (edge_set == empty)] = 0
        # key 0 (prepended, so always present) is signature 0: "no rules at all"
        uniq, inverse = np.unique(np.concatenate([np.zeros(1, dtype=np.int64), key]), return_inverse=True)
        sigs: list[Signature] = []
        for k in uniq.tolist():
            if k == 0:
                sigs.append(Signature(0, ()))
                continue
            tc, zs = divmod(int(k) - 1, n_sets)
            zones = tuple(zone_ids[i] for i in range(len(zone_ids)) if sets[zs][i])
            local = frozenset(graph.tagclasses[tc].get("local", ()))
            sigs.append(Signature(tc, zones, local))
        zone_sets = [frozenset(zone_ids[i] for i in range(len(zone_ids)) if row[i]) for row in sets]
        return cls(
            graph,
            book,
            osm_book,
            sigs,
            inverse[1:].astype(np.int32),
            register_version,
            node_set.astype(np.int32),
            zone_sets,
        )

    def zones_at(self, node: int) -> frozenset[str]:
        """The register zones node ``node`` lies in."""
        if not len(self.node_zoneset):
            return frozenset()
        return self.zone_sets[int(self.node_zoneset[node])]

    def node_zoneset_list(self) -> list[int]:
        """:attr:`node_zoneset` as a list (for the search)."""
        found = self._cache.get("node_zoneset")
        if found is None:
            found = self._cache["node_zoneset"] = self.node_zoneset.tolist()
        assert isinstance(found, list)
        return found

    def signatures_with_zone(self, zone_id: str) -> list[int]:
        """The signatures whose zones include ``zone_id``."""
        return [i for i, s in enumerate(self.signatures) if zone_id in s.zones]

    def rule_zones(self, sig: int) -> list[tuple[RuleBook, Zone]]:
        """The zones (with their book) whose rules apply on edges of signature ``sig``."""
        s = self.signatures[sig]
        out: list[tuple[RuleBook, Zone]] = []
        if s.tagclass != 0 and self.graph.tagclasses[s.tagclass]["regulations"]:
            out.append((self.osm_book, self.osm_book.zones[s.tagclass]))
        out.extend((self.book, self.book.zone(z)) for z in s.zones)
        return out

    def lists(self, *, truck: bool) -> tuple[list[int], list[int], list[int], list[int]]:
        """``first_out``, ``head``, travel time (ms) and signature per edge, as Python lists for the search."""
        key = f"lists-{truck}"
        found = self._cache.get(key)
        if found is None:
            fo, hd, tm, _tc = self.graph.lists(truck=truck)
            sig = self._cache.get("sig")
            if sig is None:
                sig = self._cache["sig"] = self.edge_signature.tolist()
            found = self._cache[key] = (fo, hd, tm, sig)
        assert isinstance(found, tuple)
        return found

    def local_tagclass_mask(self) -> npt.NDArray[np.bool_]:
        """Edges whose OSM access is ``destination``/``delivery`` for some vehicle group."""
        found = self._cache.get("local_mask")
        if found is None:
            local = np.array([bool(r.get("local")) for r in self.graph.tagclasses], dtype=np.bool_)
            found = self._cache["local_mask"] = local[self.graph.tagclass]
        assert isinstance(found, np.ndarray)
        return found


def zone_membership(graph: RoadGraph, zones: Sequence[Zone]) -> list[tuple[str, npt.NDArray[np.bool_]]]:
    """For every in-force zone with an area: which nodes lie in it (boundary included)."""
    out: list[tuple[str, npt.NDArray[np.bool_]]] = []
    if graph.node_count == 0:
        return out
    lo_lat, hi_lat = float(graph.lat.min()), float(graph.lat.max())
    lo_lon, hi_lon = float(graph.lon.min()), float(graph.lon.max())
    for zone in zones:
        if zone.geometry is None or zone.status is not ZoneStatus.IN_FORCE:
            continue
        area = polygonal(shape(zone.geometry))
        if area is None:
            continue
        w, s, e, n = area.bounds
        if e < lo_lon or w > hi_lon or n < lo_lat or s > hi_lat:
            continue
        shapely.prepare(area)
        inside = shapely.intersects_xy(area, graph.lon, graph.lat)
        if inside.any():
            out.append((zone.id, np.asarray(inside, dtype=np.bool_)))
    return out
