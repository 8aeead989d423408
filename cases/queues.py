"""Read-only queries behind the case lists and the case page.

Queues walk the composite index (commune or province, status, state_entered_at, id) by keyset, in
either direction: a page costs the same whether it is the first or the thousandth. Totals come
from the maintained counts (cases.case_counts), or a capped count where those cannot answer.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from flask_babel import gettext as _
from sqlalchemy import exists, func, select, tuple_
from sqlalchemy.orm import Session, aliased

from cases.access import scoped_cases
from cases.calendar import working_calendar
from cases.case_counts import queue_counts
from cases.changes import to_local
from cases.ids import parse_id
from cases.models import Case, Commune, Escalation, Proposal, ProposalStatus, User
from cases.queue_filters import OVERDUE_LABELS, QueueFilter, conditions, overdue_tier, tier_cutoffs
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
    overdue_tier: int = 0          # past 1, 2 or 3 times the state's SLA today (0: within it)
    assigned_to: str | None = None  # the full name of the officer who took the case on
    name_folded: str = ""

    @property
    def escalation_title(self) -> str:
        """The marker's title: its tier, and the reason (workflow.overdue) when there is one."""
        title = _("Đã cảnh báo quá hạn mức %(tier)s", tier=self.escalation_tier)
        return f"{title}: {self.overdue_reason}" if self.overdue_reason else title

    @property
    def overdue_label(self) -> str:
        return str(OVERDUE_LABELS[self.overdue_tier]) if self.overdue_tier else ""


@dataclass(frozen=True)
class QueuePage:
    rows: list[QueueRow]
    next_cursor: str | None
    previous_cursor: str | None = None
    total: int = 0
    capped: bool = False            # more than COUNT_CAP: the total reads "more than ..."
    tabs: dict[CaseState, int] = field(default_factory=dict)
    page_number: int = 1
    pages: int = 1


def encode_cursor(row: QueueRow, by_name: bool = False) -> str:
    if by_name:
        return f"n~{row.name_folded}_{row.id}"
    return f"{row.state_entered_at.isoformat()}_{row.id}"


def decode_cursor(cursor: str | None) -> tuple[datetime, int] | None:
    """The (state_entered_at, id) a page starts after; None (the first page) for a cursor this
    code did not write, such as `..._1e30` or an id no row can have."""
    if not cursor:
        return None
    moment, _sep, case_id = cursor.rpartition("_")
    try:
        after = datetime.fromisoformat(moment)
    except ValueError:
        return None
    found = parse_id(case_id)
    # The column holds naive UTC, as every cursor written here does.
    return (after.replace(tzinfo=None), found) if found is not None else None


def _decode_name_cursor(cursor: str | None) -> tuple[str, int] | None:
    if not cursor or not cursor.startswith("n~"):
        return None
    name, _sep, case_id = cursor[2:].rpartition("_")
    found = parse_id(case_id)
    return (name[:120], found) if found is not None else None


def _row_columns():
    pending = exists().where(Proposal.case_id == Case.id, Proposal.status == ProposalStatus.PENDING)
    # The stay's highest escalation, read on each of the page's rows by the escalations' unique
    # index (case, tier, stay): evaluated for the rows returned only, so the page stays one query.
    tier = (select(func.max(Escalation.tier))
            .where(Escalation.case_id == Case.id, Escalation.stay_started_at == Case.state_entered_at,
                   Escalation.proposal_id.is_(None))
            .scalar_subquery())
    return (Case.id, Case.full_name, Case.birth_date, Case.national_id, Commune.name.label("commune_name"),
            Case.status, Case.state_entered_at, Case.name_folded, pending.label("pending"), tier.label("tier"),
            _ASSIGNEE.full_name.label("assignee"))


_ASSIGNEE = aliased(User)


def queue_page(session: Session, user: User, chosen: QueueFilter, today: date, *, after: str | None = None,
               before: str | None = None, page_number: int = 1, size: int = 50) -> QueuePage:
    """One page of the cases `chosen` selects in `user`'s scope: longest in state first, or by
    name when searching by name. Keyset in both directions (`after` / `before` a row), so every
    page costs the same; with the tabs and the total, three statements whatever the filter.
    """
    calendar = working_calendar(session)
    where = conditions(chosen, user.id, today, calendar)
    by_name = bool(chosen.name_prefix)
    key = (Case.name_folded, Case.id) if by_name else (Case.state_entered_at, Case.id)
    decode = _decode_name_cursor if by_name else decode_cursor
    backwards = decode(before) is not None and decode(after) is None
    # The page's ids first, by the key alone; then their columns, names and flags for those rows
    # only. A name search matches on two indexes (full name, given name first) and sorts what they
    # yield: sorting keys is cheap, computing every column of every match before the sort is not.
    chosen_ids = scoped_cases(user, Case.id).where(*where)
    if backwards:
        chosen_ids = chosen_ids.where(tuple_(*key) < tuple_(*decode(before)))
        order = [k.desc() for k in key]
    else:
        if decode(after) is not None:
            chosen_ids = chosen_ids.where(tuple_(*key) > tuple_(*decode(after)))
        order = list(key)
    page_ids = chosen_ids.order_by(*order).limit(size + 1).subquery()
    statement = (select(*_row_columns()).join(page_ids, page_ids.c.id == Case.id)
                 .join(Commune, Commune.id == Case.commune_id)
                 .outerjoin(_ASSIGNEE, _ASSIGNEE.id == Case.assigned_to_id).order_by(*order))
    found = session.execute(statement).all()
    page = found[:size]
    if backwards:
        page.reverse()
    rows = _rows(page, today, calendar)
    more = len(found) > size
    has_next, has_previous = (True, more) if backwards else (more, decode(after) is not None)
    tabs, counted = queue_counts(session, user, chosen.commune_id, chosen.policy_group,
                                 None if chosen.counted_by_table else scoped_cases(user, Case.id).where(*where))
    total, capped = counted if counted is not None else (tabs[chosen.state], False)
    pages = max(1, -(-total // size))
    number = min(max(1, page_number), pages) if rows else 1
    return QueuePage(rows, encode_cursor(rows[-1], by_name) if rows and has_next else None,
                     encode_cursor(rows[0], by_name) if rows and has_previous else None,
                     total, capped, tabs, number, pages)


def _rows(found, today: date, calendar) -> list[QueueRow]:
    cutoffs = tier_cutoffs(today, calendar)
    return [QueueRow(r.id, r.full_name, r.birth_date, r.national_id, r.commune_name, r.status, r.state_entered_at,
                     calendar.working_days_between(r.state_entered_at.date(), today), bool(r.pending), r.tier or 0,
                     overdue_reason(r.status, to_local(r.state_entered_at).date()) if r.tier else None,
                     overdue_tier(r.status, r.state_entered_at, cutoffs), r.assignee, r.name_folded)
            for r in found]
