"""Row ids as they arrive from outside: in a URL, a query string or a form.

Every id column is a 32-bit integer on PostgreSQL (SERIAL), so a number outside 1..MAX_ID names no
row; handed to the database it would not miss but fail (an overflow on PostgreSQL, "Python int too
large" on SQLite). Anything else a person or a crawler can type is no id at all.
"""
from __future__ import annotations

import re

MAX_ID = 2**31 - 1
# Plain ASCII digits: `int()` alone would also take "+5", " 5", "5_0", Arabic-Indic digits, and
# raise on a string of more than 4,300 digits.
ID_DIGITS = r"[0-9]{1,10}"
_ID = re.compile(ID_DIGITS)


def parse_id(text: str | None) -> int | None:
    """The id `text` names, or None when it is absent, not a number or out of range."""
    if not text or not _ID.fullmatch(text):
        return None
    value = int(text)
    return value if 1 <= value <= MAX_ID else None
