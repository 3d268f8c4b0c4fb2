"""The data texts the portal shows (zone names and notes, regulation names and subject labels, clause labels,
exemption-type terms), listed from a rule book and the national frameworks, and the data catalog kept in step.

The texts are the register's own English; their Dutch lives in ``locale/nl/LC_MESSAGES/data.po`` (read by
:func:`ruas.web.texts.data_translations`). After changing shipped data::

    python -m ruas.web.datatexts            # adds new texts to data.po (empty translations), keeps the rest

then translate the new entries; ``tests/web/test_portal_pages.py`` fails on any shipped text without Dutch.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

from ruas.rules.engine import RuleBook
from ruas.rules.frameworks import national_exemption_types, national_frameworks
from ruas.web.texts import data_po_path


def shipped_texts(book: RuleBook) -> dict[str, str]:
    """Every data text of ``book``, the national frameworks and the exemption types -> where it comes from."""
    texts: dict[str, str] = {}

    def add(text: str, where: str) -> None:
        if text and text not in texts:
            texts[text] = where

    for zone in book.zones:
        add(zone.name, f"zone {zone.id}: name")
        for note in zone.notes:
            add(note, f"zone {zone.id}: note")
        for reg in zone.regulations:
            add(reg.name, f"regulation {reg.id}: name")
            add(reg.subject_label, f"regulation {reg.id}: subject")
            add(reg.legal_source.note, f"regulation {reg.id}: legal source note")
            for clause in reg.exemptions:
                add(clause.label, f"clause {clause.id}")
    for fw in national_frameworks().values():
        add(fw.subject_label, f"framework {fw.id}: subject")
        for clause in fw.clauses:
            add(clause.label, f"framework {fw.id}: clause {clause.id}")
    for etype in national_exemption_types().values():
        for name, text in (("duration", etype.duration), ("evidence", etype.evidence), ("note", etype.note)):
            add(text, f"exemption type {etype.id}: {name}")
    return texts


def update_catalog(texts: dict[str, str], language: str = "nl") -> list[str]:
    """Add the texts missing from the data catalog of ``language`` (empty translation); returns them."""
    path = data_po_path(language)
    if path.is_file():
        with path.open("rb") as fh:
            catalog = read_po(fh, locale=language)
    else:
        catalog = Catalog(locale=language, project="ruas", domain="data")
    added = []
    for text, where in texts.items():
        if text not in catalog:
            catalog.add(text, "", auto_comments=[where])
            added.append(text)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        write_po(fh, catalog, width=120, sort_output=False)
    return added


def main() -> None:
    """Seed a temporary default register and add its texts to the data catalog."""
    from ruas.register.store import Register
    from ruas.rules.frameworks import RuleSettings

    os.environ.pop("RUAS_DATABASE_URL", None)
    with tempfile.TemporaryDirectory(prefix="ruas-texts-") as tmp:
        register = Register(Path(tmp) / "data", RuleSettings())
        register.ensure_seeded()
        added = update_catalog(shipped_texts(register.book))
    print(f"{len(added)} new text(s) in {data_po_path('nl')}", file=sys.stderr)


if __name__ == "__main__":
    main()
