"""Import an OpenStreetMap extract (``.osm.pbf``/``.osm``) into a :class:`RoadGraph` with pyosmium.

Ways with a drivable ``highway`` class are split at every node shared with another way (and
at their ends); each piece becomes one or two directed edges (``oneway``, implied oneway on
motorways and roundabouts, ``oneway=-1``). The truck-relevant tags of each way become its
*tag class* (see :mod:`ruas.routing.restrictions`); the limits are also kept per edge.
``progress(phase, done)`` is called as the import goes (phase ``"ways"`` then ``"graph"``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ruas.domain.errors import SourceError
from ruas.routing.graph import ROAD_CLASSES, RoadGraph
from ruas.routing.restrictions import LIMIT_TAGS, parse_limit, relevant_tags, restriction_record

#: Default speed per road class when no ``maxspeed`` is tagged (km/h; Dutch defaults).
DEFAULT_SPEED: dict[str, float] = {
    "motorway": 100.0,
    "trunk": 80.0,
    "primary": 70.0,
    "secondary": 60.0,
    "tertiary": 50.0,
    "unclassified": 50.0,
    "residential": 30.0,
    "living_street": 15.0,
    "service": 20.0,
    "motorway_link": 60.0,
    "trunk_link": 50.0,
    "primary_link": 50.0,
    "secondary_link": 40.0,
    "tertiary_link": 40.0,
    "road": 30.0,
    "busway": 50.0,
}
ZONE_SPEEDS = {"nl:urban": 50.0, "nl:rural": 80.0, "nl:motorway": 100.0, "nl:trunk": 100.0, "nl:zone30": 30.0}
#: Implied access: busways in the Netherlands are for buses only.
IMPLIED_TAGS: dict[str, dict[str, str]] = {"busway": {"motor_vehicle": "no"}}
_SPEED = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(mph|km/h|kmh)?\s*$")

Progress = Callable[[str, int], None]


def parse_speed(raw: str | None, road_class: str) -> float:
    """``maxspeed`` in km/h (``"50"``, ``"30 mph"``, ``"NL:urban"``); the class default when absent or unreadable."""
    if raw:
        text = raw.strip().lower()
        if text in ZONE_SPEEDS:
            return ZONE_SPEEDS[text]
        m = _SPEED.match(text.split(";")[0])
        if m:
            value = float(m.group(1)) * (1.609344 if m.group(2) == "mph" else 1.0)
            if value > 0:
                return value
    return DEFAULT_SPEED[road_class]


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(math.sqrt(min(1.0, a)))


def _direction(tags: dict[str, str], road_class: str) -> tuple[bool, bool] | None:
    """(forward, backward) travel allowed, or None when the way is not routable (reversible lanes)."""
    ow = tags.get("oneway", "").strip().lower()
    if ow in ("reversible", "alternating"):
        return None
    if ow in ("yes", "1", "true"):
        return True, False
    if ow == "-1":
        return False, True
    if ow in ("no", "0", "false"):
        return True, True
    implied = road_class == "motorway" or tags.get("junction") in ("roundabout", "circular")
    return (True, False) if implied else (True, True)


def import_osm(path: Path, *, progress: Progress | None = None) -> RoadGraph:
    """Read the drivable road network of an OSM extract (raises :class:`SourceError` for unreadable files)."""
    import osmium

    if not path.exists():
        raise SourceError(f"{path}: no such file", file=str(path))
    ways: list[tuple[int, str, dict[str, str], list[int], list[tuple[float, float]]]] = []
    use: dict[int, int] = {}
    try:
        fp = osmium.FileProcessor(str(path)).with_locations().with_filter(osmium.filter.KeyFilter("highway"))
        count = 0
        for obj in fp:
            if not isinstance(obj, osmium.osm.Way):
                continue
            tags = {t.k: t.v for t in obj.tags}
            cls = tags.get("highway", "")
            if cls not in ROAD_CLASSES or tags.get("area") == "yes":
                continue
            refs: list[int] = []
            coords: list[tuple[float, float]] = []
            for nd in obj.nodes:
                if not nd.location.valid():
                    continue
                refs.append(nd.ref)
                coords.append((nd.location.lat, nd.location.lon))
            if len(refs) < 2:
                continue
            ways.append((obj.id, cls, tags, refs, coords))
            for i, r in enumerate(refs):
                use[r] = use.get(r, 0) + (2 if i in (0, len(refs) - 1) else 1)
            count += 1
            if progress and count % 1000 == 0:
                progress("ways", count)
    except RuntimeError as exc:
        raise SourceError(f"{path}: cannot read as OSM data ({exc})", file=str(path)) from exc
    if progress:
        progress("ways", len(ways))
    if not ways:
        raise SourceError(f"{path}: no drivable highway ways found", file=str(path))

    node_index: dict[int, int] = {}
    lat: list[float] = []
    lon: list[float] = []
    tails: list[int] = []
    heads: list[int] = []
    lengths: list[float] = []
    speeds: list[float] = []
    classes: list[int] = []
    oneways: list[bool] = []
    way_ids: list[int] = []
    tagcls: list[int] = []
    shapes: list[list[tuple[float, float]]] = []
    limits: dict[str, list[float]] = {f"{t}_{u}": [] for t, (_f, u, _x) in LIMIT_TAGS.items()}
    class_ids: dict[str, int] = {"osm-none": 0}
    records: list[dict[str, Any]] = [restriction_record({})]

    def vertex(ref: int, at: tuple[float, float]) -> int:
        found = node_index.get(ref)
        if found is None:
            found = node_index[ref] = len(lat)
            lat.append(at[0])
            lon.append(at[1])
        return found

    for wi, (wid, cls, tags, refs, coords) in enumerate(ways):
        direction = _direction(tags, cls)
        if direction is None:
            continue
        merged = {**IMPLIED_TAGS.get(cls, {}), **tags}
        rel = relevant_tags(merged)
        record = restriction_record(rel)
        tc = class_ids.get(record["id"])
        if tc is None:
            tc = class_ids[record["id"]] = len(records)
            records.append(record)
        speed = parse_speed(tags.get("maxspeed"), cls)
        lim = {f"{t}_{u}": parse_limit(t, rel[t]) if t in rel else None for t, (_f, u, _x) in LIMIT_TAGS.items()}
        start = 0
        for i in range(1, len(refs)):
            if i != len(refs) - 1 and use.get(refs[i], 0) < 2:
                continue
            piece = coords[start : i + 1]
            length = sum(haversine_m(*piece[j], *piece[j + 1]) for j in range(len(piece) - 1))
            a, b = vertex(refs[start], coords[start]), vertex(refs[i], coords[i])
            for fwd, (t, h) in ((True, (a, b)), (False, (b, a))):
                if not direction[0 if fwd else 1] or a == b:
                    continue
                tails.append(t)
                heads.append(h)
                lengths.append(max(length, 0.1))
                speeds.append(speed)
                classes.append(ROAD_CLASSES.index(cls))
                oneways.append(not (direction[0] and direction[1]))
                way_ids.append(wid)
                tagcls.append(tc)
                inner = piece[1:-1]
                shapes.append(inner if fwd else inner[::-1])
                for k, v in lim.items():
                    limits[k].append(np.nan if v is None else v)
            start = i
        if progress and (wi + 1) % 5000 == 0:
            progress("graph", wi + 1)
    if progress:
        progress("graph", len(ways))
    return RoadGraph.from_edges(
        lat,
        lon,
        tails,
        heads,
        lengths,
        speeds,
        road_class=classes,
        oneway=oneways,
        way_id=way_ids,
        tagclass=tagcls,
        tagclasses=records,
        limits={k: np.asarray(v, dtype=np.float64) for k, v in limits.items()},
        shapes=shapes,
        meta={"source": path.name, "ways": len(ways), "attribution": "(c) OpenStreetMap contributors, ODbL 1.0"},
    )
