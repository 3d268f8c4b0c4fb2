"""The agenda shipped with the package matches the seed document (RUAS, 17 April 2023).

``DOCUMENT`` was built by hand from the document, independently of the YAML: the activity names and budgets
from the tables of sections 5.5 and 5.6, the themes from the overview tables of Bijlage 3, and the action
holders from the "Rollen" row "Actiehouder" (or "Projecttrekker") of each activity sheet.
"""

from __future__ import annotations

import re

import pytest

from ruas.agenda.loader import budget_amount, embedded_agenda, national_municipalities, parse_agenda
from ruas.agenda.model import Agenda, Membership, StepStatus
from ruas.domain.errors import SourceError

PNH, PFL, VRA = "provincie-noord-holland", "provincie-flevoland", "vervoerregio-amsterdam"
TOEGANG, LAAD, INKOPEN, SMART = (
    "toegang-tot-binnensteden",
    "laad-en-tankinfrastructuur",
    "duurzaam-inkopen",
    "smart-logistics",
)

# (name in 5.5, theme, action holders (sheet), budget in 5.6 as written, the 5.6 table)
DOCUMENT: list[tuple[str, str | None, set[str], str | None, str | None]] = [
    ("Programmamanagement", None, {VRA}, None, None),
    ("ZE-zones: kennis delen en regionale afstemming", TOEGANG, {PNH, PFL, VRA}, "€ 0", "vra_en_provincies"),
    (
        "Regionaal basisraamwerk toegangsbeleid (venstertijden en ontheffingen)",
        TOEGANG,
        {PNH, PFL, VRA, "ministerie-ienw"},
        "€ 50.000",
        "vra_en_provincies",
    ),
    (
        "Logistiek in gebiedsontwikkeling",
        TOEGANG,
        {"mra-platform-smart-mobility", PNH, PFL, VRA, "gemeente-zaanstad", "gemeente-purmerend"},
        "€ 30.000",
        "vra_en_provincies",
    ),
    ("Haalbaarheidsonderzoek sturing op stromen", TOEGANG, {"gemeente-amsterdam"}, "€ 30.000", "andere_partijen"),
    ("Opnemen logistiek in gemeentelijk laadvisies", LAAD, {PNH, PFL, VRA}, "€ 30.000", "vra_en_provincies"),
    (
        "Inventariseren vraag/aanbod bedrijventerreinen",
        LAAD,
        {"mra-elektrisch", "gemeente-amsterdam", "ontwikkelingsbedrijf-nhn", "sadc", "horizon-flevoland"},
        "€ 30.000",
        "andere_partijen",
    ),
    (
        "Faciliteren waterstof voor stadslogistiek",
        LAAD,
        {"regio-west-friesland", "regio-ijmond", PNH},
        "Nader te bepalen",
        "vra_en_provincies",
    ),
    (
        "Inkoop eigen logistiek wagenpark ZE",
        INKOPEN,
        {PNH, "gemeente-hollands-kroon", "leasepartijen"},
        "€ 0",
        "vra_en_provincies",
    ),
    ("Slimme en schone bouwlogistiek", INKOPEN, {"gemeente-amsterdam"}, "Nader te bepalen", "andere_partijen"),
    (
        "Slimme en schone facilitaire logistiek",
        INKOPEN,
        {
            PFL,
            "gemeente-lelystad",
            "rijkswaterstaat",
            "rechtbank-midden-nederland",
            PNH,
            "gemeente-haarlem",
            "spaarnelanden",
        },
        "Nader te bepalen",
        "vra_en_provincies",
    ),
    ("Bundeling inkoop ANPR-camera’s", INKOPEN, {"gemeente-hoorn", "gemeente-zaanstad"}, "€ 0", "andere_partijen"),
    ("Datadelen voor logistiek", SMART, {PNH, PFL, VRA}, "Nader te bepalen", "vra_en_provincies"),
    (
        "Intelligente toegang",
        SMART,
        {"gemeente-schagen", "gemeente-amstelveen", "gemeente-waterland"},
        "Nader te bepalen",
        "andere_partijen",
    ),
    ("Slimme routering / kwaliteitsnet", SMART, {"projectteam-mtb"}, "€ 50.000", "vra_en_provincies"),
    ("Logistieke hubs", SMART, {PNH, PFL, VRA}, "Nader te bepalen", "vra_en_provincies"),
    ("Pakketkluizen", SMART, {PNH, PFL, VRA}, "€ 20.000", "andere_partijen"),
    ("Dashboard logistieke stromen doorontwikkelen", SMART, {PNH, VRA}, "Nader te bepalen", "vra_en_provincies"),
]

# CBS codes of the municipalities the agenda names (checked against the CBS list by hand)
MUNICIPALITIES = {
    "gemeente-aalsmeer": "GM0358",
    "gemeente-almere": "GM0034",
    "gemeente-amstelveen": "GM0362",
    "gemeente-amsterdam": "GM0363",
    "gemeente-haarlem": "GM0392",
    "gemeente-haarlemmermeer": "GM0394",
    "gemeente-hilversum": "GM0402",
    "gemeente-hollands-kroon": "GM1911",
    "gemeente-hoorn": "GM0405",
    "gemeente-lelystad": "GM0995",
    "gemeente-medemblik": "GM0420",
    "gemeente-purmerend": "GM0439",
    "gemeente-schagen": "GM0441",
    "gemeente-utrecht": "GM0344",
    "gemeente-waterland": "GM0852",
    "gemeente-zaanstad": "GM0479",
}


@pytest.fixture(scope="module")
def agenda() -> Agenda:
    """The embedded agenda."""
    return embedded_agenda()


def test_programme_management_plus_seventeen_activities_in_four_themes(agenda: Agenda) -> None:
    """All 17 activities plus programme management, 4 + 3 + 4 + 6 over the themes, in the document's order."""
    assert [a.name for a in agenda.activities] == [row[0] for row in DOCUMENT]
    assert [t.name for t in agenda.themes] == [
        "Toegang tot binnensteden",
        "Laad- en tankinfrastructuur",
        "Duurzaam inkopen",
        "Smart logistics",
    ]
    assert [len(agenda.activities_of(t.id)) for t in agenda.themes] == [4, 3, 4, 6]
    assert [a.kind for a in agenda.activities].count("activity") == 17


@pytest.mark.parametrize(("name", "theme", "holders", "budget", "group"), DOCUMENT, ids=[r[0][:30] for r in DOCUMENT])
def test_activity_as_written(
    agenda: Agenda, name: str, theme: str | None, holders: set[str], budget: str | None, group: str | None
) -> None:
    """Each activity's theme, action holders and budget are those of the document."""
    activity = next(a for a in agenda.activities if a.name == name)
    assert activity.theme == theme
    assert set(activity.action_holders) == holders
    assert activity.budget.as_written == budget
    assert activity.budget.group == group
    assert activity.budget.amount_eur == budget_amount(budget)
    assert activity.budget.to_be_determined == (budget == "Nader te bepalen")


def test_budget_totals_are_the_sums_section_5_6_states(agenda: Agenda) -> None:
    """5.6: "minstens € 160.000" for the VRA and provinces, "minstens € 80.000" for the others — the sums of the
    amounts in each table."""
    for total in agenda.budget_totals:
        amounts = [a.budget.amount_eur or 0 for a in agenda.activities if a.budget.group == total.group]
        assert sum(amounts) == total.minimum_eur
    assert {t.group: t.minimum_eur for t in agenda.budget_totals} == {
        "vra_en_provincies": 160000,
        "andere_partijen": 80000,
    }
    assert [
        len([a for a in agenda.activities if a.budget.group == g]) for g in ("vra_en_provincies", "andere_partijen")
    ] == [11, 6]


def test_steering_group_as_section_5_4(agenda: Agenda) -> None:
    """VRA chairs; both provinces, Amsterdam and one rotating mid-sized municipality sit in it."""
    g = agenda.governance
    assert g.final_responsibility == VRA
    assert [(m.organisation, m.role) for m in g.steering_group] == [
        (VRA, "voorzitter"),
        (PNH, "lid"),
        (PFL, "lid"),
        ("gemeente-amsterdam", "lid"),
        ("middelgrote-gemeente", "lid"),
    ]
    assert set(g.network_invitees) == {"gemeenten", "tln", "evofenedex"}


def test_municipalities_carry_their_cbs_codes(agenda: Agenda) -> None:
    """Every municipality the agenda names is a record with its CBS code, and the name fits the code."""
    municipalities = {o.id: o.cbs_code for o in agenda.organisations if o.kind == "municipality"}
    assert municipalities == MUNICIPALITIES
    names = national_municipalities()
    for org in agenda.organisations:
        if org.cbs_code:
            assert org.name == f"Gemeente {names[org.cbs_code]}"


@pytest.mark.parametrize(
    ("org_id", "kind"),
    [
        (PNH, "province"),
        (PFL, "province"),
        (VRA, "transport_authority"),
        ("rijkswaterstaat", "national_agency"),
        ("mra-elektrisch", "regional_body"),
        ("rechtbank-midden-nederland", "court"),
        ("tln", "industry_association"),
        ("evofenedex", "industry_association"),
    ],
)
def test_named_organisations_are_records(agenda: Agenda, org_id: str, kind: str) -> None:
    """Provinces, Vervoerregio, Rijkswaterstaat, MRA-Elektrisch, the court, TLN and evofenedex are first-class."""
    assert agenda.organisation(org_id).kind == kind


def test_steps_name_the_years_they_are_planned_in(agenda: Agenda) -> None:
    """A step's years come from its own text: every year given is written in it (alone or as a range end), and a
    step whose text names no year of the programme has none."""
    for step in agenda.steps():
        written = {int(y) for y in re.findall(r"20\d\d", step.text)}
        if not step.years:
            assert not written & set(agenda.years), step.id
            continue
        assert written <= set(step.years), step.id
        lo, hi = min(written), max(written)
        assert set(step.years) <= set(range(lo, hi + 1)), step.id


def test_steps_the_agenda_calls_running_start_in_progress(agenda: Agenda) -> None:
    """Exactly the steps whose text says "loopt" are in progress at the agenda's date."""
    running = {s.id for s in agenda.steps() if s.source_status is StepStatus.IN_PROGRESS}
    assert running == {s.id for s in agenda.steps() if s.text.endswith("– loopt")}
    assert running == {"waterstof-voor-stadslogistiek/1", "bundeling-inkoop-anpr/1"}


def test_every_link_to_a_platform_figure_is_registered(agenda: Agenda) -> None:
    """The metrics named in the data exist, and the three the issue asks for are linked."""
    from ruas.agenda.metrics import metric_definitions

    linked = {a.id: set(a.metrics) for a in agenda.activities}
    assert set().union(*linked.values()) <= set(metric_definitions())
    assert "ze_zones_live" in linked["ze-zones-kennis-delen"]
    assert "data_voor_logistiek" in linked["datadelen-voor-logistiek"]
    assert "anpr_shared_backoffice" in linked["bundeling-inkoop-anpr"]


def test_group_memberships(agenda: Agenda) -> None:
    """Groups say how the platform can tell their members; single organisations have no membership."""
    assert agenda.organisation("ze-zone-gemeenten").membership is Membership.REGISTER_ZERO_EMISSION
    assert agenda.organisation("gemeenten").membership is Membership.ALL_MUNICIPALITIES
    assert agenda.organisation("marktpartijen").membership is Membership.UNKNOWN
    assert agenda.organisation("GM0363").id == "gemeente-amsterdam"


# --------------------------------------------------------------------------- the loader refuses bad data

ORGS = """
organisations:
  - {id: vervoerregio-amsterdam, name: Vervoerregio Amsterdam, kind: transport_authority}
  - {id: gemeente-amsterdam, name: Gemeente Amsterdam, kind: municipality, cbs_code: GM0363}
"""

AGENDA = """
source: {{title: T, date: 2023-04-17, publishers: [vervoerregio-amsterdam]}}
period: {{first_year: 2023, last_year: 2026}}
themes: [{{id: t, name: T}}]
governance: {{final_responsibility: vervoerregio-amsterdam}}
budget_totals: []
activities:
  - id: a
    theme: t
    name: A
    budget: {{as_written: "{budget}", amount_eur: {amount}, to_be_determined: false, group: null}}
    action_holders: [{holder}]
    involved: []
    steps: [{{label: "1", text: x, years: {years}}}]
"""


def _agenda(**kw: object) -> str:
    values: dict[str, object] = {
        "budget": "€ 50.000",
        "amount": 50000,
        "holder": "gemeente-amsterdam",
        "years": "[2023]",
    }
    values.update(kw)
    return AGENDA.format(**values)


def test_a_well_formed_small_agenda_loads() -> None:
    """The fixture itself is valid, so the failures below are about the one thing each changes."""
    agenda = parse_agenda(_agenda(), ORGS)
    assert agenda.activity("a").budget.amount_eur == 50000


@pytest.mark.parametrize(
    ("agenda_kw", "orgs", "field"),
    [
        ({"holder": "nobody"}, ORGS, "activities[a].action_holders"),
        ({"amount": 5000}, ORGS, "activities[a].budget.amount_eur"),
        ({"years": "[2031]"}, ORGS, "activities[a].steps[1].years"),
        ({}, ORGS.replace("GM0363", "GM9999"), "organisations[1].cbs_code"),
        ({}, ORGS.replace("GM0363", "GM0392"), "organisations[1].name"),
    ],
    ids=["unknown-organisation", "budget-number-differs", "year-outside-period", "unknown-cbs-code", "wrong-name"],
)
def test_bad_agenda_data_is_refused_naming_the_field(agenda_kw: dict[str, object], orgs: str, field: str) -> None:
    """A wrong entry fails loading with a SourceError naming the entry and field."""
    with pytest.raises(SourceError) as info:
        parse_agenda(_agenda(**agenda_kw), orgs)
    assert info.value.details["field"] == field
