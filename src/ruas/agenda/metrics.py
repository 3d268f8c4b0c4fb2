"""What the platform itself measures for an agenda activity ("the platform's own figures").

A metric is a plain function ``MetricContext -> MetricResult`` registered under an id that the agenda data names
(``metrics: [ze_zones_live]``). Each says where its figure comes from and, when the platform does not (yet) have
the data, says so with ``available=False`` and a reason instead of showing a zero. Other features plug their own
metric in with :func:`register_metric`.

Figures are computed for a day (``MetricContext.on``): zone figures from the rules' validity (a zone counts as
live on a day when one of its regulations applies during it), which makes a report for a given date repeatable.
What the register holds is read as it is when the figure is computed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import func, inspect, select
from sqlalchemy.orm import Session

from ruas.agenda.model import dutch_date
from ruas.domain.regulation import Zone, ZoneKind, ZoneStatus
from ruas.domain.timeutil import local_day, local_midnight


@dataclass(frozen=True, slots=True)
class MetricContext:
    """What a metric may look at: the day, the register's zones, the region's municipalities, the database."""

    on: date
    zones: Sequence[Zone] | None
    municipalities: Mapping[str, str]
    session: Session | None = None


@dataclass(frozen=True, slots=True)
class MetricResult:
    """A figure with its explanation (Dutch), or why it is not available."""

    metric_id: str
    title: str
    available: bool
    summary: str
    value: int | None = None
    total: int | None = None
    rows: tuple[tuple[str, str], ...] = ()
    source: str = ""
    link: str | None = None

    def to_data(self) -> dict[str, object]:
        """JSON form."""
        return {
            "metric": self.metric_id,
            "title": self.title,
            "available": self.available,
            "summary": self.summary,
            "value": self.value,
            "total": self.total,
            "rows": [{"label": label, "value": value} for label, value in self.rows],
            "source": self.source,
            "link": self.link,
        }


@dataclass(frozen=True, slots=True)
class MetricDefinition:
    """A registered metric: id, Dutch title, what it measures, and the function that computes it."""

    id: str
    title: str
    description: str
    compute: Callable[[MetricContext], MetricResult] = field(compare=False)
    link: str | None = None


_REGISTRY: dict[str, MetricDefinition] = {}


def register_metric(definition: MetricDefinition) -> None:
    """Make a metric available to the agenda under ``definition.id`` (a later registration replaces it)."""
    _REGISTRY[definition.id] = definition


def metric_definitions() -> Mapping[str, MetricDefinition]:
    """Every registered metric by id."""
    return dict(_REGISTRY)


def compute(metric_id: str, ctx: MetricContext) -> MetricResult:
    """Compute one metric; an unknown id or a failing provider gives an honest "not available"."""
    definition = _REGISTRY.get(metric_id)
    if definition is None:
        return MetricResult(metric_id, metric_id, False, "Deze meting is in dit platform niet beschikbaar.")
    return definition.compute(ctx)


def _unavailable(d: MetricDefinition, reason: str) -> MetricResult:
    return MetricResult(d.id, d.title, False, reason, source=d.description, link=d.link)


# --------------------------------------------------------------------------- zones per municipality


def _day_bounds(on: date) -> tuple[datetime, datetime]:
    return local_midnight(on), local_midnight(on + timedelta(days=1))


def _zone_start(zone: Zone) -> datetime | None:
    starts = [r.validity.start for r in zone.regulations if r.validity.start is not None]
    return min(starts) if starts else None


def _live_on(zone: Zone, on: date) -> bool:
    """A published zone is live on a day when one of its regulations applies during that day."""
    if zone.status is not ZoneStatus.IN_FORCE:
        return False
    start, end = _day_bounds(on)
    return any(
        (r.validity.start is None or r.validity.start < end) and (r.validity.end is None or r.validity.end > start)
        for r in zone.regulations
    )


def _zones_by_municipality(ctx: MetricContext, kind: ZoneKind) -> dict[str, list[Zone]]:
    out: dict[str, list[Zone]] = {}
    for z in ctx.zones or ():
        if z.kind is kind and z.authority in ctx.municipalities:
            out.setdefault(z.authority, []).append(z)
    return out


def _zone_rows(ctx: MetricContext, by_code: Mapping[str, list[Zone]]) -> tuple[int, tuple[tuple[str, str], ...]]:
    live = 0
    rows: list[tuple[str, str]] = []
    for code in sorted(by_code, key=lambda c: ctx.municipalities[c]):
        zones = by_code[code]
        live_zones = [z for z in zones if _live_on(z, ctx.on)]
        live += bool(live_zones)
        parts = []
        for z in sorted(zones, key=lambda z: z.id):
            start = _zone_start(z)
            if z.status is ZoneStatus.ANNOUNCED:
                state = "aangekondigd"
            elif z in live_zones:
                state = f"actief sinds {local_day(start).isoformat()}" if start else "actief"
            elif start is not None and start >= _day_bounds(ctx.on)[1]:
                state = f"start {local_day(start).isoformat()}"
            else:
                state = "niet actief"
            parts.append(f"{z.name}: {state}")
        rows.append((f"{ctx.municipalities[code]} ({code})", "; ".join(parts)))
    return live, tuple(rows)


def _ze_zones_live(ctx: MetricContext) -> MetricResult:
    d = _REGISTRY["ze_zones_live"]
    if ctx.zones is None:
        return _unavailable(d, "Het register is niet geladen.")
    by_code = _zones_by_municipality(ctx, ZoneKind.ZERO_EMISSION)
    live, rows = _zone_rows(ctx, by_code)
    summary = (
        f"Op {dutch_date(ctx.on)} hebben {live} van de {len(ctx.municipalities)} gemeenten in Noord-Holland en "
        f"Flevoland een actieve ZE-zone; {len(by_code)} gemeenten hebben een ZE-zone in het register "
        "(actief, gepland of aangekondigd)."
    )
    return MetricResult(d.id, d.title, True, summary, live, len(ctx.municipalities), rows, d.description, d.link)


def _time_window_areas(ctx: MetricContext) -> MetricResult:
    d = _REGISTRY["time_window_areas"]
    if ctx.zones is None:
        return _unavailable(d, "Het register is niet geladen.")
    by_code = _zones_by_municipality(ctx, ZoneKind.TIME_WINDOW)
    live, rows = _zone_rows(ctx, by_code)
    summary = (
        f"{len(by_code)} gemeenten publiceren venstertijden in het platform; bij {live} gelden ze op "
        f"{dutch_date(ctx.on)}."
    )
    return MetricResult(d.id, d.title, True, summary, live, len(ctx.municipalities), rows, d.description, d.link)


_DATA_KINDS: tuple[tuple[ZoneKind, str], ...] = (
    (ZoneKind.ZERO_EMISSION, "ZE-zone"),
    (ZoneKind.ENVIRONMENTAL, "milieuzone"),
    (ZoneKind.TIME_WINDOW, "venstertijden"),
    (ZoneKind.VEHICLE_RESTRICTION, "voertuigbeperkingen"),
)


def _data_voor_logistiek(ctx: MetricContext) -> MetricResult:
    d = _REGISTRY["data_voor_logistiek"]
    if ctx.zones is None:
        return _unavailable(d, "Het register is niet geladen.")
    kinds: dict[str, set[str]] = {}
    for z in ctx.zones:
        if z.authority in ctx.municipalities and z.status is ZoneStatus.IN_FORCE:
            label = dict(_DATA_KINDS).get(z.kind)
            if label is not None:
                kinds.setdefault(z.authority, set()).add(label)
    order = [label for _, label in _DATA_KINDS]
    rows = tuple(
        (f"{ctx.municipalities[c]} ({c})", ", ".join(k for k in order if k in kinds[c]))
        for c in sorted(kinds, key=lambda c: ctx.municipalities[c])
    )
    summary = (
        f"{len(kinds)} van de {len(ctx.municipalities)} gemeenten publiceren logistieke toegangsregels "
        "(Data Top 15, item 14) via het platform. Het volledige overzicht per wegbeheerder staat in de "
        "compleetheidsweergave van de open-datafeed."
    )
    return MetricResult(d.id, d.title, True, summary, len(kinds), len(ctx.municipalities), rows, d.description, d.link)


def _basisraamwerk_adoptions(ctx: MetricContext) -> MetricResult:
    d = _REGISTRY["basisraamwerk_adoptions"]
    if ctx.session is None:
        return _unavailable(d, "Geen databank beschikbaar.")
    from ruas.services.lifecycle import embedded_framework
    from ruas.store.models import Adoption, FrameworkItem

    # The framework's items are seeded into the database lazily (when a lifecycle page or endpoint is first
    # used); count the shipped framework until then, so the figure never depends on which page was opened first.
    items = ctx.session.scalar(select(func.count()).select_from(FrameworkItem)) or len(embedded_framework()["items"])
    if items == 0:
        return _unavailable(d, "Het regionale basisraamwerk is nog niet in het platform geladen.")
    end = _day_bounds(ctx.on)[1]
    rows = ctx.session.execute(
        select(Adoption.municipality, func.count())
        .where(Adoption.adopted_at < end)
        .group_by(Adoption.municipality)
        .order_by(Adoption.municipality)
    ).all()
    adopted = {str(code): int(n) for code, n in rows}
    named = tuple(
        (f"{ctx.municipalities.get(c, c)} ({c})", f"{n} van {items} onderdelen")
        for c, n in sorted(adopted.items(), key=lambda kv: ctx.municipalities.get(kv[0], kv[0]))
    )
    summary = (
        f"Op {dutch_date(ctx.on)} hebben {len(adopted)} gemeenten onderdelen van het regionale basisraamwerk "
        f"overgenomen (het raamwerk telt {items} onderdelen)."
    )
    return MetricResult(d.id, d.title, True, summary, len(adopted), len(ctx.municipalities), named, d.description)


def _anpr_shared_backoffice(ctx: MetricContext) -> MetricResult:
    """Municipalities whose ANPR cameras are registered in the platform's shared enforcement back-office."""
    d = _REGISTRY["anpr_shared_backoffice"]
    if ctx.session is None:
        return _unavailable(d, "Geen databank beschikbaar.")
    from ruas.store import models

    camera = getattr(models, "Camera", None)
    if camera is None or not inspect(ctx.session.get_bind()).has_table(camera.__tablename__):
        return _unavailable(d, "De gedeelde back-office voor handhaving is in dit platform nog niet beschikbaar.")
    rows = ctx.session.execute(
        select(camera.municipality, camera.synthetic, func.count())
        .where(camera.active.is_(True))
        .group_by(camera.municipality, camera.synthetic)
    ).all()
    real: dict[str, int] = {}
    synthetic = 0
    for code, is_synthetic, n in rows:
        if is_synthetic:
            synthetic += int(n)
        else:
            real[str(code)] = real.get(str(code), 0) + int(n)
    if not real:
        reason = "Er zijn nog geen camera's van gemeenten in de gedeelde back-office geregistreerd."
        if synthetic:
            reason += f" ({synthetic} synthetische testcamera's tellen niet mee.)"
        return _unavailable(d, reason)
    named = tuple(
        (f"{ctx.municipalities.get(c, c)} ({c})", f"{n} camera's")
        for c, n in sorted(real.items(), key=lambda kv: ctx.municipalities.get(kv[0], kv[0]))
    )
    summary = (
        f"{len(real)} gemeenten handhaven met camera's via de gedeelde back-office van het platform "
        "(stand van het cameraregister)."
    )
    return MetricResult(d.id, d.title, True, summary, len(real), len(ctx.municipalities), named, d.description)


register_metric(
    MetricDefinition(
        "ze_zones_live",
        "ZE-zones per gemeente",
        "Register van het platform: zero-emissiezones per gemeente en de datum waarop hun regels ingaan.",
        _ze_zones_live,
        "/api/v1/zones",
    )
)
register_metric(
    MetricDefinition(
        "time_window_areas",
        "Venstertijden per gemeente",
        "Register van het platform: gebieden met venstertijden per gemeente.",
        _time_window_areas,
        "/api/v1/zones",
    )
)
register_metric(
    MetricDefinition(
        "data_voor_logistiek",
        "Data voor logistiek: gemeenten die publiceren",
        "Register van het platform: welke soorten toegangsregels elke gemeente publiceert (Data Top 15, item 14).",
        _data_voor_logistiek,
        "/api/v1/feed/completeness",
    )
)
register_metric(
    MetricDefinition(
        "basisraamwerk_adoptions",
        "Overname van het regionale basisraamwerk",
        "Platform: gemeenten die onderdelen van het regionale basisraamwerk (venstertijden, ontheffingen) hebben "
        "overgenomen.",
        _basisraamwerk_adoptions,
        "/api/v1/framework",
    )
)
register_metric(
    MetricDefinition(
        "anpr_shared_backoffice",
        "Gemeenten op de gedeelde back-office (ANPR)",
        "Cameraregister van de gedeelde handhavings-back-office van het platform.",
        _anpr_shared_backoffice,
    )
)
