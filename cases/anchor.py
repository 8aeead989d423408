"""The chain's anchor outside the database.

The hash chain proves that no record was changed *unless everything after it was re-hashed too*:
someone with write access to the database can cut records off the end and rewind the head, or
edit a record and re-hash every later one, and the chain still verifies. So the head is written
from time to time to a file outside the database, one JSON line per anchor, only ever appended
(open it append-only on the host, ship it elsewhere): the record at an anchor's seq must still
carry the anchor's hash, and the chain must not end before it.

Holding the chain against the last anchor is enough: an anchor is only written when the chain
agrees with the one before it, and a record that still carries its anchored hash vouches, link by
link, for every record before it.
"""
from __future__ import annotations

import contextvars
import json
import logging
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from cases.audit import utcnow
from cases.audit_verify import ChainReport, verify_chain
from cases.models import AuditCheck, AuditHead, AuditRecord
from cases.models.audit import GENESIS_HASH, HEAD_ID
from extensions import set_write_intent

log = logging.getLogger(__name__)

_PROBLEM_LENGTH = AuditCheck.__table__.c.problem.type.length


@dataclass(frozen=True)
class Anchor:
    """The chain's head as written outside the database at `at` (UTC)."""
    seq: int
    hash: str
    at: datetime

    @property
    def label(self) -> str:
        return f"the anchor of {self.at:%Y-%m-%d %H:%M} UTC"


@dataclass
class AnchoredReport(ChainReport):
    """A chain report held against the last anchor."""
    anchor: Anchor | None = None       # the anchor the chain was held against; None: there was none yet
    written: Anchor | None = None      # the anchor written after this check, when it held
    by_anchor: bool = False            # the chain holds together, but not against the anchor


def read_anchors(path: str | os.PathLike) -> list[Anchor]:
    """Every anchor in the file, oldest first; none when there is no file yet. A line that cannot
    be read (a write cut short by a crash) is skipped, and logged."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    anchors = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            anchors.append(Anchor(int(data["seq"]), str(data["hash"]), datetime.fromisoformat(data["at"].rstrip("Z"))))
        except (ValueError, KeyError, TypeError, AttributeError):
            log.warning("audit anchor file %s: line %d cannot be read; skipped", path, number)
    return anchors


def read_last_anchor(path: str | os.PathLike) -> Anchor | None:
    """The last anchor written, or None when there is none yet."""
    anchors = read_anchors(path)
    return anchors[-1] if anchors else None


def write_anchor(session: Session, path: str | os.PathLike) -> AuditCheck:
    """Append the current head to the anchor file, unless the chain contradicts the last anchor
    (then anchoring it would hide a cut or a rewrite from every later check).

    :return: the AuditCheck(kind="anchor") recorded (flushed): `ok` False, with the problem, when
        the anchor was refused.
    """
    head_seq, head_hash = _head(session)
    last = read_last_anchor(path)
    problem = _contradiction(session, head_seq, path, last) if last is not None else None
    if problem is not None:
        return _record(session, "anchor", ChainReport(0, *problem), head_seq, head_hash)
    _append(path, Anchor(head_seq, head_hash, utcnow()))
    return _record(session, "anchor", ChainReport(0), head_seq, head_hash)


def verify_with_anchor(session: Session, path: str | os.PathLike) -> AnchoredReport:
    """Verify the whole chain, then hold it against the last anchor; record the result as an
    AuditCheck(kind="verify") and, when everything holds, anchor the verified end of the chain.

    The chain is read on a connection of its own, never as a writer: reading millions of records
    must not hold SQLite's write lock, and the session's transaction stays short (on SQLite a
    transaction that read for minutes could not write afterwards, another writer having committed).
    """
    chain = _verify_apart(session)
    anchor = read_last_anchor(path)
    report = AnchoredReport(chain.checked, chain.broken_seq, chain.problem, anchor=anchor)
    if report.ok and anchor is not None:
        problem = _contradiction(session, chain.checked, path, anchor)
        if problem is not None:
            report.broken_seq, report.problem = problem
            report.by_anchor = True
    if not report.ok:
        _record(session, "verify", report, *_head(session))
        return report
    # The verified end, not the head: records appended since the check was read are not vouched for.
    end_hash = _hash_at(session, chain.checked) or GENESIS_HASH
    _record(session, "verify", report, chain.checked, end_hash)
    report.written = _append(path, Anchor(chain.checked, end_hash, utcnow()))
    _record(session, "anchor", ChainReport(0), chain.checked, end_hash)
    return report


def last_checks(session: Session) -> dict[str, AuditCheck | None]:
    """The latest verification and the latest anchor, for the auditor's screen."""
    return {kind: session.scalars(select(AuditCheck).where(AuditCheck.kind == kind)
                                  .order_by(AuditCheck.at.desc(), AuditCheck.id.desc()).limit(1)).first()
            for kind in ("verify", "anchor")}


def _contradiction(session: Session, end: int, path: str | os.PathLike, anchor: Anchor) -> tuple[int, str] | None:
    """(the seq to name, the problem) when the chain ending at `end` contradicts `anchor`, the last
    one in the file. A rewrite is narrowed down with the earlier anchors: it began after the last
    one that still holds, and at or before the first one after it that does not."""
    if end < anchor.seq:
        return end + 1, (f"the chain ends at {end} but {anchor.label} says {anchor.seq}: "
                         "records removed from the end")
    if not anchor.seq or _hash_at(session, anchor.seq) == anchor.hash:
        return None
    earlier = [a for a in read_anchors(path) if 0 < a.seq <= anchor.seq]
    hashes = dict(session.execute(select(AuditRecord.seq, AuditRecord.hash)
                                  .where(AuditRecord.seq.in_({a.seq for a in earlier}))).all())
    good = max((a for a in earlier if hashes.get(a.seq) == a.hash), key=lambda a: a.seq, default=None)
    bad = min((a for a in earlier if hashes.get(a.seq) != a.hash and a.seq > (good.seq if good else 0)),
              key=lambda a: a.seq, default=anchor)
    problem = f"record {bad.seq} differs from {bad.label}: rewritten"
    if good is not None:
        problem += f" after record {good.seq}, which still matches {good.label}"
    return bad.seq, problem


def _verify_apart(session: Session) -> ChainReport:
    def read() -> ChainReport:
        set_write_intent(False)  # only in this copy of the context: the caller's stays as it was
        with Session(session.get_bind()) as reading:
            return verify_chain(reading)
    return contextvars.copy_context().run(read)


def _hash_at(session: Session, seq: int) -> str | None:
    return session.scalar(select(AuditRecord.hash).where(AuditRecord.seq == seq))


def _head(session: Session) -> tuple[int, str]:
    return tuple(session.execute(select(AuditHead.last_seq, AuditHead.last_hash).where(AuditHead.id == HEAD_ID)).one())


def _append(path: str | os.PathLike, anchor: Anchor) -> Anchor:
    """One line, appended and on disk before this returns (the file may be append-only)."""
    line = json.dumps({"seq": anchor.seq, "hash": anchor.hash, "at": anchor.at.isoformat() + "Z"})
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as file:
        file.write(line + "\n")
        file.flush()
        os.fsync(file.fileno())
    log.info("audit anchor written: record %d, %s", anchor.seq, anchor.hash)
    return anchor


def _record(session: Session, kind: str, report: ChainReport, head_seq: int, head_hash: str) -> AuditCheck:
    check = AuditCheck(kind=kind, at=utcnow(), ok=report.ok, checked=report.checked, head_seq=head_seq,
                       head_hash=head_hash, broken_seq=report.broken_seq,
                       problem=report.problem[:_PROBLEM_LENGTH] if report.problem else None)
    session.add(check)
    session.flush()
    return check
