"""Officers resolve the review queue: a confirmed or corrected read is evaluated again by the pipeline and may
join or make a sanction (one per vehicle, zone and day), a dismissed read leaves no identifiable data, every
decision is audited, and only officers of the camera's municipality may decide (service and API)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from enforcement_kit import NOW, ZE_AMS, Enf, at
from sqlalchemy import select

from ruas.domain.errors import Conflict, InvalidInput, NotFound
from ruas.enforcement import service
from ruas.enforcement.policy import add_version
from ruas.enforcement.privacy import EnforcementSettings
from ruas.services.accounts import Forbidden, Principal
from ruas.store.db import session_scope
from ruas.store.models import Sanction, ViolationAccess

DAY = date(2025, 9, 10)
AMS_OFFICER = Principal(user_id=1, username="ams", role="officer", municipalities=frozenset({"GM0363"}))
HLM_OFFICER = Principal(user_id=2, username="hlm", role="officer", municipalities=frozenset({"GM0392"}))
Headers = Callable[..., dict[str, str]]


def _queue(enf: Enf, who: Principal = AMS_OFFICER) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = service.review_queue(enf.store, who)["items"]
    return items


def _item(enf: Enf, plate_read: str) -> str:
    (found,) = {i["id"] for i in _queue(enf) if i["plate_read"] == plate_read}
    return found


def _resolve(enf: Enf, item: str, action: str, plate: str | None = None, who: Principal = AMS_OFFICER) -> Any:
    return service.resolve_review(enf.ctx, who, item, action=action, plate=plate, now=NOW)


def _audit(enf: Enf) -> list[ViolationAccess]:
    with session_scope(enf.ctx.engine) as s:
        return list(s.scalars(select(ViolationAccess).order_by(ViolationAccess.id)))


def _all_text(root: Path) -> str:
    """Every string of every Parquet file (decoded) plus the raw bytes of every other file."""
    parts: list[str] = []
    for f in root.rglob("*"):
        if f.is_file() and f.suffix == ".parquet":
            frame = pl.read_parquet(f)
            for c in frame.columns:
                parts.extend(str(v) for v in frame.get_column(c).cast(pl.Utf8).to_list())
        elif f.is_file():
            parts.append(f.read_bytes().decode("latin-1"))
    return "\n".join(parts)


def _counts_add_up(enf: Enf) -> dict[str, int]:
    """The aggregates count exactly the records, per outcome (a correction must not double-count its read)."""
    agg = enf.store.read_many(enf.store.partitions("aggregates", DAY))
    rec = enf.records()
    assert agg is not None
    by_agg = {str(o): int(n) for o, n in agg.group_by("outcome").agg(pl.col("passages").sum()).iter_rows()}
    by_rec = {str(o): int(n) for o, n in rec.group_by(pl.col("outcome").cast(pl.Utf8)).len().iter_rows()}
    assert by_agg == by_rec
    return by_rec


@pytest.fixture
def misread(enf: Enf) -> Enf:
    """A day in Amsterdam: VQ401A (class-4 diesel van: a violation in ZE Amsterdam) misread as ``VQ4O1A``
    (letter O: not in the register) at 09:00, and the electric van VQ601A read with low confidence at 10:00."""
    enf.ingest(
        [
            ("CAM-AMS-1", at(2025, 9, 10, 9), "VQ4O1A", 0.92, None),
            ("CAM-AMS-1", at(2025, 9, 10, 10), "VQ601A", 0.55, None),
        ]
    )
    (result,) = enf.run()
    assert result.outcomes["not_enforceable"] == 2 and result.review == 2
    return enf


def test_a_corrected_read_that_is_a_violation_gets_one_fine(misread: Enf) -> None:
    enf = misread
    item = _item(enf, "VQ4O1A")
    result = _resolve(enf, item, "correct", "vq-401-a")
    assert result.outcomes == {ZE_AMS: "violation"} and (result.new, result.updated, result.withdrawn) == (1, 0, 0)
    (fine,) = enf.sanctions()
    assert (fine.plate, fine.kind, fine.amount_eur, fine.passages, fine.status) == ("VQ401A", "fine", 120.0, 1, "open")
    assert result.sanctions == (fine.id,)
    assert [i["plate_read"] for i in _queue(enf)] == ["VQ601A"]
    # the evidence holds the read as decided, at full confidence; the record says violation, the counts add up
    evidence = enf.store.read_many(enf.store.partitions("violations", DAY))
    assert evidence is not None
    assert evidence.select("plate", "confidence").rows() == [("VQ401A", 1.0)]
    assert _counts_add_up(enf) == {"violation": 1, "not_enforceable": 1}
    # audited: who, what was read, what it became, which sanction
    (audit,) = [a for a in _audit(enf) if a.action.startswith("review_")]
    assert (audit.actor, audit.action, audit.sanction_id, audit.municipality) == (
        "ams",
        "review_correct",
        fine.id,
        "GM0363",
    )
    assert (audit.detail["plate_read"], audit.detail["plate"], audit.detail["item"]) == ("VQ4O1A", "VQ401A", item)
    # the detail view shows the correction and why it is a fine
    with session_scope(enf.ctx.engine) as s:
        view = service.view_sanction(s, enf.store, AMS_OFFICER, fine.id, now=NOW, book=enf.ctx.register.book)
    assert [(c["actor"], c["plate_read"], c["plate"]) for c in view["corrections"]] == [("ams", "VQ4O1A", "VQ401A")]
    assert view["explanation"]["fines_from"] == "2025-07-01" and view["explanation"]["warning_period_months"] == 6


def test_correcting_twice_does_not_duplicate(misread: Enf) -> None:
    """The same decision sent again is a conflict naming who decided; a re-run of the day changes nothing."""
    enf = misread
    item = _item(enf, "VQ4O1A")
    _resolve(enf, item, "correct", "VQ401A")
    with pytest.raises(Conflict, match="already resolved \\(correct\\) by ams"):
        _resolve(enf, item, "correct", "VQ401A")
    (fine,) = enf.sanctions()
    (again,) = enf.run([DAY])
    assert (again.sanctions_new, again.sanctions_updated, again.sanctions_withdrawn) == (0, 0, 0)
    (after,) = enf.sanctions()
    assert (after.id, after.revision, after.status) == (fine.id, 1, "open")
    assert _counts_add_up(enf)["violation"] == 1


def test_a_batch_sent_again_after_a_correction_changes_nothing(misread: Enf) -> None:
    """The camera's batch arrives a second time after the officer corrected VQ4O1A to VQ401A: ingest recognises
    both reads (the corrected one by its superseded read), the queue keeps only the other item, no second fine."""
    enf = misread
    _resolve(enf, _item(enf, "VQ4O1A"), "correct", "VQ401A")
    again = enf.ingest(
        [
            ("CAM-AMS-1", at(2025, 9, 10, 9), "VQ4O1A", 0.92, None),
            ("CAM-AMS-1", at(2025, 9, 10, 10), "VQ601A", 0.55, None),
        ]
    )
    assert (again.stored, again.duplicates) == (0, 2)
    assert enf.run() == []
    assert [i["plate_read"] for i in _queue(enf)] == ["VQ601A"]
    assert len(enf.sanctions()) == 1
    assert _counts_add_up(enf) == {"violation": 1, "not_enforceable": 1}
    # the superseded read goes with the records' retention
    with session_scope(enf.ctx.engine) as s:
        service.purge(s, enf.store, EnforcementSettings(), now=NOW + timedelta(days=400))
    assert enf.store.partitions("superseded") == []


def test_a_correction_leaves_other_vehicles_sanctions_as_they_are(enf: Enf) -> None:
    """The truck VQ701T was fined by the run; then Amsterdam added a policy version for that day (one sanction per
    passage). Correcting the van's misread sanctions the van; the truck's fine is not re-planned under the new
    version (that is a re-run's job, for the whole day)."""
    enf.ingest(
        [
            ("CAM-AMS-1", at(2025, 9, 10, 9), "VQ4O1A", 0.92, None),
            ("CAM-AMS-1", at(2025, 9, 10, 10), "VQ701T"),
            ("CAM-AMS-1", at(2025, 9, 10, 11), "VQ701T"),
        ]
    )
    enf.run()
    (truck,) = enf.sanctions()
    with session_scope(enf.ctx.engine) as s:
        add_version(
            s,
            scope="GM0363",
            valid_from=DAY,
            parameters={"one_sanction_per_vehicle_per_zone_per_day": False},
            actor="test",
            now=NOW,
        )
    result = _resolve(enf, _item(enf, "VQ4O1A"), "correct", "VQ401A")
    assert (result.new, result.updated, result.withdrawn) == (1, 0, 0)
    after = {s.plate: s for s in enf.sanctions()}
    assert set(after) == {"VQ401A", "VQ701T"}
    kept = after["VQ701T"]
    assert (kept.id, kept.revision, kept.status, kept.passages, kept.slot) == (truck.id, 1, "open", 2, 0)


def test_two_corrected_reads_of_one_vehicle_and_a_plain_one_give_one_sanction(enf: Enf) -> None:
    """One vehicle, one zone, one day: a read the camera got right and two misreads corrected by officers end in
    one fine counting three passages (the first passage of the day is the offence)."""
    enf.ingest(
        [
            ("CAM-AMS-1", at(2025, 9, 10, 8), "VQ4O1A", 0.95, None),
            ("CAM-AMS-1", at(2025, 9, 10, 12), "VQ401A", 0.95, None),
            ("CAM-AMS-1", at(2025, 9, 10, 15), "VQ4O1B", 0.95, None),
        ]
    )
    enf.run()
    (plain,) = enf.sanctions()
    assert plain.passages == 1
    first = _resolve(enf, _item(enf, "VQ4O1A"), "correct", "VQ401A")
    second = _resolve(enf, _item(enf, "VQ4O1B"), "correct", "VQ401A")
    assert (first.new, first.updated, second.new, second.updated) == (0, 1, 0, 1)
    (fine,) = enf.sanctions()
    assert (fine.id, fine.passages, fine.passage_at, fine.revision) == (plain.id, 3, at(2025, 9, 10, 8), 3)
    assert first.sanctions == second.sanctions == (plain.id,)


def test_a_correction_inside_the_warning_period_gives_a_warning(enf: Enf) -> None:
    enf.ingest([("CAM-AMS-1", at(2025, 6, 30, 9), "VQ7O1T", 0.9, None)])
    enf.run()
    result = _resolve(enf, _item(enf, "VQ7O1T"), "correct", "VQ-701-T")
    (warning,) = enf.sanctions()
    assert (warning.kind, warning.amount_eur, warning.day) == ("warning", None, date(2025, 6, 30))
    assert result.sanctions == (warning.id,)


def test_confirming_a_low_confidence_read(enf: Enf) -> None:
    """A read the camera doubted that the officer confirms is evaluated as read: here a violation."""
    enf.ingest([("CAM-AMS-1", at(2025, 9, 10, 9), "VQ402A", 0.5, None)])
    enf.run()
    result = _resolve(enf, _item(enf, "VQ402A"), "confirm")
    (fine,) = enf.sanctions()
    assert fine.plate == "VQ402A" and result.action == "confirm" and result.sanctions == (fine.id,)
    assert _counts_add_up(enf) == {"violation": 1}


def test_a_corrected_read_that_is_compliant_keeps_no_plate_anywhere(misread: Enf) -> None:
    """Corrected to the electric van: compliant, so no sanction, and neither the read nor the plate is kept
    (not in any file, not in the audit row); the record carries only a pseudonym."""
    enf = misread
    result = _resolve(enf, _item(enf, "VQ4O1A"), "correct", "VQ601A")
    assert result.outcomes == {ZE_AMS: "compliant"} and result.sanctions == ()
    assert enf.sanctions() == []
    text = _all_text(enf.data_dir / "enforcement")
    assert "VQ4O1A" not in text
    assert "VQ601A" in text  # the other, still unresolved low-confidence read: the scan does find plates
    (audit,) = [a for a in _audit(enf) if a.action.startswith("review_")]
    assert not {"plate", "plate_read", "confidence_read"} & set(audit.detail)
    assert "VQ4O1A" not in str(audit.detail) and "VQ601A" not in str(audit.detail)
    assert _counts_add_up(enf) == {"compliant": 1, "not_enforceable": 1}


def test_a_dismissed_read_leaves_no_identifiable_data(misread: Enf) -> None:
    enf = misread
    _resolve(enf, _item(enf, "VQ601A"), "dismiss")
    _resolve(enf, _item(enf, "VQ4O1A"), "dismiss")
    assert _queue(enf) == [] and enf.sanctions() == []
    assert enf.store.partitions("review") == []
    text = _all_text(enf.data_dir / "enforcement")
    for plate in ("VQ601A", "VQ4O1A"):
        assert plate not in text
    audits = [a for a in _audit(enf) if a.action.startswith("review_")]
    assert [a.action for a in audits] == ["review_dismiss", "review_dismiss"]
    assert all("VQ" not in str(a.detail) for a in audits)
    # still counted (de-identified): two passages that could not be enforced
    assert _counts_add_up(enf) == {"not_enforceable": 2}


@pytest.mark.parametrize(
    ("plate", "field", "message"),
    [
        ("VQ999Z", "plate", "not in the vehicle register"),
        ("12", "plate", "malformed"),
        ("", "plate", "give the plate"),
    ],
)
def test_a_correction_that_cannot_be_enforced_changes_nothing(
    misread: Enf, plate: str, field: str, message: str
) -> None:
    enf = misread
    item = _item(enf, "VQ4O1A")
    before = _all_text(enf.data_dir / "enforcement")
    with pytest.raises(InvalidInput, match=message) as caught:
        _resolve(enf, item, "correct", plate)
    assert caught.value.details["field"] == field
    assert _all_text(enf.data_dir / "enforcement") == before
    assert [a for a in _audit(enf) if a.action.startswith("review_")] == []
    with pytest.raises(InvalidInput, match="not in the vehicle register"):
        _resolve(enf, item, "confirm")  # VQ4O1A as read is no vehicle of the register


def test_officers_decide_only_for_their_own_municipality(misread: Enf) -> None:
    enf = misread
    item = _item(enf, "VQ4O1A")
    with pytest.raises(Forbidden):
        _resolve(enf, item, "dismiss", who=HLM_OFFICER)
    assert service.review_queue(enf.store, HLM_OFFICER)["items"] == []
    applicant = Principal(user_id=3, username="carrier", role="applicant", kvk="12345678")
    with pytest.raises(Forbidden):
        _resolve(enf, item, "dismiss", who=applicant)
    with pytest.raises(NotFound):
        _resolve(enf, item[:-1] + ("0" if item[-1] != "0" else "1"), "dismiss")
    with pytest.raises(InvalidInput, match="expected YYYYMMDD"):
        _resolve(enf, "not-an-item", "dismiss")
    assert len(_queue(enf)) == 2


def test_purge_drops_the_plates_of_old_decisions(misread: Enf) -> None:
    enf = misread
    _resolve(enf, _item(enf, "VQ4O1A"), "correct", "VQ401A")
    settings = EnforcementSettings()
    later = NOW.replace(year=2028)  # past the violations' retention of 2025-09-10
    assert (later.date() - timedelta(days=settings.violation_retention_days)) > DAY
    with session_scope(enf.ctx.engine) as s:
        service.purge(s, enf.store, settings, now=later)
    (audit,) = [a for a in _audit(enf) if a.action.startswith("review_")]
    assert audit.actor == "ams" and audit.detail["camera_id"] == "CAM-AMS-1"
    assert not {"plate", "plate_read", "confidence_read"} & set(audit.detail)
    assert enf.sanctions() == []


# --------------------------------------------------------------------------- the API


def test_api_correction_for_officers_of_the_municipality_only(api: Any, misread: Enf, token: Headers) -> None:
    enf = misread
    listed = api.get("/api/v1/enforcement/review", headers=token("ams", "officer", ("GM0363",))).json()
    item = next(i["id"] for i in listed["items"] if i["plate_read"] == "VQ4O1A")
    url = f"/api/v1/enforcement/review/{item}"
    body = {"action": "correct", "plate": "VQ-401-A"}
    assert api.post(url, json=body).status_code == 401
    carrier = token("carrier", "applicant", (), "12345678")
    hlm = token("hlm", "officer", ("GM0392",))
    for headers in (carrier, hlm):
        refused = api.post(url, json=body, headers=headers)
        assert refused.status_code == 403, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
    assert enf.sanctions() == [] and len(_queue(enf)) == 2
    ams = {"Authorization": token("ams2", "officer", ("GM0363",))["Authorization"]}
    done = api.post(url, json=body, headers=ams)
    assert done.status_code == 200, done.text
    (fine,) = enf.sanctions()
    assert done.json() == {
        "item": item,
        "action": "correct",
        "outcomes": {ZE_AMS: "violation"},
        "sanctions": [fine.id],
        "sanctions_changed": {"new": 1, "updated": 0, "withdrawn": 0},
    }
    twice = api.post(url, json=body, headers=ams)
    assert twice.status_code == 409 and "ams2" in twice.json()["detail"]
    assert len(enf.sanctions()) == 1
    bad = api.post(url.replace(item, _item(enf, "VQ601A")), json={"action": "correct", "plate": "VQ999Z"}, headers=ams)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "plate"
    wrong = api.post(url, json={"action": "approve"}, headers=ams)
    assert wrong.status_code == 422
    view = api.get(f"/api/v1/enforcement/violations/{fine.id}", headers=ams).json()
    assert view["corrections"][0]["actor"] == "ams2" and view["explanation"]["fines_from"] == "2025-07-01"
    zone = api.get(f"/api/v1/enforcement/violations?zone={ZE_AMS}", headers=ams).json()
    other = api.get("/api/v1/enforcement/violations?zone=ams-s100-heavy", headers=ams).json()
    assert (zone["total"], other["total"]) == (1, 0)


def test_the_sanction_list_downloads_as_csv_and_is_logged(misread: Enf) -> None:
    enf = misread
    _resolve(enf, _item(enf, "VQ4O1A"), "correct", "VQ401A")
    with session_scope(enf.ctx.engine) as s:
        data = service.sanctions_csv(s, enf.ctx.register.book, AMS_OFFICER, now=NOW)
        nothing = service.sanctions_csv(s, enf.ctx.register.book, AMS_OFFICER, now=NOW, kind="warning")
    lines = data.decode().splitlines()
    assert lines[0] == ",".join(service.EXPORT_COLUMNS) and len(lines) == 2
    assert "VQ401A" in lines[1] and lines[1].startswith("fine,new,")
    assert nothing.decode().splitlines() == [",".join(service.EXPORT_COLUMNS)]
    downloads = [a for a in _audit(enf) if a.action == "download"]
    assert [len(a.detail["ids"]) for a in downloads] == [1, 0]
    with session_scope(enf.ctx.engine) as s:
        assert s.scalar(select(Sanction.exported_revision)) == 0  # a download is not an export
