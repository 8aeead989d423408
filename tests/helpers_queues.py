"""Shared by the queue, search, bulk and home tests."""
from __future__ import annotations

import re

from sqlalchemy import delete

from cases.models import CaseCount
from extensions import db, write_intent


def forget_counts() -> None:
    """Empty case_counts (tests/conftest.py::clean_tables() leaves it, see _fresh_counts)."""
    with write_intent():
        db.session.execute(delete(CaseCount))
        db.session.commit()




def row_ids(page: str) -> list[int]:
    """The case ids ticked-able on a queue page, in order."""
    return [int(n) for n in re.findall(r'name="case" value="(\d+)"', page)]


def token_of(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
