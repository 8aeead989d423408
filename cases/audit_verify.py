"""`flask audit verify`: walk the whole hash chain and name the first record that does not hold.

Millions of records, so the work goes where it is cheapest. Long chains are split into seq
ranges checked side by side, then stitched together (each range's first prev_hash must be the
hash that ends the range before it).

- PostgreSQL checks a range in one aggregate query: the server hashes every record (in C, next to
  the data) and compares each link with the record before it (a window over the primary key), and
  only a count and the first bad seq come back. Ranges run on one connection each.
- SQLite has no SHA-256, so each record's hashed bytes, assembled by SQLite, come to Python raw
  straight from the driver (no decoding, no ORM), one process per core.

When a range is broken, the record-by-record check runs over it up to the first bad seq, so a
broken chain is always reported with the same words and count, whichever path found it.
"""
from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import closing
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context

from sqlalchemy import Integer, create_engine, func, select
from sqlalchemy.orm import Session

from cases.models.audit import GENESIS_HASH, HASHED, HEAD_ID, AuditHead, AuditRecord

PARALLEL_FROM = 400_000  # below this, splitting the chain costs more than it saves
# Read off the table, so a column added to the hashed fields is handled as its type says.
_INTEGERS = frozenset(c.name for c in AuditRecord.__table__.columns if isinstance(c.type, Integer))
_NULLABLE = frozenset(c.name for c in AuditRecord.__table__.columns if c.nullable)


@dataclass
class ChainReport:
    checked: int
    broken_seq: int | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.broken_seq is None and self.problem is None


@dataclass
class _Range:
    first: int
    last: int
    final: bool = True              # the last range: a missing tail is the head's to report
    checked: int = 0
    first_prev: str | None = None   # the prev_hash of the range's first record
    last_hash: str | None = None
    broken_seq: int | None = None
    problem: str | None = None


def verify_chain(session: Session, batch: int = 20_000, workers: int | None = None) -> ChainReport:
    """Check every record's hash and link, in seq order, then the head.

    :return: a report with the number of records checked and, if the chain is broken, the seq
        of the first record that does not hold and why.
    """
    head = session.execute(select(AuditHead.last_seq, AuditHead.last_hash).where(AuditHead.id == HEAD_ID)).one()
    last = max(head.last_seq, _max_seq(session))
    workers = workers or min(os.cpu_count() or 1, 4)
    if workers > 1 and last >= PARALLEL_FROM:
        ranges = _check_in_parallel(session, last, workers, batch)
    else:
        ranges = [_check(session.connection().connection.driver_connection, session.get_bind().dialect.name,
                         _Range(1, last), batch)]
    return _stitch(ranges, head.last_seq, head.last_hash)


def _max_seq(session: Session) -> int:
    return session.scalar(select(func.coalesce(func.max(AuditRecord.seq), 0)))


def _stitch(ranges: list[_Range], head_seq: int, head_hash: str) -> ChainReport:
    checked, prev = 0, GENESIS_HASH
    for part in ranges:
        if part.checked and part.first_prev != prev:
            return ChainReport(checked, part.first, "does not follow the record before it (deleted, moved or edited)")
        checked += part.checked
        if part.broken_seq is not None:
            return ChainReport(checked, part.broken_seq, part.problem)
        prev = part.last_hash if part.checked else prev
    if head_seq != checked or head_hash != prev:
        return ChainReport(checked, checked + 1 if head_seq > checked else None,
                           f"the chain ends at {checked} but its head says {head_seq} (records removed from the end)")
    return ChainReport(checked)


def _check_in_parallel(session: Session, last: int, workers: int, batch: int) -> list[_Range]:
    """The first range here, on the session's connection, the others side by side with it."""
    bind = session.get_bind()
    url, bounds = bind.url.render_as_string(hide_password=False), _bounds(last, workers)
    # PostgreSQL does the work in its own backends: a thread per connection is enough.
    helpers = max(1, len(bounds) - 1)
    pool = (ThreadPoolExecutor(helpers) if bind.dialect.name == "postgresql"
            else ProcessPoolExecutor(helpers, mp_context=get_context("spawn")))
    with pool:
        others = [pool.submit(_check_range_on_own_connection, url, b, batch) for b in bounds[1:]]
        first = _check(session.connection().connection.driver_connection, bind.dialect.name,
                       _Range(*bounds[0]), batch)
        return [first] + [other.result() for other in others]


def _bounds(last: int, workers: int) -> list[tuple[int, int, bool]]:
    size = -(-last // workers)
    return [(start, min(start + size - 1, last), start + size > last) for start in range(1, last + 1, size)]


def _check_range_on_own_connection(url: str, bounds: tuple[int, int, bool], batch: int) -> _Range:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return _check(conn.connection.driver_connection, engine.dialect.name, _Range(*bounds), batch)
    finally:
        engine.dispose()


def _check(dbapi_connection, dialect: str, part: _Range, batch: int) -> _Range:
    if dialect == "postgresql":
        return _check_in_postgresql(dbapi_connection, part, batch)
    return _check_records(dbapi_connection, dialect, part, batch)


# --- record by record -------------------------------------------------------------------------

def _check_records(dbapi_connection, dialect: str, part: _Range, batch: int) -> _Range:
    """The reference check: each record in seq order, its seq, its link and its hash."""
    with closing(_links(dbapi_connection, dialect, part.first, part.last, batch)) as links:
        _walk(links, part)  # may stop early: closing() closes the cursor then, not the GC
    part.first_prev, part.last_hash = _text(part.first_prev), _text(part.last_hash)
    return part


def _walk(links: Iterator[tuple], part: _Range) -> None:
    expected, prev = part.first, None
    for seq, prev_hash, stored, computed in links:
        if seq != expected:
            part.broken_seq, part.problem = expected, f"record {expected} is missing (next is {seq})"
            return
        if prev is None:
            part.first_prev = prev = prev_hash
        elif prev_hash != prev:
            part.broken_seq, part.problem = seq, "does not follow the record before it (deleted, moved or edited)"
            return
        if computed != stored:
            part.broken_seq, part.problem = seq, "its content does not match its hash (edited)"
            return
        prev = part.last_hash = stored
        expected += 1
        part.checked += 1
    if expected <= part.last and not part.final:
        part.broken_seq, part.problem = expected, f"record {expected} is missing"


def _text(value: str | bytes | None) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


def _links(dbapi_connection, dialect: str, first: int, last: int, batch: int) -> Iterator[tuple]:
    """(seq, prev_hash, hash, the hash recomputed from the record's fields), in seq order; the
    three hashes all str (PostgreSQL) or all bytes (SQLite)."""
    if dialect == "postgresql":
        sql = (f"SELECT seq, prev_hash, hash, {_postgresql_sha256()} FROM audit_records "
               "WHERE seq BETWEEN %s AND %s ORDER BY seq")
        with dbapi_connection.cursor(name="audit_verify") as cursor:  # server-side: streams
            cursor.itersize = batch
            cursor.execute(sql, (first, last))
            yield from cursor
        return
    yield from _sqlite_links(dbapi_connection, first, last, batch)


def _sqlite_links(dbapi_connection, first: int, last: int, batch: int) -> Iterator[tuple]:
    """SQLite builds each record's hashed bytes itself (`cases.audit.encode_field`) and hands them
    over raw: text as stored (UTF-8, datetimes in the very format `record_hash` writes), integers
    in decimal (as `||` and a cast to BLOB write them), each field's length counted on its bytes
    (`length` of text counts characters, and stops at a NUL), NULL as "-" in every column (a NULL
    where the schema forbids one must still be reported, not crash). Python only hashes: no
    decoding, no ORM, no work per field. Building the bytes costs SQLite about as much again as
    handing the fields over (measured at 4 million records: 10.5 s against 8.3 s in all)."""
    def field(name: str) -> str:
        return f"coalesce(length(CAST({name} AS BLOB)) || ':' || {name}, '-')"
    sql = (f"SELECT seq, prev_hash, hash, {' || '.join(field(n) for n in HASHED)} FROM audit_records "
           "WHERE seq BETWEEN ? AND ? ORDER BY seq")
    sha256 = hashlib.sha256
    text_factory = dbapi_connection.text_factory
    dbapi_connection.text_factory = bytes
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(sql, (first, last))
        while rows := cursor.fetchmany(batch):
            for seq, prev_hash, stored, hashed in rows:
                yield seq, prev_hash, stored, sha256(hashed).hexdigest().encode()
    finally:
        cursor.close()
        dbapi_connection.text_factory = text_factory


# --- PostgreSQL: a range in one query ------------------------------------------------------------

def _check_in_postgresql(dbapi_connection, part: _Range, batch: int) -> _Range:
    """Count the range's records and find its first bad one in the server; when there is one,
    the record-by-record check over the range up to it says what is wrong."""
    with dbapi_connection.cursor() as cursor:
        cursor.execute(_RANGE_SQL.format(sha256=_postgresql_sha256()), {"first": part.first, "last": part.last})
        count, first_bad, last_seq = cursor.fetchone()
        if first_bad is None and count and last_seq < part.last and not part.final:
            first_bad = last_seq + 1  # records missing at the end of the range
        if first_bad is not None:
            return _check_records(dbapi_connection, "postgresql", _Range(part.first, first_bad, final=part.final), batch)
        if count:
            cursor.execute(_ENDS_SQL, {"first": part.first, "last": last_seq})
            part.first_prev, part.last_hash = cursor.fetchone()
    part.checked = count
    return part


# A record is bad when its seq does not follow the one before (a gap), its prev_hash is not the
# hash before it, or its content does not hash to its hash. The window walks the primary key in
# order; the range's first record is linked to the range before it by `_stitch`. IS DISTINCT FROM,
# not <>: a NULL smuggled into a NOT NULL column makes the hash NULL, and must count as bad.
_RANGE_SQL = """
SELECT count(*), min(seq) FILTER (WHERE bad), max(seq) FROM (
  SELECT seq, (seq <> coalesce(lag(seq) OVER w + 1, %(first)s)
               OR prev_hash IS DISTINCT FROM coalesce(lag(hash) OVER w, prev_hash)
               OR {sha256} IS DISTINCT FROM hash) AS bad
  FROM audit_records WHERE seq BETWEEN %(first)s AND %(last)s
  WINDOW w AS (ORDER BY seq)) AS links"""
_ENDS_SQL = """SELECT (SELECT prev_hash FROM audit_records WHERE seq = %(first)s),
                      (SELECT hash FROM audit_records WHERE seq = %(last)s)"""


def _postgresql_sha256() -> str:
    """SQL computing what `record_hash` computes (`cases.audit.encode_field`), in hex. The record is
    assembled as text and converted to UTF-8 once; a text field's length is counted on its UTF-8
    bytes (octet_length of the converted bytea), while integers and the timestamp, ASCII digits
    whatever the server's encoding, are counted as they are. Only nullable fields pay for the NULL
    test (measured at 4 million records: one third faster than testing every field); a NULL forced
    into a required field makes the whole hash NULL, which the callers count as a mismatch."""
    def field(name: str) -> str:
        if name == "occurred_at":
            value = "to_char(occurred_at, 'YYYY-MM-DD HH24:MI:SS.US')"
        else:
            value = f"CAST({name} AS TEXT)"
        digits = name in _INTEGERS or name == "occurred_at"
        length = f"octet_length({value})" if digits else f"octet_length(convert_to({value}, 'UTF8'))"
        encoded = f"{length} || ':' || {value}"
        return f"coalesce({encoded}, '-')" if name in _NULLABLE else encoded
    return "encode(sha256(convert_to(" + " || ".join(field(n) for n in HASHED) + ", 'UTF8')), 'hex')"
