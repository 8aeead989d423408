"""`python -m config.catalogue translations`: the Vietnamese catalogue translates each message to
itself, since the messages are written in Vietnamese; run by `make translations` after the merge.

Keeping a full vi catalogue (rather than relying on the gettext fallback) lets the completeness
test treat both languages alike, and lets a reviewer correct a Vietnamese wording in the
catalogue without touching code.
"""
from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po


def fill_vietnamese(directory: Path) -> int:
    path = directory / "vi" / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        catalogue = read_po(handle, locale="vi")
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
    catalogue.fuzzy = False
    with path.open("wb") as handle:
        write_po(handle, catalogue, sort_output=True, no_location=True)
    return filled


if __name__ == "__main__":
    count = fill_vietnamese(Path(sys.argv[1] if len(sys.argv) > 1 else "translations"))
    print(f"vi: {count} messages filled from their Vietnamese source")
