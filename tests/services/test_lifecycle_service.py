"""The lifecycle service: record validation naming the field, diffs, templates and deviations, publication
and withdrawal in the store, and framework seeding — the store-touching tests on SQLite and PostgreSQL."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from ruas.api.errors import Conflict
from ruas.domain.errors import InvalidInput
from ruas.register.records import compile_record
from ruas.register.store import Register
from ruas.rules.frameworks import RuleSettings
from ruas.services.accounts import AuthError, Forbidden, Principal
from ruas.services.lifecycle import (
    Lifecycle,
    ZoneFromTemplate,
    adopt,
    adopted_parameters,
    check_deviations,
    compact_diff,
    embedded_framework,
    hold_back,
    seed_framework,
    validate_record,
    zone_record_from_template,
)
from ruas.store.db import session_scope
from ruas.store.models import AuditEntry, FrameworkItem

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SQUARE = {
    "type": "Polygon",
    "coordinates": [[[4.90, 52.40], [4.91, 52.40], [4.91, 52.41], [4.90, 52.41], [4.90, 52.40]]],
}
DEEP: dict[str, Any] = {}
for _ in range(70):
    DEEP = {"a": DEEP}
AMS_OFFICER = Principal(user_id=1, username="officer-ams", role="officer", municipalities=frozenset({"GM0363"}))
HLM_OFFICER = Principal(user_id=2, username="officer-hlm", role="officer", municipalities=frozenset({"GM0392"}))


def square_zone() -> dict[str, Any]:
    """A tiny valid delivery-window zone of Amsterdam."""
    return {
        "id": "sq",
        "name": "Square",
        "kind": "time_window",
        "authority": "GM0363",
        "geometry": copy.deepcopy(SQUARE),
        "regulations": [
            {
                "custom": {
                    "id": "sq/window",
                    "name": "window",
                    "subject_label": "motor vehicles only Mo-Sa 07:00-11:00",
                    "subject": {"not": {"field": "at", "op": "in_window", "value": "Mo-Sa 07:00-11:00"}},
                    "legal_source": {"citation": "test decree"},
                }
            }
        ],
    }


def framework_item(item_id: str) -> dict[str, Any]:
    """An item of the embedded framework."""
    return next(dict(i) for i in embedded_framework()["items"] if i["id"] == item_id)


def validate(record: Any) -> dict[str, Any]:
    """Validate against an empty register."""
    return validate_record(record, "sq", context=[], settings=RuleSettings())


def test_a_valid_record_passes_with_the_authority_name_filled_in() -> None:
    """The square zone is accepted as given, plus the municipality's name."""
    out = validate(square_zone())
    assert out["authority_name"] == "Amsterdam"
    assert {k: v for k, v in out.items() if k != "authority_name"} == square_zone()


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A mutation that sets ``a.b[0].c`` to ``value`` (``value`` ... removes the key)."""

    def mutate(record: dict[str, Any]) -> None:
        node: Any = record
        keys: list[Any] = [int(p) if p.isdigit() else p for p in path.replace("[", ".").replace("]", "").split(".")]
        for key in keys[:-1]:
            node = node[key]
        if value is ...:
            del node[keys[-1]]
        else:
            node[keys[-1]] = value

    return mutate


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (_set("name", ...), "name"),
        (_set("kind", "zoo"), "kind"),
        (_set("authority", "GM9999"), "authority"),
        (_set("id", "other"), "id"),
        (_set("regulation", []), "regulation"),
        (_set("regulations", []), "regulations"),
        (_set("geometry.type", "Point"), "geometry.type"),
        (
            _set("geometry.coordinates", [[[52.40, 4.90], [52.41, 4.90], [52.41, 4.91], [52.40, 4.90]]]),
            "geometry.coordinates",
        ),
        (_set("regulations[0].custom.legal_source", ...), "regulations[0].custom.legal_source"),
        (_set("regulations[0].custom.subject.not.field", "colour"), "regulations[0].custom.subject.not"),
        (_set("regulations[0].custom.subject.not.value", "Mo-Xa 07:00"), "regulations[0].custom.subject.not"),
        (_set("regulations[0].custom.validity", {"start": "2026-13-01"}), "regulations[0].custom.validity.start"),
        (_set("regulations[0].custom.exemption_types", ["no-such-type"]), "regulations[0].custom.exemption_types[0]"),
        (_set("regulations[0]", {"framework": "nl-no-such-framework"}), "regulations[0].framework"),
        (_set("regulations[0].custom.validity", {"start": "0001-01-01"}), "regulations[0].custom.validity.start"),
        (_set("source", DEEP), "record"),
    ],
)
def test_an_invalid_record_names_the_field(mutate: Callable[[dict[str, Any]], None], field: str) -> None:
    """Each broken part of a record is refused with its path as the field."""
    record = square_zone()
    mutate(record)
    with pytest.raises(InvalidInput) as caught:
        validate(record)
    assert caught.value.details["field"] == field


def test_a_regulation_id_of_another_zone_is_refused() -> None:
    """Two zones may not share a regulation id."""
    other = {**square_zone(), "id": "other"}
    with pytest.raises(InvalidInput) as caught:
        validate_record(square_zone(), "sq", context=[other], settings=RuleSettings())
    assert caught.value.details["field"] == "regulations[0].custom.id"


def test_the_diff_names_regulations_by_id_and_summarises_areas() -> None:
    """A changed window is reported at its path under the regulation's id; a new area as a summary."""
    old, new = square_zone(), square_zone()
    new["regulations"][0]["custom"]["subject"]["not"]["value"] = "Mo-Sa 07:00-12:00"
    new["geometry"]["coordinates"][0][1] = [4.92, 52.40]
    diff = compact_diff(old, new)
    assert [d["path"] for d in diff] == ["geometry", "regulations[sq/window].custom.subject.not.value"]
    assert diff[0]["to"].startswith("<Polygon with")
    assert diff[1] == {
        "path": "regulations[sq/window].custom.subject.not.value",
        "from": "Mo-Sa 07:00-11:00",
        "to": "Mo-Sa 07:00-12:00",
    }


def test_holding_back_moves_only_earlier_starts() -> None:
    """Regulations starting before the effective date start on it; a later start is kept."""
    record = square_zone()
    record["regulations"].append({"framework": "nl-ze-zone", "start": "2099-01-01", "legal_source": {"citation": "x"}})
    held = hold_back(record, datetime(2030, 1, 1, tzinfo=UTC))
    assert held["regulations"][0]["custom"]["validity"]["start"] == "2030-01-01T00:00:00+00:00"
    assert held["regulations"][1]["start"] == "2099-01-01"
    assert "validity" not in record["regulations"][0]["custom"]  # the input is left alone


@pytest.mark.parametrize(
    ("item_id", "deviations", "expected"),
    [
        ("venstertijd-winkelgebied", {"window": "Mo-Sa 07:00-12:00; PH off"}, {"window": "Mo-Sa 07:00-12:00; PH off"}),
        ("venstertijd-winkelgebied", {"window": "Mo-Sa 07:00-11:00; PH off"}, {}),  # equal: not a deviation
        ("venstertijd-winkelgebied", {"vehicle_groups": ["N", "M"]}, {}),  # the same groups in another order
        ("handhaving-ze-zone", {"warning_period_months": 9}, {"warning_period_months": 9}),
        (
            "handhaving-ze-zone",
            {"one_sanction_per_vehicle_per_zone_per_day": False},
            {"one_sanction_per_vehicle_per_zone_per_day": False},
        ),
        ("ontheffing-ze-dagontheffing", {"fee_eur": 25}, {"fee_eur": 25}),
    ],
)
def test_deviations_keep_only_what_differs(item_id: str, deviations: dict[str, Any], expected: dict[str, Any]) -> None:
    """Valid deviations are stored as given; values equal to the framework's are dropped."""
    assert check_deviations(framework_item(item_id), deviations) == expected


@pytest.mark.parametrize(
    ("item_id", "deviations", "field"),
    [
        ("handhaving-ze-zone", {"warning_period_months": 5}, "deviations.warning_period_months"),
        ("handhaving-ze-zone", {"fine_eur_truck": 200}, "deviations.fine_eur_truck"),
        (
            "handhaving-ze-zone",
            {"foreign_plates_camera_enforceable": True},
            "deviations.foreign_plates_camera_enforceable",
        ),
        ("ontheffing-ze-dagontheffing", {"max_per_year": 13}, "deviations.max_per_year"),
        ("venstertijd-winkelgebied", {"window": "07:00 to 12:00"}, "deviations.window"),
        ("venstertijd-winkelgebied", {"vehicle_groups": []}, "deviations.vehicle_groups"),
        ("venstertijd-winkelgebied", {"colour": "red"}, "deviations.colour"),
    ],
)
def test_deviations_outside_the_framework_are_refused(item_id: str, deviations: dict[str, Any], field: str) -> None:
    """A warning period under 6 months, a national fine, a fixed cap, a bad window or an unknown parameter: 422."""
    with pytest.raises(InvalidInput) as caught:
        check_deviations(framework_item(item_id), deviations)
    assert caught.value.details["field"] == field


def test_a_window_template_makes_a_zone_with_the_local_window() -> None:
    """The delivery-window template, with Haarlem's 07:00-12:00, compiles to a zone refusing at 11:30."""
    zone = ZoneFromTemplate(id="hlm-test", name="Haarlem test", geometry=SQUARE)
    record = zone_record_from_template(
        {**framework_item("venstertijd-winkelgebied")}, "GM0392", {"window": "Mo-Sa 07:00-12:00; PH off"}, zone
    )
    checked = validate_record(record, "hlm-test", context=[], settings=RuleSettings())
    compiled = compile_record(checked, RuleSettings())
    assert compiled.authority == "GM0392" and compiled.regulations[0].name.startswith("Haarlem test: loading")
    subject = checked["regulations"][0]["custom"]["subject"]
    assert subject["all"][1]["not"]["value"] == "Mo-Sa 07:00-12:00; PH off"
    assert checked["source"]["deviations"] == {"window": "Mo-Sa 07:00-12:00; PH off"}


# --------------------------------------------------------------------------- with a store (both backends)


@pytest.fixture
def register(backend_dir: Path) -> Register:
    """The seeded register on SQLite or PostgreSQL."""
    return Register.open(backend_dir, RuleSettings())


def test_framework_seeding_is_idempotent(register: Register) -> None:
    """The first seeding stores every item once; a second changes and audits nothing."""
    engine = register.store.engine
    items = len(embedded_framework()["items"])
    assert seed_framework(engine, now=NOW) == items
    assert seed_framework(engine, now=NOW) == 0
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(FrameworkItem)) == items
        seeded = select(func.count()).select_from(AuditEntry).where(AuditEntry.entity == "framework_item")
        assert s.scalar(seeded) == items


def test_a_draft_is_never_in_force_and_publishing_bumps_the_register(register: Register) -> None:
    """The draft stays out of the records; publishing adds the zone and bumps the version once."""
    lifecycle = Lifecycle(register)
    before = register.store.version()
    lifecycle.save_draft(AMS_OFFICER, "sq", square_zone(), now=NOW)
    assert "sq" not in {r["id"] for r in register.store.load_records()}
    assert register.store.version() == before
    published = lifecycle.publish(AMS_OFFICER, "sq", now=NOW, note="new")
    assert published.version.version == 1 and published.register_version == before + 1
    assert register.book.zone("sq").name == "Square"
    with pytest.raises(Conflict):
        lifecycle.publish(AMS_OFFICER, "sq", now=NOW)  # the draft is gone


def test_withdrawal_takes_the_zone_out_of_force(register: Register) -> None:
    """After withdrawal the zone is not among the records and its version is listed as withdrawn."""
    lifecycle = Lifecycle(register)
    lifecycle.save_draft(AMS_OFFICER, "sq", square_zone(), now=NOW)
    lifecycle.publish(AMS_OFFICER, "sq", now=NOW)
    assert lifecycle.withdraw(AMS_OFFICER, "sq", now=NOW, note="repealed")[0] == 1
    assert not register.book.has_zone("sq")
    assert [(v.version, v.status, v.in_force) for v in lifecycle.versions("sq")] == [(1, "withdrawn", False)]


def test_adopted_parameters_apply_the_deviations(register: Register) -> None:
    """Amsterdam's enforcement policy is the framework's with a 9-month warning period; Haarlem has none."""
    adopt(
        Lifecycle(register),
        AMS_OFFICER,
        "handhaving-ze-zone",
        municipality="GM0363",
        deviations={"warning_period_months": 9},
        now=NOW,
    )
    with session_scope(register.store.engine) as s:
        policy = adopted_parameters(s, "GM0363", "handhaving-ze-zone")
        assert adopted_parameters(s, "GM0392", "handhaving-ze-zone") is None
    assert policy is not None
    assert (policy["warning_period_months"], policy["fine_eur_truck"]) == (9, 310)


def test_an_effective_date_outside_the_register_range_is_refused(register: Register) -> None:
    """Publishing effective from the year 1 is 422 naming effective_from, and the draft stays a draft."""
    lifecycle = Lifecycle(register)
    lifecycle.save_draft(AMS_OFFICER, "sq", square_zone(), now=NOW)
    with pytest.raises(InvalidInput) as caught:
        lifecycle.publish(AMS_OFFICER, "sq", now=NOW, effective_from=datetime(1, 1, 2, tzinfo=UTC))
    assert caught.value.details["field"] == "effective_from"
    assert [r.status for r in register.store.zone_history("sq")] == ["draft"]


def test_rights_follow_the_zone_authority(register: Register) -> None:
    """Haarlem's officer may not draft for Amsterdam; anonymous is an authentication error; nothing is stored."""
    lifecycle = Lifecycle(register)
    with pytest.raises(Forbidden):
        lifecycle.save_draft(HLM_OFFICER, "sq", square_zone(), now=NOW)
    with pytest.raises(Forbidden):
        lifecycle.save_draft(HLM_OFFICER, "ams-osdorpplein", {**square_zone(), "authority": "GM0392"}, now=NOW)
    with pytest.raises(AuthError):
        lifecycle.save_draft(Principal(), "sq", square_zone(), now=NOW)
    assert register.store.zone_history("sq") == []
