"""Condition trees: ``all`` / ``any`` / ``not`` over allow-listed vehicle and time fields.

A condition says *which vehicles, when*. It is data: a tree of nodes that maps one to
one onto a DATEX II ``ConditionSet`` (operator ``and``/``or``, ``negate``) and onto
NDW's constraint tree, so import and export are lossless. It is never ``eval``'d:
every leaf names a field from :data:`FIELDS` and an operator that field allows, and
its value is parsed and type-checked when the tree is built.

Time enters through two fields: ``at`` (the moment of entry; compared with instants
or tested against an OSM ``opening_hours`` window) and ``age_years`` (the vehicle's
age in completed years on the local day of entry).

Nodes may carry an ``id`` (stable, e.g. the NDW condition id) and a ``label`` (a
human sentence used to explain decisions).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from operator import attrgetter
from typing import Any

from ruas.domain.errors import InvalidCondition, InvalidInput, InvalidTimeWindow
from ruas.domain.timeutil import LOCAL_TZ, add_years, age_in_years, local_day, local_midnight, parse_instant
from ruas.domain.vehicle import Body, Category, EmissionClass, Fuel, Vehicle
from ruas.domain.windows import TimeWindow, parse_window


class Op(StrEnum):
    """Leaf operators."""

    EQ = "eq"
    NE = "ne"
    IN = "in"
    NOT_IN = "not_in"
    LT = "lt"
    LE = "le"
    GT = "gt"
    GE = "ge"
    CONTAINS = "contains"  # set field holds the value
    INTERSECTS = "intersects"  # set field shares an element with the value list
    SUBSET_OF = "subset_of"  # every element of the set field is in the value list
    IN_WINDOW = "in_window"  # ``at`` lies inside an opening_hours window


_ORDERED = frozenset({Op.EQ, Op.NE, Op.IN, Op.NOT_IN, Op.LT, Op.LE, Op.GT, Op.GE})
_NOMINAL = frozenset({Op.EQ, Op.NE, Op.IN, Op.NOT_IN})
_SETS = frozenset({Op.CONTAINS, Op.INTERSECTS, Op.SUBSET_OF})


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """What a field holds and which operators it allows."""

    kind: str  # "enum", "ordered_enum", "number", "date", "set", "bool", "instant", "age"
    ops: frozenset[Op]
    doc: str
    enum: type[StrEnum] | None = None


FIELDS: Mapping[str, FieldSpec] = {
    "category": FieldSpec("enum", _NOMINAL, "EU vehicle category (M1, N1, N2, N3, ...)", Category),
    "category_group": FieldSpec("text", _NOMINAL, "EU category letter group: M, N, L, O, T"),
    "body": FieldSpec("enum", _NOMINAL, "body type: car, van, rigid, tractor, bus, ...", Body),
    "fuels": FieldSpec("set", _SETS, "the vehicle's fuels (diesel, petrol, electric, ...)", Fuel),
    "emission_class": FieldSpec(
        "ordered_enum", _ORDERED, "emission class 0-6 or Z; ordered 0 < ... < 6 < Z", EmissionClass
    ),
    "zero_emission": FieldSpec("bool", frozenset({Op.EQ, Op.NE}), "every fuel is electric or hydrogen"),
    "first_admission": FieldSpec("date", _ORDERED, "DET, date of first admission"),
    "max_mass_kg": FieldSpec("number", _ORDERED, "TMM, maximum permitted mass (kg)"),
    "length_m": FieldSpec("number", _ORDERED, "length (m)"),
    "width_m": FieldSpec("number", _ORDERED, "width (m)"),
    "height_m": FieldSpec("number", _ORDERED, "height (m)"),
    "axle_load_kg": FieldSpec("number", _ORDERED, "maximum axle load (kg)"),
    "body_codes": FieldSpec("set", _SETS, "RDW carrosserie-specifiek codes, e.g. 15"),
    "special_purpose": FieldSpec("set", _SETS, "EU special-purpose codes SA..SH"),
    "special_codes": FieldSpec("set", _SETS, "RDW bijzonderheden codes, e.g. 145"),
    "usage": FieldSpec("set", _SETS, "registered uses, e.g. taxi"),
    "holder": FieldSpec("set", _SETS, "facts about the keeper, e.g. permanent_resident"),
    "age_years": FieldSpec("age", _ORDERED, "vehicle age in completed years on the local day of entry"),
    "at": FieldSpec("instant", frozenset({Op.LT, Op.LE, Op.GT, Op.GE, Op.IN_WINDOW}), "the moment of entry"),
}

VEHICLE_FIELDS = frozenset(FIELDS) - {"at", "age_years"}


def _parse_scalar(fname: str, spec: FieldSpec, raw: Any) -> Any:
    try:
        if spec.kind in ("enum", "ordered_enum"):
            assert spec.enum is not None
            if spec.enum is EmissionClass:
                return EmissionClass.parse(raw)
            return spec.enum(str(raw))
        if spec.kind == "set":
            if spec.enum is not None:
                return spec.enum(str(raw))
            return str(raw)
        if spec.kind == "text":
            return str(raw)
        if spec.kind == "number" or spec.kind == "age":
            if isinstance(raw, bool) or not isinstance(raw, int | float | str):
                raise ValueError(raw)
            value = float(raw)
            if not math.isfinite(value):
                raise ValueError(raw)
            if spec.kind == "age" and not value.is_integer():
                raise ValueError(raw)  # ages are whole years
            return int(value) if value.is_integer() else value
        if spec.kind == "date":
            return raw if isinstance(raw, date) else date.fromisoformat(str(raw))
        if spec.kind == "bool":
            if isinstance(raw, bool):
                return raw
            if str(raw).lower() in ("true", "false"):
                return str(raw).lower() == "true"
            raise ValueError(raw)
        if spec.kind == "instant":
            return raw if isinstance(raw, datetime) else parse_instant(str(raw), fname)
    except (ValueError, InvalidInput) as exc:
        raise InvalidCondition(
            f"condition on {fname!r}: value {raw!r} is not a valid {spec.doc}", field=fname, value=str(raw)
        ) from exc
    raise InvalidCondition(f"condition on {fname!r}: unsupported field kind", field=fname)


@dataclass(frozen=True, slots=True)
class Leaf:
    """``field op value``, e.g. ``max_mass_kg le 3500`` or ``at in_window "Mo-Sa 07:00-11:00"``."""

    field: str
    op: Op
    value: Any
    id: str | None = None
    label: str | None = None

    def __post_init__(self) -> None:
        spec = FIELDS.get(self.field)
        if spec is None:
            raise InvalidCondition(
                f"unknown condition field {self.field!r}; allowed: {', '.join(sorted(FIELDS))}",
                field=self.field,
            )
        try:
            op = Op(self.op)
        except ValueError as exc:
            raise InvalidCondition(
                f"unknown operator {self.op!r} for field {self.field!r}", field=self.field, op=str(self.op)
            ) from exc
        if op not in spec.ops:
            raise InvalidCondition(
                f"operator {op.value!r} is not allowed on {self.field!r} "
                f"(allowed: {', '.join(sorted(o.value for o in spec.ops))})",
                field=self.field,
                op=op.value,
            )
        object.__setattr__(self, "op", op)
        value: Any
        if op is Op.IN_WINDOW:
            try:
                value = self.value if isinstance(self.value, TimeWindow) else parse_window(str(self.value))
            except InvalidTimeWindow as exc:
                raise InvalidCondition(
                    f"condition on 'at': {exc.message}", field=self.field, value=str(self.value)
                ) from exc
        elif op in (Op.IN, Op.NOT_IN, Op.INTERSECTS, Op.SUBSET_OF):
            if isinstance(self.value, str | bytes) or not isinstance(self.value, Iterable):
                raise InvalidCondition(
                    f"operator {op.value!r} on {self.field!r} needs a list of values", field=self.field
                )
            value = frozenset(_parse_scalar(self.field, spec, v) for v in self.value)
        else:
            value = _parse_scalar(self.field, spec, self.value)
        object.__setattr__(self, "value", value)

    def to_data(self) -> dict[str, Any]:
        """The JSON form: ``{"field", "op", "value"}`` plus ``id``/``label`` when set."""
        value: Any = self.value
        if isinstance(value, TimeWindow):
            value = value.expression
        elif isinstance(value, frozenset):
            value = sorted(_scalar_to_data(v) for v in value)
        else:
            value = _scalar_to_data(value)
        out: dict[str, Any] = {"field": self.field, "op": self.op.value, "value": value}
        return _with_meta(out, self.id, self.label)


@dataclass(frozen=True, slots=True)
class All:
    """True when every child is true (DATEX ``ConditionSet`` operator ``and``); empty is true."""

    children: tuple[Condition, ...]
    id: str | None = None
    label: str | None = None

    def to_data(self) -> dict[str, Any]:
        """JSON form ``{"all": [...]}``."""
        return _with_meta({"all": [c.to_data() for c in self.children]}, self.id, self.label)


@dataclass(frozen=True, slots=True)
class Any_:
    """True when some child is true (DATEX operator ``or``); empty is false."""

    children: tuple[Condition, ...]
    id: str | None = None
    label: str | None = None

    def to_data(self) -> dict[str, Any]:
        """JSON form ``{"any": [...]}``."""
        return _with_meta({"any": [c.to_data() for c in self.children]}, self.id, self.label)


@dataclass(frozen=True, slots=True)
class Not:
    """Negation (DATEX ``negate``)."""

    child: Condition
    id: str | None = None
    label: str | None = None

    def to_data(self) -> dict[str, Any]:
        """JSON form ``{"not": {...}}``."""
        return _with_meta({"not": self.child.to_data()}, self.id, self.label)


Condition = Leaf | All | Any_ | Not

TRUE: Condition = All(())
FALSE: Condition = Any_(())


def _scalar_to_data(value: Any) -> Any:
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def _with_meta(out: dict[str, Any], id_: str | None, label: str | None) -> dict[str, Any]:
    if id_ is not None:
        out["id"] = id_
    if label is not None:
        out["label"] = label
    return out


def from_data(data: Any, path: str = "condition") -> Condition:
    """Build a condition tree from its JSON form, naming the path of any bad node.

    >>> from_data({"all": [{"field": "max_mass_kg", "op": "gt", "value": 7500}]}).to_data()
    {'all': [{'field': 'max_mass_kg', 'op': 'gt', 'value': 7500}]}
    >>> from_data({"field": "__class__", "op": "eq", "value": 1})
    Traceback (most recent call last):
    ...
    ruas.domain.errors.InvalidCondition: condition: unknown condition field '__class__'; ...
    """
    if not isinstance(data, Mapping):
        raise InvalidCondition(f"{path}: expected an object, got {type(data).__name__}", path=path)
    id_ = data.get("id")
    label = data.get("label")
    keys = {"all", "any", "not", "field"} & set(data)
    if len(keys) != 1:
        raise InvalidCondition(f"{path}: a node needs exactly one of 'all', 'any', 'not' or 'field'", path=path)
    try:
        if "all" in data or "any" in data:
            key = "all" if "all" in data else "any"
            items = data[key]
            if not isinstance(items, list):
                raise InvalidCondition(f"{path}.{key}: expected a list", path=path)
            children = tuple(from_data(c, f"{path}.{key}[{i}]") for i, c in enumerate(items))
            return All(children, id_, label) if key == "all" else Any_(children, id_, label)
        if "not" in data:
            return Not(from_data(data["not"], f"{path}.not"), id_, label)
        if "op" not in data or "value" not in data:
            raise InvalidCondition(f"{path}: a leaf needs 'field', 'op' and 'value'", path=path)
        return Leaf(str(data["field"]), data["op"], data["value"], id_, label)
    except InvalidCondition as exc:
        if "path" in exc.details:  # already named by a deeper node
            raise
        details = {k: v for k, v in exc.details.items() if k != "path"}
        raise InvalidCondition(f"{path}: {exc.message}", path=path, **details) from exc


# --------------------------------------------------------------------------- evaluation


def vehicle_value(vehicle: Vehicle, fname: str) -> Any:
    """The value of an allow-listed vehicle field (``None`` when the vehicle does not know it)."""
    if fname == "category_group":
        return vehicle.category.group
    if fname == "zero_emission":
        return vehicle.emission_class is EmissionClass.Z
    if fname not in VEHICLE_FIELDS:
        raise InvalidCondition(f"{fname!r} is not a vehicle field", field=fname)
    return getattr(vehicle, fname)


def _ordered(value: Any) -> Any:
    return value.rank if isinstance(value, EmissionClass) else value


def _compare(op: Op, actual: Any, expected: Any) -> bool:
    if actual is None:
        return False
    if op is Op.EQ:
        return bool(actual == expected)
    if op is Op.NE:
        return bool(actual != expected)
    if op is Op.IN:
        return actual in expected
    if op is Op.NOT_IN:
        return actual not in expected
    if op is Op.CONTAINS:
        return expected in actual
    if op is Op.INTERSECTS:
        return not actual.isdisjoint(expected)
    if op is Op.SUBSET_OF:
        return bool(actual) and actual <= expected
    a, b = _ordered(actual), _ordered(expected)
    if op is Op.LT:
        return bool(a < b)
    if op is Op.LE:
        return bool(a <= b)
    if op is Op.GT:
        return bool(a > b)
    if op is Op.GE:
        return bool(a >= b)
    raise InvalidCondition(f"operator {op.value!r} cannot compare values", op=op.value)


def eval_leaf(leaf: Leaf, vehicle: Vehicle, at: datetime) -> bool:
    """Evaluate one leaf for ``vehicle`` entering at instant ``at``."""
    if leaf.field == "at":
        if leaf.op is Op.IN_WINDOW:
            return bool(leaf.value.is_open(at))
        return _compare(leaf.op, at, leaf.value)
    if leaf.field == "age_years":
        return _compare(leaf.op, age_in_years(vehicle.first_admission, local_day(at)), leaf.value)
    return _compare(leaf.op, vehicle_value(vehicle, leaf.field), leaf.value)


def evaluate(node: Condition, vehicle: Vehicle, at: datetime) -> bool:
    """Evaluate a condition tree for ``vehicle`` at instant ``at``."""
    if isinstance(node, Leaf):
        return eval_leaf(node, vehicle, at)
    if isinstance(node, All):
        return all(evaluate(c, vehicle, at) for c in node.children)
    if isinstance(node, Any_):
        return any(evaluate(c, vehicle, at) for c in node.children)
    return not evaluate(node.child, vehicle, at)


# --------------------------------------------------------------------------- partial evaluation


def _age_to_instants(leaf: Leaf, first_admission: date) -> Condition:
    """Rewrite ``age_years op N`` for a known DET as conditions on ``at``.

    The vehicle reaches age N at local midnight of its N-th anniversary of first admission.
    """

    def reach(k: int) -> datetime:
        return local_midnight(add_years(first_admission, k))

    op = leaf.op
    if op in (Op.IN, Op.NOT_IN):
        parts = tuple(All((Leaf("at", Op.GE, reach(k)), Leaf("at", Op.LT, reach(k + 1)))) for k in sorted(leaf.value))
        found: Condition = Any_(parts) if op is Op.IN else Not(Any_(parts))
        return _relabel(found, leaf.id, leaf.label)
    n = int(leaf.value)  # ages are whole years (checked when the leaf is built)
    if op is Op.GE:
        out: Condition = Leaf("at", Op.GE, reach(n))
    elif op is Op.GT:
        out = Leaf("at", Op.GE, reach(n + 1))
    elif op is Op.LT:
        out = Leaf("at", Op.LT, reach(n))
    elif op is Op.LE:
        out = Leaf("at", Op.LT, reach(n + 1))
    elif op is Op.EQ:
        out = All((Leaf("at", Op.GE, reach(n)), Leaf("at", Op.LT, reach(n + 1))))
    elif op is Op.NE:
        out = Any_((Leaf("at", Op.LT, reach(n)), Leaf("at", Op.GE, reach(n + 1))))
    else:
        raise InvalidCondition(f"operator {op.value!r} is not allowed on 'age_years'", op=op.value)
    return _relabel(out, leaf.id, leaf.label)


def _relabel(node: Condition, id_: str | None, label: str | None) -> Condition:
    if isinstance(node, Leaf):
        return Leaf(node.field, node.op, node.value, id_, label)
    if isinstance(node, All):
        return All(node.children, id_, label)
    if isinstance(node, Any_):
        return Any_(node.children, id_, label)
    return Not(node.child, id_, label)


Residual = bool | Condition


def residual(node: Condition, vehicle: Vehicle) -> Residual:
    """Fix the vehicle's fields and simplify: what remains depends on ``at`` only.

    Returns ``True``/``False`` when the answer does not depend on time at all.
    Vehicle-age leaves become instants (the day the vehicle turns N).
    """
    if isinstance(node, Leaf):
        if node.field == "at":
            return node
        if node.field == "age_years":
            return _age_to_instants(node, vehicle.first_admission)
        return _compare(node.op, vehicle_value(vehicle, node.field), node.value)
    if isinstance(node, Not):
        inner = residual(node.child, vehicle)
        return (not inner) if isinstance(inner, bool) else Not(inner, node.id, node.label)
    is_all = isinstance(node, All)
    kept: list[Condition] = []
    for child in node.children:
        r = residual(child, vehicle)
        if isinstance(r, bool):
            if r != is_all:  # a false child of all, or a true child of any, decides
                return r
            continue
        kept.append(r)
    if not kept:
        return is_all
    if len(kept) == 1 and node.label is None:
        return kept[0]
    return All(tuple(kept), node.id, node.label) if is_all else Any_(tuple(kept), node.id, node.label)


def eval_residual(res: Residual, at: datetime) -> bool:
    """Evaluate a residual (time-only) condition at ``at``."""
    if isinstance(res, bool):
        return res
    if isinstance(res, Leaf):
        if res.op is Op.IN_WINDOW:
            return bool(res.value.is_open(at))
        return _compare(res.op, at, res.value)
    if isinstance(res, All):
        return all(eval_residual(c, at) for c in res.children)
    if isinstance(res, Any_):
        return any(eval_residual(c, at) for c in res.children)
    return not eval_residual(res.child, at)


def instant_thresholds(res: Residual) -> Iterator[datetime]:
    """Every fixed instant at which a residual's ``at`` comparisons can flip."""
    if isinstance(res, bool):
        return
    if isinstance(res, Leaf):
        if res.field != "at":
            return
        if res.op in (Op.LT, Op.GE):
            yield res.value
        elif res.op in (Op.LE, Op.GT):  # flips just after the instant
            yield res.value + timedelta(microseconds=1)
        return
    children = (res.child,) if isinstance(res, Not) else res.children
    for c in children:
        yield from instant_thresholds(c)


def windows_in(res: Residual) -> Iterator[TimeWindow]:
    """Every opening_hours window a residual tests."""
    if isinstance(res, bool):
        return
    if isinstance(res, Leaf):
        if res.op is Op.IN_WINDOW:
            yield res.value
        return
    children = (res.child,) if isinstance(res, Not) else res.children
    for c in children:
        yield from windows_in(c)


def next_change_point(res: Residual, after: datetime) -> datetime | None:
    """The first instant strictly after ``after`` where some leaf of ``res`` may flip."""
    best: datetime | None = None
    for t in instant_thresholds(res):
        if t > after and (best is None or t < best):
            best = t
    for w in windows_in(res):
        nxt = w.next_change(after)
        if nxt is not None and (best is None or nxt < best):
            best = nxt
    return best


def walk(node: Condition) -> Iterator[Condition]:
    """Every node of the tree, depth first, parents before children."""
    yield node
    if isinstance(node, Not):
        yield from walk(node.child)
    elif isinstance(node, All | Any_):
        for c in node.children:
            yield from walk(c)


@dataclass(frozen=True, slots=True)
class Finding:
    """A labelled node whose truth value helped decide an evaluation."""

    id: str | None
    label: str
    value: bool
    extra: dict[str, Any] = field(default_factory=dict)


def explain(node: Condition, vehicle: Vehicle, at: datetime) -> list[Finding]:
    """The labelled nodes that decided the value of ``node`` for this vehicle and moment.

    For ``all``: when true, every labelled child; when false, the first false one.
    For ``any``: when true, the first true child; when false, the node itself (none applied).
    """
    out: list[Finding] = []
    _explain(node, vehicle, at, out)
    return out


def _explain(node: Condition, vehicle: Vehicle, at: datetime, out: list[Finding]) -> bool:
    value = evaluate(node, vehicle, at)
    if node.label is not None:
        out.append(Finding(node.id, node.label, value))
    if isinstance(node, Leaf):
        return value
    if isinstance(node, Not):
        _explain(node.child, vehicle, at, out)
        return value
    for child in node.children:
        child_value = evaluate(child, vehicle, at)
        if isinstance(node, All):
            if value or not child_value:
                _explain(child, vehicle, at, out)
            if not child_value:
                break
        else:
            if child_value:
                _explain(child, vehicle, at, out)
                break
    return value


# --------------------------------------------------------------------------- compiled evaluation

Predicate = Callable[[Vehicle, datetime], bool]


def _leaf_predicate(leaf: Leaf) -> Predicate:
    op, expected = leaf.op, leaf.value
    if leaf.field == "at":
        if op is Op.IN_WINDOW:
            window: TimeWindow = expected
            return lambda v, at: window.is_open(at)
        cmp = _CMP[op]
        return lambda v, at: cmp(at, expected)
    if leaf.field == "age_years":
        if op in _CMP:
            age_cmp = _CMP[op]
            return lambda v, at: age_cmp(age_in_years(v.first_admission, at.astimezone(LOCAL_TZ).date()), expected)
        return lambda v, at: _compare(op, age_in_years(v.first_admission, local_day(at)), expected)
    if leaf.field == "emission_class":
        if op in (Op.IN, Op.NOT_IN):
            if op is Op.IN:
                return lambda v, at: v.emission_class in expected
            return lambda v, at: v.emission_class not in expected
        cmp, rank = _CMP[op], _RANK[expected]
        return lambda v, at: cmp(_RANK[v.emission_class], rank)
    if leaf.field == "zero_emission" and op is Op.EQ:
        return lambda v, at: (v.emission_class is EmissionClass.Z) is expected
    if leaf.field in ("category_group", "zero_emission"):
        fname = leaf.field
        return lambda v, at: _compare(op, vehicle_value(v, fname), expected)
    if op is Op.IN:
        getter_in = attrgetter(leaf.field)
        return lambda v, at: getter_in(v) in expected
    getter = attrgetter(leaf.field)
    if op is Op.CONTAINS:
        return lambda v, at: expected in getter(v)
    if op is Op.INTERSECTS:
        return lambda v, at: not getter(v).isdisjoint(expected)
    if op in _CMP:
        cmp = _CMP[op]

        def ordered(v: Vehicle, at: datetime) -> bool:
            actual = getter(v)
            return actual is not None and bool(cmp(actual, expected))

        return ordered
    return lambda v, at: _compare(op, getter(v), expected)


_RANK: Mapping[EmissionClass, int] = {e: e.rank for e in EmissionClass}

_CMP: Mapping[Op, Callable[[Any, Any], bool]] = {
    Op.EQ: operator.eq,
    Op.NE: operator.ne,
    Op.LT: operator.lt,
    Op.LE: operator.le,
    Op.GT: operator.gt,
    Op.GE: operator.ge,
}


def _flatten(node: All | Any_) -> list[Condition]:
    """Children of ``node``, with nested nodes of the same kind spliced in (same truth value)."""
    out: list[Condition] = []
    for c in node.children:
        if type(c) is type(node):
            assert isinstance(c, All | Any_)
            out.extend(_flatten(c))
        else:
            out.append(c)
    return out


def compile_condition(node: Condition) -> Predicate:
    """Turn a tree into a Python closure with the same truth value as :func:`evaluate`.

    The closure is built once per regulation; it is what the single-decision path runs.
    """
    if isinstance(node, Leaf):
        return _leaf_predicate(node)
    if isinstance(node, Not):
        inner = compile_condition(node.child)
        return lambda v, at: not inner(v, at)
    parts = tuple(compile_condition(c) for c in _flatten(node))
    if len(parts) == 1:
        return parts[0]
    if isinstance(node, All):

        def all_of(v: Vehicle, at: datetime) -> bool:
            for p in parts:  # noqa: SIM110 - a plain loop: no generator per call on the hot path
                if not p(v, at):
                    return False
            return True

        return all_of

    def any_of(v: Vehicle, at: datetime) -> bool:
        for p in parts:  # noqa: SIM110 - a plain loop: no generator per call on the hot path
            if p(v, at):
                return True
        return False

    return any_of


def age_values(node: Condition) -> frozenset[int]:
    """Every age N (years) the tree compares against; the vehicle's age flips at N and N+1."""
    out: set[int] = set()
    for n in walk(node):
        if isinstance(n, Leaf) and n.field == "age_years":
            values = n.value if isinstance(n.value, frozenset) else {n.value}
            for x in values:
                out.update({int(x), int(x) + 1})
    return frozenset(out)


def has_windows(node: Condition) -> bool:
    """True when the tree tests an opening_hours window."""
    return any(isinstance(n, Leaf) and n.op is Op.IN_WINDOW for n in walk(node))


def relax_time(node: Condition, positive: bool = True) -> Condition:
    """An over-approximation that ignores time: true whenever ``node`` could be true at *some* moment.

    Leaves on ``at`` and ``age_years`` become true where they count positively and false
    under a negation, so ``relax_time(c)`` evaluated for a vehicle is false only when
    ``c`` is false for that vehicle at every moment. Used to skip work that cannot matter.
    """
    if isinstance(node, Leaf):
        if node.field in ("at", "age_years"):
            return TRUE if positive else FALSE
        return node
    if isinstance(node, Not):
        return Not(relax_time(node.child, not positive), node.id, node.label)
    children = tuple(relax_time(c, positive) for c in node.children)
    return All(children, node.id, node.label) if isinstance(node, All) else Any_(children, node.id, node.label)
