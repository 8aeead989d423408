"""Read-only queries behind the case lists and the case page.

Queues walk the composite index (commune or province, status, state_entered_at, id) by keyset:
a page costs the same whether it is the first or the thousandth, and no page counts the table.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session, joinedload

from cases.access import proposal_scope, scoped_cases
from cases.calendar import working_days_between
from cases.changes import to_local
from cases.escalation import current_tiers
from cases.ids import parse_id
from cases.models import AuditRecord, Case, Commune, Proposal, ProposalStatus, User
from workflow.overdue import overdue_reason
from workflow.states import CaseState


@dataclass(frozen=True)
class QueueRow:
    id: int
    full_name: str
    birth_date: date
    national_id: str | None
    commune_name: str
    status: CaseState
    state_entered_at: datetime
    working_days_in_state: int
    pending: bool
    escalation_tier: int = 0       # the highest tier this stay escalated to (0: none)
    overdue_reason: str | None = None   # what the escalated case needs, where its state names it

    @property
    def escalation_title(self) -> str:
        """The marker's title: its tier, and the reason (workflow.overdue) when there is one."""
        title = f"Đã cảnh báo quá hạn mức {self.escalation_tier}"
        return f"{title}: {self.overdue_reason}" if self.overdue_reason else title


@dataclass(frozen=True)
class QueuePage:
    rows: list[QueueRow]
    next_cursor: str | None


def encode_cursor(row: QueueRow) -> str:
    return f"{row.state_entered_at.isoformat()}_{row.id}"


def decode_cursor(cursor: str | None) -> tuple[datetime, int] | None:
    """The (state_entered_at, id) a page starts after; None (the first page) for a cursor this
    code did not write, such as `..._1e30` or an id no row can have."""
    if not cursor:
        return None
    moment, _, case_id = cursor.rpartition("_")
    try:
        after = datetime.fromisoformat(moment)
    except ValueError:
        return None
    found = parse_id(case_id)
    # The column holds naive UTC, as every cursor written here does.
    return (after.replace(tzinfo=None), found) if found is not None else None


def queue_page(session: Session, user: User, state: CaseState, today: date, *, commune_id: int | None = None,
               cursor: str | None = None, size: int = 50) -> QueuePage:
    """One page of the cases in `state`, longest in state first."""
    statement = (
        scoped_cases(user, Case.id, Case.full_name, Case.birth_date, Case.national_id, Commune.name,
                     Case.status, Case.state_entered_at)
        .join(Commune, Commune.id == Case.commune_id)
        .where(Case.status == state)
        .order_by(Case.state_entered_at, Case.id)
        .limit(size + 1)
    )
    if commune_id is not None:
        statement = statement.where(Case.commune_id == commune_id)
    after = decode_cursor(cursor)
    if after is not None:
        statement = statement.where(tuple_(Case.state_entered_at, Case.id) > tuple_(*after))
    found = session.execute(statement).all()
    page = found[:size]
    pending = _pending_among(session, [r.id for r in page])
    tiers = current_tiers(session, [r.id for r in page])
    rows = [QueueRow(r.id, r.full_name, r.birth_date, r.national_id, r.name, r.status, r.state_entered_at,
                     working_days_between(r.state_entered_at.date(), today), r.id in pending, tiers.get(r.id, 0),
                     overdue_reason(r.status, to_local(r.state_entered_at).date()) if r.id in tiers else None)
            for r in page]
    return QueuePage(rows, encode_cursor(rows[-1]) if len(found) > size else None)


def _pending_among(session: Session, case_ids: list[int]) -> set[int]:
    if not case_ids:
        return set()
    return set(session.scalars(select(Proposal.case_id).where(
        Proposal.case_id.in_(case_ids), Proposal.status == ProposalStatus.PENDING)))


def case_history(session: Session, case_id: int, limit: int = 200) -> list[AuditRecord]:
    """The case's audit records, newest first (the caller has checked scope)."""
    return list(session.scalars(
        select(AuditRecord).where(AuditRecord.case_id == case_id).order_by(AuditRecord.seq.desc()).limit(limit)))


def pending_proposals(session: Session, user: User, limit: int = 200) -> list[Proposal]:
    """The proposals waiting in `user`'s scope, oldest first, with their case and proposer
    loaded in the same query (the list shows both on every row)."""
    return list(session.scalars(
        select(Proposal).options(joinedload(Proposal.case), joinedload(Proposal.proposed_by))
        .where(Proposal.status == ProposalStatus.PENDING, proposal_scope(user))
        .order_by(Proposal.proposed_at).limit(limit)))
