"""The bulk writer's values: what it sends for a column is what SQLAlchemy would send for it."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from sqlalchemy.dialects import postgresql, sqlite

from cases.bulk_write import _converter
from cases.models import Case, PaymentLine

VALUES = (datetime(2026, 12, 2, 21, 5, 9, 48), datetime(2026, 12, 2), datetime(999, 1, 1, 0, 0, 0, 1),
          datetime(2026, 3, 4, 5, 6, 7, 890000, tzinfo=timezone.utc), date(2026, 12, 1), None)


@pytest.mark.parametrize("dialect", [sqlite.dialect(), postgresql.dialect()], ids=["sqlite", "postgresql"])
@pytest.mark.parametrize("column", [Case.__table__.c.updated_at, Case.__table__.c.state_entered_at,
                                    PaymentLine.__table__.c.outcome_at], ids=lambda c: c.name)
def test_a_datetime_is_sent_as_sqlalchemy_sends_it(dialect, column):
    ours = _converter(column, dialect)
    theirs = column.type.dialect_impl(dialect).bind_processor(dialect)
    if theirs is None:
        assert ours is None
        return
    assert [ours(v) for v in VALUES] == [theirs(v) for v in VALUES]
