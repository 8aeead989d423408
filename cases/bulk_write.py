"""Writing many rows at once: `executemany` on SQLite, `COPY ... FROM STDIN` on PostgreSQL.

Rows are tuples in the table's column order, with values already in the form the database
stores (enums as their values, dates as ISO text, datetimes as `YYYY-MM-DD HH:MM:SS.ffffff`,
the text SQLAlchemy writes and reads on SQLite and PostgreSQL parses). The ORM is bypassed on
purpose: a million cases one object at a time would take an hour; a commune's list of 100,000
rows, a minute. Ids are given by the caller (`allocate_ids`), so audit rows can name their case
without reading it back.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from sqlalchemy import Table, func, select, text
from sqlalchemy.orm import Session

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


def allocate_ids(session: Session, table: Table, count: int) -> list[int]:
    """`count` ids for new rows of `table`, safe beside concurrent writers: from the table's
    sequence on PostgreSQL; on SQLite, after the largest id — the caller's transaction holds
    SQLite's one write lock (`extensions.write_intent`), so no one else inserts meanwhile."""
    if count <= 0:
        return []
    if session.get_bind().dialect.name == "postgresql":
        # A model's table name, not input (bandit B608).
        return list(session.scalars(text(
            f"SELECT nextval(pg_get_serial_sequence('{table.name}', 'id')) FROM generate_series(1, :n)"),  # nosec
            {"n": count}))
    first = next_id(session, table)
    return list(range(first, first + count))


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
