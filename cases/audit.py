"""Writing and verifying the audit trail.

Services call `record(...)`; the record is staged on the session and chained at commit: the
`before_commit` hook locks the one-row head, numbers the staged records after it, hashes each
with the previous hash and moves the head. The lock is held from there to the end of the commit
only, and nothing reads the records table to append. So a change and its audit record land in
one transaction or not at all, and concurrent writers on PostgreSQL queue on one row lock and
still make one unbroken chain.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import bindparam, event, insert, select, update
from sqlalchemy.orm import Session

from cases.audit_verify import ChainReport, verify_chain  # noqa: F401  (re-exported)
from cases.bulk_write import BulkSink
from cases.models.audit import HASHED, HEAD_ID, AuditHead, AuditRecord

_PENDING = "ansinh_audit_pending"


@dataclass(frozen=True)
class Actor:
    """Who did something, and from where."""
    user_id: int | None
    username: str | None
    role: str | None
    unit: str | None
    ip: str | None = None
    request_id: str | None = None

    @classmethod
    def system(cls, name: str = "system", request_id: str | None = None) -> Actor:
        return cls(None, name, "system", None, None, request_id)


@dataclass(frozen=True)
class EncodedDetail:
    """A record's detail already in its one text form (`canonical_json`): made where there was
    time, on a bulk transition's read-ahead thread, not at commit while the database waits."""
    text: str


@dataclass
class _Staged:
    actor: Actor
    action: str
    case: Any = None
    case_id: int | None = None
    proposal: Any = None
    detail: dict | EncodedDetail | None = None
    reason: str | None = None
    outcome: str = "ok"
    occurred_at: datetime = field(default_factory=lambda: utcnow())


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def jsonable(value: Any) -> str:
    """Dates, datetimes and enums as the audit trail writes them in JSON."""
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if hasattr(value, "value"):  # enums
        return value.value
    return str(value)


# One encoder built once: `json.dumps` with options builds a new encoder on every call.
_CANONICAL = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=jsonable)


def canonical_json(data: Any) -> str:
    """The one text form of a record's detail: keys sorted, no spaces, Vietnamese kept as is."""
    return _CANONICAL.encode(data)


def _detail_text(detail: dict | EncodedDetail | None) -> str | None:
    if detail is None:
        return None
    return detail.text if isinstance(detail, EncodedDetail) else canonical_json(detail)


def record(session: Session, actor: Actor, action: str, *, case=None, case_id: int | None = None,
           proposal=None, detail: dict | EncodedDetail | None = None, reason: str | None = None,
           outcome: str = "ok") -> None:
    """Stage one audit record; it is chained and written when the session commits."""
    session.info.setdefault(_PENDING, []).append(
        _Staged(actor, action, case, case_id, proposal, detail, reason, outcome))


def record_many(session: Session, actor: Actor, action: str, details: Iterable[tuple[int, dict | EncodedDetail]]) -> None:
    """Stage one record per (case id, detail) of a bulk write, all of one moment: the write's."""
    now = utcnow()
    session.info.setdefault(_PENDING, []).extend(
        _Staged(actor, action, None, case_id, None, detail, None, "ok", now) for case_id, detail in details)


# The bytes a record's hash covers: every field of HASHED in order, each as its length in UTF-8
# bytes (decimal), ":" and those bytes; NULL as "-", which no length starts with. Each field says
# where it ends, so no text can move from one field into the next (a reason ending in U+001F, say),
# and NULL differs from every string, "" and "\x00" included. Integers are written in decimal,
# datetimes as "YYYY-MM-DD HH:MM:SS.ffffff". `cases.audit_verify` builds the same bytes in SQL, and
# `cases.audit_chain` from prepared pieces; changing this breaks every chain (migration 0004 re-hashed
# the chains of the former encoding, a U+001F join).
NULL_FIELD = b"-"


def encode_field(value: Any) -> bytes:
    """One field as the hash covers it."""
    if value is None:
        return NULL_FIELD
    data = str(_stored(value)).encode()
    return b"%d:%s" % (len(data), data)


def record_hash(values: dict) -> str:
    """The SHA-256, in hex, of a record's hashed fields as `encode_field` writes them."""
    return hashlib.sha256(b"".join(encode_field(values[name]) for name in HASHED)).hexdigest()


def _seal(session: Session) -> None:
    staged: list[_Staged] = session.info.pop(_PENDING, [])
    if not staged:
        return
    session.flush()  # new cases and proposals get their ids
    # Core statements on the session's connection: the ORM's bulk paths cost more than the
    # three statements themselves, and this runs in every writing request.
    connection = session.connection()
    head = connection.execute(_LOCK_HEAD).one()
    seq, prev = head.last_seq, head.last_hash
    if len(staged) >= _BULK_RECORDS:
        # COPY on PostgreSQL, the driver's executemany on SQLite: SQLAlchemy's parameters cost
        # 30 µs a record, 3 s of a provider's return of 100,000 rows.
        rows, seq, prev = _chained_in_bulk(staged, seq, prev)
        BulkSink(session).write(_RECORDS, _RECORD_COLUMNS, rows)
        connection.execute(_MOVE_HEAD, {"head_seq": seq, "head_hash": prev})
        return
    rows = []
    for item in staged:
        seq += 1
        row = {
            "seq": seq, "occurred_at": item.occurred_at,
            "actor_id": item.actor.user_id, "actor_username": item.actor.username,
            "actor_role": item.actor.role, "actor_unit": item.actor.unit,
            "action": item.action,
            "case_id": item.case.id if item.case is not None else item.case_id,
            "proposal_id": item.proposal.id if item.proposal is not None else None,
            "detail": _detail_text(item.detail),
            "reason": item.reason, "ip": item.actor.ip, "request_id": item.actor.request_id,
            "outcome": item.outcome, "prev_hash": prev,
        }
        row["hash"] = prev = record_hash(row)
        rows.append(row)
    if connection.dialect.name == "postgresql" and len(rows) == 1:
        # One round trip: the head moves in a CTE of the INSERT (the row is locked already).
        connection.execute(_INSERT_MOVING_HEAD, dict(rows[0], head_seq=seq, head_hash=prev))
    else:
        # Many records: one batched INSERT and one move of the head, not a CTE per record moving
        # the head each time (2.4 s for 10,000 records, measured).
        connection.execute(_INSERT_RECORDS, rows)
        connection.execute(_MOVE_HEAD, {"head_seq": seq, "head_hash": prev})


def hashed_piece(value: Any) -> str:
    """`encode_field` as text: the length still counted in UTF-8 bytes. Pieces joined and encoded
    once are the bytes `record_hash` hashes (`cases.audit_chain` builds records from them too)."""
    if value is None:
        return _NULL_PIECE
    text = str(value)
    return f"{len(text) if text.isascii() else len(text.encode())}:{text}"


_NULL_PIECE = NULL_FIELD.decode()


def _chained_in_bulk(staged: list[_Staged], seq: int, prev: str) -> tuple[list[tuple], int, str]:
    """The staged records numbered after `seq` and chained after `prev`, as rows in the table's
    column order: (rows, the last seq, the last hash). What `record_hash` would hash, assembled
    from pieces, those of the actor and of the ending fields made once per actor: a bulk is one
    actor's, and a dict per record cost a third of sealing 100,000 of them. The first record is
    hashed both ways, and must agree."""
    rows = []
    actors: dict[tuple, tuple[str, str]] = {}
    moment, occurred_at, occurred_piece = None, None, None
    for item in staged:
        seq += 1
        actor = item.actor
        pieces = actors.get((actor, item.outcome))
        if pieces is None:
            pieces = actors[(actor, item.outcome)] = (
                "".join(map(hashed_piece, (actor.user_id, actor.username, actor.role, actor.unit))),
                "".join(map(hashed_piece, (actor.ip, actor.request_id, item.outcome))))
        case_id = item.case.id if item.case is not None else item.case_id
        proposal_id = item.proposal.id if item.proposal is not None else None
        detail = _detail_text(item.detail)
        if item.occurred_at is not moment:     # a bulk write's records share theirs (`record_many`)
            moment = item.occurred_at
            occurred_at = _stored(moment)
            occurred_piece = hashed_piece(occurred_at)
        number = str(seq)
        text = (f"{len(number)}:{number}{occurred_piece}{pieces[0]}{hashed_piece(item.action)}"
                f"{hashed_piece(case_id)}{hashed_piece(proposal_id)}{hashed_piece(detail)}"
                f"{hashed_piece(item.reason)}{pieces[1]}{hashed_piece(prev)}")
        digest = hashlib.sha256(text.encode()).hexdigest()
        rows.append((seq, occurred_at, actor.user_id, actor.username, actor.role, actor.unit, item.action, case_id,
                     proposal_id, detail, item.reason, actor.ip, actor.request_id, item.outcome, prev, digest))
        prev = digest
    first = dict(zip(_RECORD_COLUMNS, rows[0]))
    if record_hash(first) != first["hash"]:
        raise RuntimeError("cases.audit._chained_in_bulk hashes records differently from record_hash")
    return rows, seq, prev


def _stored(value):
    """A record's value as both databases take it from a bulk write (a datetime as the text
    SQLAlchemy stores on SQLite and PostgreSQL parses: the text the hash covers)."""
    return value.isoformat(sep=" ", timespec="microseconds") if isinstance(value, datetime) else value


# Built once, so each is compiled once per process: this runs in every writing request, and
# building and compiling a fresh INSERT each time cost more than the database's work (measured
# on PostgreSQL: 2.5 ms of Python per request, against 0.7 ms in the server).
_HEAD = AuditHead.__table__
_LOCK_HEAD = select(_HEAD.c.last_seq, _HEAD.c.last_hash).where(_HEAD.c.id == HEAD_ID).with_for_update()
_MOVE_HEAD = update(_HEAD).where(_HEAD.c.id == HEAD_ID).values(
    last_seq=bindparam("head_seq"), last_hash=bindparam("head_hash"))
_INSERT_RECORDS = insert(AuditRecord.__table__)
_RECORDS = AuditRecord.__table__
_RECORD_COLUMNS = tuple(column.name for column in _RECORDS.columns)
if _RECORD_COLUMNS != ("seq", "occurred_at", "actor_id", "actor_username", "actor_role", "actor_unit", "action",
                       "case_id", "proposal_id", "detail", "reason", "ip", "request_id", "outcome", "prev_hash", "hash"):
    raise RuntimeError(f"_chained_in_bulk writes the audit records' columns in another order than {_RECORD_COLUMNS}")
_BULK_RECORDS = 200   # records sealed at once from which the bulk writer pays
_INSERT_MOVING_HEAD = _INSERT_RECORDS.add_cte(_MOVE_HEAD.cte("moved_head"))


@event.listens_for(Session, "before_commit")
def _seal_before_commit(session: Session) -> None:
    _seal(session)


@event.listens_for(Session, "after_rollback")
def _drop_staged(session: Session) -> None:
    session.info.pop(_PENDING, None)


def pending_count(session: Session) -> int:
    return len(session.info.get(_PENDING, []))


@contextmanager
def savepoint(session: Session):
    """A SAVEPOINT for one case of a batch (bulk actions, batch decisions): when the block raises,
    the savepoint is rolled back and so are the audit records staged inside it. Rolling back a
    savepoint is not the session's rollback, so `_drop_staged` would keep them and the next commit
    would chain records of changes that never happened."""
    staged = pending_count(session)
    try:
        with session.begin_nested():
            yield
    except BaseException:
        del session.info.get(_PENDING, [])[staged:]
        raise


