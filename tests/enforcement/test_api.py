"""The enforcement API: authenticated ingest, officers see only their own municipality's cases, every view logged."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from enforcement_kit import Enf, at
from sqlalchemy import select

from ruas.store.db import session_scope
from ruas.store.models import ViolationAccess


def _body(*rows: tuple[str, str, str]) -> dict[str, Any]:
    return {"passages": [{"camera_id": c, "at": t, "plate": p, "confidence": 0.95} for c, t, p in rows]}


AMS = ("CAM-AMS-1", "2025-09-10T09:00:00+02:00", "VQ401A")
HLM = ("CAM-HLM-1", "2025-09-10T09:30:00+02:00", "VQ402A")


@pytest.mark.parametrize(
    ("who", "status"),
    [(None, 401), (("carrier", "applicant", (), "12345678"), 403), (("hlm", "officer", ("GM0392",), None), 403)],
)
def test_ingest_needs_an_officer_of_the_cameras_municipality(
    api: Any,
    token: Callable[..., dict[str, str]],
    who: tuple[str, str, tuple[str, ...], str | None] | None,
    status: int,
) -> None:
    """Anonymous 401; an applicant 403; an officer of Haarlem may not send Amsterdam's cameras (403)."""
    headers = token(*who) if who else {}
    r = api.post("/api/v1/enforcement/passages", json=_body(AMS), headers=headers)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")


def test_ingest_is_idempotent_and_validates(api: Any, token: Callable[..., dict[str, str]]) -> None:
    """A batch twice stores it once; a time without offset or an unknown camera is refused naming the field."""
    h = token("ams", "officer", ("GM0363",))
    first = api.post("/api/v1/enforcement/passages", json=_body(AMS), headers=h)
    again = api.post("/api/v1/enforcement/passages", json=_body(AMS), headers=h)
    assert (first.json()["stored"], again.json()["stored"], again.json()["duplicates"]) == (1, 0, 1)
    naive = api.post(
        "/api/v1/enforcement/passages", json=_body(("CAM-AMS-1", "2025-09-10T09:00:00", "VQ401A")), headers=h
    )
    assert naive.status_code == 422
    assert {e.get("field") for e in naive.json()["errors"]} == {"at"}
    unknown = api.post("/api/v1/enforcement/passages", json=_body(("CAM-XX", AMS[1], "VQ401A")), headers=h)
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "camera_id"


def test_officers_see_their_own_violations_and_every_view_is_logged(
    api: Any, enf: Enf, token: Callable[..., dict[str, str]]
) -> None:
    """The violation list is scoped to the officer's municipalities; another municipality's case is 403."""
    admin = token("region", "admin")
    assert api.post("/api/v1/enforcement/passages", json=_body(AMS, HLM), headers=admin).status_code == 200
    enf.run()
    ams = token("ams", "officer", ("GM0363",))
    listed = api.get("/api/v1/enforcement/violations", headers=ams).json()
    assert [(i["municipality"], i["plate"]) for i in listed["items"]] == [("GM0363", "VQ401A")]
    everything = api.get("/api/v1/enforcement/violations", headers=admin).json()
    assert everything["total"] == 2
    hlm_case = next(i for i in everything["items"] if i["municipality"] == "GM0392")
    assert api.get(f"/api/v1/enforcement/violations/{hlm_case['id']}", headers=ams).status_code == 403
    assert api.get("/api/v1/enforcement/violations?municipality=GM0392", headers=ams).status_code == 403
    own = api.get(f"/api/v1/enforcement/violations/{listed['items'][0]['id']}", headers=ams).json()
    assert own["evidence"] == [
        {
            "camera_id": "CAM-AMS-1",
            "at": at(2025, 9, 10, 9).isoformat(),
            "confidence": pytest.approx(0.95),
            "regulation_id": own["regulation_id"],
        }
    ]
    with session_scope(enf.ctx.engine) as s:
        log = [
            (a.actor, a.action, a.sanction_id) for a in s.scalars(select(ViolationAccess).order_by(ViolationAccess.id))
        ]
    assert log == [("ams", "list", None), ("region", "list", None), ("ams", "view", own["id"])]


def test_review_queue_is_scoped(api: Any, enf: Enf, token: Callable[..., dict[str, str]]) -> None:
    """Low-confidence reads wait for an officer of the camera's municipality."""
    admin = token("region", "admin")
    body = {"passages": [{"camera_id": "CAM-HLM-1", "at": HLM[1], "plate": "VQ402A", "confidence": 0.4}]}
    assert api.post("/api/v1/enforcement/passages", json=body, headers=admin).status_code == 200
    enf.run()
    hlm = token("hlm", "officer", ("GM0392",))
    ams = token("ams", "officer", ("GM0363",))
    assert [i["reason"] for i in api.get("/api/v1/enforcement/review", headers=hlm).json()["items"]] == [
        "low_confidence"
    ]
    assert api.get("/api/v1/enforcement/review", headers=ams).json()["total"] == 0


def test_every_review_listing_that_shows_plates_is_logged(
    api: Any, enf: Enf, token: Callable[..., dict[str, str]]
) -> None:
    """The queue shows plates as read: who listed which items is in the access log; an empty listing is not."""
    admin = token("region", "admin")
    body = {"passages": [{"camera_id": "CAM-HLM-1", "at": HLM[1], "plate": "VQ402A", "confidence": 0.4}]}
    assert api.post("/api/v1/enforcement/passages", json=body, headers=admin).status_code == 200
    enf.run()
    shown = api.get("/api/v1/enforcement/review", headers=token("hlm", "officer", ("GM0392",))).json()["items"]
    assert api.get("/api/v1/enforcement/review", headers=token("ams", "officer", ("GM0363",))).json()["items"] == []
    with session_scope(enf.ctx.engine) as s:
        rows = list(s.scalars(select(ViolationAccess).where(ViolationAccess.action == "review_list")))
    assert [(r.actor, r.detail["ids"]) for r in rows] == [("hlm", [i["id"] for i in shown])]


@pytest.mark.parametrize(("offset", "status"), [(2**31 - 1, 200), (2**31, 422), (2**70, 422), (-1, 422)])
def test_violation_list_offset_is_bounded(
    api: Any, token: Callable[..., dict[str, str]], offset: int, status: int
) -> None:
    """An offset beyond what the database can hold is refused as bad input (found by schemathesis: was a 500)."""
    headers = token("ams-offset", "officer", ("GM0363",), None)
    r = api.get("/api/v1/enforcement/violations", params={"offset": offset}, headers=headers)
    assert r.status_code == status, r.text
    if status == 422:
        assert "offset" in r.text
