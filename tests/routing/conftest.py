"""Routing fixtures: tiny hand-made graphs with OSM tags, small rule books, and named vehicles.

Nodes are named and placed on a lattice of about 111 m near 52.0 N, 5.0 E (outside every real
zone); each way is a list of node names with its tags and speed. The graph is built exactly as
the OSM import builds it: tags become tag classes via ``restriction_record``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date
from itertools import pairwise
from typing import Any

import pytest

from ruas.domain.vehicle import Body, Category, EmissionClass, Fuel, Vehicle
from ruas.register.records import compile_book
from ruas.routing.graph import RoadGraph
from ruas.routing.osm import haversine_m
from ruas.routing.restrictions import restriction_record
from ruas.rules.engine import RuleBook
from ruas.rules.frameworks import RuleSettings

STEP = 0.001  # degrees latitude, about 111 m

Way = tuple[Sequence[str], Mapping[str, str], float]  # node names, tags, speed km/h


def _build(nodes: Mapping[str, tuple[float, float]], ways: Sequence[Way], oneway: bool = False) -> RoadGraph:
    names = list(nodes)
    index = {n: i for i, n in enumerate(names)}
    lat = [52.0 + nodes[n][0] * STEP for n in names]
    lon = [5.0 + nodes[n][1] * STEP * 1.64 for n in names]  # about square cells at 52 N
    records: list[dict[str, Any]] = [restriction_record({})]
    ids = {"osm-none": 0}
    tails, heads, lengths, speeds, classes = [], [], [], [], []
    for path, tags, speed in ways:
        rec = restriction_record(tags)
        if rec["id"] not in ids:
            ids[rec["id"]] = len(records)
            records.append(rec)
        tc = ids[rec["id"]]
        for a, b in pairwise(path):
            ia, ib = index[a], index[b]
            length = haversine_m(lat[ia], lon[ia], lat[ib], lon[ib])
            pairs = [(ia, ib)] if tags.get("oneway") == "yes" or oneway else [(ia, ib), (ib, ia)]
            for t, h in pairs:
                tails.append(t)
                heads.append(h)
                lengths.append(length)
                speeds.append(speed)
                classes.append(tc)
    graph = RoadGraph.from_edges(lat, lon, tails, heads, lengths, speeds, tagclass=classes, tagclasses=records)
    graph.meta["names"] = names
    return graph


@pytest.fixture
def build_graph() -> Callable[..., RoadGraph]:
    """``build_graph(nodes, ways)``: a graph from named lattice nodes and tagged ways."""
    return _build


def node_point(graph: RoadGraph, name: str) -> tuple[float, float]:
    """(lat, lon) of a named node."""
    i = graph.meta["names"].index(name)
    return float(graph.lat[i]), float(graph.lon[i])


@pytest.fixture
def point() -> Callable[[RoadGraph, str], tuple[float, float]]:
    """``point(graph, name)``: the (lat, lon) of a named node."""
    return node_point


@pytest.fixture
def node_names() -> Callable[[RoadGraph, Sequence[int]], list[str]]:
    """``node_names(graph, nodes)``: names of node indices."""
    return lambda graph, nodes: [graph.meta["names"][i] for i in nodes]


def square(graph_rows: tuple[float, float, float, float]) -> dict[str, Any]:
    """A GeoJSON polygon over lattice rows/cols ``(r0, c0, r1, c1)``."""
    r0, c0, r1, c1 = graph_rows
    la = [52.0 + r * STEP for r in (r0, r1)]
    lo = [5.0 + c * STEP * 1.64 for c in (c0, c1)]
    ring = [[lo[0], la[0]], [lo[1], la[0]], [lo[1], la[1]], [lo[0], la[1]], [lo[0], la[0]]]
    return {"type": "Polygon", "coordinates": [ring]}


@pytest.fixture
def make_book() -> Callable[[Sequence[dict[str, Any]]], RuleBook]:
    """``make_book(records)``: a rule book compiled from register records (as the register compiles them)."""
    return lambda records: compile_book(list(records), RuleSettings())


@pytest.fixture
def area() -> Callable[[tuple[float, float, float, float]], dict[str, Any]]:
    """``area((r0, c0, r1, c1))``: a GeoJSON rectangle over lattice coordinates."""
    return square


def _vehicle(**kw: Any) -> Vehicle:
    base: dict[str, Any] = {
        "category": Category.N1,
        "body": Body.VAN,
        "fuels": frozenset({Fuel.DIESEL}),
        "emission_class": EmissionClass.E6,
        "first_admission": date(2020, 3, 1),
        "max_mass_kg": 3000,
        "length_m": 5.5,
        "width_m": 2.0,
        "height_m": 2.6,
        "axle_load_kg": 1800,
    }
    base.update(kw)
    return Vehicle(**base)


VEHICLES: dict[str, Vehicle] = {
    "van": _vehicle(),
    "rigid12": _vehicle(
        category=Category.N2,
        body=Body.RIGID,
        max_mass_kg=12000,
        length_m=9.0,
        width_m=2.55,
        height_m=3.6,
        axle_load_kg=8000,
    ),
    "combi40": _vehicle(
        category=Category.N3,
        body=Body.TRACTOR,
        max_mass_kg=40000,
        length_m=16.5,
        width_m=2.55,
        height_m=4.0,
        axle_load_kg=11500,
    ),
    "car": _vehicle(category=Category.M1, body=Body.CAR, fuels=frozenset({Fuel.PETROL}), max_mass_kg=1500),
}


@pytest.fixture
def vehicles() -> dict[str, Vehicle]:
    """Named vehicles: ``van`` (N1 3 t diesel 6), ``rigid12`` (N2 12 t), ``combi40`` (N3 40 t, 4.0 m), ``car``."""
    return dict(VEHICLES)


@pytest.fixture(scope="session")
def class_vehicles() -> dict[str, Vehicle]:
    """The same named vehicles, for module-scoped fixtures (vehicles are immutable)."""
    return dict(VEHICLES)
