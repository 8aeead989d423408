"""SQLite: the insert triggers of `cases` whole again; a bulk insert drops them for its own
transaction instead of pausing them

0019 had the two insert triggers (0012, 0015) stand aside while a `trigger_pauses` row existed.
The `WHEN NOT EXISTS (...)` they were given still runs for every row: measured on 99,000 cases of
a commune list, 3.3 s of INSERTs with the paused triggers, 2.2 s without them. Now
`cases.bulk_write.BulkSink` drops the two triggers inside the writer's transaction and creates
them again, from their own text in `sqlite_master`, before the transaction ends. SQLite's DDL is
transactional and it has one writer at a time: no other connection ever sees `cases` without its
triggers, and a rollback puts them back. This migration undoes 0019.

Revision ID: 0020
Revises: 0019
"""
import importlib.util
from pathlib import Path

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade():
    _0019().downgrade()


def downgrade():
    _0019().upgrade()


def _0019():
    """Migration 0019, whose steps these are the other way round (a migration cannot import
    another by name: their files start with digits)."""
    path = Path(__file__).with_name("0019_sqlite_bulk_inserts.py")
    spec = importlib.util.spec_from_file_location("ansinh_migration_0019", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
