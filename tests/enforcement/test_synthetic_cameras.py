"""Synthetic traffic (seeded, labelled, realistic shares) and the camera registry import."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
import shapely
from enforcement_kit import NOW, ZE_AMS, Enf
from shapely.geometry import shape

from ruas.domain.errors import SourceError
from ruas.enforcement.cameras import parse_cameras
from ruas.enforcement.synthetic import HOUR_PROFILE, synthetic_cameras, synthetic_passages

DAY = date(2025, 9, 10)


@pytest.fixture(scope="module")
def traffic(seeded_dir: object) -> tuple[object, object, pl.DataFrame]:
    from pathlib import Path

    from ruas.register.store import Register

    reg = Register(Path(str(seeded_dir)))
    cams = synthetic_cameras(reg.book)
    return reg, cams, synthetic_passages(reg.book, reg.vehicles, cams, DAY, 20_000, seed=5)


def test_cameras_stand_on_the_real_zone_boundaries(traffic: tuple[object, object, pl.DataFrame]) -> None:
    """Every synthetic camera lies on its zone's outer ring, looks inwards, and is labelled synthetic."""
    reg, cams, _ = traffic
    for cam in cams:  # type: ignore[attr-defined]
        zone = reg.book.zone(cam.zones[0])  # type: ignore[attr-defined]
        geom = shape(dict(zone.geometry))
        assert shapely.distance(geom.boundary, shapely.Point(cam.lon, cam.lat)) < 1e-6
        assert cam.synthetic and cam.name.startswith("SYNTHETIC") and cam.id.startswith("SYN-")
    assert {z for c in cams for z in c.zones} >= {ZE_AMS, "ams-s100-heavy"}  # type: ignore[attr-defined]


def test_passages_are_seeded_labelled_and_have_the_asked_shares(traffic: tuple[object, object, pl.DataFrame]) -> None:
    """Same seed, same passages; all labelled synthetic; ~3 % foreign, ~1 % low confidence; all on the day."""
    reg, cams, p = traffic
    again = synthetic_passages(reg.book, reg.vehicles, cams, DAY, 20_000, seed=5)  # type: ignore[attr-defined]
    assert p.equals(again)
    assert p.get_column("synthetic").all()
    foreign = p.get_column("country").is_not_null().mean()
    low = (p.get_column("confidence") < 0.8).mean()
    assert 0.02 < foreign < 0.04 and 0.005 < low < 0.015  # type: ignore[operator]
    local = p.get_column("at").dt.convert_time_zone("Europe/Amsterdam")
    assert (local.dt.date() == DAY).all()
    hours = local.dt.hour().value_counts().sort("at")
    busiest = hours.sort("count", descending=True).get_column("at")[0]
    assert busiest == max(range(24), key=lambda h: HOUR_PROFILE[h]) or HOUR_PROFILE[busiest] >= 7


def test_a_synthetic_day_has_two_to_five_percent_violations(enf: Enf) -> None:
    """Evaluated, a synthetic day at the registered cameras has 2-5 % violating passages."""
    from ruas.enforcement.cameras import save_cameras
    from ruas.store.db import session_scope

    cams = synthetic_cameras(enf.ctx.register.book)
    with session_scope(enf.ctx.engine) as s:
        save_cameras(s, cams, NOW)
    batch = synthetic_passages(enf.ctx.register.book, enf.ctx.register.vehicles, cams, DAY, 20_000, seed=9)
    from ruas.enforcement.passages import normalise

    with session_scope(enf.ctx.engine) as s:
        from ruas.enforcement.passages import ingest

        ingest(enf.store, s, normalise(batch), now=NOW)
    (result,) = enf.run()
    share = result.outcomes["violation"] / sum(result.outcomes.values())
    assert 0.02 <= share <= 0.05, result.outcomes


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("id,lat,lon,zones\nC1,52.37,4.89,no-such-zone\n", "zones"),
        ("id,lat,lon,zones\nC1,152.37,4.89," + ZE_AMS + "\n", "lat/lon"),
        ("id,lat,lon,zones\nC1,52.37,4.89,almere-ze-2028\n", "zones"),
        ("id,lat,lon,zones,municipality\nC1,52.37,4.89," + ZE_AMS + ",GM9999\n", "municipality"),
    ],
)
def test_camera_import_refuses_bad_rows_naming_them(enf: Enf, text: str, field: str) -> None:
    """Unknown or announced zones, coordinates out of range, unknown CBS codes: the file is refused."""
    with pytest.raises(SourceError) as err:
        parse_cameras(text, enf.ctx.register.book, "cams.csv")
    assert err.value.details["field"] == field
    assert "cams.csv line 2" in err.value.message


def test_camera_import_reads_geojson(enf: Enf) -> None:
    """A GeoJSON point feature with its properties; the municipality defaults to the zone's authority."""
    text = (
        '{"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": {"type": "Point", '
        '"coordinates": [4.9003, 52.3791]}, "properties": {"id": "G1", "zone": "'
        + ZE_AMS
        + '", "direction_deg": 180}}]}'
    )
    (cam,) = parse_cameras(text, enf.ctx.register.book, "cams.geojson")
    assert (cam.id, cam.lat, cam.lon, cam.zones, cam.municipality, cam.direction_deg) == (
        "G1", 52.3791, 4.9003, (ZE_AMS,), "GM0363", 180.0,
    )  # fmt: skip
