"""The road graph: directed edges in CSR arrays (numpy), saved as one ``.npz`` file.

Nodes carry WGS84 coordinates; edges run ``tail -> head`` and are sorted by tail, so the
edges leaving node ``v`` are ``first_out[v] : first_out[v + 1]``. Every edge has a length
(metres), a road class, a speed (km/h), a travel time (integer **milliseconds**, so sums are
exact and comparable with any other shortest-path code), the OSM restriction values as
read (``maxweight_t`` ... ``maxlength_m``, NaN when unsigned), and ``tagclass``: an index
into :attr:`RoadGraph.tagclasses`, the distinct restriction sets of the extract written as
regulation records (see :mod:`ruas.routing.restrictions`). Tag class 0 means "no
restriction beyond being a road for motor vehicles".

Edge geometry (shape points between the two nodes) is kept as a flat coordinate list with
per-edge offsets; an edge without shape points is the straight line between its nodes.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ruas.domain.errors import InvalidInput, SourceError

FORMAT_VERSION = 1

#: Road classes, in order of importance (index = code stored per edge).
ROAD_CLASSES: tuple[str, ...] = (
    "motorway",
    "trunk",
    "primary",
    "secondary",
    "tertiary",
    "unclassified",
    "residential",
    "living_street",
    "service",
    "motorway_link",
    "trunk_link",
    "primary_link",
    "secondary_link",
    "tertiary_link",
    "road",
    "busway",
)

#: Speed a truck over 3,500 kg keeps to at most (RVV 1990 art. 21: 80 km/h), km/h.
TRUCK_MAX_SPEED_KMH = 80.0

F64 = npt.NDArray[np.float64]
F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]
I32 = npt.NDArray[np.int32]
U8 = npt.NDArray[np.uint8]


def travel_ms(length_m: npt.ArrayLike, speed_kmh: npt.ArrayLike) -> I64:
    """Travel time in whole milliseconds (at least 1) for lengths in metres at speeds in km/h."""
    length = np.asarray(length_m, dtype=np.float64)
    speed = np.maximum(np.asarray(speed_kmh, dtype=np.float64), 1.0)
    return np.maximum(np.rint(length / (speed / 3.6) * 1000.0), 1).astype(np.int64)


@dataclass(eq=False)
class RoadGraph:
    """A directed road graph in CSR form; build with :meth:`from_edges`, persist with :meth:`save`/:meth:`load`."""

    lat: F64
    lon: F64
    first_out: I64
    head: I32
    tail: I32
    length_m: F32
    speed_kmh: F32
    road_class: U8
    oneway: npt.NDArray[np.bool_]
    way_id: I64
    tagclass: I32
    maxweight_t: F32
    maxaxleload_t: F32
    maxheight_m: F32
    maxwidth_m: F32
    maxlength_m: F32
    geom_offsets: I64
    geom_lat: F64
    geom_lon: F64
    tagclasses: list[dict[str, Any]]
    meta: dict[str, Any] = field(default_factory=dict)
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_edges(
        cls,
        lat: npt.ArrayLike,
        lon: npt.ArrayLike,
        tail: npt.ArrayLike,
        head: npt.ArrayLike,
        length_m: npt.ArrayLike,
        speed_kmh: npt.ArrayLike,
        *,
        road_class: npt.ArrayLike | None = None,
        oneway: npt.ArrayLike | None = None,
        way_id: npt.ArrayLike | None = None,
        tagclass: npt.ArrayLike | None = None,
        tagclasses: list[dict[str, Any]] | None = None,
        limits: dict[str, npt.ArrayLike] | None = None,
        shapes: list[list[tuple[float, float]]] | None = None,
        meta: dict[str, Any] | None = None,
    ) -> RoadGraph:
        """Build the CSR graph from unsorted edge arrays (``shapes``: per edge, shape points as (lat, lon))."""
        lat_a = np.asarray(lat, dtype=np.float64)
        lon_a = np.asarray(lon, dtype=np.float64)
        tail_a = np.asarray(tail, dtype=np.int64)
        head_a = np.asarray(head, dtype=np.int64)
        n, m = len(lat_a), len(tail_a)
        if len(lon_a) != n or len(head_a) != m:
            raise InvalidInput("graph: node or edge arrays differ in length", field="graph")
        if m and (tail_a.min() < 0 or head_a.min() < 0 or max(tail_a.max(), head_a.max()) >= n):
            raise InvalidInput("graph: an edge names a node that does not exist", field="graph")
        order = np.argsort(tail_a, kind="stable")
        counts = np.bincount(tail_a, minlength=n)
        first_out = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(counts, out=first_out[1:])

        def arr(values: npt.ArrayLike | None, dtype: Any, default: Any) -> Any:
            if values is None:
                return np.full(m, default, dtype=dtype)
            out = np.asarray(values, dtype=dtype)
            if len(out) != m:
                raise InvalidInput("graph: an edge attribute array has the wrong length", field="graph")
            return out[order]

        lim = limits or {}
        if shapes is not None:
            sorted_shapes = [shapes[i] for i in order.tolist()]
            offsets = np.zeros(m + 1, dtype=np.int64)
            np.cumsum([len(s) for s in sorted_shapes], out=offsets[1:])
            flat = [p for s in sorted_shapes for p in s]
            g_lat = np.array([p[0] for p in flat], dtype=np.float64)
            g_lon = np.array([p[1] for p in flat], dtype=np.float64)
        else:
            offsets = np.zeros(m + 1, dtype=np.int64)
            g_lat = np.zeros(0, dtype=np.float64)
            g_lon = np.zeros(0, dtype=np.float64)
        return cls(
            lat=lat_a,
            lon=lon_a,
            first_out=first_out,
            head=head_a[order].astype(np.int32),
            tail=tail_a[order].astype(np.int32),
            length_m=arr(length_m, np.float32, 0.0),
            speed_kmh=arr(speed_kmh, np.float32, 50.0),
            road_class=arr(road_class, np.uint8, ROAD_CLASSES.index("unclassified")),
            oneway=arr(oneway, np.bool_, False),
            way_id=arr(way_id, np.int64, -1),
            tagclass=arr(tagclass, np.int32, 0),
            maxweight_t=arr(lim.get("maxweight_t"), np.float32, np.nan),
            maxaxleload_t=arr(lim.get("maxaxleload_t"), np.float32, np.nan),
            maxheight_m=arr(lim.get("maxheight_m"), np.float32, np.nan),
            maxwidth_m=arr(lim.get("maxwidth_m"), np.float32, np.nan),
            maxlength_m=arr(lim.get("maxlength_m"), np.float32, np.nan),
            geom_offsets=offsets,
            geom_lat=g_lat,
            geom_lon=g_lon,
            tagclasses=list(tagclasses or [{"id": "osm-none", "tags": {}, "regulations": []}]),
            meta=dict(meta or {}),
        )

    # ------------------------------------------------------------------ sizes and derived arrays

    @property
    def node_count(self) -> int:
        """Number of nodes."""
        return len(self.lat)

    @property
    def edge_count(self) -> int:
        """Number of directed edges."""
        return len(self.head)

    def time_ms(self, *, truck: bool = False) -> I64:
        """Free-flow travel time per edge in ms; ``truck``: speed capped at 80 km/h (vehicles over 3,500 kg)."""
        key = "time_truck" if truck else "time"
        found = self._cache.get(key)
        if found is None:
            speed = np.minimum(self.speed_kmh, TRUCK_MAX_SPEED_KMH) if truck else self.speed_kmh
            found = self._cache[key] = travel_ms(self.length_m, speed)
        result: I64 = found
        return result

    def lists(self, *, truck: bool = False) -> tuple[list[int], list[int], list[int], list[int]]:
        """``first_out``, ``head``, travel time (ms) and tag class as Python lists (the search's fast form)."""
        key = "lists_truck" if truck else "lists"
        found = self._cache.get(key)
        if found is None:
            base = self._cache.get("lists_base")
            if base is None:
                base = self._cache["lists_base"] = (
                    self.first_out.tolist(),
                    self.head.tolist(),
                    self.tagclass.tolist(),
                )
            found = self._cache[key] = (base[0], base[1], self.time_ms(truck=truck).tolist(), base[2])
        result: tuple[list[int], list[int], list[int], list[int]] = found
        return result

    def reverse_csr(self) -> tuple[I64, I64]:
        """``(first_in, edge_ids)``: the edges entering each node, grouped by head."""
        found = self._cache.get("reverse")
        if found is None:
            order = np.argsort(self.head, kind="stable").astype(np.int64)
            counts = np.bincount(self.head, minlength=self.node_count)
            first_in = np.zeros(self.node_count + 1, dtype=np.int64)
            np.cumsum(counts, out=first_in[1:])
            found = self._cache["reverse"] = (first_in, order)
        result: tuple[I64, I64] = found
        return result

    def edge_coords(self, e: int) -> list[tuple[float, float]]:
        """The edge's polyline as ``(lon, lat)`` pairs (GeoJSON order), tail to head."""
        t, h = int(self.tail[e]), int(self.head[e])
        a, b = int(self.geom_offsets[e]), int(self.geom_offsets[e + 1])
        mid = [(float(x), float(y)) for x, y in zip(self.geom_lon[a:b], self.geom_lat[a:b], strict=True)]
        return [(float(self.lon[t]), float(self.lat[t])), *mid, (float(self.lon[h]), float(self.lat[h]))]

    def nearest_node(self, lat: float, lon: float, *, mask: npt.NDArray[np.bool_] | None = None) -> tuple[int, float]:
        """The node nearest to a point (among nodes with ``mask`` true) and its distance in metres."""
        cos = np.cos(np.radians(lat))
        d2 = ((self.lat - lat) * 111_195.0) ** 2 + ((self.lon - lon) * 111_195.0 * cos) ** 2
        if mask is not None:
            d2 = np.where(mask, d2, np.inf)
        i = int(np.argmin(d2))
        return i, float(np.sqrt(d2[i]))

    def nearest_routable(self, lat: float, lon: float) -> tuple[int, float]:
        """:meth:`nearest_node` among :meth:`routable_nodes`, via a grid of cells (same answer, ties included).

        The cells are about square and hold a few nodes each; rings of cells around the point are
        searched until no node outside them can be nearer than the best found. A point outside the
        graph's bounding box, or one whose search would run far, falls back to the full scan.
        """
        index = self._snap_index()
        if index is None:
            return self.nearest_node(lat, lon, mask=self.routable_nodes())
        lat0, lon0, c_lat, c_lon, rows, cols, starts, order = index
        i = int(np.floor((lat - lat0) / c_lat))
        j = int(np.floor((lon - lon0) / c_lon))
        if not (0 <= i < rows and 0 <= j < cols):
            return self.nearest_node(lat, lon, mask=self.routable_nodes())
        cos = np.cos(np.radians(lat))
        cell_m = min(c_lat * 111_195.0, c_lon * 111_195.0 * cos)
        best_d2, best = np.inf, -1
        for r in range(0, 64):
            lo_i, hi_i, lo_j, hi_j = max(i - r, 0), min(i + r, rows - 1), max(j - r, 0), min(j + r, cols - 1)
            ring = [
                (a, b) for a in range(lo_i, hi_i + 1) for b in range(lo_j, hi_j + 1) if max(abs(a - i), abs(b - j)) == r
            ]
            cand = [order[starts[c] : starts[c + 1]] for c in (a * cols + b for a, b in ring)]
            nodes = np.concatenate(cand) if cand else np.zeros(0, dtype=np.int64)
            if len(nodes):
                d2 = ((self.lat[nodes] - lat) * 111_195.0) ** 2 + ((self.lon[nodes] - lon) * 111_195.0 * cos) ** 2
                k = int(np.argmin(d2))
                low = float(d2[k])
                if low < best_d2 or (low == best_d2 and int(nodes[d2 == low].min()) < best):
                    best_d2, best = low, int(nodes[d2 == low].min())
            # every node outside the rings searched so far is at least r whole cells away
            if best >= 0 and best_d2 < (r * cell_m) ** 2:
                return best, float(np.sqrt(best_d2))
            if lo_i == 0 and lo_j == 0 and hi_i == rows - 1 and hi_j == cols - 1:
                break
        return self.nearest_node(lat, lon, mask=self.routable_nodes())

    def _snap_index(self) -> tuple[float, float, float, float, int, int, list[int], I64] | None:
        """The grid of cells over the routable nodes (None for small graphs, where the full scan is as fast)."""
        if "snap_index" not in self._cache:
            nodes = np.flatnonzero(self.routable_nodes())
            if len(nodes) < 4096:
                self._cache["snap_index"] = None
            else:
                lat, lon = self.lat[nodes], self.lon[nodes]
                lat0, lon0 = float(lat.min()), float(lon.min())
                cos = float(np.cos(np.radians((lat0 + float(lat.max())) / 2)))
                h_m = (float(lat.max()) - lat0) * 111_195.0 + 1.0
                w_m = (float(lon.max()) - lon0) * 111_195.0 * cos + 1.0
                side_m = max(np.sqrt(h_m * w_m / (len(nodes) / 4)), 1.0)
                rows, cols = int(h_m // side_m) + 1, int(w_m // side_m) + 1
                c_lat, c_lon = side_m / 111_195.0, side_m / (111_195.0 * cos)
                ci = np.minimum(((lat - lat0) / c_lat).astype(np.int64), rows - 1)
                cj = np.minimum(((lon - lon0) / c_lon).astype(np.int64), cols - 1)
                cell = ci * cols + cj
                order = nodes[np.argsort(cell, kind="stable")]
                starts = np.zeros(rows * cols + 1, dtype=np.int64)
                np.cumsum(np.bincount(cell, minlength=rows * cols), out=starts[1:])
                self._cache["snap_index"] = (lat0, lon0, c_lat, c_lon, rows, cols, starts.tolist(), order)
        found: tuple[float, float, float, float, int, int, list[int], I64] | None = self._cache["snap_index"]
        return found

    def routable_nodes(self) -> npt.NDArray[np.bool_]:
        """Nodes with at least one edge in and one edge out (where a route can start and end)."""
        found = self._cache.get("routable")
        if found is None:
            outs = np.diff(self.first_out) > 0
            ins = np.bincount(self.head, minlength=self.node_count) > 0
            found = self._cache["routable"] = outs & ins
        result: npt.NDArray[np.bool_] = found
        return result

    # ------------------------------------------------------------------ persistence

    _ARRAYS = (
        "lat",
        "lon",
        "first_out",
        "head",
        "tail",
        "length_m",
        "speed_kmh",
        "road_class",
        "oneway",
        "way_id",
        "tagclass",
        "maxweight_t",
        "maxaxleload_t",
        "maxheight_m",
        "maxwidth_m",
        "maxlength_m",
        "geom_offsets",
        "geom_lat",
        "geom_lon",
    )

    def save(self, path: Path) -> None:
        """Write the graph to ``path`` (``.npz``) atomically: a failed write leaves any old file as it was."""
        path.parent.mkdir(parents=True, exist_ok=True)
        header = {"format": FORMAT_VERSION, "tagclasses": self.tagclasses, "meta": self.meta}
        fd, tmp = tempfile.mkstemp(prefix=".graph-", suffix=".npz", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez(
                    fh,
                    header=np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8),
                    **{name: getattr(self, name) for name in self._ARRAYS},
                )
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: Path) -> RoadGraph:
        """Read a graph written by :meth:`save` (raises :class:`SourceError` naming what is wrong)."""
        try:
            with np.load(path, allow_pickle=False) as data:
                header = json.loads(bytes(data["header"]).decode("utf-8"))
                arrays = {name: data[name] for name in cls._ARRAYS}
        except (OSError, KeyError, ValueError) as exc:
            raise SourceError(f"{path}: not a RUAS road graph ({exc})", file=str(path)) from exc
        if header.get("format") != FORMAT_VERSION:
            raise SourceError(
                f"{path}: road graph format {header.get('format')} is not {FORMAT_VERSION}; import the extract again",
                file=str(path),
            )
        return cls(**arrays, tagclasses=header["tagclasses"], meta=header.get("meta", {}))
