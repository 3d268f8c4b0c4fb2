"""Shared builders, moments and Hypothesis strategies for the rules tests (not a test module).

Kept beside the tests (``tests/rules`` is on ``sys.path`` while they run) so that the
engine, framework and batch tests draw vehicles and moments from one place.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from hypothesis import strategies as st

from ruas.domain.conditions import All, Leaf, Not, Op
from ruas.domain.regulation import LegalSource, Regulation, Zone, ZoneKind
from ruas.domain.timeutil import LOCAL_TZ, add_years, local_midnight
from ruas.domain.vehicle import Body, Category, EmissionClass, Fuel, Vehicle
from ruas.rules.engine import RuleBook
from ruas.rules.frameworks import (
    RuleSettings,
    ZoneBinding,
    bind_milieuzone,
    bind_zero_emission,
    national_exemption_types,
)

TZ = LOCAL_TZ
PROPOSAL_2029 = "ze-van-class6-2029"
DELIVERY_WINDOW = "Mo-Sa 07:00-11:00; PH off"
DST_WINDOW = "Mo-Su 01:00-04:00"
NIGHT_WINDOW = "Mo-Su 22:00-06:00"
GOODS = ("N1", "N2", "N3")


def local(y: int, m: int, d: int, hh: int = 0, mm: int = 0, *, fold: int = 0) -> datetime:
    """A wall-clock moment in Europe/Amsterdam."""
    return datetime(y, m, d, hh, mm, tzinfo=TZ, fold=fold)


def midnight(y: int, m: int, d: int) -> datetime:
    """Local midnight of a calendar day, the way the rules date transitions."""
    return local_midnight(date(y, m, d))


ZE_START = midnight(2025, 1, 1)
MZ_START = midnight(2020, 1, 1)
ONE_MINUTE = timedelta(minutes=1)


# --------------------------------------------------------------------------- rule books


def window_regulation(zone_id: str, expression: str) -> Regulation:
    """A custom delivery-window rule: goods vehicles may enter only inside ``expression``."""
    subject = All((Leaf("category", Op.IN, GOODS), Not(Leaf("at", Op.IN_WINDOW, expression))))
    return Regulation(
        id=f"{zone_id}/venstertijden",
        name=f"{zone_id}: delivery window",
        kind=ZoneKind.TIME_WINDOW,
        authority="GM0363",
        legal_source=LegalSource("gmb-2024-000001", "Verkeersbesluit venstertijden (test)"),
        subject=subject,
        subject_label=f"goods vehicles (N1-N3) outside {expression}",
        exemption_types=("venstertijd-ontheffing",),
    )


def window_zone(zone_id: str, expression: str) -> Zone:
    """A pedestrian area whose only rule is a delivery window."""
    return Zone(
        zone_id,
        f"Window {zone_id}",
        ZoneKind.TIME_WINDOW,
        "GM0363",
        "Amsterdam",
        (window_regulation(zone_id, expression),),
    )


def ze_zone(settings: RuleSettings, zone_id: str = "ze", start: datetime = ZE_START) -> Zone:
    """A municipal ZE zone bound to the national framework, starting at ``start``."""
    binding = ZoneBinding(zone_id, "ZE test zone", "GM0363", start, LegalSource("gmb-2024-282973"))
    reg = bind_zero_emission(binding, settings)
    return Zone(zone_id, "ZE test zone", ZoneKind.ZERO_EMISSION, "GM0363", "Amsterdam", (reg,))


def milieuzone(settings: RuleSettings, zone_id: str = "mz", params: Mapping[str, int] | None = None) -> Zone:
    """A municipal milieuzone (blue for cars and vans, purple for trucks and buses by default)."""
    binding = ZoneBinding(
        zone_id,
        "Milieuzone test",
        "GM0363",
        MZ_START,
        LegalSource("gmb-2019-000001"),
        params=dict(params or {"light": 5, "heavy": 6}),
    )
    reg = bind_milieuzone(binding, settings)
    return Zone(zone_id, "Milieuzone test", ZoneKind.ENVIRONMENTAL, "GM0363", "Amsterdam", (reg,))


def build_book(
    settings: RuleSettings = RuleSettings(),  # noqa: B008 - frozen, safe as a default
    proposed: RuleBook | None = None,
    *,
    extra_windows: Mapping[str, str] | None = None,
) -> RuleBook:
    """The tiny register: ``ze``, ``mz`` and ``win`` (Mo-Sa 07:00-11:00; PH off), plus extra windows."""
    zones = [ze_zone(settings), milieuzone(settings), window_zone("win", DELIVERY_WINDOW)]
    zones += [window_zone(zid, expr) for zid, expr in (extra_windows or {}).items()]
    return RuleBook(tuple(zones), national_exemption_types(), proposed)


def with_zones(book: RuleBook, zones: Iterable[Zone]) -> RuleBook:
    """The same exemption types with other zones."""
    return RuleBook(tuple(zones), book.exemption_types, book.proposed)


# --------------------------------------------------------------------------- vehicles


def vehicle(**overrides: object) -> Vehicle:
    """A diesel van (N1, 3,000 kg, class 6, DET 2019-05-01) with the given fields changed."""
    base = Vehicle(
        category=Category.N1,
        body=Body.VAN,
        fuels=frozenset({Fuel.DIESEL}),
        emission_class=EmissionClass.E6,
        first_admission=date(2019, 5, 1),
        max_mass_kg=3000,
        plate="VQ123B",
    )
    return replace(base, **overrides)  # type: ignore[arg-type]


FUEL_SETS: tuple[frozenset[Fuel], ...] = (
    frozenset({Fuel.DIESEL}),
    frozenset({Fuel.PETROL}),
    frozenset({Fuel.LPG}),
    frozenset({Fuel.CNG}),
    frozenset({Fuel.ELECTRIC}),
    frozenset({Fuel.HYDROGEN}),
    frozenset({Fuel.ELECTRIC, Fuel.HYDROGEN}),
    frozenset({Fuel.PETROL, Fuel.ELECTRIC}),  # plug-in hybrid: not Z
    frozenset({Fuel.DIESEL, Fuel.ELECTRIC}),
)
NON_Z = tuple(e for e in EmissionClass if e is not EmissionClass.Z)
FEB_29 = tuple(date(y, 2, 29) for y in range(1976, 2025, 4))
DET_EDGES = (
    date(1985, 6, 1),
    date(1989, 1, 1),
    date(2012, 7, 1),
    date(2016, 12, 31),
    date(2017, 1, 1),
    date(2019, 12, 31),
    date(2020, 1, 1),
    date(2024, 12, 31),
    date(2025, 1, 1),
)
BODY_CODES = ("10", "15", "16", "19", "23", "26", "27", "31", "40")
SPECIAL_PURPOSE = ("SA", "SB", "SC", "SF", "SH")
SPECIAL_CODES = ("70", "145", "146", "147", "148", "149", "200")


def _fix_class(fuels: frozenset[Fuel], ec: EmissionClass) -> EmissionClass:
    zero = fuels <= {Fuel.ELECTRIC, Fuel.HYDROGEN}
    return EmissionClass.Z if zero else ec


@st.composite
def vehicles(draw: st.DrawFn, plate: str = "VQ123B") -> Vehicle:
    """Any vehicle the register could hold: categories, bodies, fuels incl. PHEV, DET 1975-2026, codes."""
    fuels = draw(st.sampled_from(FUEL_SETS) | st.frozensets(st.sampled_from(list(Fuel)), min_size=1, max_size=3))
    return Vehicle(
        category=draw(st.sampled_from(list(Category))),
        body=draw(st.sampled_from(list(Body))),
        fuels=fuels,
        emission_class=_fix_class(fuels, draw(st.sampled_from(NON_Z))),
        first_admission=draw(st.dates(date(1975, 1, 1), date(2026, 12, 31)) | st.sampled_from(FEB_29 + DET_EDGES)),
        max_mass_kg=draw(st.integers(1500, 44000) | st.sampled_from([3500, 3501])),
        plate=plate,
        length_m=draw(st.none() | st.sampled_from([4.5, 7.2, 10.0, 12.0, 16.5])),
        width_m=draw(st.none() | st.just(2.55)),
        height_m=draw(st.none() | st.just(4.0)),
        axle_load_kg=draw(st.none() | st.integers(5000, 13000)),
        body_codes=draw(st.frozensets(st.sampled_from(BODY_CODES), max_size=2)),
        special_purpose=draw(st.frozensets(st.sampled_from(SPECIAL_PURPOSE), max_size=2)),
        special_codes=draw(st.frozensets(st.sampled_from(SPECIAL_CODES), max_size=2)),
        usage=draw(st.frozensets(st.sampled_from(["taxi", "ambulance"]), max_size=1)),
        holder=draw(st.frozensets(st.just("permanent_resident"), max_size=1)),
        synthetic=draw(st.booleans()),
    )


def goods_vehicles(plate: str = "VQ123B") -> st.SearchStrategy[Vehicle]:
    """Vans and trucks (N1-N3), the vehicles ZE zones and delivery windows are about."""
    goods = st.sampled_from([Category.N1, Category.N2, Category.N3])
    return st.tuples(vehicles(plate), goods).map(lambda vc: replace(vc[0], category=vc[1]))


def random_vehicle(rng: random.Random, plate: str) -> Vehicle:
    """A vehicle drawn from a seeded ``random.Random`` with the same ranges as :func:`vehicles`."""
    fuels = rng.choice(FUEL_SETS) if rng.random() < 0.85 else frozenset(rng.sample(list(Fuel), rng.randint(1, 3)))
    r = rng.random()
    if r < 0.08:
        det = rng.choice(FEB_29)
    elif r < 0.15:
        det = rng.choice(DET_EDGES)
    else:
        det = date(1975, 1, 1) + timedelta(days=rng.randint(0, (date(2026, 12, 31) - date(1975, 1, 1)).days))
    category = rng.choice([*Category, Category.N1, Category.N2, Category.N3, Category.N1])  # goods-heavy
    return Vehicle(
        category=category,
        body=rng.choice(list(Body)),
        fuels=fuels,
        emission_class=_fix_class(fuels, rng.choice(NON_Z)),
        first_admission=det,
        max_mass_kg=rng.choice([3500, 3501]) if rng.random() < 0.1 else rng.randint(1500, 44000),
        plate=plate,
        length_m=rng.choice([None, 4.5, 10.0, 12.0]),
        axle_load_kg=rng.choice([None, 10000, 11500]),
        body_codes=frozenset(rng.sample(BODY_CODES, rng.choice([0, 0, 1, 2]))),
        special_purpose=frozenset(rng.sample(SPECIAL_PURPOSE, rng.choice([0, 0, 0, 1]))),
        special_codes=frozenset(rng.sample(SPECIAL_CODES, rng.choice([0, 0, 0, 1]))),
        synthetic=True,
    )


# --------------------------------------------------------------------------- moments

TRANSITION_DAYS = (date(2025, 1, 1), date(2027, 1, 1), date(2028, 1, 1), date(2029, 1, 1), date(2030, 1, 1))
WINDOW_DAYS = (
    date(2025, 6, 2),  # Monday
    date(2025, 6, 7),  # Saturday
    date(2025, 6, 8),  # Sunday
    date(2025, 4, 26),  # Koningsdag (Saturday)
    date(2025, 4, 21),  # Easter Monday
    date(2025, 12, 25),  # Christmas
    date(2025, 3, 29),  # night before spring DST
    date(2025, 3, 30),  # spring DST
    date(2025, 10, 25),  # night before autumn DST
    date(2025, 10, 26),  # autumn DST
    date(2028, 1, 3),  # a Monday in 2028
)
WINDOW_TIMES = (
    (0, 59),
    (1, 0),
    (3, 59),
    (4, 0),
    (5, 59),
    (6, 0),
    (6, 59),
    (7, 0),
    (10, 59),
    (11, 0),
    (21, 59),
    (22, 0),
)


def boundary_moments() -> tuple[datetime, ...]:
    """Every transition date at local midnight and the minute before, plus window edges."""
    out: list[datetime] = []
    for d in TRANSITION_DAYS:
        out += [local_midnight(d) - ONE_MINUTE, local_midnight(d)]
    for d in WINDOW_DAYS:
        out += [datetime(d.year, d.month, d.day, hh, mm, tzinfo=TZ) for hh, mm in WINDOW_TIMES]
    # both 02:30s of the autumn DST night
    out += [local(2025, 10, 26, 2, 30), local(2025, 10, 26, 2, 30, fold=1)]
    return tuple(out)


BOUNDARY_MOMENTS = boundary_moments()
RANDOM_FROM = datetime(2024, 6, 1, tzinfo=UTC)
RANDOM_MINUTES = int((datetime(2031, 1, 1, tzinfo=UTC) - RANDOM_FROM).total_seconds() // 60)


def vehicle_moments(v: Vehicle) -> tuple[datetime, ...]:
    """The minute before and the midnight of the days ``v`` turns 13, 14, 40 and 41."""
    out: list[datetime] = []
    for n in (13, 14, 40, 41):
        t = local_midnight(add_years(v.first_admission, n))
        out += [t - ONE_MINUTE, t]
    return tuple(out)


def random_moments() -> st.SearchStrategy[datetime]:
    """Whole minutes between mid-2024 and 2031, as local time."""
    return st.integers(0, RANDOM_MINUTES).map(lambda m: (RANDOM_FROM + timedelta(minutes=m)).astimezone(TZ))


def moments_for(v: Vehicle) -> st.SearchStrategy[datetime]:
    """Boundary minutes, the vehicle's own anniversaries, or any minute 2024-2031."""
    return st.sampled_from(BOUNDARY_MOMENTS) | st.sampled_from(vehicle_moments(v)) | random_moments()


def random_moment(rng: random.Random, v: Vehicle) -> datetime:
    """The seeded counterpart of :func:`moments_for`."""
    r = rng.random()
    if r < 0.3:
        return rng.choice(BOUNDARY_MOMENTS)
    if r < 0.45:
        return rng.choice(vehicle_moments(v))
    return (RANDOM_FROM + timedelta(minutes=rng.randint(0, RANDOM_MINUTES))).astimezone(TZ)
