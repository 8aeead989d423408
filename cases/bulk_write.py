"""Writing many rows at once: `executemany` on SQLite, `COPY ... FROM STDIN` on PostgreSQL; and
updating many, by one UPDATE reading a temporary table of the rows' values on SQLite and one
`UPDATE … FROM unnest(…)` a few thousand rows on PostgreSQL (where the statement triggers of
`cases` then run once for them all).

Rows are tuples in the table's column order, with values already in the form the database
stores (enums as their values, dates as ISO text, datetimes as `YYYY-MM-DD HH:MM:SS.ffffff`,
the text SQLAlchemy writes and reads on SQLite and PostgreSQL parses). The ORM is bypassed on
purpose: a million cases one object at a time would take an hour; a commune's list of 100,000
rows, a minute. Ids are given by the caller (`allocate_ids`), so audit rows can name their case
without reading it back.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence, Sized
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import DateTime, Table, func, select, text
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

# SQLite's page cache during a bulk load, in KiB: index pages stay in memory instead of being
# re-read for every random insert into the ID-number and queue indexes.
BULK_CACHE_KIB = 512 * 1024
UPDATE_CHUNK = 5_000    # rows per UPDATE … FROM unnest(…) on PostgreSQL: one array per column


@dataclass(frozen=True)
class Converted:
    """Rows' values a column at a time, each column's conversion applied (`converted`)."""
    names: tuple[str, ...]
    columns: list[tuple]

    @property
    def count(self) -> int:
        return len(self.columns[0]) if self.columns else 0


def converted(dialect: Dialect, table: Table, names: Sequence[str], rows: Sequence[tuple]) -> Converted:
    """`rows` (each a tuple of the `names` columns' Python values) as `BulkSink.update` sends them:
    a column at a time, each column's conversion applied to its values. Most columns have none,
    and a call per value of every row cost a second for 100,000 rows of ten columns."""
    columns = list(zip(*rows))
    if not columns:
        return Converted(tuple(names), [])
    for at, name in enumerate(names):
        convert = _converter(table.c[name], dialect)
        if convert is not None:
            columns[at] = tuple(map(convert, columns[at]))
    return Converted(tuple(names), columns)


class BulkSink:
    """Appends rows to tables inside the session's transaction."""

    def __init__(self, session: Session):
        self.connection = session.connection()
        self.dialect = self.connection.dialect.name
        self.raw = self.connection.connection.driver_connection

    def write(self, table: Table, columns: Sequence[str], rows: Iterable[tuple]) -> None:
        """Append `rows`. They may come from a generator: on PostgreSQL each is sent as it is made,
        so the server inserts while the caller builds the next ones."""
        if isinstance(rows, Sized) and not len(rows):
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
                insert_rows = f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})'  # nosec
                if table.name == "cases":
                    _insert_cases(cursor, insert_rows, rows, columns.index("id"))
                else:
                    cursor.executemany(insert_rows, rows)
            finally:
                cursor.close()
        else:
            raise RuntimeError(f"bulk writing on {self.dialect}: SQLite and PostgreSQL only")

    def update(self, table: Table, keys: Sequence[str], columns: Sequence[str], rows: Sequence[tuple] | Converted, *,
               bump: Sequence[str] = (), unset: Sequence[str] = ()) -> int:
        """Set `columns` on the rows matched by `keys` (the table's id first), each of `rows` a tuple
        of the keys' values then the columns' (Python values, as the models take them: the column
        types' conversions apply); each column of `bump` goes up by one, and a row whose `unset`
        columns are not all NULL is left alone. Returns how many rows were written (a caller
        guarding by a version compares).

        `rows` may come `Converted` already (where there was time, in a read-ahead worker).

        The ORM's executemany spends ~30 µs a row building parameters, and on PostgreSQL one
        statement a row runs the table's statement triggers once a row."""
        if not isinstance(rows, Converted):
            rows = converted(self.connection.dialect, table, (*keys, *columns), rows)
        elif rows.names != (*keys, *columns):
            raise ValueError(f"rows converted for {rows.names}, written to {(*keys, *columns)}")
        if not rows.count:
            return 0
        values = rows.columns
        if self.dialect == "postgresql":
            return self._update_unnest(table, keys, columns, values, bump, unset)
        return self._update_from_batch(table, keys, columns, values, bump, unset)

    def _update_unnest(self, table: Table, keys, columns, values: list[tuple], bump, unset) -> int:
        """`values`: a tuple of values for each key, then each column."""
        dialect = self.connection.dialect
        names = (*keys, *columns)
        aliases = [f"v{i}" for i in range(len(names))]
        # Sent in binary (%b): written as text, an array of datetimes cost psycopg 4.6 µs an element,
        # 0.6 µs in binary; 2 s of a return's 100,000 cases and lines.
        arrays = ", ".join(f"%b::{_array_of(table.c[name], dialect)}" for name in names)
        assignments = ([f'"{c}" = v.{aliases[len(keys) + i]}' for i, c in enumerate(columns)]
                       + [f'"{c}" = t."{c}" + 1' for c in bump])
        guards = [f't."{k}" = v.{aliases[i]}' for i, k in enumerate(keys)] + [f't."{c}" IS NULL' for c in unset]
        # Names and types come from the models; the values are bound as arrays (bandit B608).
        sql = (f'UPDATE "{table.name}" AS t SET {", ".join(assignments)} '  # nosec
               f'FROM unnest({arrays}) AS v({", ".join(aliases)}) WHERE {" AND ".join(guards)}')
        written = 0
        with self.raw.cursor() as cursor, _by_key(cursor):
            for start in range(0, len(values[0]), UPDATE_CHUNK):
                cursor.execute(sql, [list(column[start:start + UPDATE_CHUNK]) for column in values])
                written += cursor.rowcount
        return written

    def _update_from_batch(self, table: Table, keys, columns, values: list[tuple], bump, unset) -> int:
        """SQLite: the batch written to a temporary table keyed by id, then one UPDATE reading each
        row's values from it. Run once a row by `executemany`, the UPDATE opened its cursors on
        the table and its indexes again for every row, and twice more for a foreign key it sets
        (`updated_by_id`): 44 µs a case against 14. An id given twice is written once, by its
        first row (the second would have failed its guard): the count returned says so to a
        caller comparing."""
        if keys[0] != "id":
            raise ValueError(f"a bulk update finds its rows by id first, not by {keys[0]}")
        width = len(keys) + len(columns)
        given = [f"v{i}" for i in range(width)]
        of_row = "FROM temp.bulk_update_values WHERE v0 = t.id"
        names = ", ".join(f'"{c}"' for c in columns)
        assignments = ([f'({names}) = (SELECT {", ".join(given[len(keys):])} {of_row})']
                       + [f'"{c}" = "{c}" + 1' for c in bump])
        guards = (["id IN (SELECT v0 FROM temp.bulk_update_values)"]
                  + [f'"{k}" = (SELECT {given[i]} {of_row})' for i, k in enumerate(keys) if i]
                  + [f'"{c}" IS NULL' for c in unset])
        # Names come from the models; the values are bound into the temporary table (bandit B608).
        sql = f'UPDATE "{table.name}" AS t SET {", ".join(assignments)} WHERE {" AND ".join(guards)}'  # nosec
        cursor = self.raw.cursor()
        try:
            cursor.execute(f"CREATE TEMP TABLE bulk_update_values (v0 INTEGER PRIMARY KEY, {', '.join(given[1:])})")
            cursor.executemany(f"INSERT OR IGNORE INTO temp.bulk_update_values VALUES ({', '.join('?' * width)})",
                               zip(*values))
            if table.name == "cases":
                with self.tuned():      # the cases' eleven indexes, and the stays', stay in memory
                    return _update_cases(cursor, sql)
            cursor.execute(sql)
            return cursor.rowcount
        finally:
            cursor.execute("DROP TABLE IF EXISTS temp.bulk_update_values")
            cursor.close()

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
def bulk_cache(session: Session) -> Iterator[None]:
    """SQLite: `BulkSink.tuned`'s large page cache for a whole bulk job, chunk after chunk. Given
    back to the connection's own size at the end of each chunk, the cache dropped the indexes'
    pages and the next chunk read them all again: a return's 100,000-case UPDATE took 3.1 s so,
    1.0 s with the cache kept. Set on the job's own connection and given back to that connection
    at the end, whatever transactions ran on it meanwhile (`tuned` inside keeps the size it
    finds)."""
    if session.get_bind().dialect.name != "sqlite":
        yield
        return
    raw = session.connection().connection.driver_connection
    before = raw.execute("PRAGMA cache_size").fetchone()[0]
    raw.execute(f"PRAGMA cache_size=-{BULK_CACHE_KIB}")
    try:
        yield
    finally:
        raw.execute(f"PRAGMA cache_size={int(before)}")


# SQLite: what the insert triggers of `cases` (migrations 0012, 0015) write for each new case, for
# many cases at once while they are dropped (migration 0020). tests/test_case_stays.py holds the
# two paths equal.
_INSERT_TRIGGERS = ("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'cases' "
                    "AND name IN ('case_counts_insert', 'case_stays_insert') ORDER BY name")
_OPEN_STAYS = (
    "INSERT INTO case_stays (case_id, status, province_id, commune_id, policy_group, has_account, valid_from, "
    "valid_to) SELECT id, status, province_id, commune_id, policy_group, NULLIF(account_number, '') IS NOT NULL, "
    "state_entered_at, '9999-12-31 00:00:00.000000' FROM cases WHERE id IN ({ids})")
_COUNT = (
    "INSERT INTO case_counts (commune_id, status, policy_group, province_id, n) "
    "SELECT commune_id, status, policy_group, min(province_id), count(*) FROM cases WHERE id IN ({ids}) "
    "GROUP BY commune_id, status, policy_group ORDER BY commune_id, status, policy_group "
    "ON CONFLICT (commune_id, status, policy_group) DO UPDATE SET n = n + excluded.n")
_KEPT_PER_STATEMENT = 900


def _insert_cases(cursor, insert_rows: str, rows: Iterable[tuple], id_at: int) -> None:
    """Insert cases on SQLite without their insert triggers, then open their stays and count them,
    set-based: 45 µs a case less. The triggers are dropped inside the caller's transaction and
    created again from their own text before this returns, whatever happens: SQLite's DDL is
    transactional and it has one writer, so no other connection sees `cases` without them."""
    triggers = cursor.execute(_INSERT_TRIGGERS).fetchall()
    for name, _sql in triggers:
        cursor.execute(f'DROP TRIGGER "{name}"')
    ids = []

    def noted(rows):
        for row in rows:
            ids.append(row[id_at])
            yield row
    try:
        cursor.executemany(insert_rows, noted(rows))
        for start in range(0, len(ids), _KEPT_PER_STATEMENT):
            chunk = ids[start:start + _KEPT_PER_STATEMENT]
            marks = ", ".join("?" * len(chunk))
            cursor.execute(_OPEN_STAYS.format(ids=marks), chunk)
            cursor.execute(_COUNT.format(ids=marks), chunk)
    finally:
        for _name, sql in triggers:
            cursor.execute(sql)


# SQLite: what the update triggers of `cases` (migrations 0012, 0015) write when a case's facts
# change, for many cases at once while they are dropped: the facts each case had before the
# UPDATE are kept in a temporary table, then compared with the row written. The rules are the
# triggers' (and those of 0018 on PostgreSQL): a count moves when the status, commune or policy
# group changes; the open stay closes, and the next opens, when one of those or the account on
# record changes — at the new state_entered_at when the state changed, else at updated_at, never
# before the open stay began. tests/test_case_stays.py holds the two paths equal.
_UPDATE_TRIGGERS = ("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'cases' "
                    "AND name IN ('case_counts_update', 'case_stays_update') ORDER BY name")
_HAS_ACCOUNT = "NULLIF({p}.account_number, '') IS NOT NULL"
_FACTS_BEFORE = (
    "CREATE TEMP TABLE bulk_case_facts (id INTEGER PRIMARY KEY, status TEXT, commune_id INTEGER, "
    "policy_group TEXT, has_account INTEGER)")
_KEEP_FACTS = ("INSERT INTO temp.bulk_case_facts SELECT id, status, commune_id, policy_group, "
               f"{_HAS_ACCOUNT.format(p='cases')} FROM cases WHERE id IN (SELECT v0 FROM temp.bulk_update_values)")
# CROSS JOIN keeps SQLite reading the batch first and each case by its key (it would otherwise
# walk all of `cases` by an index to find them).
_MOVED = "temp.bulk_case_facts o CROSS JOIN cases n ON n.id = o.id"
_COUNTED = "o.status <> n.status OR o.commune_id <> n.commune_id OR o.policy_group <> n.policy_group"
_STAYED = f"{_COUNTED} OR o.has_account <> ({_HAS_ACCOUNT.format(p='n')})"
_MOMENT = "CASE WHEN o.status <> n.status THEN n.state_entered_at ELSE n.updated_at END"
_COUNTS_LEFT = (
    "UPDATE case_counts SET n = case_counts.n - gone.k FROM ("
    f"SELECT o.commune_id, o.status, o.policy_group, count(*) AS k FROM {_MOVED} WHERE {_COUNTED} "
    "GROUP BY o.commune_id, o.status, o.policy_group) AS gone WHERE case_counts.commune_id = gone.commune_id "
    "AND case_counts.status = gone.status AND case_counts.policy_group = gone.policy_group")
_COUNTS_ENTERED = (
    "INSERT INTO case_counts (commune_id, status, policy_group, province_id, n) "
    f"SELECT n.commune_id, n.status, n.policy_group, min(n.province_id), count(*) FROM {_MOVED} WHERE {_COUNTED} "
    "GROUP BY n.commune_id, n.status, n.policy_group ORDER BY n.commune_id, n.status, n.policy_group "
    "ON CONFLICT (commune_id, status, policy_group) DO UPDATE SET n = n + excluded.n")
# The open stays closed one index lookup each (an UPDATE … FROM walked every stay).
_CLOSE_STAYS = (
    f"UPDATE case_stays SET valid_to = max((SELECT {_MOMENT} FROM {_MOVED} WHERE o.id = case_stays.case_id), "
    f"valid_from) WHERE valid_to = '9999-12-31 00:00:00.000000' AND case_id IN (SELECT o.id FROM {_MOVED} "
    f"WHERE {_STAYED})")
_OPEN_NEXT_STAYS = (
    "INSERT INTO case_stays (case_id, status, province_id, commune_id, policy_group, has_account, valid_from, "
    f"valid_to) SELECT n.id, n.status, n.province_id, n.commune_id, n.policy_group, {_HAS_ACCOUNT.format(p='n')}, "
    f"max({_MOMENT}, coalesce((SELECT max(s.valid_to) FROM case_stays s WHERE s.case_id = n.id "
    f"AND s.valid_to <> '9999-12-31 00:00:00.000000'), {_MOMENT})), '9999-12-31 00:00:00.000000' "
    f"FROM {_MOVED} WHERE {_STAYED}")


def _update_cases(cursor, update: str) -> int:
    """Update cases on SQLite without their update triggers, then move their counts and close and
    open their stays, set-based: the two triggers cost 80% of a bulk move's UPDATE (four statements
    a row). Dropped and created again as `_insert_cases` does, in a `finally`."""
    triggers = cursor.execute(_UPDATE_TRIGGERS).fetchall()
    for name, _sql in triggers:
        cursor.execute(f'DROP TRIGGER "{name}"')
    try:
        cursor.execute(_FACTS_BEFORE)
        cursor.execute(_KEEP_FACTS)
        cursor.execute(update)
        written = cursor.rowcount
        for statement in (_COUNTS_LEFT, _COUNTS_ENTERED, _CLOSE_STAYS, _OPEN_NEXT_STAYS):
            cursor.execute(statement)
        return written
    finally:
        for _name, sql in triggers:
            cursor.execute(sql)
        cursor.execute("DROP TABLE IF EXISTS temp.bulk_case_facts")


@contextmanager
def _by_key(cursor) -> Iterator[None]:
    """PostgreSQL: the batch's rows found by their key, one index lookup each. Costing random
    reads as on a spinning disk, the planner would rather read the whole table and hash it for
    every batch of a few thousand rows once the table is smaller than a few hundred thousand
    (45 ms a batch of 2,000 at 100,000 cases, against 5 ms by the key). Set for the statement
    only (its triggers read transition tables and indexes: no table scan of theirs is lost),
    and given back as it was; a statement that fails aborts the transaction, whose rollback
    undoes the setting."""
    cursor.execute("SELECT current_setting('enable_seqscan'), set_config('enable_seqscan', 'off', true)")
    before = cursor.fetchone()[0]
    yield
    cursor.execute("SELECT set_config('enable_seqscan', %s, true)", (before,))


_CONVERTERS: dict[tuple[int, str], object] = {}


def _converter(column, dialect: Dialect):
    """The column type's conversion of a Python value to what the driver sends (an enum to its
    value; on SQLite a datetime to its text), or None."""
    key = (id(column), dialect.name)
    if key not in _CONVERTERS:
        convert = column.type.dialect_impl(dialect).bind_processor(dialect)
        if (convert is not None and dialect.name == "sqlite" and isinstance(column.type, DateTime)
                and _writes_as_iso(convert)):
            convert = _naive_datetime_text(convert)
        _CONVERTERS[key] = convert
    return _CONVERTERS[key]


_SAMPLES = (datetime(2026, 12, 2, 21, 5, 9, 48), datetime(999, 1, 1), datetime(2026, 1, 31, 0, 0, 0, 999999))


def _writes_as_iso(convert) -> bool:
    """Whether a DateTime column's conversion writes a datetime as `isoformat(" ", "microseconds")`
    (SQLAlchemy's default storage format on SQLite), tried on samples."""
    return all(convert(sample) == sample.isoformat(" ", "microseconds") for sample in _SAMPLES)


def _naive_datetime_text(convert):
    """SQLAlchemy's SQLite DateTime conversion formats each value by a %-template of seven fields,
    2.5 µs a datetime, half a second of a return's 100,000 cases and lines; `isoformat` writes the
    same text in a sixth of that. Anything but a naive datetime goes to SQLAlchemy's."""
    def to_text(value):
        if value.__class__ is datetime and value.tzinfo is None:
            return value.isoformat(" ", "microseconds")
        return convert(value)
    return to_text


def _array_of(column, dialect: Dialect) -> str:
    """The PostgreSQL array type of a column's values (a collation belongs to the column, not to an
    array cast)."""
    return re.sub(r' COLLATE "[^"]*"', "", column.type.compile(dialect=dialect)) + "[]"


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
