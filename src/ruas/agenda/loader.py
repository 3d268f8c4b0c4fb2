"""Load the agenda shipped with the package (``ruas/data/agenda/*.yaml``) into :class:`~ruas.agenda.model.Agenda`.

The files are checked as they are read: every organisation an activity names must exist, municipalities must carry
a CBS code of the 2024 indeling under their own name, step years must fall in the programme's period and each
budget's number must be what its text says. A file that fails says which entry and field is wrong
(:class:`~ruas.domain.errors.SourceError`).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping, Sequence
from datetime import date
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from ruas.agenda.model import (
    Activity,
    Agenda,
    Budget,
    BudgetTotal,
    Governance,
    Membership,
    Organisation,
    RoleText,
    SteeringMember,
    Step,
    StepStatus,
    Theme,
)
from ruas.domain.errors import SourceError

AGENDA_FILE = "data/agenda/agenda.yaml"
ORGANISATIONS_FILE = "data/agenda/organisations.yaml"
ORGANISATION_KINDS = frozenset(
    {
        "province",
        "transport_authority",
        "municipality",
        "national_government",
        "national_programme",
        "national_agency",
        "court",
        "knowledge",
        "regional_body",
        "region",
        "development_company",
        "company",
        "industry_association",
        "network",
        "group",
    }
)
_EUROS = re.compile(r"^€\s*(\d{1,3}(?:\.\d{3})*|\d+)$")


def _fail(file: str, where: str, message: str) -> SourceError:
    return SourceError(f"{file}: {where}: {message}", file=file, field=where)


def budget_amount(text: str | None) -> int | None:
    """The whole-euro amount a budget text states (``"€ 50.000"`` -> 50000), ``None`` for anything else."""
    if text is None:
        return None
    m = _EUROS.match(text.strip())
    return int(m.group(1).replace(".", "")) if m else None


@lru_cache(maxsize=1)
def national_municipalities() -> Mapping[str, str]:
    """Municipality name by CBS code, every Dutch municipality of the 2024 indeling."""
    text = resources.files("ruas").joinpath("data/gemeenten/gemeenten_2024_codes.csv").read_text(encoding="utf-8")
    return {row["gemeentecode"]: row["gemeentenaam"] for row in csv.DictReader(io.StringIO(text))}


@lru_cache(maxsize=1)
def region_municipalities() -> Mapping[str, str]:
    """Municipality name by CBS code, the 50 municipalities of Noord-Holland and Flevoland (2024)."""
    text = (
        resources.files("ruas").joinpath("data/gemeenten/gemeenten_2024_nh_flevoland.csv").read_text(encoding="utf-8")
    )
    return {row["gemeentecode"]: row["gemeentenaam"] for row in csv.DictReader(io.StringIO(text))}


@lru_cache(maxsize=1)
def embedded_agenda() -> Agenda:
    """The agenda of 17 April 2023 as shipped in the package (parsed and checked once per process)."""
    root = resources.files("ruas")
    return parse_agenda(
        root.joinpath(AGENDA_FILE).read_text(encoding="utf-8"),
        root.joinpath(ORGANISATIONS_FILE).read_text(encoding="utf-8"),
    )


def parse_agenda(agenda_text: str, organisations_text: str) -> Agenda:
    """Parse and check the two YAML documents (agenda, organisations)."""
    agenda_doc = _yaml(agenda_text, "agenda.yaml")
    orgs_doc = _yaml(organisations_text, "organisations.yaml")
    organisations = _organisations(_list(orgs_doc, "organisations", "organisations.yaml"))
    known = {o.id for o in organisations}
    f = "agenda.yaml"
    source = _map(agenda_doc, "source", f)
    period = _map(agenda_doc, "period", f)
    first_year, last_year = int(period["first_year"]), int(period["last_year"])
    themes = tuple(_theme(t, i) for i, t in enumerate(_list(agenda_doc, "themes", f)))
    theme_ids = {t.id for t in themes}
    if len(theme_ids) != len(themes):
        raise _fail(f, "themes", "duplicate theme id")
    activities: list[Activity] = []
    for i, raw in enumerate(_list(agenda_doc, "activities", f)):
        activities.append(_activity(raw, i, theme_ids, known, (first_year, last_year)))
    ids = [a.id for a in activities]
    dupes = sorted({x for x in ids if ids.count(x) > 1})
    if dupes:
        raise _fail(f, "activities", f"duplicate activity ids {dupes}")
    publishers = tuple(str(p) for p in source.get("publishers", ()))
    _known_orgs(publishers, known, "source.publishers")
    source_date = source.get("date")
    if not isinstance(source_date, date):
        raise _fail(f, "source.date", "expected a date (YYYY-MM-DD)")
    return Agenda(
        title=str(source["title"]),
        source_date=source_date,
        source_document=str(source.get("document", "")),
        publishers=publishers,
        first_year=first_year,
        last_year=last_year,
        themes=themes,
        organisations=organisations,
        governance=_governance(_map(agenda_doc, "governance", f), known),
        budget_totals=tuple(
            BudgetTotal(
                group=str(t["group"]),
                title=str(t["title"]),
                as_written=str(t["as_written"]),
                minimum_eur=int(t["minimum_eur"]),
            )
            for t in _list(agenda_doc, "budget_totals", f)
        ),
        budget_caveat=str(agenda_doc.get("budget_caveat", "")),
        planning_note=str(agenda_doc.get("planning_note", "")),
        activities=tuple(activities),
    )


# --------------------------------------------------------------------------- helpers


def _yaml(text: str, file: str) -> Mapping[str, Any]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SourceError(f"{file}: not valid YAML ({exc})", file=file) from exc
    if not isinstance(data, dict):
        raise SourceError(f"{file}: expected a mapping at the top", file=file)
    return data


def _map(doc: Mapping[str, Any], key: str, file: str) -> Mapping[str, Any]:
    value = doc.get(key)
    if not isinstance(value, dict):
        raise _fail(file, key, "expected a mapping")
    return value


def _list(doc: Mapping[str, Any], key: str, file: str) -> list[Any]:
    value = doc.get(key)
    if not isinstance(value, list):
        raise _fail(file, key, "expected a list")
    return value


def _opt_text(value: Any) -> str | None:
    return None if value is None else str(value)


def _ids(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _fail("agenda.yaml", where, "expected a list of organisation ids")
    return tuple(value)


def _known_orgs(ids: Sequence[str], known: set[str], where: str) -> None:
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise _fail("agenda.yaml", where, f"unknown organisations {unknown} (not in organisations.yaml)")


def _organisations(raw: list[Any]) -> tuple[Organisation, ...]:
    f = "organisations.yaml"
    names = national_municipalities()
    out: list[Organisation] = []
    seen: set[str] = set()
    for i, o in enumerate(raw):
        where = f"organisations[{i}]"
        if not isinstance(o, dict) or not o.get("id") or not o.get("name"):
            raise _fail(f, where, "expected a mapping with id and name")
        oid = str(o["id"])
        if oid in seen:
            raise _fail(f, where, f"duplicate organisation id {oid!r}")
        seen.add(oid)
        kind = str(o.get("kind", ""))
        if kind not in ORGANISATION_KINDS:
            raise _fail(f, f"{where}.kind", f"{kind!r} is not one of {sorted(ORGANISATION_KINDS)}")
        code = _opt_text(o.get("cbs_code"))
        if kind == "municipality":
            if code is None or code not in names:
                raise _fail(f, f"{where}.cbs_code", f"{oid}: {code!r} is not a CBS municipality code of 2024")
            if str(o["name"]) != f"Gemeente {names[code]}":
                raise _fail(f, f"{where}.name", f"{code} is {names[code]!r}, not {o['name']!r}")
        elif code is not None:
            raise _fail(f, f"{where}.cbs_code", f"{oid}: only municipalities have a CBS code")
        try:
            membership = Membership(o.get("membership", "none"))
        except ValueError:
            raise _fail(f, f"{where}.membership", f"{o.get('membership')!r} is not a known membership") from None
        if (kind == "group") != (membership is not Membership.NONE):
            raise _fail(f, f"{where}.membership", "groups, and only groups, have a membership")
        out.append(
            Organisation(
                id=oid,
                name=str(o["name"]),
                kind=kind,
                as_written=tuple(str(x) for x in o.get("as_written", ())),
                cbs_code=code,
                province_code=_opt_text(o.get("province_code")),
                membership=membership,
                part_of=_opt_text(o.get("part_of")),
                contact_municipality=_opt_text(o.get("contact_municipality")),
                note=str(o.get("note", "")),
            )
        )
    for org in out:
        for ref in (org.part_of, org.contact_municipality):
            if ref is not None and ref not in seen:
                raise _fail(f, org.id, f"refers to unknown organisation {ref!r}")
    return tuple(out)


def _theme(raw: Any, i: int) -> Theme:
    if not isinstance(raw, dict) or not raw.get("id") or not raw.get("name"):
        raise _fail("agenda.yaml", f"themes[{i}]", "expected a mapping with id and name")
    return Theme(str(raw["id"]), str(raw["name"]), tuple(str(x) for x in raw.get("as_written", ())))


def _governance(raw: Mapping[str, Any], known: set[str]) -> Governance:
    sg = raw.get("steering_group") or {}
    members = tuple(
        SteeringMember(str(m["organisation"]), str(m.get("role", "lid")), str(m.get("note", "")))
        for m in sg.get("members", ())
    )
    _known_orgs([m.organisation for m in members], known, "governance.steering_group")
    invitees = _ids(raw.get("network_invitees"), "governance.network_invitees")
    _known_orgs(invitees, known, "governance.network_invitees")
    final = str(raw["final_responsibility"])
    _known_orgs([final], known, "governance.final_responsibility")
    return Governance(
        final_responsibility=final,
        text=str(raw.get("text", "")),
        steering_group_name=str(sg.get("name", "")),
        steering_group=members,
        meets=str(sg.get("meets", "")),
        reports_to=str(sg.get("reports_to", "")),
        network_meeting=str(raw.get("network_meeting", "")),
        network_invitees=invitees,
    )


def _budget(raw: Any, where: str) -> Budget:
    if not isinstance(raw, dict):
        raise _fail("agenda.yaml", where, "expected a mapping")
    as_written = _opt_text(raw.get("as_written"))
    amount = raw.get("amount_eur")
    tbd = bool(raw.get("to_be_determined", False))
    if amount != budget_amount(as_written):
        raise _fail("agenda.yaml", f"{where}.amount_eur", f"{amount!r} is not what {as_written!r} says")
    if tbd != (as_written is not None and as_written.strip().lower() == "nader te bepalen"):
        raise _fail("agenda.yaml", f"{where}.to_be_determined", f"does not match {as_written!r}")
    group = _opt_text(raw.get("group"))
    if group not in (None, "vra_en_provincies", "andere_partijen"):
        raise _fail("agenda.yaml", f"{where}.group", f"{group!r} is not a table of section 5.6")
    return Budget(as_written, amount, tbd, group, _opt_text(raw.get("sheet")))


def _step(raw: Any, activity_id: str, seq: int, where: str, period: tuple[int, int]) -> Step:
    if not isinstance(raw, dict) or "text" not in raw:
        raise _fail("agenda.yaml", where, "expected a mapping with label and text")
    years = tuple(int(y) for y in raw.get("years", ()))
    if any(not period[0] <= y <= period[1] for y in years) or list(years) != sorted(set(years)):
        raise _fail("agenda.yaml", f"{where}.years", f"{list(years)}: ascending years in {period[0]}-{period[1]}")
    status = raw.get("source_status")
    try:
        source_status = StepStatus(status) if status is not None else None
    except ValueError:
        raise _fail("agenda.yaml", f"{where}.source_status", f"{status!r} is not a step status") from None
    return Step(
        activity_id=activity_id,
        seq=seq,
        label=str(raw.get("label", seq)),
        text=str(raw["text"]).strip(),
        years=years,
        source_status=source_status,
        note=str(raw.get("note", "")),
    )


def _activity(raw: Any, i: int, themes: set[str], known: set[str], period: tuple[int, int]) -> Activity:
    where = f"activities[{i}]"
    if not isinstance(raw, dict) or not raw.get("id") or not raw.get("name"):
        raise _fail("agenda.yaml", where, "expected a mapping with id and name")
    aid = str(raw["id"])
    where = f"activities[{aid}]"
    theme = _opt_text(raw.get("theme"))
    kind = str(raw.get("kind", "activity"))
    if kind not in ("activity", "programme_management"):
        raise _fail("agenda.yaml", f"{where}.kind", f"{kind!r}: activity or programme_management")
    if (theme is None) != (kind == "programme_management") or (theme is not None and theme not in themes):
        raise _fail("agenda.yaml", f"{where}.theme", f"{theme!r} is not one of the themes {sorted(themes)}")
    roles = tuple(RoleText(str(r["label"]), _opt_text(r.get("text"))) for r in raw.get("roles", ()))
    fields = {}
    for key in ("action_holders", "involved", "national_government", "industry", "directed_by"):
        fields[key] = _ids(raw.get(key), f"{where}.{key}")
        _known_orgs(fields[key], known, f"{where}.{key}")
    if not fields["action_holders"]:
        raise _fail("agenda.yaml", f"{where}.action_holders", "every activity has at least one action holder")
    cases = tuple((str(c["label"]), _ids(c.get("organisations"), f"{where}.cases")) for c in raw.get("cases", ()))
    for _, orgs in cases:
        _known_orgs(orgs, known, f"{where}.cases")
    steps = tuple(
        _step(s, aid, n, f"{where}.steps[{n}]", period) for n, s in enumerate(raw.get("steps") or (), start=1)
    )
    names = raw.get("names_as_written") or {}

    def summary(key: str) -> Mapping[str, str] | None:
        value = raw.get(key)
        return {str(k): str(v).strip() for k, v in value.items()} if isinstance(value, dict) else None

    return Activity(
        id=aid,
        theme=theme,
        kind=kind,
        name=str(raw["name"]),
        names_as_written={str(k): str(v) for k, v in names.items()},
        description=_opt_text(raw.get("description")),
        goals=_opt_text(raw.get("goals")),
        segments=_opt_text(raw.get("segments")),
        effects=_opt_text(raw.get("effects")),
        current_situation=_opt_text(raw.get("current_situation")),
        capacity=_opt_text(raw.get("capacity")),
        subsidies=_opt_text(raw.get("subsidies")),
        budget=_budget(raw.get("budget"), f"{where}.budget"),
        roles=roles,
        summary_5_5=summary("summary_5_5"),
        summary_bijlage_3=summary("summary_bijlage_3"),
        action_holders=fields["action_holders"],
        involved=fields["involved"],
        national_government=fields["national_government"],
        industry=fields["industry"],
        directed_by=fields["directed_by"],
        cases=cases,
        steps=steps,
        metrics=tuple(str(m) for m in raw.get("metrics") or ()),
        notes=tuple(str(n) for n in raw.get("notes") or ()),
    )
