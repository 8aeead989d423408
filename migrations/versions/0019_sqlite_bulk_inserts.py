"""SQLite: cases inserted in bulk get their open stay and their count from two set-based
statements instead of two trigger programs a row

SQLite has no statement triggers. Its insert triggers on `cases` (0012, 0015) cost about 45 µs a
case, 4 of a commune list's 10 s of INSERTs at 100,000 rows. They now stand aside while a row of
`trigger_pauses` exists: `cases.bulk_write.BulkSink` writes one inside its own transaction (SQLite
has one writer at a time, and no other connection sees an uncommitted row), inserts the cases,
writes their stays and counts itself, and deletes the row before the transaction ends. Every
other INSERT, and every UPDATE and DELETE, keeps the row triggers. PostgreSQL has no such table:
its statement triggers (0018) already do this for a COPY.

Revision ID: 0019
Revises: 0018
"""
import importlib.util
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

UNPAUSED = "AFTER INSERT ON cases WHEN NOT EXISTS (SELECT 1 FROM trigger_pauses) BEGIN"


def upgrade():
    if op.get_bind().dialect.name != "sqlite":
        return
    op.create_table("trigger_pauses", sa.Column("name", sa.String(40), primary_key=True))
    for name, statement in _insert_triggers():
        op.execute(f"DROP TRIGGER {name}")
        op.execute(statement.replace("AFTER INSERT ON cases BEGIN", UNPAUSED, 1))


def downgrade():
    if op.get_bind().dialect.name != "sqlite":
        return
    for name, statement in _insert_triggers():
        op.execute(f"DROP TRIGGER {name}")
        op.execute(statement)
    op.drop_table("trigger_pauses")


def _insert_triggers() -> list[tuple[str, str]]:
    """The insert triggers as 0012 and 0015 wrote them: (name, statement)."""
    found = []
    for file, name in (("0012_queues.py", "case_counts_insert"), ("0015_reports.py", "case_stays_insert")):
        spec = importlib.util.spec_from_file_location(f"ansinh_migration_{file[:4]}", Path(__file__).with_name(file))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        statement = next(s for s in module._SQLITE_TRIGGERS if s.startswith(f"CREATE TRIGGER {name} AFTER INSERT"))
        assert "AFTER INSERT ON cases BEGIN" in statement, name
        found.append((name, statement))
    return found
