"""Appending many audit records to the hash chain at once (the demo, the benchmark, list imports).

The same chain `cases.audit` keeps: the head row is locked, each record is numbered after it and
hashed over the previous hash, and the head is moved at the end, all in the caller's transaction.
Records staged by services in the same session (`audit.record`) are sealed at commit after
these, from the moved head, so the chain stays unbroken.

Records are built as `Unsealed` tuples (in worker processes for large synthetic runs) and chained
here, in the one process that writes. Chaining is the part that cannot run in parallel, so it hashes the
text `cases.audit.record_hash` would hash, assembled from pieces the builders prepared, instead
of calling it with a dict per record (four times slower). The first record of every batch is
hashed both ways and must agree, and `flask audit verify` recomputes every hash with
`record_hash` itself.
"""
from __future__ import annotations

from collections.abc import Iterable
from hashlib import sha256
from typing import NamedTuple

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from cases.audit import HEAD_ID, NULL_FIELD, canonical_json, hashed_piece as _field, record_hash
from cases.models import AuditHead, AuditRecord
from cases.bulk_write import BulkSink


AUDIT_TABLE = AuditRecord.__table__
AUDIT_COLUMNS = tuple(c.name for c in AUDIT_TABLE.columns)
_NONE = NULL_FIELD.decode()


_NO_IP_REQUEST_OK = _NONE + _NONE + _field("ok")   # ip, request_id, outcome


canonical = canonical_json  # tests/test_demo.py checks every generated detail against it


class ActorRow(NamedTuple):
    """Who a synthetic record says acted, as `cases.audit.Actor` records it."""
    user_id: int | None
    username: str | None
    role: str | None
    unit: str | None

    @classmethod
    def system(cls, name: str) -> ActorRow:
        return cls(None, name, "system", None)

    def hashed_text(self) -> str:
        """The actor's four fields as `record_hash` writes them."""
        return "".join(_field(v) for v in self)


# A record before it is chained: (occurred_at, actor_id, actor_username, actor_role, actor_unit,
# action, case_id, proposal number within its batch or None, detail, reason, hashed head, hashed
# tail) where the hashed head is `record_hash`'s text for occurred_at … case_id and the hashed
# tail for detail … outcome (prepared by the builders, which may run in other processes).
Unsealed = tuple


def unsealed(occurred_at: str, actor: ActorRow, actor_text: str, action: str, case_id: int | None,
             proposal: int | None, detail: str, reason: str | None = None) -> Unsealed:
    """`occurred_at` as `YYYY-MM-DD HH:MM:SS.ffffff` (UTC); `actor_text` is `actor.hashed_text()`."""
    head = f"{_field(occurred_at)}{actor_text}{_field(action)}{_field(case_id)}"
    tail = f"{_field(detail)}{_field(reason)}{_NO_IP_REQUEST_OK}"
    return (occurred_at, *actor, action, case_id, proposal, detail, reason, head, tail)


class AuditChain:
    """Numbers, hashes and buffers records; `flush` writes the buffer, `close` moves the head."""

    def __init__(self, session: Session, sink: BulkSink):
        self._session, self._sink = session, sink
        head = session.execute(select(AuditHead.last_seq, AuditHead.last_hash)
                               .where(AuditHead.id == HEAD_ID).with_for_update()).one()
        self.seq, self._prev = head.last_seq, head.last_hash
        self.first_seq = self.seq + 1
        self._rows: list[tuple] = []

    @property
    def appended(self) -> int:
        return self.seq - self.first_seq + 1

    def seal(self, records: Iterable[Unsealed], proposal_base: int = 0) -> None:
        """Chain `records` in order; their proposal numbers are offsets from `proposal_base`."""
        first = len(self._rows)
        seq, prev, rows = self.seq, self._prev, self._rows
        for occurred_at, actor_id, username, role, unit, action, case_id, proposal, detail, reason, head, tail \
                in records:
            seq += 1
            number = str(seq)
            if proposal is None:
                proposal_id, proposal_text = None, _NONE
            else:
                proposal_id = proposal_base + proposal
                proposal_text = _field(proposal_id)
            # prev is a hash: 64 hex digits
            text = f"{len(number)}:{number}{head}{proposal_text}{tail}64:{prev}"
            digest = sha256(text.encode()).hexdigest()
            rows.append((seq, occurred_at, actor_id, username, role, unit, action, case_id, proposal_id, detail,
                         reason, None, None, "ok", prev, digest))
            prev = digest
        self.seq, self._prev = seq, prev
        if first < len(rows):
            _check_against_record_hash(rows[first])

    def flush(self) -> None:
        self._sink.write(AUDIT_TABLE, AUDIT_COLUMNS, self._rows)
        self._rows = []

    def close(self) -> None:
        self.flush()
        self._session.execute(update(AuditHead).where(AuditHead.id == HEAD_ID)
                              .values(last_seq=self.seq, last_hash=self._prev))


def _check_against_record_hash(row: tuple) -> None:
    """:raise RuntimeError: `cases.audit.record_hash` changed and this file did not follow."""
    values = dict(zip(AUDIT_COLUMNS, row))
    if record_hash(values) != values["hash"]:
        raise RuntimeError("cases.audit_chain hashes records differently from cases.audit.record_hash; "
                           "update AuditChain.seal to hash what record_hash hashes")
