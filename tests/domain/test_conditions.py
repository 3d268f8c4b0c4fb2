"""Condition trees: JSON round trip, validation, and three evaluators that must agree.

``evaluate`` is the reference; ``residual`` (vehicle fixed, time left open) and
``compile_condition`` (closures) must give the same truth value for every vehicle and
moment. Checked on the national framework trees and on random trees.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ruas.domain.conditions import (
    FALSE,
    TRUE,
    All,
    Any_,
    Condition,
    Leaf,
    Not,
    Op,
    age_values,
    compile_condition,
    eval_residual,
    evaluate,
    explain,
    from_data,
    has_windows,
    instant_thresholds,
    next_change_point,
    residual,
    vehicle_value,
    walk,
    windows_in,
)
from ruas.domain.errors import InvalidCondition, InvalidInput
from ruas.domain.regulation import LegalSource, Regulation, ZoneKind
from ruas.domain.timeutil import LOCAL_TZ, Interval, add_years, local_midnight
from ruas.domain.vehicle import Body, Category, EmissionClass, Fuel, Vehicle
from ruas.domain.windows import TimeWindow
from ruas.rules.frameworks import (
    RuleSettings,
    ZoneBinding,
    bind_milieuzone,
    bind_zero_emission,
    national_exemption_types,
    national_frameworks,
)

TZ = LOCAL_TZ
PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def van(**kw: Any) -> Vehicle:
    """A class-6 diesel van (N1, 3,000 kg, DET 2019-05-01) with fields changed."""
    base: dict[str, Any] = {
        "category": Category.N1,
        "body": Body.VAN,
        "fuels": frozenset({Fuel.DIESEL}),
        "emission_class": EmissionClass.E6,
        "first_admission": date(2019, 5, 1),
        "max_mass_kg": 3000,
    }
    return Vehicle(**{**base, **kw})


def at(y: int, m: int, d: int, hh: int = 12, mm: int = 0) -> datetime:
    """A local moment."""
    return datetime(y, m, d, hh, mm, tzinfo=TZ)


# --------------------------------------------------------------------------- the trees under test


def _framework_regulations() -> list[Regulation]:
    everything = RuleSettings(frozenset({"all"}))
    start = local_midnight(date(2025, 1, 1))
    ze = bind_zero_emission(ZoneBinding("ze", "ZE", "GM0363", start, LegalSource("gmb-1")), everything)
    mz = bind_milieuzone(
        ZoneBinding("mz", "MZ", "GM0363", start, LegalSource("gmb-2"), params={"light": 5, "heavy": 6}), everything
    )
    window = Regulation(
        "win/venster",
        "window",
        ZoneKind.TIME_WINDOW,
        "GM0363",
        LegalSource("gmb-3"),
        subject=All(
            (Leaf("category", Op.IN, ["N1", "N2", "N3"]), Not(Leaf("at", Op.IN_WINDOW, "Mo-Sa 07:00-11:00; PH off")))
        ),
        subject_label="goods vehicles outside the window",
        validity=Interval(start, None),
    )
    return [ze, mz, window]


REGULATIONS = _framework_regulations()
FRAMEWORK_TREES: list[Condition] = [r.condition() for r in REGULATIONS]
FRAMEWORK_TREES += [c.condition for fw in national_frameworks().values() for c in fw.clauses]
FRAMEWORK_TREES += [t.eligibility for t in national_exemption_types().values()]
FRAMEWORK_TREES += [fw.subject for fw in national_frameworks().values() if fw.subject is not None]

LEAVES: list[dict[str, Any]] = [
    {"field": "category", "op": "in", "value": ["N1", "N2", "N3"]},
    {"field": "category", "op": "eq", "value": "M1"},
    {"field": "category_group", "op": "ne", "value": "N"},
    {"field": "body", "op": "not_in", "value": ["tractor", "bus"]},
    {"field": "fuels", "op": "contains", "value": "diesel"},
    {"field": "fuels", "op": "intersects", "value": ["lpg", "petrol"]},
    {"field": "fuels", "op": "subset_of", "value": ["electric", "hydrogen"]},
    {"field": "emission_class", "op": "lt", "value": "5"},
    {"field": "emission_class", "op": "ge", "value": "Euro 6"},
    {"field": "emission_class", "op": "in", "value": ["5", "Z"]},
    {"field": "zero_emission", "op": "eq", "value": True},
    {"field": "zero_emission", "op": "ne", "value": "true"},
    {"field": "first_admission", "op": "lt", "value": "2017-01-01"},
    {"field": "first_admission", "op": "ge", "value": "2020-01-01"},
    {"field": "max_mass_kg", "op": "le", "value": 3500},
    {"field": "max_mass_kg", "op": "gt", "value": "7500"},
    {"field": "length_m", "op": "gt", "value": 10},
    {"field": "height_m", "op": "le", "value": 4.0},
    {"field": "axle_load_kg", "op": "ge", "value": 10000},
    {"field": "body_codes", "op": "intersects", "value": ["15", "16"]},
    {"field": "special_purpose", "op": "contains", "value": "SH"},
    {"field": "special_codes", "op": "subset_of", "value": ["145", "146"]},
    {"field": "usage", "op": "contains", "value": "taxi"},
    {"field": "holder", "op": "contains", "value": "permanent_resident"},
    {"field": "age_years", "op": "ge", "value": 40},
    {"field": "age_years", "op": "lt", "value": 13},
    {"field": "age_years", "op": "eq", "value": 13},
    {"field": "age_years", "op": "ne", "value": 40},
    {"field": "age_years", "op": "gt", "value": 12},
    {"field": "age_years", "op": "le", "value": 39},
    {"field": "age_years", "op": "in", "value": [13, 40]},
    {"field": "age_years", "op": "not_in", "value": [40, 41]},
    {"field": "at", "op": "lt", "value": "2027-01-01"},
    {"field": "at", "op": "ge", "value": "2025-06-01T08:30:00+02:00"},
    {"field": "at", "op": "le", "value": "2028-01-01T00:00:00+01:00"},
    {"field": "at", "op": "gt", "value": "2026-03-29T01:59:00Z"},
    {"field": "at", "op": "in_window", "value": "Mo-Fr 07:00-19:00; PH off"},
    {"field": "at", "op": "in_window", "value": "Mo-Su 22:00-06:00"},
]


def trees(max_leaves: int = 8) -> st.SearchStrategy[Condition]:
    """Random all/any/not trees over the leaf pool."""
    leaves = st.sampled_from(LEAVES).map(from_data)
    return st.recursive(
        leaves,
        lambda kids: (
            st.lists(kids, max_size=4).map(lambda cs: All(tuple(cs)))
            | st.lists(kids, max_size=4).map(lambda cs: Any_(tuple(cs)))
            | kids.map(Not)
        ),
        max_leaves=max_leaves,
    )


FUELS = [
    frozenset({Fuel.DIESEL}),
    frozenset({Fuel.PETROL}),
    frozenset({Fuel.LPG}),
    frozenset({Fuel.ELECTRIC}),
    frozenset({Fuel.HYDROGEN}),
    frozenset({Fuel.PETROL, Fuel.ELECTRIC}),
    frozenset({Fuel.DIESEL, Fuel.ELECTRIC}),
]


@st.composite
def vehicles(draw: st.DrawFn) -> Vehicle:
    """Random vehicles, DET 1975-2026 including 29 February, TMM 1,500-44,000 kg, codes."""
    fuels = draw(st.sampled_from(FUELS))
    zero = fuels <= {Fuel.ELECTRIC, Fuel.HYDROGEN}
    return Vehicle(
        category=draw(st.sampled_from(list(Category))),
        body=draw(st.sampled_from(list(Body))),
        fuels=fuels,
        emission_class=EmissionClass.Z if zero else draw(st.sampled_from(list(EmissionClass)[:-1])),
        first_admission=draw(
            st.dates(date(1975, 1, 1), date(2026, 12, 31))
            | st.sampled_from([date(y, 2, 29) for y in range(1976, 2025, 4)])
        ),
        max_mass_kg=draw(st.integers(1500, 44000) | st.sampled_from([3500, 3501])),
        length_m=draw(st.none() | st.sampled_from([8.0, 10.0, 12.0])),
        height_m=draw(st.none() | st.sampled_from([3.5, 4.0])),
        axle_load_kg=draw(st.none() | st.integers(8000, 12000)),
        body_codes=draw(st.frozensets(st.sampled_from(["10", "15", "16", "31"]), max_size=2)),
        special_purpose=draw(st.frozensets(st.sampled_from(["SA", "SB", "SF", "SH"]), max_size=2)),
        special_codes=draw(st.frozensets(st.sampled_from(["70", "145", "146", "148"]), max_size=2)),
        usage=draw(st.frozensets(st.just("taxi"), max_size=1)),
        holder=draw(st.frozensets(st.just("permanent_resident"), max_size=1)),
    )


EDGES = [
    local_midnight(date(y, 1, 1)) + d
    for y in (2025, 2027, 2028, 2029, 2030)
    for d in (timedelta(0), -timedelta(minutes=1))
]
START = datetime(2024, 1, 1, tzinfo=UTC)


@st.composite
def moments(draw: st.DrawFn, v: Vehicle) -> datetime:
    """Any minute 2024-2031, a transition edge, or the vehicle's own 13th/40th anniversary edge."""
    own = [
        local_midnight(add_years(v.first_admission, n)) + d
        for n in (12, 13, 14, 39, 40, 41)
        for d in (timedelta(0), -timedelta(minutes=1))
    ]
    minutes = st.integers(0, 7 * 366 * 24 * 60).map(lambda m: (START + timedelta(minutes=m)).astimezone(TZ))
    return draw(st.sampled_from(EDGES) | st.sampled_from(own) | minutes)


# --------------------------------------------------------------------------- JSON round trip


@pytest.mark.parametrize("tree", FRAMEWORK_TREES, ids=lambda t: str(getattr(t, "id", None) or "tree"))
def test_framework_trees_round_trip(tree: Condition) -> None:
    """Every framework tree survives to_data -> from_data unchanged, and its JSON form is stable."""
    data = tree.to_data()
    again = from_data(data)
    assert again == tree
    assert again.to_data() == data


@pytest.mark.parametrize("leaf", LEAVES, ids=lambda d: f"{d['field']}-{d['op']}")
def test_leaf_round_trip_keeps_id_and_label(leaf: dict[str, Any]) -> None:
    """A leaf with an id and a label round-trips, keeping both."""
    node = from_data({**leaf, "id": "c-1", "label": "a sentence"})
    data = node.to_data()
    assert (data["id"], data["label"]) == ("c-1", "a sentence")
    assert from_data(data) == node


@settings(max_examples=200, deadline=None)
@given(tree=trees())
def test_random_trees_round_trip(tree: Condition) -> None:
    """Random trees over every field kind survive the JSON round trip."""
    assert from_data(tree.to_data()) == tree


def leaf_value(field: str, op: str, value: Any) -> Any:
    """The parsed value of a leaf built from JSON."""
    node = from_data({"field": field, "op": op, "value": value})
    assert isinstance(node, Leaf)
    return node.value


def test_values_are_parsed_to_their_types() -> None:
    """Leaf values become enums, numbers, dates, instants, windows and frozensets."""
    assert leaf_value("emission_class", "ge", "Euro VI") is EmissionClass.E6
    assert leaf_value("max_mass_kg", "gt", "7500") == 7500
    assert leaf_value("first_admission", "lt", "2025-01-01") == date(2025, 1, 1)
    assert leaf_value("at", "lt", "2027-01-01") == local_midnight(date(2027, 1, 1))
    assert isinstance(leaf_value("at", "in_window", "24/7"), TimeWindow)
    assert leaf_value("fuels", "intersects", ["lpg"]) == frozenset({Fuel.LPG})
    assert leaf_value("zero_emission", "eq", "false") is False


# --------------------------------------------------------------------------- validation


BAD: list[tuple[Any, str]] = [
    ({"field": "__class__", "op": "eq", "value": 1}, "condition"),
    (
        {
            "all": [
                {"field": "max_mass_kg", "op": "le", "value": 1},
                {"not": {"field": "bogus", "op": "eq", "value": 1}},
            ]
        },
        "condition.all[1].not",
    ),
    ({"any": [{"field": "max_mass_kg", "op": "approx", "value": 1}]}, "condition.any[0]"),
    ({"any": [{"field": "category", "op": "gt", "value": "N1"}]}, "condition.any[0]"),
    ({"any": [{"field": "at", "op": "eq", "value": "2025-01-01"}]}, "condition.any[0]"),
    ({"any": [{"field": "fuels", "op": "eq", "value": "diesel"}]}, "condition.any[0]"),
    ({"all": [{"field": "max_mass_kg", "op": "le", "value": "heavy"}]}, "condition.all[0]"),
    ({"all": [{"field": "max_mass_kg", "op": "le", "value": True}]}, "condition.all[0]"),
    ({"all": [{"field": "max_mass_kg", "op": "le", "value": None}]}, "condition.all[0]"),
    ({"all": [{"field": "max_mass_kg", "op": "le", "value": [3500]}]}, "condition.all[0]"),
    ({"all": [{"field": "emission_class", "op": "ge", "value": "7"}]}, "condition.all[0]"),
    ({"all": [{"field": "category", "op": "eq", "value": "Q7"}]}, "condition.all[0]"),
    ({"all": [{"field": "first_admission", "op": "lt", "value": "2025-13-01"}]}, "condition.all[0]"),
    ({"all": [{"field": "zero_emission", "op": "eq", "value": "yes"}]}, "condition.all[0]"),
    ({"all": [{"field": "at", "op": "lt", "value": "tomorrow"}]}, "condition.all[0]"),
    ({"all": [{"field": "fuels", "op": "contains", "value": "coal"}]}, "condition.all[0]"),
    ({"all": [{"field": "category", "op": "in", "value": "N1"}]}, "condition.all[0]"),
    ({"all": [{"field": "category", "op": "in", "value": ["N1", "X"]}]}, "condition.all[0]"),
    ({"all": [{"field": "age_years", "op": "ge", "value": "old"}]}, "condition.all[0]"),
    ({"all": "not a list"}, "condition"),
    ({"all": [], "field": "category"}, "condition"),
    ({"op": "eq", "value": 1}, "condition"),
    ({"all": [{"field": "category", "op": "eq"}]}, "condition.all[0]"),
    ({"all": [["category", "eq", "N1"]]}, "condition.all[0]"),
    ("category == 'N1'", "condition"),
    # eval-like input is data, never code
    ({"field": "__import__('os').system('true')", "op": "eq", "value": 1}, "condition"),
    ({"field": "eval", "op": "eq", "value": "1"}, "condition"),
    ({"all": [{"field": "max_mass_kg", "op": "__eq__", "value": 1}]}, "condition.all[0]"),
    ({"all": [{"field": "max_mass_kg", "op": "lt", "value": "__import__('os').getpid()"}]}, "condition.all[0]"),
    ({"all": [{"field": "at", "op": "lt", "value": "lambda: 0"}]}, "condition.all[0]"),
]


@pytest.mark.parametrize(("data", "path"), BAD, ids=[f"bad-{i}" for i in range(len(BAD))])
def test_bad_conditions_are_rejected_naming_the_path(data: Any, path: str) -> None:
    """Unknown fields and operators, disallowed operators, bad values and eval-like strings raise InvalidCondition."""
    with pytest.raises(InvalidCondition) as info:
        from_data(data)
    assert info.value.message.startswith(path)
    assert info.value.details["path"] == path


def test_custom_root_path_is_used() -> None:
    """The caller's path names the root, e.g. the framework file and clause id."""
    with pytest.raises(InvalidCondition, match=r"^nl-ze-zone\.x\.all\[0\]: ") as info:
        from_data({"all": [{"field": "bogus", "op": "eq", "value": 1}]}, "nl-ze-zone.x")
    assert info.value.details["field"] == "bogus"


def test_bad_value_at_the_root_names_the_path() -> None:
    """A root leaf with a bad value is rejected with path ``condition`` in its details."""
    with pytest.raises(InvalidCondition) as info:
        from_data({"field": "max_mass_kg", "op": "le", "value": "heavy"})
    assert info.value.details["path"] == "condition"


@pytest.mark.parametrize("window", ["Mo-Xx 25:00", "nonsense", 123])
def test_bad_window_is_an_invalid_condition_naming_the_path(window: Any) -> None:
    """A malformed opening_hours expression is an InvalidCondition at the leaf's path."""
    with pytest.raises(InvalidCondition) as info:
        from_data({"all": [{"field": "at", "op": "in_window", "value": window}]})
    assert info.value.details["path"] == "condition.all[0]"


def test_bad_window_is_at_least_invalid_input() -> None:
    """Whatever its class, a bad window is rejected as InvalidInput (never parsed as code)."""
    with pytest.raises(InvalidInput):
        from_data({"all": [{"field": "at", "op": "in_window", "value": "__import__('os')"}]})


@pytest.mark.parametrize("value", ["nan", "inf", float("nan"), float("-inf")], ids=["nan", "inf", "fnan", "f-inf"])
def test_non_finite_numbers_are_rejected(value: Any) -> None:
    """A mass limit of NaN or infinity is not a number a rule can use."""
    with pytest.raises(InvalidCondition):
        from_data({"all": [{"field": "max_mass_kg", "op": "le", "value": value}]})


def test_leaf_built_directly_is_validated() -> None:
    """Building a Leaf in code runs the same checks as from_data."""
    with pytest.raises(InvalidCondition):
        Leaf("category", Op.IN, "N1")
    with pytest.raises(InvalidCondition):
        Leaf("nope", Op.EQ, 1)
    with pytest.raises(InvalidCondition):
        Leaf("at", "eq", "2025-01-01")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- evaluation


def test_empty_all_is_true_and_empty_any_is_false() -> None:
    """TRUE is an empty all, FALSE an empty any."""
    v = van()
    assert evaluate(TRUE, v, at(2026, 1, 1)) is True
    assert evaluate(FALSE, v, at(2026, 1, 1)) is False
    assert residual(TRUE, v) is True
    assert residual(FALSE, v) is False


@pytest.mark.parametrize(
    ("leaf", "vehicle", "expected"),
    [
        ({"field": "category_group", "op": "eq", "value": "N"}, van(), True),
        ({"field": "category_group", "op": "eq", "value": "other"}, van(category=Category.OTHER), True),
        ({"field": "zero_emission", "op": "eq", "value": True}, van(fuels=frozenset({Fuel.ELECTRIC})), True),
        (
            {"field": "zero_emission", "op": "eq", "value": True},
            van(fuels=frozenset({Fuel.PETROL, Fuel.ELECTRIC})),
            False,
        ),
        ({"field": "emission_class", "op": "gt", "value": "6"}, van(fuels=frozenset({Fuel.HYDROGEN})), True),
        ({"field": "length_m", "op": "le", "value": 10}, van(length_m=None), False),
        ({"field": "length_m", "op": "ne", "value": 10}, van(length_m=None), False),
        (
            {"field": "fuels", "op": "subset_of", "value": ["electric", "hydrogen"]},
            van(fuels=frozenset({Fuel.ELECTRIC, Fuel.HYDROGEN})),
            True,
        ),
        ({"field": "special_codes", "op": "subset_of", "value": ["145"]}, van(), False),  # empty set
    ],
    ids=[
        "group-N",
        "group-other",
        "ze-electric",
        "ze-phev",
        "Z-above-6",
        "unknown-le",
        "unknown-ne",
        "subset",
        "empty-subset",
    ],
)
def test_leaf_semantics(leaf: dict[str, Any], vehicle: Vehicle, expected: bool) -> None:
    """Derived fields, Z ranking above 6, unknown values (never true) and subset_of on an empty set."""
    node = from_data(leaf)
    assert evaluate(node, vehicle, at(2026, 1, 1)) is expected
    assert compile_condition(node)(vehicle, at(2026, 1, 1)) is expected


@pytest.mark.parametrize(
    ("day", "age"),
    [(date(2026, 3, 14), 39), (date(2026, 3, 15), 40), (date(2027, 3, 14), 40)],
)
def test_age_is_counted_on_the_local_day_of_entry(day: date, age: int) -> None:
    """A vehicle first admitted 1986-03-15 is 39 the day before its 40th anniversary and 40 on the day."""
    v = van(first_admission=date(1986, 3, 15))
    node = from_data({"field": "age_years", "op": "eq", "value": age})
    late_evening_utc = datetime(day.year, day.month, day.day, 0, 30, tzinfo=TZ).astimezone(UTC)
    assert late_evening_utc.date() < day  # 00:30 local is still the previous day in UTC
    assert evaluate(node, v, late_evening_utc)


def test_vehicle_value_rejects_time_fields() -> None:
    """``at`` is not a vehicle field."""
    with pytest.raises(InvalidCondition):
        vehicle_value(van(), "at")


# --------------------------------------------------------------------------- evaluators agree


@PROPERTY
@given(data=st.data(), v=vehicles(), i=st.integers(0, len(FRAMEWORK_TREES) - 1))
def test_residual_agrees_with_evaluate_on_framework_trees(data: st.DataObject, v: Vehicle, i: int) -> None:
    """Fixing the vehicle first and evaluating the time-only rest gives the same answer."""
    tree = FRAMEWORK_TREES[i]
    t = data.draw(moments(v))
    assert eval_residual(residual(tree, v), t) == evaluate(tree, v, t)


@PROPERTY
@given(data=st.data(), v=vehicles(), i=st.integers(0, len(FRAMEWORK_TREES) - 1))
def test_compiled_agrees_with_evaluate_on_framework_trees(data: st.DataObject, v: Vehicle, i: int) -> None:
    """The compiled closure gives the same answer as the tree walker."""
    tree = FRAMEWORK_TREES[i]
    t = data.draw(moments(v))
    assert compile_condition(tree)(v, t) == evaluate(tree, v, t)


@PROPERTY
@given(data=st.data(), v=vehicles(), tree=trees())
def test_evaluators_agree_on_random_trees(data: st.DataObject, v: Vehicle, tree: Condition) -> None:
    """On random trees over every field and operator, residual and compiled forms agree with evaluate."""
    t = data.draw(moments(v))
    expected = evaluate(tree, v, t)
    assert eval_residual(residual(tree, v), t) == expected
    assert compile_condition(tree)(v, t) == expected


@PROPERTY
@given(data=st.data(), v=vehicles(), tree=trees())
def test_residual_changes_only_at_its_change_points(data: st.DataObject, v: Vehicle, tree: Condition) -> None:
    """Between ``t`` and the residual's next change point the answer does not change."""
    res = residual(tree, v)
    t = data.draw(moments(v))
    nxt = next_change_point(res, t)
    probe = t + timedelta(minutes=data.draw(st.integers(1, 60 * 24 * 400)))
    if nxt is None or probe < nxt:
        assert eval_residual(res, probe) == eval_residual(res, t)


@pytest.mark.parametrize("op", ["ge", "gt", "lt", "le", "eq", "ne"])
def test_a_fractional_age_is_rejected(op: str) -> None:
    """Ages are whole years, so ``age_years op 40.5`` is refused with the path named."""
    with pytest.raises(InvalidCondition) as info:
        from_data({"field": "age_years", "op": op, "value": 40.5})
    assert info.value.details["path"] == "condition"


@pytest.mark.parametrize("op", ["in", "not_in"])
def test_residual_with_an_age_list(op: str) -> None:
    """``age_years in [40, 41]`` can be fixed for a vehicle and evaluated over time."""
    node = from_data({"field": "age_years", "op": op, "value": [40, 41]})
    v = van(first_admission=date(1985, 6, 1))
    assert eval_residual(residual(node, v), at(2025, 6, 1)) == evaluate(node, v, at(2025, 6, 1))


# --------------------------------------------------------------------------- residual shape and helpers


def test_residual_turns_age_into_anniversary_instants() -> None:
    """``age_years ge 40`` for a DET of 1988-02-29 becomes ``at >= 2028-02-29 00:00`` local."""
    res = residual(from_data({"field": "age_years", "op": "ge", "value": 40}), van(first_admission=date(1988, 2, 29)))
    assert isinstance(res, Leaf)
    assert (res.field, res.op, res.value) == ("at", Op.GE, local_midnight(date(2028, 2, 29)))


def test_residual_decides_vehicle_only_trees() -> None:
    """A tree about the vehicle only becomes True or False."""
    tree = from_data(
        {"all": [{"field": "category", "op": "eq", "value": "N1"}, {"field": "max_mass_kg", "op": "le", "value": 3500}]}
    )
    assert residual(tree, van()) is True
    assert residual(tree, van(max_mass_kg=3501)) is False


def test_instant_thresholds_shift_le_and_gt_by_a_microsecond() -> None:
    """``at le T`` and ``at gt T`` flip just after T; ``lt``/``ge`` flip at T."""
    t = local_midnight(date(2027, 1, 1))
    res = Any_((Leaf("at", Op.LE, t), Leaf("at", Op.LT, t), Not(Leaf("at", Op.GT, t))))
    assert sorted(set(instant_thresholds(res))) == [t, t + timedelta(microseconds=1)]


def test_next_change_point_uses_windows_and_instants() -> None:
    """The next change is the earlier of a fixed instant and a window edge."""
    t = at(2025, 12, 31, 23, 0)
    res = All((Leaf("at", Op.LT, "2026-01-01"), Leaf("at", Op.IN_WINDOW, "Mo-Su 23:30-23:45")))
    assert next_change_point(res, t) == at(2025, 12, 31, 23, 30)
    assert next_change_point(res, at(2025, 12, 31, 23, 50)) == local_midnight(date(2026, 1, 1))
    assert [w.expression for w in windows_in(res)] == ["Mo-Su 23:30-23:45"]


def test_walk_age_values_and_has_windows() -> None:
    """walk lists parents before children; ages N give N and N+1; windows are detected."""
    tree = All(
        (Not(Leaf("age_years", Op.GE, 40)), Any_((Leaf("age_years", Op.LT, 13), Leaf("at", Op.IN_WINDOW, "24/7"))))
    )
    kinds = [type(n).__name__ for n in walk(tree)]
    assert kinds == ["All", "Not", "Leaf", "Any_", "Leaf", "Leaf"]
    assert age_values(tree) == frozenset({13, 14, 40, 41})
    assert has_windows(tree)
    assert not has_windows(Not(Leaf("age_years", Op.GE, 40)))


# --------------------------------------------------------------------------- explain


ZE_REG = bind_zero_emission(
    ZoneBinding("ze", "ZE", "GM0363", local_midnight(date(2025, 1, 1)), LegalSource("gmb-1")), RuleSettings()
)


@pytest.mark.parametrize(
    ("vehicle", "moment", "expected"),
    [
        (
            van(emission_class=EmissionClass.E4),
            at(2026, 1, 1),
            [("ze/ze", True), ("ze/ze#from", True), ("ze/ze#subject", True)],
        ),
        (van(), at(2026, 1, 1), [("ze/ze", False), ("ze-van-class6", True)]),
        (van(category=Category.M1, body=Body.CAR), at(2026, 1, 1), [("ze/ze", False), ("ze/ze#subject", False)]),
        (van(emission_class=EmissionClass.E4), at(2024, 12, 31), [("ze/ze", False), ("ze/ze#from", False)]),
    ],
    ids=["prohibited", "exempt", "not-subject", "not-in-force"],
)
def test_explain_returns_the_deciding_labelled_nodes(
    vehicle: Vehicle, moment: datetime, expected: list[tuple[str, bool]]
) -> None:
    """explain names the regulation and the labelled nodes that decided: validity, subject or the clause."""
    findings = explain(ZE_REG.condition(), vehicle, moment)
    assert [(f.id, f.value) for f in findings] == expected
    assert all(f.label for f in findings)


def test_explain_reports_a_false_labelled_any_itself() -> None:
    """When no child of a labelled any holds, the any itself is the finding."""
    tree = Any_(
        (Leaf("max_mass_kg", Op.GT, 7500, "heavy", "over 7.5 t"), Leaf("length_m", Op.GT, 10, "long", "over 10 m")),
        "big",
        "big vehicles",
    )
    findings = explain(tree, van(), at(2026, 1, 1))
    assert [(f.id, f.value) for f in findings] == [("big", False)]
    findings = explain(tree, van(max_mass_kg=8000, length_m=12.0), at(2026, 1, 1))
    assert [(f.id, f.value) for f in findings] == [("big", True), ("heavy", True)]
