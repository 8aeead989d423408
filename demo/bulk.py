"""Loading the demo and benchmark datasets in bulk (cases.bulk_write does the writing).

`rollback_journal` is for the benchmark command on a database of its own: it switches SQLite's
journal mode, which needs the database to itself.
"""
from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session


log = logging.getLogger(__name__)


@contextmanager
def rollback_journal(session: Session) -> Iterator[None]:
    """SQLite: run a large load through a rollback journal instead of the write-ahead log.

    In WAL mode every page of a load of several gigabytes is written twice, into the log and
    then into the database at the checkpoint after the commit (a quarter of the whole time at a
    million cases); a rollback journal has nothing to save for pages appended to the file, so
    each page is written once. WAL is back on afterwards. Changing the mode needs the database
    to itself: for the benchmark command, not for a database the web app is serving from.
    """
    engine = session.get_bind()
    if engine.dialect.name != "sqlite":
        yield
        return
    session.rollback()
    _journal_mode(engine, "DELETE")
    try:
        yield
    finally:
        session.rollback()  # a no-op after the commit; after a failure, the mode cannot change inside it
        _journal_mode(engine, "WAL")


def _journal_mode(engine, mode: str) -> None:
    """Switch if the database can be had alone at once; otherwise stay as it is (only slower)."""
    # On the driver's connection: SQLAlchemy would open a transaction first, and the journal mode
    # cannot change inside one. No busy wait: another open connection keeps it from changing at all.
    with engine.connect() as connection:
        raw = connection.connection.driver_connection
        timeout = raw.execute("PRAGMA busy_timeout").fetchone()[0]
        raw.execute("PRAGMA busy_timeout=0")
        try:
            raw.execute(f"PRAGMA journal_mode={mode}")
        except sqlite3.OperationalError as error:
            log.info("journal mode stays as it is (%s): %s", mode, error)
        finally:
            raw.execute(f"PRAGMA busy_timeout={int(timeout)}")


