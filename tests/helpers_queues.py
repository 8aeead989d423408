"""Shared by the queue, search, bulk and home tests."""
from __future__ import annotations

import re
from contextlib import contextmanager

from sqlalchemy import delete, event

from cases.models import CaseCount
from extensions import db, write_intent


def forget_counts() -> None:
    """Empty case_counts (tests/conftest.py::clean_tables() leaves it, see _fresh_counts)."""
    with write_intent():
        db.session.execute(delete(CaseCount))
        db.session.commit()


@contextmanager
def statements():
    """Counts the SQL statements run inside the block."""
    counter = {"n": 0}

    def count(*_args, **_kwargs):
        counter["n"] += 1
    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield counter
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def row_ids(page: str) -> list[int]:
    """The case ids ticked-able on a queue page, in order."""
    return [int(n) for n in re.findall(r'name="case" value="(\d+)"', page)]


def token_of(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
