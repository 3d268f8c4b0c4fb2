"""The single-decision engine: grants, delivery windows, DST, dates, timelines and algebraic properties."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruas_rules_kit import (
    DST_WINDOW,
    NIGHT_WINDOW,
    ONE_MINUTE,
    TZ,
    ZE_START,
    build_book,
    goods_vehicles,
    local,
    midnight,
    moments_for,
    random_moments,
    vehicle,
    vehicles,
    window_zone,
    with_zones,
)

from ruas.domain.conditions import TRUE, Condition, from_data
from ruas.domain.decision import Access, Decision, Effect, TimelineState, ZoneDecision
from ruas.domain.errors import InvalidInput, UnknownZone
from ruas.domain.regulation import Clause, ExemptionGrant, GrantStatus, Zone
from ruas.domain.timeutil import Interval
from ruas.domain.vehicle import EmissionClass, Fuel, Vehicle
from ruas.domain.windows import TimeWindow
from ruas.rules.engine import HORIZON, RuleBook, decide, timeline

PROPERTY = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DIESEL_CLASS4_VAN = vehicle(emission_class=EmissionClass.E4, first_admission=date(2008, 3, 10))
GRANT_DAY = date(2026, 3, 2)  # a Monday


def one(book: RuleBook, v: Vehicle, zone: str, at: datetime, grants: tuple[ExemptionGrant, ...] = ()) -> ZoneDecision:
    """The decision for one zone."""
    return decide(book, v, [zone], at=at, grants=grants).zones[0]


def window_book(book: RuleBook, expression: str, zone_id: str = "w") -> RuleBook:
    """A register with one delivery-window zone ``zone_id`` open during ``expression``."""
    return with_zones(book, [window_zone(zone_id, expression)])


def day_grant(**kw: object) -> ExemptionGrant:
    """A ZE dagontheffing for VQ123B valid 2026-03-02 00:00 until 2026-03-03 06:00 local."""
    base = ExemptionGrant(
        "grant-1", "ze-dagontheffing", "VQ123B", Interval(midnight(2026, 3, 2), local(2026, 3, 3, 6, 0))
    )
    return replace(base, **kw)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- held grants


@pytest.mark.parametrize(
    "at",
    [midnight(2026, 3, 2), local(2026, 3, 2, 10), local(2026, 3, 2, 23, 59), local(2026, 3, 3, 5, 59)],
    ids=["00:00", "10:00", "23:59", "next-05:59"],
)
def test_day_exemption_gives_access_until_six_next_morning(book: RuleBook, at: datetime) -> None:
    """A held dagontheffing lifts the ZE rule from 00:00 until 06:00 the next day."""
    d = one(book, DIESEL_CLASS4_VAN, "ze", at, (day_grant(),))
    assert d.access is Access.ALLOWED_WITH_EXEMPTION
    assert d.allowed
    assert d.allowed_until == local(2026, 3, 3, 6, 0)
    assert d.allowed_from is None
    assert [r.effect for r in d.reasons] == [Effect.GRANT_HELD]
    held = [o.type_id for o in d.exemptions if o.held]
    assert held == ["ze-dagontheffing"]


@pytest.mark.parametrize(
    ("at", "allowed_from"),
    [(midnight(2026, 3, 2) - ONE_MINUTE, midnight(2026, 3, 2)), (local(2026, 3, 3, 6, 0), None)],
    ids=["minute-before", "06:00-next-day"],
)
def test_day_exemption_outside_its_validity(book: RuleBook, at: datetime, allowed_from: datetime | None) -> None:
    """Before the grant starts the van is refused (allowed from its start); at 06:00 the next day it is refused."""
    d = one(book, DIESEL_CLASS4_VAN, "ze", at, (day_grant(),))
    assert d.access is Access.NOT_ALLOWED
    assert d.allowed_from == allowed_from


@pytest.mark.parametrize(
    "grant",
    [
        day_grant(status=GrantStatus.REFUSED),
        day_grant(status=GrantStatus.PENDING),
        day_grant(status=GrantStatus.REVOKED),
        day_grant(validity=Interval(midnight(2026, 3, 1), local(2026, 3, 2, 6, 0))),
        day_grant(zones=frozenset({"elsewhere"})),
        day_grant(municipalities=frozenset({"GM0392"})),
        day_grant(type_id="mz-dagontheffing"),
    ],
    ids=["refused", "pending", "revoked", "expired", "other-zone", "other-municipality", "wrong-type"],
)
def test_grant_that_does_not_count(book: RuleBook, grant: ExemptionGrant) -> None:
    """A refused, pending, revoked, expired, misplaced or wrong-type grant gives no access."""
    d = one(book, DIESEL_CLASS4_VAN, "ze", local(2026, 3, 2, 10), (grant,))
    assert d.access is Access.NOT_ALLOWED
    assert d.reasons[0].effect is Effect.PROHIBITS
    assert not any(o.held for o in d.exemptions)


@pytest.mark.parametrize(
    "grant",
    [day_grant(zones=frozenset({"ze"})), day_grant(municipalities=frozenset({"GM0363"}))],
    ids=["this-zone", "this-municipality"],
)
def test_grant_bound_to_this_zone_or_municipality_counts(book: RuleBook, grant: ExemptionGrant) -> None:
    """A grant limited to this zone or its municipality lifts the rule."""
    assert one(book, DIESEL_CLASS4_VAN, "ze", local(2026, 3, 2, 10), (grant,)).access is Access.ALLOWED_WITH_EXEMPTION


def test_grant_never_shortens_access(book: RuleBook, diesel_van_class6: Vehicle) -> None:
    """A class-6 van holding a day exemption stays plainly allowed until 2028-01-01."""
    d = one(book, diesel_van_class6, "ze", local(2026, 3, 2, 10), (day_grant(),))
    assert d.access is Access.ALLOWED
    assert d.allowed_until == midnight(2028, 1, 1)


@pytest.mark.parametrize(
    ("at", "access", "until", "since"),
    [
        (local(2026, 3, 2, 10, 59), Access.ALLOWED, local(2026, 3, 2, 13), None),
        (local(2026, 3, 2, 11, 0), Access.ALLOWED_WITH_EXEMPTION, local(2026, 3, 2, 13), None),
        (local(2026, 3, 2, 12, 59), Access.ALLOWED_WITH_EXEMPTION, local(2026, 3, 2, 13), None),
        (local(2026, 3, 2, 13, 0), Access.NOT_ALLOWED, None, local(2026, 3, 3, 7)),
    ],
    ids=["10:59", "11:00", "12:59", "13:00"],
)
def test_window_grant_extends_a_delivery_window(
    book: RuleBook, at: datetime, access: Access, until: datetime | None, since: datetime | None
) -> None:
    """A venstertijd-ontheffing valid Mo-Sa 11:00-13:00 keeps a van in after the 11:00 close, until 13:00."""
    year = Interval(midnight(2026, 1, 1), midnight(2027, 1, 1))
    grant = ExemptionGrant("g", "venstertijd-ontheffing", "VQ123B", year, window=TimeWindow("Mo-Sa 11:00-13:00"))
    d = one(book, DIESEL_CLASS4_VAN, "win", at, (grant,))
    assert (d.access, d.allowed_until, d.allowed_from) == (access, until, since)


# --------------------------------------------------------------------------- the delivery window


@pytest.mark.parametrize(
    ("at", "allowed", "until", "since"),
    [
        (local(2025, 6, 2, 6, 59), False, None, local(2025, 6, 2, 7, 0)),
        (local(2025, 6, 2, 7, 0), True, local(2025, 6, 2, 11, 0), None),
        (local(2025, 6, 2, 10, 59), True, local(2025, 6, 2, 11, 0), None),
        (local(2025, 6, 2, 11, 0), False, None, local(2025, 6, 3, 7, 0)),
        (local(2025, 6, 6, 11, 0), False, None, local(2025, 6, 7, 7, 0)),  # Friday -> Saturday
        (local(2025, 6, 7, 9, 0), True, local(2025, 6, 7, 11, 0), None),  # Saturday is open
        (local(2025, 9, 6, 11, 0), False, None, local(2025, 9, 8, 7, 0)),  # Saturday -> Monday
        (local(2025, 9, 7, 9, 0), False, None, local(2025, 9, 8, 7, 0)),  # Sunday closed
        (local(2025, 6, 7, 11, 0), False, None, local(2025, 6, 10, 7, 0)),  # Saturday -> Whit Monday is closed
        (local(2025, 4, 26, 9, 0), False, None, local(2025, 4, 28, 7, 0)),  # Koningsdag (Sat)
        (local(2025, 4, 21, 9, 0), False, None, local(2025, 4, 22, 7, 0)),  # Easter Monday
        (local(2025, 12, 25, 9, 0), False, None, local(2025, 12, 27, 7, 0)),  # Christmas + Boxing Day
        (local(2025, 4, 25, 9, 0), True, local(2025, 4, 25, 11, 0), None),  # the Friday before
        (local(2025, 6, 9, 9, 0), False, None, local(2025, 6, 10, 7, 0)),  # Whit Monday
    ],
    ids=[
        "Mon-06:59",
        "Mon-07:00",
        "Mon-10:59",
        "Mon-11:00",
        "Fri-11:00",
        "Sat-09:00",
        "Sat-11:00",
        "Sun-09:00",
        "Sat-11:00-before-Whit-Monday",
        "Koningsdag",
        "Easter-Monday",
        "Christmas",
        "Fri-before-Koningsdag",
        "Whit-Monday",
    ],
)
def test_delivery_window_edges_and_holidays(
    book: RuleBook, at: datetime, allowed: bool, until: datetime | None, since: datetime | None
) -> None:
    """Goods vehicles may enter Mo-Sa 07:00-11:00 except on Dutch public holidays; dates point to the edges."""
    d = one(book, vehicle(fuels=frozenset({Fuel.ELECTRIC})), "win", at)
    assert d.allowed is allowed
    assert d.allowed_until == until
    assert d.allowed_from == since
    if not allowed:
        assert d.reasons[0].effect is Effect.PROHIBITS
        assert [o.type_id for o in d.exemptions] == ["venstertijd-ontheffing"]


def test_delivery_window_does_not_concern_cars(book: RuleBook, diesel_car_class4: Vehicle) -> None:
    """A passenger car is not subject to the delivery window, even on Sunday night."""
    d = one(book, diesel_car_class4, "win", local(2025, 6, 8, 3, 0))
    assert d.access is Access.ALLOWED
    assert d.reasons[0].effect is Effect.NOT_SUBJECT
    assert d.allowed_until is None


@pytest.mark.parametrize(
    ("at", "allowed", "change_utc"),
    [
        # spring forward 2025-03-30: 02:00 CET jumps to 03:00 CEST
        (local(2025, 3, 30, 0, 59), False, datetime(2025, 3, 30, 0, 0, tzinfo=UTC)),
        (local(2025, 3, 30, 1, 0), True, datetime(2025, 3, 30, 2, 0, tzinfo=UTC)),
        (local(2025, 3, 30, 3, 0), True, datetime(2025, 3, 30, 2, 0, tzinfo=UTC)),
        (local(2025, 3, 30, 3, 59), True, datetime(2025, 3, 30, 2, 0, tzinfo=UTC)),
        (local(2025, 3, 30, 4, 0), False, datetime(2025, 3, 30, 23, 0, tzinfo=UTC)),
        # fall back 2025-10-26: 03:00 CEST goes back to 02:00 CET
        (local(2025, 10, 26, 0, 59), False, datetime(2025, 10, 25, 23, 0, tzinfo=UTC)),
        (local(2025, 10, 26, 1, 0), True, datetime(2025, 10, 26, 3, 0, tzinfo=UTC)),
        (local(2025, 10, 26, 2, 30), True, datetime(2025, 10, 26, 3, 0, tzinfo=UTC)),
        (local(2025, 10, 26, 2, 30, fold=1), True, datetime(2025, 10, 26, 3, 0, tzinfo=UTC)),
        (local(2025, 10, 26, 3, 59), True, datetime(2025, 10, 26, 3, 0, tzinfo=UTC)),
        (local(2025, 10, 26, 4, 0), False, datetime(2025, 10, 27, 0, 0, tzinfo=UTC)),
    ],
    ids=[
        "spring-00:59",
        "spring-01:00",
        "spring-03:00",
        "spring-03:59",
        "spring-04:00",
        "fall-00:59",
        "fall-01:00",
        "fall-02:30-CEST",
        "fall-02:30-CET",
        "fall-03:59",
        "fall-04:00",
    ],
)
def test_night_window_across_dst(book: RuleBook, at: datetime, allowed: bool, change_utc: datetime) -> None:
    """A Mo-Su 01:00-04:00 window follows the wall clock on DST nights; the next change lands on the right instant."""
    d = one(window_book(book, DST_WINDOW), DIESEL_CLASS4_VAN, "w", at)
    assert d.allowed is allowed
    change = d.allowed_until if allowed else d.allowed_from
    assert change is not None
    assert change.astimezone(UTC) == change_utc


def test_night_window_is_shorter_in_spring_and_longer_in_autumn(book: RuleBook) -> None:
    """Wall-clock 01:00-04:00 lasts 2 real hours on 2025-03-30 and 4 real hours on 2025-10-26."""
    wb = window_book(book, DST_WINDOW)
    for day, hours in ((date(2025, 3, 30), 2), (date(2025, 10, 26), 4), (date(2025, 6, 1), 3)):
        opening = local(day.year, day.month, day.day, 1, 0)
        d = one(wb, DIESEL_CLASS4_VAN, "w", opening)
        assert d.allowed_until is not None
        # aware datetimes sharing a tzinfo subtract as wall clocks: compare in UTC
        assert d.allowed_until.astimezone(UTC) - opening.astimezone(UTC) == timedelta(hours=hours)


@pytest.mark.parametrize(
    ("at", "allowed", "change"),
    [
        (local(2025, 6, 2, 21, 59), False, local(2025, 6, 2, 22, 0)),
        (local(2025, 6, 2, 22, 0), True, local(2025, 6, 3, 6, 0)),
        (local(2025, 6, 3, 0, 0), True, local(2025, 6, 3, 6, 0)),
        (local(2025, 6, 3, 5, 59), True, local(2025, 6, 3, 6, 0)),
        (local(2025, 6, 3, 6, 0), False, local(2025, 6, 3, 22, 0)),
        (local(2025, 3, 29, 22, 0), True, local(2025, 3, 30, 6, 0)),  # 7 real hours across spring DST
        (local(2025, 10, 25, 22, 0), True, local(2025, 10, 26, 6, 0)),  # 9 real hours across autumn DST
    ],
    ids=["21:59", "22:00", "00:00", "05:59", "06:00", "spring-dst-night", "autumn-dst-night"],
)
def test_midnight_crossing_window(book: RuleBook, at: datetime, allowed: bool, change: datetime) -> None:
    """A Mo-Su 22:00-06:00 window stays open across midnight and closes at 06:00 local."""
    d = one(window_book(book, NIGHT_WINDOW), DIESEL_CLASS4_VAN, "w", at)
    assert d.allowed is allowed
    assert (d.allowed_until if allowed else d.allowed_from) == change


# --------------------------------------------------------------------------- decide and timeline basics


def test_decide_needs_an_aware_moment(book: RuleBook) -> None:
    """A naive ``at`` is rejected with InvalidInput naming ``at``."""
    with pytest.raises(InvalidInput) as info:
        decide(book, DIESEL_CLASS4_VAN, ["ze"], at=datetime(2026, 1, 1, 12))
    assert info.value.details["field"] == "at"


def test_unknown_zone(book: RuleBook) -> None:
    """An unknown zone id raises UnknownZone naming it."""
    with pytest.raises(UnknownZone) as info:
        decide(book, DIESEL_CLASS4_VAN, ["nowhere"], at=ZE_START)
    assert info.value.details["value"] == "nowhere"


def test_decision_over_several_zones(book: RuleBook, diesel_van_class5: Vehicle) -> None:
    """A decision lists zones in the order asked and is allowed only when every zone allows."""
    d = decide(book, diesel_van_class5, ["mz", "ze", "win"], at=local(2026, 3, 2, 12, 0))
    assert [z.zone_id for z in d.zones] == ["mz", "ze", "win"]
    assert [z.allowed for z in d.zones] == [True, True, False]
    assert not d.allowed
    data = d.to_data()
    assert data["allowed"] is False
    assert data["zones"][1]["allowed_until"] == "2027-01-01T00:00:00+01:00"
    assert data["zones"][2]["allowed_from"] == "2026-03-03T07:00:00+01:00"
    assert Decision(at=d.at, vehicle=d.vehicle, zones=()).allowed


def test_timeline_of_a_class6_van(book: RuleBook, diesel_van_class6: Vehicle) -> None:
    """A class-6 van is allowed from mid-2024 (zone not in force, then transition) until 2028, then refused."""
    (tl,) = timeline(book, diesel_van_class6, ["ze"], start=local(2024, 6, 1), end=midnight(2031, 1, 1))
    assert [(s.start, s.end, s.state) for s in tl.segments] == [
        (local(2024, 6, 1), midnight(2028, 1, 1), TimelineState.ALLOWED),
        (midnight(2028, 1, 1), midnight(2031, 1, 1), TimelineState.NOT_ALLOWED),
    ]
    assert tl.allowed_until() == midnight(2028, 1, 1)
    assert tl.to_data()["segments"][1]["state"] == "not_allowed"


def test_timeline_with_a_grant_and_a_window(book: RuleBook) -> None:
    """A day grant shows as allowed_with_exemption; a delivery window as window_only."""
    ze_tl, win_tl = timeline(
        book,
        DIESEL_CLASS4_VAN,
        ["ze", "win"],
        start=midnight(2026, 3, 1),
        end=midnight(2026, 3, 5),
        grants=(day_grant(),),
    )
    assert [(s.start, s.end, s.state) for s in ze_tl.segments] == [
        (midnight(2026, 3, 1), midnight(2026, 3, 2), TimelineState.NOT_ALLOWED),
        (midnight(2026, 3, 2), local(2026, 3, 3, 6), TimelineState.ALLOWED_WITH_EXEMPTION),
        (local(2026, 3, 3, 6), midnight(2026, 3, 5), TimelineState.NOT_ALLOWED),
    ]
    assert [s.state for s in win_tl.segments] == [TimelineState.WINDOW_ONLY]
    assert ze_tl.allowed_until() is None  # starts refused


# --------------------------------------------------------------------------- properties


@PROPERTY
@given(data=st.data(), v=vehicles())
def test_next_change_agrees_with_the_timeline(book: RuleBook, data: st.DataObject, v: Vehicle) -> None:
    """``allowed_until``/``allowed_from`` is where the (residual-based) timeline first flips, for ZE and milieuzone."""
    at = data.draw(moments_for(v))
    zone = data.draw(st.sampled_from(["ze", "mz"]))
    d = one(book, v, zone, at)
    (tl,) = timeline(book, v, [zone], start=at, end=at + HORIZON + timedelta(microseconds=1))
    refused = tl.segments[0].state is TimelineState.NOT_ALLOWED
    assert d.allowed is not refused
    flips = [s.start for s in tl.segments[1:] if (s.state is TimelineState.NOT_ALLOWED) is not refused]
    assert (d.allowed_from if refused else d.allowed_until) == (flips[0] if flips else None)


@PROPERTY
@given(data=st.data(), v=vehicles())
def test_change_instant_really_changes_the_answer(book: RuleBook, data: st.DataObject, v: Vehicle) -> None:
    """At ``allowed_until`` the vehicle is refused and at ``allowed_from`` allowed, in every zone."""
    at = data.draw(moments_for(v))
    zone = data.draw(st.sampled_from(["ze", "mz", "win"]))
    d = one(book, v, zone, at)
    if d.allowed_until is not None:
        assert d.allowed_until > at
        assert not one(book, v, zone, d.allowed_until).allowed
    if d.allowed_from is not None:
        assert d.allowed_from > at
        assert one(book, v, zone, d.allowed_from).allowed


@PROPERTY
@given(data=st.data(), v=vehicles(), fraction=st.floats(0, 1, exclude_max=True))
def test_answer_holds_until_the_announced_change(
    book: RuleBook, data: st.DataObject, v: Vehicle, fraction: float
) -> None:
    """Any instant between ``at`` and the next change (or 400 days on) gets the same answer, windows included."""
    at = data.draw(moments_for(v))
    zone = data.draw(st.sampled_from(["ze", "mz", "win"]))
    d = one(book, v, zone, at)
    change = d.allowed_until if d.allowed else d.allowed_from
    end = (change or at + timedelta(days=400)).astimezone(UTC)
    probe = at.astimezone(UTC) + (end - at.astimezone(UTC)) * fraction
    assert one(book, v, zone, probe.astimezone(TZ)).allowed is d.allowed


grant_types = st.sampled_from(
    [
        "ze-dagontheffing",
        "ze-hardheid",
        "ze-levertijd",
        "mz-dagontheffing",
        "venstertijd-ontheffing",
        "ams-route-ontheffing",
    ]
)


@st.composite
def grants_near(draw: st.DrawFn, at: datetime) -> ExemptionGrant:
    """A grant of any type and status whose validity lies around ``at``."""
    start = at + timedelta(hours=draw(st.integers(-72, 24)))
    end = start + timedelta(hours=draw(st.integers(0, 96)))
    window = draw(st.none() | st.sampled_from([TimeWindow("Mo-Fr 06:00-20:00"), TimeWindow("Sa,Su 00:00-24:00")]))
    return ExemptionGrant(
        "g",
        draw(grant_types),
        "VQ123B",
        Interval(start, end),
        zones=draw(st.sampled_from([frozenset(), frozenset({"ze"}), frozenset({"win"})])),
        window=window,
        status=draw(st.sampled_from(list(GrantStatus))),
    )


@settings(max_examples=60, deadline=None)
@given(data=st.data(), v=vehicles())
def test_holding_a_grant_never_reduces_access(book: RuleBook, data: st.DataObject, v: Vehicle) -> None:
    """Adding a held exemption never turns allowed into not allowed; an ungranted one changes nothing."""
    at = data.draw(moments_for(v))
    grant = data.draw(grants_near(at))
    zones = ["ze", "mz", "win"]
    without = decide(book, v, zones, at=at)
    with_grant = decide(book, v, zones, at=at, grants=(grant,))
    for a, b in zip(without.zones, with_grant.zones, strict=True):
        assert b.allowed or not a.allowed
        if grant.status is not GrantStatus.GRANTED:
            assert (a.access, a.allowed_until, a.allowed_from) == (b.access, b.allowed_until, b.allowed_from)


EXTRA_CLAUSES: list[Condition] = [
    TRUE,
    from_data({"field": "age_years", "op": "ge", "value": 30}),
    from_data({"field": "fuels", "op": "contains", "value": "lpg"}),
    from_data({"field": "max_mass_kg", "op": "le", "value": 2000}),
    from_data({"field": "at", "op": "in_window", "value": "Mo-Fr 19:00-07:00"}),
    from_data({"field": "at", "op": "lt", "value": "2026-07-01"}),
    from_data(
        {"all": [{"field": "body", "op": "eq", "value": "tractor"}, {"field": "at", "op": "lt", "value": "2031-01-01"}]}
    ),
    from_data({"not": {"field": "category", "op": "eq", "value": "N1"}}),
]


def with_extra_clause(book: RuleBook, condition: Condition) -> RuleBook:
    """The same register with a local exemption clause added to every regulation."""
    clause = Clause("local-extra", "local exemption (test)", condition, kind="local")
    zones = [
        Zone(
            z.id,
            z.name,
            z.kind,
            z.authority,
            z.authority_name,
            tuple(replace(r, exemptions=(*r.exemptions, clause)) for r in z.regulations),
        )
        for z in book.zones
    ]
    return with_zones(book, zones)


EXTENDED_BOOKS: dict[int, RuleBook] = {}


@PROPERTY
@given(data=st.data(), v=vehicles(), which=st.integers(0, len(EXTRA_CLAUSES) - 1))
def test_adding_an_exemption_clause_never_reduces_access(
    book: RuleBook, data: st.DataObject, v: Vehicle, which: int
) -> None:
    """A regulation with one more exemption clause allows at least as much, and at least as long."""
    extended = EXTENDED_BOOKS.get(which)
    if extended is None:
        extended = EXTENDED_BOOKS[which] = with_extra_clause(book, EXTRA_CLAUSES[which])
    at = data.draw(moments_for(v))
    for zone in ("ze", "mz", "win"):
        a, b = one(book, v, zone, at), one(extended, v, zone, at)
        if a.allowed:
            assert b.allowed
            assert b.allowed_until is None or (a.allowed_until is not None and b.allowed_until >= a.allowed_until)


ZE_FUELS = st.sampled_from(
    [frozenset({Fuel.ELECTRIC}), frozenset({Fuel.HYDROGEN}), frozenset({Fuel.ELECTRIC, Fuel.HYDROGEN})]
)


@PROPERTY
@given(v=vehicles(), fuels=ZE_FUELS, at=random_moments() | st.sampled_from([midnight(2030, 1, 1), local(2040, 1, 1)]))
def test_zero_emission_vehicle_is_never_refused_by_a_ze_zone(
    book: RuleBook, v: Vehicle, fuels: frozenset[Fuel], at: datetime
) -> None:
    """Whatever else it is, an electric or hydrogen vehicle is allowed in the ZE zone with no end date."""
    d = one(book, replace(v, fuels=fuels), "ze", at)
    assert d.access is Access.ALLOWED
    assert d.allowed_until is None


DAYS = ["Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"]


@st.composite
def widened_windows(draw: st.DrawFn) -> tuple[str, str]:
    """A window and a wider one: a superset of days and an earlier-or-equal open, later-or-equal close."""
    days = draw(st.lists(st.sampled_from(DAYS), min_size=1, max_size=7, unique=True))
    more = draw(st.lists(st.sampled_from(DAYS), max_size=3, unique=True))
    open_h = draw(st.integers(0, 22))
    close_h = draw(st.integers(open_h + 1, 23))
    wider_open = draw(st.integers(0, open_h))
    wider_close = draw(st.integers(close_h, 24))

    def expr(ds: list[str], a: int, b: int) -> str:
        return f"{','.join(d for d in DAYS if d in ds)} {a:02d}:00-{b:02d}:00; PH off"

    return expr(days, open_h, close_h), expr(days + more, wider_open, wider_close)


@settings(max_examples=30, deadline=None)
@given(windows=widened_windows(), data=st.data())
def test_widening_a_delivery_window_never_refuses_an_allowed_vehicle(
    book: RuleBook, windows: tuple[str, str], data: st.DataObject
) -> None:
    """A vehicle allowed under a window is allowed under any wider window, and not for a shorter time."""
    narrow, wide = windows
    nb, wb = window_book(book, narrow), window_book(book, wide)
    for _ in range(5):
        v = data.draw(goods_vehicles())
        at = data.draw(moments_for(v))
        a, b = one(nb, v, "w", at), one(wb, v, "w", at)
        if a.allowed:
            assert b.allowed
            assert b.allowed_until is None or (a.allowed_until is not None and b.allowed_until >= a.allowed_until)


def same_decision(a: ZoneDecision, b: ZoneDecision) -> None:
    """Two decisions agree on everything but the timezone their instants are written in."""
    assert (a.access, a.allowed_until, a.allowed_from) == (b.access, b.allowed_until, b.allowed_from)
    assert a.reasons == b.reasons
    assert a.exemptions == b.exemptions
    assert a.notes == b.notes


@PROPERTY
@given(data=st.data(), v=vehicles())
def test_decision_does_not_depend_on_the_timezone_of_at(
    book_showing_proposal: RuleBook, data: st.DataObject, v: Vehicle
) -> None:
    """The same instant in local time, UTC, +01:00 or -05:00 gives the same decision in every zone."""
    at = data.draw(moments_for(v))
    zones = ["ze", "mz", "win"]
    local_d = decide(book_showing_proposal, v, zones, at=at)
    for tz in (UTC, timezone(timedelta(hours=1)), timezone(timedelta(hours=-5))):
        other = decide(book_showing_proposal, v, zones, at=at.astimezone(tz))
        for a, b in zip(local_d.zones, other.zones, strict=True):
            same_decision(a, b)


@pytest.mark.parametrize("tz", [UTC, timezone(timedelta(hours=2))], ids=["utc", "+02:00"])
def test_delivery_window_decision_does_not_depend_on_the_timezone_of_at(book: RuleBook, tz: timezone) -> None:
    """Monday 2025-06-02 07:00 local is 05:00 UTC: the delivery window is open whichever way it is written."""
    at = local(2025, 6, 2, 7, 0)
    same_decision(one(book, DIESEL_CLASS4_VAN, "win", at), one(book, DIESEL_CLASS4_VAN, "win", at.astimezone(tz)))


def test_proposal_book_is_consulted_only_for_its_own_zones(book: RuleBook) -> None:
    """A proposal book without the zone adds no note."""
    proposed = with_zones(book, [])
    b = build_book(proposed=proposed)
    assert one(b, vehicle(), "ze", midnight(2027, 6, 1)).notes == ()
