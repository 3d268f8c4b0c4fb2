"""Texts that come from the engine, the desk and the register, worded in the visitor's language.

The engine and the desk stay language-free: next to each English sentence they give a stable message id with
parameters (:class:`ruas.domain.decision.Message`, ``desk.Check.message``). This module words those ids
through the portal's gettext catalog (``messages.po``; the English templates are the message ids) and the
parameters that are *data* — a regulation's subject label, a clause label, a zone name or note, an exemption
type's terms — through the data catalog ``locale/nl/LC_MESSAGES/data.po``, keyed by the English text as it is
in the shipped register and frameworks (:mod:`ruas.web.datatexts` lists them; a test fails on any without a
Dutch translation). A data text that is not in the catalog (e.g. typed by an officer) is shown as it is.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

from ruas.domain.decision import Message, Reason, ZoneDecision
from ruas.domain.regulation import ExemptionType
from ruas.domain.vehicle import Vehicle
from ruas.web.i18n import LOCALE_DIR, Formatter, translations

DATA_DOMAIN = "data"


def data_po_path(language: str) -> Any:
    """Where the data catalog of ``language`` lives."""
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DATA_DOMAIN}.po"


@lru_cache(maxsize=4)
def data_translations(language: str) -> NullTranslations:
    """The data catalog of ``language`` (English: the texts themselves)."""
    path = data_po_path(language)
    if language == "en" or not path.is_file():
        return NullTranslations()
    with path.open("rb") as fh:
        catalog = read_po(fh, locale=language, domain=DATA_DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return Translations(fp=buffer, domain=DATA_DOMAIN)


def _templates(_: Callable[[str], str]) -> dict[str, str]:
    """The wording of every message id (English message ids, translated by ``_``)."""
    return {
        "reason.not_in_force_yet": _("not in force yet: applies from %(from)s"),
        "reason.no_longer_in_force": _("no longer in force since %(since)s"),
        "reason.not_subject": _("does not apply to this vehicle: only %(subject)s"),
        "reason.exempt": "%(clause)s",
        "reason.grant_held": _("an exemption held for this vehicle lifts: %(subject)s"),
        "reason.prohibits": _("%(subject)s; no exemption applies to this vehicle"),
        "reason.announced": _("announced, not yet law: %(reason)s"),
        "note.text": "%(text)s",
        "note.announced.not_allowed": _(
            "announced zone: if introduced as announced, this vehicle would not be allowed"
        ),
        "note.announced.not_allowed_from": _(
            "announced zone: if introduced as announced, this vehicle would not be allowed (allowed from %(from)s)"
        ),
        "note.announced.allowed_until": _(
            "announced zone: if introduced as announced, this vehicle would be allowed until %(until)s"
        ),
        "note.announced.allowed": _("announced zone: if introduced as announced, this vehicle would be allowed"),
        "note.proposal.not_allowed": _("if the proposed change is adopted (%(clauses)s): not allowed"),
        "note.proposal.not_allowed_from": _(
            "if the proposed change is adopted (%(clauses)s): not allowed, allowed from %(from)s"
        ),
        "note.proposal.allowed_until": _("if the proposed change is adopted (%(clauses)s): allowed until %(until)s"),
        "note.proposal.allowed": _("if the proposed change is adopted (%(clauses)s): allowed, no end known"),
        "check.type_listed.ok": _("%(type)s is offered in %(municipality)s: %(zones)s"),
        "check.type_listed.fail": _("no regulation in force in %(municipality)s offers %(type)s"),
        "check.subject.ok": _("the vehicle is subject to %(regulation)s: %(subject)s"),
        "check.subject.fail": _("the vehicle is not subject to a regulation that offers this exemption (%(subjects)s)"),
        "check.subject.none": _("no regulation to be subject to"),
        "check.type_eligibility.ok": _("the vehicle meets the conditions of %(type)s"),
        "check.type_eligibility.fail": _("the vehicle does not meet the conditions of %(type)s"),
        "check.yearly_cap.ok": _(
            "day exemption number %(n)s of at most %(max)s for this vehicle in %(municipality)s in %(year)s"
        ),
        "check.yearly_cap.fail": _(
            "day exemption number %(n)s this year refused: at most %(max)s per vehicle per municipality per "
            "calendar year (%(municipality)s, %(year)s)"
        ),
        "check.one_per_day.fail": _("the vehicle already holds or awaits a day exemption for %(day)s"),
        "check.one_per_day.ok": _("no other day exemption for this day"),
        "check.visits.missing": _("declare the visits a year to the zone (at least %(need)s)"),
        "check.visits.too_few": _("%(declared)s visits a year declared; at least %(need)s are required"),
        "check.visits.ok": _("%(declared)s visits a year declared (at least %(need)s)"),
        "check.evidence.ok": _("%(files)s evidence file(s) uploaded (%(evidence)s)"),
        "check.evidence.missing": _("evidence required before a grant: %(evidence)s; upload it as evidence"),
        "check.needed.ok": _("without an exemption the vehicle may not enter at %(at)s: %(zones)s"),
        "check.needed.fail": _(
            "note: at %(at)s the vehicle may enter without this exemption (an automatic exemption or transition "
            "rule applies)"
        ),
    }


_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
_DESCRIBED = re.compile(
    r"^(?P<body>\w+) \((?P<category>[\w-]+)\), TMM (?P<mass>[\d,]+) kg, (?P<fuels>[\w+]+), "
    r"(?P<cls>zero emission|class \w+), DET (?P<det>\d{4}-\d{2}-\d{2})$"
)


class Words:
    """The engine's, the desk's and the register's texts in one language."""

    def __init__(self, language: str, types: Mapping[str, ExemptionType] | None = None) -> None:
        self.language = language
        self.fmt = Formatter(language)
        self._ = translations(language).gettext
        self._data = data_translations(language).gettext
        self.templates = _templates(self._)
        self.types = types or {}

    # ------------------------------------------------------------------ building blocks

    def data(self, text: str) -> str:
        """A data text (label, name, note, terms) in the visitor's language; unknown texts as they are."""
        return self._data(text) if text else text

    def when(self, value: str) -> str:
        """An ISO date or moment from a message, in words (``1 januari 2027`` / ``1 jan 2027 06:00``)."""
        if _ISO_DAY.match(value):
            return self.fmt.date(date.fromisoformat(value))
        if _ISO_MOMENT.match(value):
            return self.fmt.moment(datetime.fromisoformat(value))
        return value

    def type_name(self, type_id: str) -> str:
        """An exemption type's name (Dutch name in Dutch)."""
        etype = self.types.get(type_id)
        if etype is None:
            return type_id
        return etype.name_nl if self.language == "nl" and etype.name_nl else etype.name

    def _param(self, name: str, value: Any) -> str:
        if isinstance(value, list | tuple):
            return "; ".join(self._param(name, v) for v in value)
        text = str(value)
        if name in ("from", "until", "since", "at", "day"):
            return self.when(text)
        if name == "type_id":
            return self.type_name(text)
        if name in ("subject", "subjects", "clause", "clauses", "text", "regulation", "zones", "evidence"):
            return self.data(text)
        return text

    def message(self, msg_id: str, params: Mapping[str, Any], fallback: str = "") -> str:
        """A message id with its parameters, worded; ``fallback`` (the English sentence) for unknown ids."""
        if msg_id == "reason.announced":
            inner = dict(params)
            inner_id = str(inner.pop("reason", ""))
            return self.templates[msg_id] % {"reason": self.message(inner_id, inner, fallback)}
        found = self.templates.get(msg_id)
        if found is None:
            return fallback
        template: str = found
        worded = {k: self._param(k, v) for k, v in params.items()}
        if "type_id" in worded:
            worded["type"] = worded["type_id"]
        try:
            return template % worded
        except (KeyError, TypeError, ValueError):
            return fallback

    # ------------------------------------------------------------------ what the pages show

    def reason(self, reason: Reason) -> str:
        """Why, in words."""
        if reason.message is None:
            return reason.text
        return self.message(reason.message.id, _params(reason.message), reason.text)

    def reason_data(self, data: Mapping[str, Any]) -> str:
        """A reason in its JSON form (``Reason.to_data()``, as route answers carry it), in words."""
        msg = data.get("message")
        if not isinstance(msg, Mapping) or not msg.get("id"):
            return str(data.get("text", ""))
        return self.message(str(msg["id"]), dict(msg.get("params") or {}), str(data.get("text", "")))

    def notes(self, zd: ZoneDecision) -> list[str]:
        """A decision's notes, in words."""
        return [self.message(m.id, _params(m), note) for note, m in zd.notes_with_messages()]

    def check(self, check: Mapping[str, Any]) -> str:
        """A stored desk check ``{rule, ok, reason, message?, params?}``, in words."""
        msg = str(check.get("message") or "")
        if not msg:
            return str(check.get("reason", ""))
        params = dict(check.get("params") or {})
        if msg == "check.needed.ok":
            zones = [str(z) for z in params.get("zones", [])]
            subjects = [str(s) for s in params.get("subjects", [])]
            parts = [
                f"{self.data(z)}: {self.message('reason.prohibits', {'subject': s}) if s else self._('not allowed')}"
                for z, s in zip(zones, subjects + [""] * (len(zones) - len(subjects)), strict=False)
            ]
            return self.templates[msg] % {"at": self.when(str(params.get("at", ""))), "zones": "; ".join(parts)}
        return self.message(msg, params, str(check.get("reason", "")))

    def checks(self, checks: Sequence[Any]) -> list[tuple[bool, str]]:
        """Desk checks (stored dicts or ``desk.Check`` objects) as (ok, words)."""
        out = []
        for c in checks:
            data = c if isinstance(c, Mapping) else c.to_data()
            out.append((bool(data.get("ok")), self.check(data)))
        return out

    def vehicle(self, vehicle: Vehicle | str) -> str:
        """A vehicle described in words, e.g. ``bestelauto (N1), TMM 3.000 kg, diesel, klasse 6, DET 1 mei 2019``."""
        text = vehicle if isinstance(vehicle, str) else vehicle.describe()
        found = _DESCRIBED.match(text)
        if found is None or self.language == "en":
            return text
        _ = self._
        bodies = {
            "car": _("passenger car"),
            "van": _("van"),
            "rigid": _("rigid truck"),
            "tractor": _("tractor unit"),
            "bus": _("bus"),
            "motorcycle": _("motorcycle"),
            "special": _("special vehicle"),
            "other": _("other vehicle"),
        }
        fuels = {
            "diesel": _("diesel"),
            "petrol": _("petrol"),
            "lpg": "lpg",
            "cng": "cng",
            "lng": "lng",
            "electric": _("electric"),
            "hydrogen": _("hydrogen"),
            "other": _("other fuel"),
        }
        cls = found["cls"]
        cls_words = _("zero emission") if cls == "zero emission" else _("class %(c)s") % {"c": cls.split()[-1]}
        mass = int(found["mass"].replace(",", ""))
        return "%s (%s), TMM %s kg, %s, %s, %s %s" % (  # noqa: UP031 - one pattern for every language
            bodies.get(found["body"], found["body"]),
            found["category"],
            f"{mass:,}".replace(",", "."),
            "+".join(fuels.get(f, f) for f in found["fuels"].split("+")),
            cls_words,
            _("first admitted"),
            self.fmt.date(date.fromisoformat(found["det"])),
        )

    def etype_terms(self, etype: ExemptionType) -> str:
        """An exemption type's terms (duration, evidence, note) in words."""
        _ = self._
        parts = [
            self.data(etype.duration),
            _("evidence: %(what)s") % {"what": self.data(etype.evidence)} if etype.evidence else "",
            self.data(etype.note),
        ]
        return "; ".join(p for p in parts if p)


def _params(msg: Message) -> dict[str, Any]:
    return dict(msg.params)


@lru_cache(maxsize=4)
def words(language: str) -> Words:
    """The :class:`Words` of ``language`` with the national exemption types."""
    from ruas.rules.frameworks import national_exemption_types

    return Words(language, national_exemption_types())
