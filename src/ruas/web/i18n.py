"""Dutch first, English second: gettext catalogs (Babel) read straight from the ``.po`` files.

Message ids in templates and code are English; ``locale/nl/LC_MESSAGES/messages.po`` holds the Dutch
translations. The catalogs are compiled in memory when first used (``babel.messages.mofile.write_mo``),
so a fresh clone needs no compile step and the ``.po`` file is the only source of truth. English needs
no catalog: it is the message ids themselves.

The visitor's language: the ``lang`` cookie (set by ``/language``), else Dutch.
"""

from __future__ import annotations

import io
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency
from babel.support import NullTranslations, Translations

from ruas.domain.timeutil import LOCAL_TZ

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
LANGUAGES = ("nl", "en")
DEFAULT_LANGUAGE = "nl"
LANG_COOKIE = "ruas_lang"
DOMAIN = "messages"


def po_path(language: str) -> Path:
    """Where the catalog of ``language`` lives."""
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


@lru_cache(maxsize=len(LANGUAGES))
def translations(language: str) -> NullTranslations:
    """The gettext translations of ``language`` (English and unknown languages: the message ids)."""
    path = po_path(language)
    if language == "en" or not path.is_file():
        return NullTranslations()
    with path.open("rb") as fh:
        catalog = read_po(fh, locale=language, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return Translations(fp=buffer, domain=DOMAIN)


def pick_language(cookie: str | None, query: str | None = None) -> str:
    """The page language: an explicit ``?lang=`` first, then the cookie, else Dutch.

    >>> pick_language(None), pick_language("en"), pick_language("en", "nl"), pick_language("fr")
    ('nl', 'en', 'nl', 'nl')
    """
    for value in (query, cookie):
        if value in LANGUAGES:
            return value
    return DEFAULT_LANGUAGE


class Formatter:
    """Dates, moments and money in the visitor's language, always in Amsterdam time."""

    def __init__(self, language: str) -> None:
        self.language = language
        self.locale = Locale.parse(language)

    def date(self, value: date | datetime | None) -> str:
        """``1 januari 2027`` / ``January 1, 2027`` (a moment is shown as its Amsterdam date)."""
        if value is None:
            return ""
        if isinstance(value, datetime):
            value = value.astimezone(LOCAL_TZ).date()
        return format_date(value, format="long", locale=self.locale)

    def moment(self, value: datetime | None) -> str:
        """A moment in Amsterdam time, e.g. ``1 jan 2027 00:00``."""
        if value is None:
            return ""
        return format_datetime(value.astimezone(LOCAL_TZ), format="d MMM y HH:mm", locale=self.locale)

    def money(self, value: float | None) -> str:
        """``€ 30,00`` / ``€30.00``."""
        if value is None:
            return ""
        return format_currency(value, "EUR", locale=self.locale)
