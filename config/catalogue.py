"""`python -m config.catalogue translations`: run by `make translations` after the merge.

The Vietnamese catalogue translates each message to itself, since the messages are written in
Vietnamese. Keeping a full vi catalogue (rather than relying on the gettext fallback) lets the
completeness test treat both languages alike, and lets a reviewer correct a Vietnamese wording in
the catalogue without touching code.

Both catalogues are then written the one same way: a header whose dates never move, sorted,
without line numbers or obsolete entries. Running `make translations` twice therefore changes
nothing, and a merge of two branches' catalogues touches only the messages they changed.
"""
from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

LOCALES = ("vi", "en")
# pybabel stamps the header with the time of each run; a fixed stamp keeps the files still.
STAMP = datetime(2026, 1, 1, tzinfo=timezone.utc)


def fill_vietnamese(catalogue: Catalog) -> int:
    """Translate every untranslated message of the vi catalogue to itself; the number filled."""
    filled = 0
    for message in catalogue:
        if not message.id:
            continue
        if isinstance(message.id, tuple):   # plural: Vietnamese has one form
            if not any(message.string):
                message.string = (message.id[0],)
                filled += 1
        elif not message.string:
            message.string = message.id
            filled += 1
        message.flags.discard("fuzzy")
    return filled


def path_of(directory: Path, locale: str) -> Path:
    return directory / locale / "LC_MESSAGES" / "messages.po"


def read(directory: Path, locale: str) -> Catalog:
    with path_of(directory, locale).open("rb") as handle:
        return read_po(handle, locale=locale)


def write(directory: Path, locale: str, catalogue: Catalog) -> None:
    catalogue.project, catalogue.version = "AnSinh", ""
    catalogue.copyright_holder, catalogue.msgid_bugs_address = "", ""
    catalogue.last_translator, catalogue.language_team = "", ""
    catalogue.creation_date = catalogue.revision_date = STAMP
    catalogue.fuzzy = False
    catalogue.header_comment = f"# {catalogue.locale.english_name} messages of AnSinh (msgids are Vietnamese)."
    with path_of(directory, locale).open("wb") as handle:
        write_po(handle, catalogue, sort_output=True, no_location=True, ignore_obsolete=True)


def tidy(directory: Path) -> int:
    """Fill the vi catalogue and write both in their one form; the number of vi messages filled."""
    filled = 0
    for locale in LOCALES:
        catalogue = read(directory, locale)
        if locale == "vi":
            filled = fill_vietnamese(catalogue)
        write(directory, locale, catalogue)
    return filled


if __name__ == "__main__":
    count = tidy(Path(sys.argv[1] if len(sys.argv) > 1 else "translations"))
    print(f"vi: {count} messages filled from their Vietnamese source")
