"""The OSM import (real extract fixture), the graph's binary form, and OSM tags read as regulations."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ruas.domain.errors import SourceError
from ruas.routing.graph import ROAD_CLASSES, RoadGraph
from ruas.routing.osm import import_osm, parse_speed
from ruas.routing.restrictions import parse_limit, restriction_record, restriction_zones, split_conditional

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def amsterdam() -> RoadGraph:
    return import_osm(DATA / "amsterdam_oost.osm.pbf")


def test_import_of_the_real_amsterdam_extract(amsterdam: RoadGraph) -> None:
    g = amsterdam
    assert g.node_count > 20 and g.edge_count > 30
    assert np.all(np.diff(g.first_out) >= 0) and g.first_out[-1] == g.edge_count
    # every edge lies inside the extract's bounding box and has a positive length and travel time
    assert (g.lat.min(), g.lat.max()) >= (52.338, 52.338) and g.lat.max() <= 52.3552
    assert np.all(g.length_m > 0) and np.all(g.time_ms() > 0)
    classes = {ROAD_CLASSES[c] for c in g.road_class.tolist()}
    assert {"trunk", "tertiary", "unclassified"} <= classes
    assert "footway" not in classes and "cycleway" not in classes
    # one-way ways give edges in one direction only
    pairs = set(zip(g.tail.tolist(), g.head.tolist(), strict=True))
    one = [(t, h) for t, h, o in zip(g.tail.tolist(), g.head.tolist(), g.oneway.tolist(), strict=True) if o]
    assert one and all((h, t) not in pairs for t, h in one)
    assert g.meta["attribution"].startswith("(c) OpenStreetMap")


def test_graph_roundtrip_is_exact(amsterdam: RoadGraph, tmp_path: Path) -> None:
    path = tmp_path / "g.npz"
    amsterdam.save(path)
    back = RoadGraph.load(path)
    for name in RoadGraph._ARRAYS:
        np.testing.assert_array_equal(getattr(back, name), getattr(amsterdam, name))
    assert back.tagclasses == amsterdam.tagclasses
    assert back.edge_coords(0) == amsterdam.edge_coords(0)


def test_a_broken_graph_file_is_refused_and_a_failed_save_keeps_the_old(amsterdam: RoadGraph, tmp_path: Path) -> None:
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a graph")
    with pytest.raises(SourceError, match="not a RUAS road graph"):
        RoadGraph.load(bad)
    with pytest.raises(SourceError, match="no such file"):
        import_osm(tmp_path / "missing.osm.pbf")


def test_import_reports_progress(tmp_path: Path) -> None:
    seen: list[str] = []
    import_osm(DATA / "amsterdam_oost.osm.pbf", progress=lambda phase, n: seen.append(phase))
    assert seen[0] == "ways" and seen[-1] == "graph"


@pytest.mark.parametrize(
    ("tag", "raw", "expected"),
    [
        ("maxweight", "7.5", 7.5),
        ("maxweight", "7,5", 7.5),
        ("maxweight", "20 t", 20.0),
        ("maxweight", "3500 kg", 3.5),
        ("maxheight", "4.1", 4.1),
        ("maxheight", "3.30 m", 3.3),
        ("maxheight", "4'6\"", 1.372),
        ("maxheight", "default", None),
        ("maxheight", "none", None),
        ("maxwidth", "wide", None),
        ("maxlength", "0", None),
    ],
)
def test_limits_are_read_in_tonnes_and_metres(tag: str, raw: str, expected: float | None) -> None:
    assert parse_limit(tag, raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, 30.0),
        ("50", 50.0),
        ("30 mph", pytest.approx(48.28, abs=0.01)),
        ("NL:rural", 80.0),
        ("signals", 30.0),
    ],
)
def test_speeds(raw: str | None, expected: float) -> None:
    assert parse_speed(raw, "residential") == expected


def test_conditional_values_split_outside_parentheses() -> None:
    assert split_conditional("no @ (Mo-Fr 07:00-19:00; Sa 08:00-12:00); delivery @ (Su)") == [
        ("no", "Mo-Fr 07:00-19:00; Sa 08:00-12:00"),
        ("delivery", "Su"),
    ]


def test_tags_become_register_records_the_engine_compiles() -> None:
    rec = restriction_record({"hgv": "destination", "maxweight": "20", "maxheight": "default", "name": "x"})
    assert rec["tags"] == {"hgv": "destination", "maxheight": "default", "maxweight": "20"}
    assert rec["local"] == ["destination_in_area"]
    assert any("maxheight=default" in n for n in rec["notes"])
    [zone] = restriction_zones([rec])
    assert [r.id.split("/")[1] for r in zone.regulations] == ["maxweight", "hgv-hgv"]
    assert restriction_record({"maxweight": "20"})["id"] == restriction_record({"maxweight": "20", "name": "y"})["id"]


def test_a_non_time_condition_is_noted_not_applied() -> None:
    rec = restriction_record({"hgv:conditional": "no @ (weight>7.5)"})
    assert rec["regulations"] == []
    assert "not a time window" in rec["notes"][0]
