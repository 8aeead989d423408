"""Finding a person: names folded to plain lowercase ASCII-like text, and prefix ranges on them.

People type names without diacritics and in any case ("nguyen van a" for "Nguyễn Văn A"), and
"d" for "đ". The fold is applied by the domain whenever a name is set (`Case.full_name`'s
validator), so every path that writes a case through the ORM keeps `name_folded` right; the bulk
loaders (demo, benchmark) call `fold_name` themselves.
"""
from __future__ import annotations

import sys
import unicodedata
from functools import cache

from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, and_, or_
from sqlalchemy.orm import Session

from workflow.states import CaseState

if TYPE_CHECKING:
    from cases.models import Case, User

# đ/Đ are letters of their own, not d with a mark: NFD leaves them whole.
_LETTERS = str.maketrans({"đ": "d", "Đ": "d"})
MAX_QUERY = 120


def fold_name(name: str | None) -> str:
    """`name` without diacritics, đ as d, lowercase, spaces collapsed ("Nguyễn  Văn Đức" -> "nguyen van duc")."""
    if not name:
        return ""
    plain = unicodedata.normalize("NFD", name.translate(_LETTERS)).translate(_combining_marks())
    return " ".join(plain.split()).lower()[:MAX_QUERY]


@cache
def _combining_marks() -> dict[int, None]:
    """Every combining mark of Unicode, to be dropped by `str.translate` (a few hundred; found once)."""
    return {point: None for point in range(sys.maxunicode + 1) if unicodedata.combining(chr(point))}


def given_name_first(folded: str) -> str:
    """The folded name with its last word — the given name, in Vietnamese order — put first
    ("luong thi hoa" -> "hoa luong thi"), so a search for "hoa" is a prefix range too."""
    family, _, given = folded.rpartition(" ")
    return f"{given} {family}" if family else given


def prefix_upper_bound(prefix: str) -> str:
    """The smallest string greater than every string starting with `prefix` (in code-point order,
    which is SQLite's BINARY and PostgreSQL's "C" collation): the prefix with its last
    character moved on by one."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def name_matches(prefix: str) -> ColumnElement[bool]:
    """The case's name begins with `prefix`, or its given name does (each a range on its own index)."""
    from cases.models import Case
    return or_(starts_with(Case.name_folded, prefix), starts_with(Case.name_given_first, prefix))


def starts_with(column, prefix: str) -> ColumnElement[bool]:
    """`column` begins with `prefix`, as a range an index on `column` serves on both databases
    (LIKE would need a special operator class on PostgreSQL and cannot use the index on SQLite
    with its case-insensitive default)."""
    return and_(column >= prefix, column < prefix_upper_bound(prefix))


def case_number(text: str) -> int | None:
    """The case number typed in the search box ("123", "#123", "HS123"), or None for a name."""
    digits = text.strip().lstrip("#").removeprefix("HS").removeprefix("hs").strip()
    if digits.isdigit() and digits.isascii() and len(digits) <= 10:
        value = int(digits)
        return value if 1 <= value <= 2**31 - 1 else None
    return None


def find_by_national_id(session: Session, user: User, number: str) -> list[Case]:
    """The cases in `user`'s scope registered under `number`, in any state (at most a live one
    and its terminated predecessors). Each half of the OR is served by a partial index on the
    number (live cases: the unique one; terminated cases: their own)."""
    from cases.access import scoped_cases
    from cases.models import Case
    live = Case.status != CaseState.TERMINATED
    return list(session.scalars(
        scoped_cases(user).where(or_(and_(Case.national_id == number, live),
                                     and_(Case.national_id == number, Case.status == CaseState.TERMINATED)))
        .order_by(Case.id).limit(20)))
