"""The national ZE-zone framework (RVV 1990 art. 86c-86e, Stb. 2023, 241) at its boundaries.

Every transition is checked in local time (Europe/Amsterdam): the last minute before
a date still gives the old answer, the local midnight of the date gives the new one.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest
from ruas_rules_kit import (
    ONE_MINUTE,
    PROPOSAL_2029,
    ZE_START,
    build_book,
    local,
    midnight,
    vehicle,
)

from ruas.domain.decision import Access, Effect, ZoneDecision
from ruas.domain.regulation import Status
from ruas.domain.vehicle import Body, Category, EmissionClass, Fuel, Vehicle
from ruas.rules.engine import RuleBook, decide
from ruas.rules.frameworks import ZE_FRAMEWORK, RuleSettings, national_frameworks

E0, E3, E4, E5, E6 = EmissionClass.E0, EmissionClass.E3, EmissionClass.E4, EmissionClass.E5, EmissionClass.E6
ZE_TYPES = [
    "ze-dagontheffing",
    "ze-levertijd",
    "ze-bedrijfseconomisch",
    "ze-netcongestie",
    "ze-geen-alternatief",
    "ze-aangepast-voertuig",
    "ze-hardheid",
]


def ze(book: RuleBook, v: Vehicle, at: datetime) -> ZoneDecision:
    """The decision for the ZE test zone."""
    return decide(book, v, ["ze"], at=at).zones[0]


def tractor(**kw: Any) -> Vehicle:
    """A class-6 diesel tractor unit (N3, 18,000 kg)."""
    return vehicle(**{"category": Category.N3, "body": Body.TRACTOR, "max_mass_kg": 18000, **kw})


def rigid(**kw: Any) -> Vehicle:
    """A class-6 diesel rigid truck (N2, 12,000 kg)."""
    return vehicle(**{"category": Category.N2, "body": Body.RIGID, "max_mass_kg": 12000, **kw})


# --------------------------------------------------------------------------- transition rules

TRANSITIONS = [
    pytest.param(
        vehicle(emission_class=E5, first_admission=date(2014, 9, 1)),
        date(2027, 1, 1),
        "ze-van-class5",
        id="van-class5-until-2027",
    ),
    pytest.param(
        vehicle(emission_class=E5, first_admission=date(2024, 12, 31)),
        date(2027, 1, 1),
        "ze-van-class5",
        id="van-class5-det-2024-12-31-until-2027",
    ),
    pytest.param(vehicle(), date(2028, 1, 1), "ze-van-class6", id="van-class6-until-2028"),
    pytest.param(vehicle(max_mass_kg=3500), date(2028, 1, 1), "ze-van-class6", id="van-class6-tmm-3500"),
    pytest.param(
        vehicle(category=Category.N2, max_mass_kg=3400), date(2028, 1, 1), "ze-van-class6", id="n2-under-3500-is-a-van"
    ),
    pytest.param(vehicle(fuels=frozenset({Fuel.PETROL})), date(2028, 1, 1), "ze-van-class6", id="petrol-van-class6"),
    pytest.param(
        vehicle(fuels=frozenset({Fuel.LPG}), emission_class=E5, first_admission=date(2012, 1, 1)),
        date(2027, 1, 1),
        "ze-van-class5",
        id="lpg-van-class5",
    ),
    pytest.param(
        vehicle(fuels=frozenset({Fuel.PETROL, Fuel.ELECTRIC})),
        date(2028, 1, 1),
        "ze-van-class6",
        id="plug-in-hybrid-van-class6",
    ),
    pytest.param(
        tractor(first_admission=date(2017, 1, 1)),
        date(2030, 1, 1),
        "ze-tractor-class6",
        id="tractor-class6-det-2017-01-01",
    ),
    pytest.param(
        tractor(first_admission=date(2018, 4, 1)), date(2030, 1, 1), "ze-tractor-class6", id="tractor-class6-det-2018"
    ),
    pytest.param(
        tractor(first_admission=date(2024, 12, 31)),
        date(2030, 1, 1),
        "ze-tractor-class6",
        id="tractor-class6-det-2024-12-31",
    ),
    pytest.param(
        rigid(first_admission=date(2020, 1, 1)),
        date(2030, 1, 1),
        "ze-rigid-class6-2020",
        id="rigid-class6-det-2020-01-01",
    ),
    pytest.param(
        rigid(first_admission=date(2024, 12, 31)),
        date(2030, 1, 1),
        "ze-rigid-class6-2020",
        id="rigid-class6-det-2024-12-31",
    ),
    pytest.param(
        rigid(first_admission=date(2017, 1, 1)),
        date(2028, 1, 1),
        "ze-rigid-class6-2017",
        id="rigid-class6-det-2017-01-01",
    ),
    pytest.param(
        rigid(first_admission=date(2019, 12, 31)),
        date(2028, 1, 1),
        "ze-rigid-class6-2017",
        id="rigid-class6-det-2019-12-31",
    ),
    pytest.param(
        vehicle(max_mass_kg=3501, first_admission=date(2020, 6, 1)),
        date(2030, 1, 1),
        "ze-rigid-class6-2020",
        id="n1-van-body-tmm-3501-is-a-rigid-truck",
    ),
]


@pytest.mark.parametrize(("v", "until", "clause"), TRANSITIONS)
def test_transition_rule_still_allows_in_the_last_minute(book: RuleBook, v: Vehicle, until: date, clause: str) -> None:
    """The minute before a transition date the vehicle is allowed, exempt by its clause, until local midnight."""
    d = ze(book, v, midnight(until.year, until.month, until.day) - ONE_MINUTE)
    assert d.access is Access.ALLOWED
    assert d.allowed_until == midnight(until.year, until.month, until.day)
    assert d.allowed_from is None
    assert [(r.effect, r.clause_id) for r in d.reasons] == [(Effect.EXEMPT, clause)]


@pytest.mark.parametrize(("v", "until", "clause"), TRANSITIONS)
def test_transition_rule_ends_at_local_midnight(book: RuleBook, v: Vehicle, until: date, clause: str) -> None:
    """From local midnight of the transition date the vehicle is refused for good."""
    d = ze(book, v, midnight(until.year, until.month, until.day))
    assert d.access is Access.NOT_ALLOWED
    assert d.allowed_from is None
    assert d.allowed_until is None
    assert [(r.effect, r.clause_id) for r in d.reasons] == [(Effect.PROHIBITS, None)]


@pytest.mark.parametrize(("v", "until", "clause"), TRANSITIONS)
def test_transition_rule_applies_from_the_zone_start(book: RuleBook, v: Vehicle, until: date, clause: str) -> None:
    """On the zone's first minute a vehicle under a transition rule is allowed until its date."""
    d = ze(book, v, ZE_START)
    assert d.access is Access.ALLOWED
    assert d.allowed_until == midnight(until.year, until.month, until.day)


NEVER = [
    pytest.param(vehicle(emission_class=E4, first_admission=date(2010, 1, 1)), id="van-class4"),
    pytest.param(vehicle(emission_class=E0, first_admission=date(1995, 1, 1)), id="van-class0"),
    pytest.param(vehicle(first_admission=date(2025, 1, 1)), id="van-class6-det-2025-01-01"),
    pytest.param(
        vehicle(max_mass_kg=3501, emission_class=E5, first_admission=date(2014, 9, 1)),
        id="class5-goods-vehicle-tmm-3501-is-a-truck",
    ),
    pytest.param(tractor(first_admission=date(2016, 12, 31)), id="tractor-class6-det-2016-12-31"),
    pytest.param(tractor(first_admission=date(2025, 1, 1)), id="tractor-class6-det-2025-01-01"),
    pytest.param(rigid(first_admission=date(2016, 12, 31)), id="rigid-class6-det-2016-12-31"),
    pytest.param(rigid(first_admission=date(2025, 1, 1)), id="rigid-class6-det-2025-01-01"),
    pytest.param(rigid(emission_class=E5, first_admission=date(2022, 3, 1)), id="rigid-class5"),
    pytest.param(tractor(emission_class=E5, first_admission=date(2018, 3, 1)), id="tractor-class5"),
    pytest.param(vehicle(fuels=frozenset({Fuel.PETROL}), emission_class=E4), id="petrol-van-class4"),
    pytest.param(vehicle(fuels=frozenset({Fuel.LPG}), emission_class=E4), id="lpg-van-class4"),
    pytest.param(vehicle(fuels=frozenset({Fuel.CNG}), emission_class=E4), id="cng-van-class4"),
    pytest.param(
        vehicle(fuels=frozenset({Fuel.PETROL, Fuel.ELECTRIC}), first_admission=date(2025, 3, 1)),
        id="plug-in-hybrid-van-det-2025",
    ),
]


@pytest.mark.parametrize("v", NEVER)
@pytest.mark.parametrize("at", [ZE_START, local(2026, 6, 15, 12, 0)], ids=["zone-start", "mid-2026"])
def test_vehicles_without_a_transition_rule_are_refused_with_no_date(book: RuleBook, v: Vehicle, at: datetime) -> None:
    """Vans of class <= 4, older or class-5 trucks, and non-Z goods vehicles first admitted from 2025 never enter."""
    d = ze(book, v, at)
    assert d.access is Access.NOT_ALLOWED
    assert d.allowed_from is None
    assert d.reasons[0].effect is Effect.PROHIBITS
    assert d.reasons[0].clause_id is None


@pytest.mark.parametrize(("det", "allowed"), [(date(2024, 12, 31), True), (date(2025, 1, 1), False)])
@pytest.mark.parametrize("make", [vehicle, tractor, rigid], ids=["van", "tractor", "rigid"])
def test_first_admission_from_2025_must_be_zero_emission(book: RuleBook, make: Any, det: date, allowed: bool) -> None:
    """A class-6 van or truck first admitted 2024-12-31 is under a transition rule, one from 2025-01-01 is not."""
    assert ze(book, make(first_admission=det), local(2026, 1, 1, 12)).allowed is allowed


@pytest.mark.parametrize(
    ("tmm", "cls", "det", "until"),
    [
        (3500, E6, date(2020, 6, 1), midnight(2028, 1, 1)),
        (3501, E6, date(2020, 6, 1), midnight(2030, 1, 1)),
        (3500, E5, date(2014, 9, 1), midnight(2027, 1, 1)),
        (3501, E5, date(2014, 9, 1), None),
    ],
)
def test_van_truck_split_is_by_tmm(book: RuleBook, tmm: int, cls: EmissionClass, det: date, until: Any) -> None:
    """An N1 goods vehicle of 3,500 kg follows the van rules, one of 3,501 kg the truck rules."""
    d = ze(book, vehicle(max_mass_kg=tmm, emission_class=cls, first_admission=det), ZE_START)
    assert d.allowed is (until is not None)
    assert d.allowed_until == until


def test_the_minute_before_the_zone_starts_is_allowed_and_not_in_force(book: RuleBook) -> None:
    """At 2024-12-31 23:59 local a class-4 van may enter: the zone is not in force yet, until its start."""
    d = ze(book, vehicle(emission_class=E4), ZE_START - ONE_MINUTE)
    assert d.access is Access.ALLOWED
    assert d.allowed_until == ZE_START
    assert [(r.effect, r.clause_id) for r in d.reasons] == [(Effect.NOT_IN_FORCE, None)]
    assert "2025-01-01" in d.reasons[0].text


def test_the_zone_start_is_local_midnight_not_utc(book: RuleBook) -> None:
    """2024-12-31 23:30 UTC is already 2025-01-01 00:30 in Amsterdam: the zone is in force."""
    at = local(2025, 1, 1, 0, 30)
    assert ze(book, vehicle(emission_class=E4), at).access is Access.NOT_ALLOWED
    assert ze(book, vehicle(emission_class=E4), at - 60 * ONE_MINUTE).access is Access.ALLOWED


# --------------------------------------------------------------------------- 2030 and subjects

ALLOWED_UNTIL_2030 = [
    pytest.param(tractor(first_admission=date(2018, 4, 1)), id="tractor-class6-2018"),
    pytest.param(rigid(first_admission=date(2021, 2, 1)), id="rigid-class6-2021"),
    pytest.param(vehicle(emission_class=E0, first_admission=date(1984, 5, 1)), id="forty-years-old"),
    pytest.param(vehicle(emission_class=E4, special_purpose=frozenset({"SH"})), id="wheelchair-sh"),
    pytest.param(vehicle(emission_class=E4, special_codes=frozenset({"147"})), id="wheelchair-code-147"),
    pytest.param(
        rigid(emission_class=E5, first_admission=date(2020, 3, 1), body_codes=frozenset({"15"})),
        id="special-truck-body-15",
    ),
    pytest.param(
        rigid(emission_class=E5, first_admission=date(2020, 3, 1), special_purpose=frozenset({"SF"})),
        id="mobile-crane-sf",
    ),
]


@pytest.mark.parametrize("v", ALLOWED_UNTIL_2030)
def test_everything_ends_at_2030(book: RuleBook, v: Vehicle) -> None:
    """Every transition rule and vrijstelling ends at 2030-01-01 00:00 local: allowed the minute before, not after."""
    before = ze(book, v, midnight(2030, 1, 1) - ONE_MINUTE)
    assert before.access is Access.ALLOWED
    assert before.allowed_until == midnight(2030, 1, 1)
    after = ze(book, v, midnight(2030, 1, 1))
    assert after.access is Access.NOT_ALLOWED
    assert after.allowed_from is None


@pytest.mark.parametrize(
    "fuels",
    [{Fuel.ELECTRIC}, {Fuel.HYDROGEN}, {Fuel.ELECTRIC, Fuel.HYDROGEN}],
    ids=["electric", "hydrogen", "electric+hydrogen"],
)
@pytest.mark.parametrize("make", [vehicle, tractor, rigid], ids=["van", "tractor", "rigid"])
@pytest.mark.parametrize("at", [ZE_START, midnight(2030, 1, 1), local(2035, 7, 1, 9)], ids=["2025", "2030", "2035"])
def test_zero_emission_goods_vehicles_are_never_subject(
    book: RuleBook, fuels: set[Fuel], make: Any, at: datetime
) -> None:
    """Electric and hydrogen vans and trucks (class Z) are outside the ZE rule, with no end date."""
    d = ze(book, make(fuels=frozenset(fuels), first_admission=date(2025, 6, 1)), at)
    assert d.access is Access.ALLOWED
    assert d.allowed_until is None
    assert d.reasons[0].effect is Effect.NOT_SUBJECT


@pytest.mark.parametrize(
    "v",
    [
        pytest.param(vehicle(category=Category.M1, body=Body.CAR, emission_class=E0, max_mass_kg=1500), id="car"),
        pytest.param(vehicle(category=Category.M3, body=Body.BUS, emission_class=E3, max_mass_kg=18000), id="bus"),
        pytest.param(vehicle(category=Category.M2, body=Body.BUS, emission_class=E3, max_mass_kg=5000), id="minibus"),
        pytest.param(
            vehicle(
                category=Category.L,
                body=Body.MOTORCYCLE,
                fuels=frozenset({Fuel.PETROL}),
                emission_class=E3,
                max_mass_kg=300,
            ),
            id="motorcycle",
        ),
        pytest.param(vehicle(category=Category.T, body=Body.OTHER, max_mass_kg=6000), id="agricultural"),
    ],
)
def test_passenger_cars_and_buses_are_not_subject(book: RuleBook, v: Vehicle) -> None:
    """Only N1-N3 are subject: a diesel car, bus or motorcycle may enter, no exemption options are shown."""
    d = ze(book, v, midnight(2030, 1, 1))
    assert d.access is Access.ALLOWED
    assert d.reasons[0].effect is Effect.NOT_SUBJECT
    assert d.exemptions == ()


def test_plug_in_hybrid_is_not_zero_emission(book: RuleBook) -> None:
    """A petrol+electric van is class 6, not Z, so it is subject and refused after 2028."""
    phev = vehicle(fuels=frozenset({Fuel.PETROL, Fuel.ELECTRIC}))
    assert phev.emission_class is E6
    assert ze(book, phev, midnight(2028, 1, 1)).access is Access.NOT_ALLOWED


# --------------------------------------------------------------------------- automatic exemptions


@pytest.mark.parametrize(
    ("det", "anniversary"),
    [
        (date(1986, 3, 15), date(2026, 3, 15)),
        (date(1988, 2, 29), date(2028, 2, 29)),  # leap DET, leap anniversary
        (date(1989, 12, 31), date(2029, 12, 31)),
    ],
    ids=["1986-03-15", "1988-02-29", "1989-12-31"],
)
def test_forty_years_on_the_day_of_entry(book: RuleBook, det: date, anniversary: date) -> None:
    """The day before the 40th anniversary a class-0 van is refused (allowed from the day), on the day exempt."""
    v = vehicle(emission_class=E0, first_admission=det)
    day = midnight(anniversary.year, anniversary.month, anniversary.day)
    before = ze(book, v, day - ONE_MINUTE)
    assert before.access is Access.NOT_ALLOWED
    assert before.allowed_from == day
    on = ze(book, v, day)
    assert on.access is Access.ALLOWED
    assert on.allowed_until == midnight(2030, 1, 1)
    assert on.reasons[0].clause_id == "ze-vrijstelling-40-years"


def test_forty_years_reached_after_2030_gives_nothing(book: RuleBook) -> None:
    """A van turning 40 on 2030-06-01 is refused, with no date: the vrijstelling ended at 2030-01-01."""
    d = ze(book, vehicle(emission_class=E0, first_admission=date(1990, 6, 1)), local(2029, 6, 1, 12))
    assert d.access is Access.NOT_ALLOWED
    assert d.allowed_from is None


@pytest.mark.parametrize(
    ("purpose", "codes", "exempt"),
    [
        ({"SH"}, set(), True),
        (set(), {"145"}, True),
        (set(), {"146"}, True),
        (set(), {"147"}, True),
        (set(), {"149"}, True),
        (set(), {"148"}, False),
        (set(), {"70"}, False),  # proposed, off by default
        ({"SA"}, set(), False),
    ],
    ids=["SH", "145", "146", "147", "149", "148", "70", "SA"],
)
def test_wheelchair_van(book: RuleBook, purpose: set[str], codes: set[str], exempt: bool) -> None:
    """A class-4 van with SH or RDW code 145/146/147/149 is exempt (until 2030); code 148 or 70 is not."""
    v = vehicle(emission_class=E4, special_purpose=frozenset(purpose), special_codes=frozenset(codes))
    d = ze(book, v, local(2026, 2, 2, 10))
    assert d.allowed is exempt
    if exempt:
        assert d.reasons[0].clause_id == "ze-vrijstelling-wheelchair"
        assert d.allowed_until == midnight(2030, 1, 1)


def test_wheelchair_code_on_a_truck_does_not_exempt(book: RuleBook) -> None:
    """The wheelchair vrijstelling is for vans: a class-5 truck with SH is refused."""
    v = rigid(emission_class=E5, special_purpose=frozenset({"SH"}), first_admission=date(2020, 1, 1))
    assert ze(book, v, local(2026, 2, 2, 10)).access is Access.NOT_ALLOWED


def test_code_70_exempts_only_when_its_proposal_is_switched_on() -> None:
    """The unconfirmed code-70 vrijstelling applies with the setting ``ze-vrijstelling-wheelchair-code70``."""
    on = build_book(RuleSettings(frozenset({"ze-vrijstelling-wheelchair-code70"})))
    d = ze(on, vehicle(emission_class=E4, special_codes=frozenset({"70"})), local(2026, 2, 2, 10))
    assert d.access is Access.ALLOWED
    assert d.reasons[0].clause_id == "ze-vrijstelling-wheelchair-code70"


@pytest.mark.parametrize(
    ("codes", "purpose", "exempt"),
    [
        *[({c}, set(), True) for c in ("15", "16", "19", "23", "26", "27", "31")],
        (set(), {"SB"}, True),
        (set(), {"SF"}, True),
        ({"10"}, set(), False),
        ({"40"}, {"SC"}, False),
    ],
)
def test_special_truck_codes(book: RuleBook, codes: set[str], purpose: set[str], exempt: bool) -> None:
    """A young class-5 truck with body code 15/16/19/23/26/27/31 or SB/SF is exempt; other codes are not."""
    v = rigid(
        emission_class=E5,
        first_admission=date(2019, 5, 5),
        body_codes=frozenset(codes),
        special_purpose=frozenset(purpose),
    )
    d = ze(book, v, local(2026, 2, 2, 10))
    assert d.allowed is exempt
    if exempt:
        assert d.reasons[0].clause_id == "ze-vrijstelling-special-truck"


def test_special_body_code_on_a_van_does_not_exempt(book: RuleBook) -> None:
    """The special-truck vrijstelling needs TMM > 3,500 kg: a class-4 van with body code 15 is refused."""
    v = vehicle(emission_class=E4, body_codes=frozenset({"15"}), first_admission=date(2020, 1, 1))
    assert ze(book, v, local(2026, 2, 2, 10)).access is Access.NOT_ALLOWED


@pytest.mark.parametrize(
    ("det", "anniversary"),
    [(date(2014, 6, 10), date(2027, 6, 10)), (date(2016, 2, 29), date(2029, 3, 1))],
    ids=["2014-06-10", "2016-02-29"],
)
def test_special_truck_younger_than_13(book: RuleBook, det: date, anniversary: date) -> None:
    """The day before its 13th anniversary a body-code-15 truck is exempt until that day; on the day it is refused."""
    v = rigid(emission_class=E5, first_admission=det, body_codes=frozenset({"15"}))
    day = midnight(anniversary.year, anniversary.month, anniversary.day)
    before = ze(book, v, day - ONE_MINUTE)
    assert before.access is Access.ALLOWED
    assert before.allowed_until == day
    assert before.reasons[0].clause_id == "ze-vrijstelling-special-truck"
    on = ze(book, v, day)
    assert on.access is Access.NOT_ALLOWED
    assert on.allowed_from is None


# --------------------------------------------------------------------------- reasons and options


def test_refused_van_is_shown_every_ze_exemption_type(book: RuleBook) -> None:
    """A refused van may apply for each of the seven ontheffingen, listed with the day exemption first."""
    d = ze(book, vehicle(emission_class=E4), local(2026, 2, 2, 10))
    assert [o.type_id for o in d.exemptions] == ZE_TYPES
    assert not any(o.held for o in d.exemptions)
    dag = d.exemptions[0]
    assert dag.fee_eur == 30
    assert "06:00" in dag.terms


def test_refused_truck_is_not_offered_the_adapted_van_exemption(book: RuleBook) -> None:
    """The disability-adapted-van ontheffing needs TMM <= 3,500 kg, so a refused truck is not offered it."""
    d = ze(book, rigid(emission_class=E5, first_admission=date(2015, 1, 1)), local(2026, 2, 2, 10))
    assert [o.type_id for o in d.exemptions] == [t for t in ZE_TYPES if t != "ze-aangepast-voertuig"]


def test_reason_cites_the_local_decree_and_the_national_law(book: RuleBook) -> None:
    """The legal basis names the zone's own decree first, then RVV 1990 / Stb. 2023, 241."""
    basis = ze(book, vehicle(emission_class=E4), local(2026, 2, 2, 10)).reasons[0].legal_basis
    assert basis.startswith("gmb-2024-282973; ")
    assert "Stb. 2023, 241" in basis


# --------------------------------------------------------------------------- the proposed 2029 extension


def test_class6_van_extension_is_off_by_default_and_shown_as_a_note(book_showing_proposal: RuleBook) -> None:
    """Without the setting a class-6 van is allowed until 2028-01-01; a note tells the proposed 2029-01-01."""
    d = ze(book_showing_proposal, vehicle(), midnight(2028, 1, 1) - ONE_MINUTE)
    assert d.allowed_until == midnight(2028, 1, 1)
    assert len(d.notes) == 1
    assert "2029-01-01" in d.notes[0]
    assert "proposed" in d.notes[0]


def test_class6_van_refused_in_2028_is_told_the_proposal_would_allow_it(book_showing_proposal: RuleBook) -> None:
    """In 2028 the van is refused under the law as found; the note says the proposal would allow it until 2029."""
    d = ze(book_showing_proposal, vehicle(), local(2028, 6, 1, 9))
    assert d.access is Access.NOT_ALLOWED
    assert d.allowed_from is None
    assert any("allowed until 2029-01-01" in n for n in d.notes)


@pytest.mark.parametrize(
    "v",
    [vehicle(emission_class=E5, first_admission=date(2014, 9, 1)), vehicle(fuels=frozenset({Fuel.ELECTRIC}))],
    ids=["class5-van", "electric-van"],
)
def test_proposal_note_only_when_it_changes_the_answer(book_showing_proposal: RuleBook, v: Vehicle) -> None:
    """Vans the proposal does not touch get no note."""
    assert ze(book_showing_proposal, v, local(2026, 2, 2, 10)).notes == ()


def test_no_note_without_a_proposal_book(book: RuleBook) -> None:
    """A rule book without ``proposed`` never mentions the proposal."""
    assert ze(book, vehicle(), midnight(2028, 1, 1) - ONE_MINUTE).notes == ()


@pytest.mark.parametrize(
    ("at", "allowed", "until"),
    [
        (midnight(2028, 1, 1) - ONE_MINUTE, True, midnight(2029, 1, 1)),
        (midnight(2028, 1, 1), True, midnight(2029, 1, 1)),
        (midnight(2029, 1, 1) - ONE_MINUTE, True, midnight(2029, 1, 1)),
        (midnight(2029, 1, 1), False, None),
    ],
    ids=["2027-12-31T23:59", "2028-01-01", "2028-12-31T23:59", "2029-01-01"],
)
def test_class6_van_extension_switched_on(
    proposal_book: RuleBook, at: datetime, allowed: bool, until: datetime | None
) -> None:
    """With the setting a class-6 van is allowed until 2029-01-01 under the proposed clause."""
    d = ze(proposal_book, vehicle(), at)
    assert d.allowed is allowed
    assert d.allowed_until == until
    if allowed:
        assert d.reasons[0].clause_id == PROPOSAL_2029


# --------------------------------------------------------------------------- the framework data


def test_framework_clauses_and_statuses() -> None:
    """The ZE framework holds the in-force clauses and two proposals with their own (unconfirmed) source."""
    fw = national_frameworks()[ZE_FRAMEWORK]
    assert "Stb. 2023, 241" in fw.legal_source.citation
    proposed = {c.id: c for c in fw.proposed_clauses()}
    assert set(proposed) == {PROPOSAL_2029, "ze-vrijstelling-wheelchair-code70"}
    assert proposed[PROPOSAL_2029].replaces == "ze-van-class6"
    for c in proposed.values():
        assert c.status is Status.PROPOSED
        assert c.legal_source is not None and "unconfirmed" in c.legal_source.citation


def test_selected_clauses_replace_what_a_proposal_amends() -> None:
    """Switching on the 2029 extension removes ``ze-van-class6`` and adds the proposal; default adds neither."""
    fw = national_frameworks()[ZE_FRAMEWORK]
    default = [c.id for c in fw.selected_clauses(RuleSettings())]
    assert "ze-van-class6" in default and PROPOSAL_2029 not in default
    on = [c.id for c in fw.selected_clauses(RuleSettings.from_text(f" {PROPOSAL_2029} , "))]
    assert "ze-van-class6" not in on and PROPOSAL_2029 in on
    every = [c.id for c in fw.selected_clauses(RuleSettings.from_text("all"))]
    assert {PROPOSAL_2029, "ze-vrijstelling-wheelchair-code70"} <= set(every)


@pytest.mark.parametrize(("text", "expected"), [(None, frozenset()), ("", frozenset()), ("a, b,,", {"a", "b"})])
def test_rule_settings_from_text(text: str | None, expected: set[str]) -> None:
    """Settings parse a comma-separated list, ignoring blanks."""
    assert RuleSettings.from_text(text).apply_proposed == frozenset(expected)


def test_clause_not_found_names_it() -> None:
    """Asking a framework for an unknown clause raises InvalidInput."""
    from ruas.domain.errors import InvalidInput

    with pytest.raises(InvalidInput, match="no-such-clause"):
        national_frameworks()[ZE_FRAMEWORK].clause("no-such-clause")
