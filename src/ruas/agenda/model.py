"""The RUAS agenda as pure types: themes, organisations, activities with their steps and budgets.

The agenda (Regionale Uitvoeringsagenda Stadslogistiek, 17 April 2023) is a published document: these types hold
it as written (Dutch text, the budgets as the document states them) and are immutable. What changes while the
programme runs — the status of each step, money committed and spent, progress notes — lives in the database as
dated events (see :mod:`ruas.agenda.progress`). No I/O here and no clock.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from ruas.domain.errors import NotFound

_MONTHS = (
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
)


def dutch_date(day: date) -> str:
    """A date written out in Dutch: ``31 december 2024``."""
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


class StepStatus(StrEnum):
    """Where a step of an activity's step plan stands."""

    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    DELAYED = "delayed"

    @property
    def label_nl(self) -> str:
        """The Dutch label shown in the portal and the report."""
        return _STATUS_NL[self]


_STATUS_NL = {
    StepStatus.NOT_STARTED: "niet gestart",
    StepStatus.IN_PROGRESS: "loopt",
    StepStatus.DONE: "afgerond",
    StepStatus.DELAYED: "vertraagd",
}


class Role(StrEnum):
    """How an organisation takes part in an activity."""

    ACTION_HOLDER = "action_holder"  # actiehouder / projecttrekker
    DIRECTED_BY = "directed_by"  # opdrachtgever die de richting aangeeft
    INVOLVED = "involved"  # betrokken(en) / werkgroep
    NATIONAL_GOVERNMENT = "national_government"
    INDUSTRY = "industry"  # bedrijfsleven

    @property
    def label_nl(self) -> str:
        """The Dutch label."""
        return _ROLE_NL[self]


_ROLE_NL = {
    Role.ACTION_HOLDER: "actiehouder",
    Role.DIRECTED_BY: "opdrachtgever (geeft richting)",
    Role.INVOLVED: "betrokken",
    Role.NATIONAL_GOVERNMENT: "nationale overheid",
    Role.INDUSTRY: "bedrijfsleven",
}


class Membership(StrEnum):
    """How the platform can tell which municipalities belong to a group named in the agenda."""

    NONE = "none"  # not a group
    ALL_MUNICIPALITIES = "all_municipalities"
    REGISTER_ZERO_EMISSION = "register_zero_emission"  # a ZE-zone in the register
    REGISTER_TIME_WINDOW = "register_time_window"  # a time-window area in the register
    UNKNOWN = "unknown"  # the document does not say and the platform cannot tell


@dataclass(frozen=True, slots=True)
class Organisation:
    """A party named in the agenda: a province, the Vervoerregio, a municipality (with its CBS code), an agency,
    a company, or a group ("Gemeenten", "Alle ZE-zone gemeenten") whose ``membership`` says who belongs to it."""

    id: str
    name: str
    kind: str
    as_written: tuple[str, ...] = ()
    cbs_code: str | None = None
    province_code: str | None = None
    membership: Membership = Membership.NONE
    part_of: str | None = None
    contact_municipality: str | None = None
    note: str = ""

    @property
    def is_group(self) -> bool:
        """True for a group of organisations rather than one organisation."""
        return self.kind == "group"


@dataclass(frozen=True, slots=True)
class Theme:
    """One of the agenda's four themes."""

    id: str
    name: str
    as_written: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Budget:
    """An activity's budget as section 5.6 writes it (``as_written``), read as a number where it is one.

    ``amount_eur`` is whole euros (``None`` when "Nader te bepalen" or absent); ``group`` is the 5.6 table that
    lists it (``vra_en_provincies`` or ``andere_partijen``); ``sheet`` is the activity sheet's own "Middelen" text,
    which sometimes differs from 5.6.
    """

    as_written: str | None
    amount_eur: int | None
    to_be_determined: bool
    group: str | None
    sheet: str | None = None


@dataclass(frozen=True, slots=True)
class RoleText:
    """A row of an activity sheet's "Rollen" table, label and text as written."""

    label: str
    text: str | None


@dataclass(frozen=True, slots=True)
class Step:
    """A step of an activity's "Stappenplan 2023 - 2026".

    ``seq`` is the step's position (1, 2, ...; stable, used in URLs and the database), ``label`` its number as the
    sheet writes it (some sheets start at 0). ``years`` are the years the text names (empty when it names none).
    ``source_status`` is the status the agenda itself gives (``in_progress`` where it says "loopt").
    """

    activity_id: str
    seq: int
    label: str
    text: str
    years: tuple[int, ...] = ()
    source_status: StepStatus | None = None
    note: str = ""

    @property
    def id(self) -> str:
        """The step's id: ``<activity id>/<seq>``."""
        return f"{self.activity_id}/{self.seq}"

    @property
    def last_year(self) -> int | None:
        """The last year the step is planned in (``None`` when undated)."""
        return max(self.years) if self.years else None


@dataclass(frozen=True, slots=True)
class Activity:
    """An activity of the agenda (or the programme management sheet), as written in the agenda."""

    id: str
    theme: str | None
    kind: str
    name: str
    names_as_written: Mapping[str, str]
    description: str | None
    goals: str | None
    segments: str | None
    effects: str | None
    current_situation: str | None
    capacity: str | None
    subsidies: str | None
    budget: Budget
    roles: tuple[RoleText, ...]
    summary_5_5: Mapping[str, str] | None
    summary_bijlage_3: Mapping[str, str] | None
    action_holders: tuple[str, ...]
    involved: tuple[str, ...]
    national_government: tuple[str, ...] = ()
    industry: tuple[str, ...] = ()
    directed_by: tuple[str, ...] = ()
    cases: tuple[tuple[str, tuple[str, ...]], ...] = ()
    steps: tuple[Step, ...] = ()
    metrics: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    def step(self, seq: int) -> Step:
        """The step at position ``seq`` (raises :class:`NotFound`)."""
        for s in self.steps:
            if s.seq == seq:
                return s
        raise NotFound(
            f"activity {self.id!r} has no step {seq} (it has {len(self.steps)})", field="step", activity=self.id
        )

    def parties(self) -> Iterator[tuple[str, Role]]:
        """Every (organisation id, role) pair of the activity, action holders first."""
        for role, ids in (
            (Role.ACTION_HOLDER, self.action_holders),
            (Role.DIRECTED_BY, self.directed_by),
            (Role.INVOLVED, self.involved),
            (Role.NATIONAL_GOVERNMENT, self.national_government),
            (Role.INDUSTRY, self.industry),
        ):
            for org in ids:
                yield org, role

    @property
    def years(self) -> tuple[int, ...]:
        """Every year any step is planned in, ascending."""
        return tuple(sorted({y for s in self.steps for y in s.years}))


@dataclass(frozen=True, slots=True)
class SteeringMember:
    """A seat in the steering group (ambtelijke stuurgroep)."""

    organisation: str
    role: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class Governance:
    """Section 5.4: who is finally responsible, the steering group, the yearly network meeting."""

    final_responsibility: str
    text: str
    steering_group_name: str
    steering_group: tuple[SteeringMember, ...]
    meets: str
    reports_to: str
    network_meeting: str
    network_invitees: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class BudgetTotal:
    """A total of section 5.6 as written (``minimum_eur``: the "minstens" amount)."""

    group: str
    title: str
    as_written: str
    minimum_eur: int


@dataclass(frozen=True, slots=True)
class Agenda:
    """The whole agenda: source, themes, organisations, governance, activities."""

    title: str
    source_date: date
    source_document: str
    publishers: tuple[str, ...]
    first_year: int
    last_year: int
    themes: tuple[Theme, ...]
    organisations: tuple[Organisation, ...]
    governance: Governance
    budget_totals: tuple[BudgetTotal, ...]
    budget_caveat: str
    planning_note: str
    activities: tuple[Activity, ...]
    _by_id: Mapping[str, Activity] = field(default_factory=dict, repr=False, compare=False)
    _orgs: Mapping[str, Organisation] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {a.id: a for a in self.activities})
        object.__setattr__(self, "_orgs", {o.id: o for o in self.organisations})

    @property
    def years(self) -> tuple[int, ...]:
        """The programme's years (2023–2026)."""
        return tuple(range(self.first_year, self.last_year + 1))

    def activity(self, activity_id: str) -> Activity:
        """The activity with this id (raises :class:`NotFound` naming the known ids)."""
        try:
            return self._by_id[activity_id]
        except KeyError:
            raise NotFound(
                f"no agenda activity {activity_id!r}; known: {', '.join(self._by_id)}",
                field="activity",
                value=activity_id,
            ) from None

    def organisation(self, org_id: str) -> Organisation:
        """The organisation with this id or CBS code (raises :class:`NotFound`)."""
        org = self._orgs.get(org_id)
        if org is None:
            code = org_id.strip().upper()
            org = next((o for o in self.organisations if o.cbs_code == code), None)
        if org is None:
            raise NotFound(
                f"no organisation {org_id!r} in the agenda (give an organisation id or a CBS code such as GM0363)",
                field="organisation",
                value=org_id,
            )
        return org

    def has_organisation(self, org_id: str) -> bool:
        """True when ``org_id`` is an organisation id of the agenda."""
        return org_id in self._orgs

    def theme(self, theme_id: str) -> Theme:
        """The theme with this id (raises :class:`NotFound`)."""
        for t in self.themes:
            if t.id == theme_id:
                return t
        raise NotFound(f"no agenda theme {theme_id!r}", field="theme", value=theme_id)

    def activities_of(self, theme_id: str | None) -> tuple[Activity, ...]:
        """The activities of a theme in the agenda's order (``None``: programme management)."""
        return tuple(a for a in self.activities if a.theme == theme_id)

    def steps(self) -> Iterator[Step]:
        """Every step of every activity."""
        for a in self.activities:
            yield from a.steps
