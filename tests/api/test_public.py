"""Public reads over HTTP on both backends: health, version, municipalities, zones (JSON and GeoJSON),
regulations and vehicles — pagination, filters, ETags, cache headers and problem details.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

import ruas

API = "/api/v1"
ZE_AMSTERDAM = "NDW11_64717e49-b364-4001-b6f9-14270d068764"
LEZ_AMSTERDAM = "NDW11_989846cf-0343-4abc-b169-1a2ddaf497d9"
ALMERE_2028 = "almere-ze-2028"
PLATE = "VQ39HG"
CACHE = "public, max-age=60"

Problem = Callable[..., dict[str, Any]]


def on_postgresql() -> bool:
    """True when the test's register is the PostgreSQL one (``backend_dir`` sets RUAS_DATABASE_URL)."""
    return os.environ.get("RUAS_DATABASE_URL", "").startswith("postgresql")


def all_items(client: TestClient, path: str, page_size: int, **params: Any) -> list[dict[str, Any]]:
    """Every item of a paginated list, read page by page."""
    items: list[dict[str, Any]] = []
    page = 1
    while True:
        body = client.get(path, params={**params, "page": page, "page_size": page_size}).json()
        items += body["items"]
        if page * page_size >= body["total"]:
            return items
        page += 1


# --------------------------------------------------------------------------- service


def test_health_reports_database_and_register(app_client: TestClient) -> None:
    """Health says ok for the database and counts the register's zones."""
    response = app_client.get(f"{API}/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "zones": 12}


def test_version_names_software_and_register_versions(app_client: TestClient) -> None:
    """Version gives the package version and the published register version."""
    body = app_client.get(f"{API}/version").json()
    assert body["version"] == ruas.__version__
    assert isinstance(body["register_version"], int) and body["register_version"] >= 1


def test_openapi_document_has_stable_operation_ids(app_client: TestClient) -> None:
    """The OpenAPI contract is served under /api/v1 and names every public operation."""
    doc = app_client.get(f"{API}/openapi.json").json()
    ids = {op.get("operationId") for path in doc["paths"].values() for op in path.values()}
    assert {"health", "version", "listMunicipalities", "getMunicipality", "listZones", "listZonesGeoJSON"} <= ids
    assert {"getZone", "listRegulations", "getVehicle", "createCheck", "createFleetCheck"} <= ids


# --------------------------------------------------------------------------- municipalities


def test_municipalities_list_every_municipality_once_over_pages(app_client: TestClient) -> None:
    """The 50 municipalities of Noord-Holland and Flevoland come in code order, each once, across pages."""
    first = app_client.get(f"{API}/municipalities", params={"page_size": 7}).json()
    assert (first["page"], first["page_size"], first["total"], len(first["items"])) == (1, 7, 50, 7)
    codes = [m["code"] for m in all_items(app_client, f"{API}/municipalities", 7)]
    assert len(codes) == 50 and codes == sorted(set(codes))
    assert {m["province_name"] for m in all_items(app_client, f"{API}/municipalities", 50)} == {
        "Noord-Holland",
        "Flevoland",
    }


def test_municipalities_count_the_zones_each_governs(app_client: TestClient) -> None:
    """Amsterdam governs six zones and areas, Haarlem two, Aalsmeer none."""
    by_code = {m["code"]: m for m in all_items(app_client, f"{API}/municipalities", 100)}
    assert by_code["GM0363"]["name"] == "Amsterdam" and by_code["GM0363"]["zones"] == 6
    assert by_code["GM0392"]["zones"] == 2
    assert by_code["GM0358"]["zones"] == 0


def test_a_page_past_the_end_is_empty(app_client: TestClient) -> None:
    """A page after the last one has no items but the true total."""
    body = app_client.get(f"{API}/municipalities", params={"page": 99, "page_size": 10}).json()
    assert body["items"] == [] and body["total"] == 50


@pytest.mark.parametrize(("param", "value"), [("page", 0), ("page_size", 0), ("page_size", 501), ("page", "x")])
def test_bad_pagination_is_a_problem_naming_the_parameter(
    app_client: TestClient, problem: Problem, param: str, value: Any
) -> None:
    """Page numbers below 1 and page sizes outside 1..500 are refused, naming the parameter."""
    response = app_client.get(f"{API}/municipalities", params={param: value})
    problem(response, 422, field=f"query.{param}")


def test_one_municipality_has_boundary_and_zone_ids(app_client: TestClient) -> None:
    """One municipality (code case-insensitive) carries its GeoJSON boundary and its zone ids."""
    body = app_client.get(f"{API}/municipalities/gm0363").json()
    assert body["code"] == "GM0363" and body["name"] == "Amsterdam"
    assert body["geometry"]["type"] in ("Polygon", "MultiPolygon")
    assert ZE_AMSTERDAM in body["zones"] and LEZ_AMSTERDAM in body["zones"] and len(body["zones"]) == 6


def test_unknown_municipality_is_a_404_problem_naming_the_code(app_client: TestClient, problem: Problem) -> None:
    """An unknown CBS code is a 404 problem naming ``code``."""
    body = problem(app_client.get(f"{API}/municipalities/GM9999"), 404, field="code")
    assert "GM9999" in body["detail"]


def test_one_municipality_carries_etag_and_cache_headers(app_client: TestClient) -> None:
    """The single-municipality read has an ETag and Cache-Control like every public read."""
    response = app_client.get(f"{API}/municipalities/GM0363")
    assert response.headers.get("cache-control") == CACHE
    assert response.headers.get("etag")


def test_a_nul_byte_in_a_municipality_code_is_a_client_error(
    backend_dir: Any, client_factory: Callable[..., TestClient], request: pytest.FixtureRequest
) -> None:
    """A code with a NUL byte is a 4xx (unknown municipality), not a server error, on both backends."""
    client = client_factory(backend_dir, raise_server_exceptions=False)
    assert client.get(f"{API}/municipalities/GM%00363").status_code in (404, 422)


# --------------------------------------------------------------------------- zones: filters and pagination


def zone_ids(client: TestClient, **params: Any) -> set[str]:
    """The ids of every zone the list returns for these filters."""
    return {z["id"] for z in all_items(client, f"{API}/zones", 100, **params)}


def test_zones_list_every_zone_with_its_summary(app_client: TestClient) -> None:
    """All 12 zones and areas are listed, each with the documented summary keys."""
    body = app_client.get(f"{API}/zones").json()
    assert body["total"] == 12 and len(body["items"]) == 12
    keys = {"id", "name", "kind", "status", "authority", "authority_name", "valid_from", "url", "illustrative"}
    assert all(keys | {"has_area", "notes"} <= set(z) for z in body["items"])
    assert ZE_AMSTERDAM in {z["id"] for z in body["items"]}


def test_zones_filter_by_municipality(app_client: TestClient) -> None:
    """The municipality filter (case-insensitive) keeps that authority's zones only."""
    haarlem = zone_ids(app_client, municipality="gm0392")
    assert len(haarlem) == 2
    assert all(z["authority"] == "GM0392" for z in all_items(app_client, f"{API}/zones", 100, municipality="GM0392"))
    assert len(zone_ids(app_client, municipality="GM0363")) == 6
    assert zone_ids(app_client, municipality="GM0358") == set()


def test_zones_filter_by_kind(app_client: TestClient) -> None:
    """The kind filter keeps zones of that kind: two delivery-window areas, one heavy-vehicle area."""
    assert zone_ids(app_client, kind="time_window") == {"ams-osdorpplein", "alk-winkelhart"}
    assert zone_ids(app_client, kind="vehicle_restriction") == {"ams-s100-heavy"}
    assert len(zone_ids(app_client, kind="zero_emission")) == 6


def test_zones_filter_by_status(app_client: TestClient) -> None:
    """The status filter separates the three announced zones from those in force."""
    assert zone_ids(app_client, status="announced") == {ALMERE_2028, "zaanstad-ze-2030", "ams-ze-a10-2028"}
    assert len(zone_ids(app_client, status="in_force")) == 9


def test_zones_filter_by_moment_in_force(app_client: TestClient) -> None:
    """The ``at`` filter keeps zones with a regulation in force then: Almere's from 2028 on."""
    assert ALMERE_2028 not in zone_ids(app_client, at="2027-12-31T23:59")
    assert ALMERE_2028 in zone_ids(app_client, at="2028-01-01T00:00")
    assert ZE_AMSTERDAM not in zone_ids(app_client, at="2024-06-01")
    assert ZE_AMSTERDAM in zone_ids(app_client, at="2025-01-01")


def test_zones_filters_combine(app_client: TestClient) -> None:
    """Filters combine: Amsterdam's zero-emission zones in force in mid 2026."""
    got = zone_ids(app_client, municipality="GM0363", kind="zero_emission", at="2026-06-01")
    assert got == {ZE_AMSTERDAM}


def test_zones_bad_moment_is_a_problem_naming_at(app_client: TestClient, problem: Problem) -> None:
    """A malformed ``at`` filter is a 422 problem naming ``at``."""
    problem(app_client.get(f"{API}/zones", params={"at": "next tuesday"}), 422, field="at")


def test_zones_pages_partition_the_list(app_client: TestClient) -> None:
    """Pages of 5 give 5, 5 and 2 zones, together exactly the unpaginated list in the same order."""
    whole = [z["id"] for z in app_client.get(f"{API}/zones").json()["items"]]
    pages = [app_client.get(f"{API}/zones", params={"page": p, "page_size": 5}).json() for p in (1, 2, 3)]
    assert [len(p["items"]) for p in pages] == [5, 5, 2]
    assert [z["id"] for p in pages for z in p["items"]] == whole
    assert {p["total"] for p in pages} == {12}


# --------------------------------------------------------------------------- ETags and cache headers


@pytest.mark.parametrize(
    "path", ["/zones", "/zones.geojson", f"/zones/{ZE_AMSTERDAM}", "/regulations", "/municipalities"]
)
def test_public_reads_carry_etag_and_cache_control(app_client: TestClient, path: str) -> None:
    """Public reads carry a quoted ETag and ``Cache-Control: public, max-age=60``."""
    response = app_client.get(f"{API}{path}")
    assert response.status_code == 200
    tag = response.headers["etag"]
    assert tag.startswith('"') and tag.endswith('"') and len(tag) > 2
    assert response.headers["cache-control"] == CACHE


@pytest.mark.parametrize("path", ["/zones", "/zones.geojson", f"/zones/{ZE_AMSTERDAM}", "/regulations"])
def test_if_none_match_with_the_current_etag_is_304(app_client: TestClient, path: str) -> None:
    """Sending back the ETag gives 304 Not Modified with no body, the same ETag and the cache header."""
    tag = app_client.get(f"{API}{path}").headers["etag"]
    response = app_client.get(f"{API}{path}", headers={"If-None-Match": tag})
    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["etag"] == tag
    assert response.headers["cache-control"] == CACHE


def test_a_stale_etag_gets_the_full_answer(app_client: TestClient) -> None:
    """An If-None-Match that does not match gives 200 with the body."""
    response = app_client.get(f"{API}/zones", headers={"If-None-Match": '"not-the-tag"'})
    assert response.status_code == 200 and response.json()["total"] == 12


def test_etag_differs_per_query(app_client: TestClient) -> None:
    """Different filters or pages have different ETags (a 304 never answers another query)."""
    tags = {
        app_client.get(f"{API}/zones", params=params).headers["etag"]
        for params in ({}, {"kind": "time_window"}, {"page": 2, "page_size": 5}, {"municipality": "GM0363"})
    }
    assert len(tags) == 4
    tag = app_client.get(f"{API}/zones").headers["etag"]
    other = app_client.get(f"{API}/zones", params={"kind": "time_window"}, headers={"If-None-Match": tag})
    assert other.status_code == 200


def test_etag_changes_when_the_register_is_published(app_client: TestClient) -> None:
    """Publishing a changed zone bumps the register version and so every public ETag."""
    before = app_client.get(f"{API}/zones").headers["etag"]
    version = app_client.get(f"{API}/version").json()["register_version"]
    store = app_client.app.state.register.register.store  # type: ignore[attr-defined]
    records = store.load_records()
    changed = [dict(r, name=r["name"] + " (renamed)") if r["id"] == ZE_AMSTERDAM else r for r in records]
    assert store.publish_records(changed, actor="test") == [ZE_AMSTERDAM]
    assert app_client.get(f"{API}/version").json()["register_version"] > version
    response = app_client.get(f"{API}/zones", headers={"If-None-Match": before})
    assert response.status_code == 200
    assert response.headers["etag"] != before


def test_if_none_match_with_a_list_of_tags_is_304(app_client: TestClient) -> None:
    """An If-None-Match listing the current ETag among others gives 304 (RFC 9110 §13.1.2)."""
    tag = app_client.get(f"{API}/zones").headers["etag"]
    response = app_client.get(f"{API}/zones", headers={"If-None-Match": f'"older", {tag}'})
    assert response.status_code == 304


# --------------------------------------------------------------------------- GeoJSON


def test_zones_geojson_is_a_valid_feature_collection(app_client: TestClient) -> None:
    """The GeoJSON is a FeatureCollection of the 9 zones with an area, WGS84 polygons with rules as properties."""
    body = app_client.get(f"{API}/zones.geojson").json()
    assert body["type"] == "FeatureCollection"
    features = body["features"]
    assert len(features) == 9
    assert ALMERE_2028 not in {f["id"] for f in features}  # announced, no area yet
    for feature in features:
        assert feature["type"] == "Feature"
        assert feature["id"] == feature["properties"]["id"]
        geometry = feature["geometry"]
        assert geometry["type"] in ("Polygon", "MultiPolygon")
        polygons = geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
        for polygon in polygons:
            for ring in polygon:
                assert len(ring) >= 4 and ring[0] == ring[-1]  # closed linear ring
                assert all(4.0 < lon < 6.0 and 52.0 < lat < 53.5 for lon, lat in ring)  # lon, lat order
        assert feature["properties"]["regulations"], feature["id"]
        assert all("legal_source" in r for r in feature["properties"]["regulations"])


def test_zones_geojson_applies_the_filters(app_client: TestClient) -> None:
    """The GeoJSON takes the same filters as the zone list."""
    body = app_client.get(f"{API}/zones.geojson", params={"municipality": "GM0392"}).json()
    assert len(body["features"]) == 2
    assert {f["properties"]["authority"] for f in body["features"]} == {"GM0392"}


def test_zones_geojson_has_the_geojson_media_type(app_client: TestClient) -> None:
    """The GeoJSON is served as ``application/geo+json``."""
    response = app_client.get(f"{API}/zones.geojson")
    assert response.headers["content-type"].split(";")[0] == "application/geo+json"


# --------------------------------------------------------------------------- one zone, regulations


def test_one_zone_has_regulations_sources_and_area(app_client: TestClient) -> None:
    """One zone carries its regulations (rules as data, legal source), area and published NDW condition."""
    body = app_client.get(f"{API}/zones/{ZE_AMSTERDAM}").json()
    assert body["id"] == ZE_AMSTERDAM and body["name"] == "ZE Amsterdam" and body["kind"] == "zero_emission"
    assert body["geometry"]["type"] in ("Polygon", "MultiPolygon")
    assert body["published_condition"] is not None
    regulation = body["regulations"][0]
    assert regulation["legal_source"]["citation"]
    assert regulation["subject_condition"] and regulation["exemptions"]
    assert regulation["valid_from"].startswith("2025-01-01")


def test_unknown_zone_is_a_404_problem_naming_the_zone(app_client: TestClient, problem: Problem) -> None:
    """An unknown zone id is a 404 problem naming ``zone``."""
    body = problem(app_client.get(f"{API}/zones/no-such-zone"), 404, field="zone")
    assert body["title"] == "UnknownZone" and "no-such-zone" in body["detail"]


def test_regulations_list_each_zones_regulations(app_client: TestClient) -> None:
    """Regulations are listed with their zone id; together they cover every zone."""
    items = all_items(app_client, f"{API}/regulations", 4)
    assert {r["zone_id"] for r in items} == zone_ids(app_client)
    assert all(r["legal_source"] is not None and r["id"] for r in items)
    assert len({r["id"] for r in items}) == len(items)


def test_regulations_filter_by_municipality_and_kind(app_client: TestClient) -> None:
    """Regulation filters select by their zone's authority and kind."""
    haarlem = all_items(app_client, f"{API}/regulations", 100, municipality="GM0392")
    assert haarlem and {r["authority"] for r in haarlem} == {"GM0392"}
    windows = all_items(app_client, f"{API}/regulations", 100, kind="time_window")
    assert {r["zone_id"] for r in windows} == {"ams-osdorpplein", "alk-winkelhart"}


# --------------------------------------------------------------------------- vehicles


def test_registered_vehicle_is_found(app_client: TestClient) -> None:
    """A registered (synthetic) plate gives its attributes."""
    body = app_client.get(f"{API}/vehicles/{PLATE}").json()
    assert body["plate"] == PLATE and body["synthetic"] is True
    assert (body["category"], body["fuels"], body["emission_class"]) == ("N1", ["diesel"], "6")
    assert body["max_mass_kg"] == 2570 and body["first_admission"] == "2020-10-15"


def test_vehicle_plate_is_normalised(app_client: TestClient) -> None:
    """Dashes and lower case are accepted: vq-39-hg is VQ39HG."""
    assert app_client.get(f"{API}/vehicles/vq-39-hg").json()["plate"] == PLATE


def test_unknown_vehicle_is_a_404_problem(app_client: TestClient, problem: Problem) -> None:
    """A well-formed plate not in the register is a 404 UnknownVehicle problem naming ``plate``."""
    body = problem(app_client.get(f"{API}/vehicles/12-ABC-3"), 404, field="plate")
    assert body["title"] == "UnknownVehicle"


@pytest.mark.parametrize("plate", ["XX", "ABCDEFGHIJ", "12-!!-34"])
def test_malformed_plate_is_a_422_problem(app_client: TestClient, problem: Problem, plate: str) -> None:
    """A plate that is not six letters and digits is a 422 InvalidPlate problem naming ``plate``."""
    body = problem(app_client.get(f"{API}/vehicles/{plate}"), 422, field="plate")
    assert body["title"] == "InvalidPlate"
