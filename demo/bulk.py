"""Writing many rows at once: `executemany` on SQLite, `COPY ... FROM STDIN` on PostgreSQL.

Rows are tuples in the table's column order, with values already in the form the database
stores (enums as their values, dates as ISO text, datetimes as `YYYY-MM-DD HH:MM:SS.ffffff`,
the text SQLAlchemy writes and reads on SQLite and PostgreSQL parses). The ORM is bypassed on
purpose: a million cases one object at a time would take an hour. Ids are given by the caller
(`next_id`), so audit rows can name their case without reading it back; on PostgreSQL the id
sequences are moved past them at the end. Meant for the demo and the benchmark on a quiet
database: a web request inserting a case meanwhile could take an id given here.
"""
from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from sqlalchemy import Table, func, select, text
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

# SQLite's page cache during a bulk load, in KiB: index pages stay in memory instead of being
# re-read for every random insert into the ID-number and queue indexes.
BULK_CACHE_KIB = 512 * 1024


class BulkSink:
    """Appends rows to tables inside the session's transaction."""

    def __init__(self, session: Session):
        self.connection = session.connection()
        self.dialect = self.connection.dialect.name
        self.raw = self.connection.connection.driver_connection

    def write(self, table: Table, columns: Sequence[str], rows: list[tuple]) -> None:
        if not rows:
            return
        names = ", ".join(f'"{c}"' for c in columns)
        if self.dialect == "postgresql":
            with self.raw.cursor() as cursor:
                with cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
                    for row in rows:
                        copy.write_row(row)
        elif self.dialect == "sqlite":
            cursor = self.raw.cursor()
            try:
                marks = ", ".join("?" * len(columns))
                # Table and column names come from the models; the values are bound (bandit B608).
                cursor.executemany(f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})', rows)  # nosec
            finally:
                cursor.close()
        else:
            raise RuntimeError(f"bulk writing on {self.dialect}: SQLite and PostgreSQL only")

    @contextmanager
    def tuned(self) -> Iterator[None]:
        """A large page cache on SQLite while the load runs; the connection's own after."""
        if self.dialect != "sqlite":
            yield
            return
        before = self.connection.exec_driver_sql("PRAGMA cache_size").scalar()
        self.connection.exec_driver_sql(f"PRAGMA cache_size=-{BULK_CACHE_KIB}")
        try:
            yield
        finally:
            self.connection.exec_driver_sql(f"PRAGMA cache_size={int(before)}")

    def finish(self, tables: Sequence[Table]) -> None:
        """On PostgreSQL, move each table's id sequence past the ids given here."""
        if self.dialect != "postgresql":
            return
        for table in tables:
            # A model's table name, not input (bandit B608).
            self.connection.execute(text(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "  # nosec
                f"coalesce(max(id), 1), max(id) IS NOT NULL) FROM \"{table.name}\""))


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


def next_id(session: Session, table: Table) -> int:
    return session.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one() + 1


def chunked(items: Iterator, size: int) -> Iterator[list]:
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
