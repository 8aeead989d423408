"""Refused requests in the audit trail, without letting anyone grow it without bound.

Every refusal of a user for a target (a case, a proposal, a page) is audited the first time in
an hour; repeats within that hour are counted on one row, and the count is reported in the
record that opens the next hour's window. A user asking for a thousand foreign cases writes a
thousand records, one each; asking for one foreign case a thousand times writes one.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import case, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from cases.changes import utcnow
from cases.models import DenialWindow

WINDOW = timedelta(hours=1)


def count_denial(session: Session, user_id: int, target: str, moment: datetime | None = None) -> int | None:
    """Count one refusal of `user_id` for `target`. Returns None when it falls in a window already
    audited (count it, write nothing else), else the number of repeats the previous window
    counted beyond its first (0 when there was none): the caller audits it then.
    """
    moment = moment or utcnow()
    table = DenialWindow.__table__
    target = target[:200]
    previous = session.execute(
        select(table.c.window_start, table.c.count)
        .where(table.c.user_id == user_id, table.c.target == target)).first()
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    stale = table.c.window_start <= moment - WINDOW
    session.execute(insert(table).values(user_id=user_id, target=target, window_start=moment, count=1)
                    .on_conflict_do_update(
                        index_elements=[table.c.user_id, table.c.target],
                        set_={"window_start": case((stale, moment), else_=table.c.window_start),
                              "count": case((stale, 1), else_=table.c.count + 1)}))
    if previous is not None and previous.window_start > moment - WINDOW:
        return None
    return previous.count - 1 if previous is not None else 0
