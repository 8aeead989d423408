"""The supervisors' approvals inbox: the pending proposals in scope, oldest first, a page at a time,
and deciding several of them at once.

A page reads the pending proposals through `ix_proposals_pending_commune` (commune_id, trigger,
proposed_at, id) WHERE status = 'pending' (migration 0013): a small index of what waits, probed once
per commune of the scope, then ordered by the keyset (proposed_at, id) — a few hundred rows in a
province, whatever the size of the table. Each page runs the same two statements whatever the
number of rows: the rows with their case, commune and proposer, and the pending counts per commune
and kind (the commune filter, and the total for the filter, come from it).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from flask_babel import gettext as _
from sqlalchemy import func, literal_column, select, tuple_
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.exc import StaleDataError

from cases import audit
from cases.access import proposal_scope
from cases.actions import approve, effective_from, reject
from cases.audit import Actor
from cases.calendar import working_days_between
from cases.changes import local_today, to_local
from cases.errors import DomainError, NotPermitted
from cases.ids import parse_id
from cases.models import Case, Commune, Proposal, ProposalStatus, User
from cases.roles import Role
from workflow.four_eyes import PROTECTED_FIELDS
from workflow.table import TRANSITIONS

PAGE_SIZE = 50
# A batch is decided in one request and one transaction: large enough for a morning's list,
# small enough that the request stays short and holds the audit chain's head briefly.
MAX_BATCH = 100
DECISIONS = ("approve", "reject")
# The kinds a proposal can be (the inbox's filter): the transitions that need approval.
KINDS = tuple(t for t, spec in TRANSITIONS.items() if spec.needs_approval)


@dataclass(frozen=True)
class InboxFilter:
    commune_id: int | None = None
    kind: str | None = None

    @classmethod
    def parse(cls, commune: str | None, kind: str | None) -> InboxFilter:
        """From the URL's `commune` and `kind`; a value that names nothing is ignored."""
        return cls(parse_id(commune), kind if kind in KINDS else None)


@dataclass(frozen=True)
class InboxRow:
    proposal: Proposal          # with its case and proposer loaded
    commune_name: str
    age_working_days: int       # working days since it was proposed
    takes_effect_on: date | None


@dataclass(frozen=True)
class InboxPage:
    rows: list[InboxRow]
    total: int                  # pending proposals for the filter, on every page
    communes: list[tuple[int, str, int]]   # (id, name, pending) of the communes with pending proposals
    next_cursor: str | None
    previous_cursor: str | None


def encode_cursor(proposal: Proposal) -> str:
    return f"{proposal.proposed_at.isoformat()}_{proposal.id}"


def decode_cursor(cursor: str | None) -> tuple[datetime, int] | None:
    """The (proposed_at, id) a cursor names; None for a cursor this code did not write."""
    if not cursor or len(cursor) > 60:
        return None
    moment, _, proposal_id = cursor.rpartition("_")
    try:
        at = datetime.fromisoformat(moment)
    except ValueError:
        return None
    found = parse_id(proposal_id)
    return (at.replace(tzinfo=None), found) if found is not None else None


# A literal, not a bound parameter: only then may the planner use the partial index (SQLite never
# with a parameter; PostgreSQL not in the generic plan of a statement psycopg has prepared).
_IS_PENDING = Proposal.status == literal_column(f"'{ProposalStatus.PENDING.value}'")


def _pending_in_scope(user: User, wanted: InboxFilter) -> list:
    clauses = [_IS_PENDING, proposal_scope(user)]
    if wanted.commune_id is not None:
        clauses.append(Proposal.commune_id == wanted.commune_id)
    if wanted.kind is not None:
        clauses.append(Proposal.trigger == wanted.kind)
    return clauses


# What a row shows of its case: the name and state, and the values a held-back edit would replace
# (`amend_protected_fields`, shown old → new). Not the whole row: a case has seventy columns.
_AMENDABLE = ("birth_date", "sex", "national_id", "policy_group", "category_code", "monthly_amount",
              "benefit_start_month", *PROTECTED_FIELDS)
_CASE_SHOWN = tuple(getattr(Case, name) for name in dict.fromkeys(("id", "full_name", "status", *_AMENDABLE)))


def inbox_page(session: Session, user: User, wanted: InboxFilter = InboxFilter(), *, after: str | None = None,
               before: str | None = None, size: int = PAGE_SIZE, today: date | None = None) -> InboxPage:
    """One page of the pending proposals `user` may see, oldest first: the page after the cursor
    `after`, or the page before `before`, or the first page."""
    key = tuple_(Proposal.proposed_at, Proposal.id)
    forward, backward = decode_cursor(after), decode_cursor(before)
    going_back = backward is not None and forward is None
    # The page's ids first, from the partial index alone; then their rows with case, commune and
    # proposer. In one statement the planner joined every case of the province before the LIMIT.
    page_ids = select(Proposal.id, Proposal.proposed_at).where(*_pending_in_scope(user, wanted)).limit(size + 1)
    if going_back:
        page_ids = page_ids.where(key < tuple_(*backward)).order_by(Proposal.proposed_at.desc(), Proposal.id.desc())
    else:
        if forward is not None:
            page_ids = page_ids.where(key > tuple_(*forward))
        page_ids = page_ids.order_by(Proposal.proposed_at, Proposal.id)
    page_ids = page_ids.subquery("page")
    order = (page_ids.c.proposed_at.desc(), page_ids.c.id.desc()) if going_back else (page_ids.c.proposed_at, page_ids.c.id)
    statement = (
        select(Proposal, Commune.name)
        .join(page_ids, page_ids.c.id == Proposal.id)
        .join(Commune, Commune.id == Proposal.commune_id)
        .options(joinedload(Proposal.case).load_only(*_CASE_SHOWN), joinedload(Proposal.proposed_by).load_only(
            User.id, User.full_name, User.role))
        .order_by(*order))
    found = session.execute(statement).unique().all()
    more = len(found) > size
    found = found[:size]
    if going_back:
        found.reverse()
    today = today or local_today()
    rows = [InboxRow(p, name, working_days_between(to_local(p.proposed_at).date(), today),
                     effective_from(p.trigger, p.payload)) for p, name in found]
    next_cursor = encode_cursor(rows[-1].proposal) if rows and (more or going_back) else None
    previous_cursor = (encode_cursor(rows[0].proposal) if rows and ((more and going_back) or forward is not None)
                       else None)
    total, communes = _counts(session, user, wanted)
    return InboxPage(rows, total, communes, next_cursor, previous_cursor)


def _counts(session: Session, user: User, wanted: InboxFilter) -> tuple[int, list[tuple[int, str, int]]]:
    """The pending proposals for the filter, and the communes of the scope that have some (with
    how many), from one grouped read of the partial index: a few hundred entries in a province."""
    statement = (select(Commune.id, Commune.name, Proposal.trigger, func.count())
                 .join(Proposal, Proposal.commune_id == Commune.id)
                 .where(*_pending_in_scope(user, InboxFilter()))
                 .group_by(Commune.id, Commune.name, Proposal.trigger))
    total, per_commune, names = 0, {}, {}
    for commune_id, name, trigger, n in session.execute(statement):
        names[commune_id] = name
        per_commune[commune_id] = per_commune.get(commune_id, 0) + n
        if wanted.commune_id in (None, commune_id) and wanted.kind in (None, trigger):
            total += n
    communes = sorted(((i, names[i], n) for i, n in per_commune.items()), key=lambda c: (c[1], c[0]))
    return total, communes


# --- Deciding several at once -----------------------------------------------------------------

@dataclass(frozen=True)
class Outcome:
    proposal_id: int
    message: str | None = None       # why it was refused (Vietnamese); None when done
    case_id: int | None = None
    full_name: str | None = None
    trigger: str | None = None
    takes_effect_on: date | None = None   # an approval for a later month: the day it takes effect


@dataclass
class BatchResult:
    decision: str
    done: list[Outcome] = field(default_factory=list)
    refused: list[Outcome] = field(default_factory=list)


def decide_many(session: Session, actor: Actor, user: User, proposal_ids: list[int], decision: str,
                reason: str | None, today: date | None = None) -> BatchResult:
    """Approve or reject each proposal of `proposal_ids` through `approve` / `reject`, each with
    its own audit record and in a savepoint of its own: a refusal (the proposer's own proposal, a
    case changed since, a proposal someone else decided first) undoes that one only.

    :raise NotPermitted: the user is not a supervisor.
    :raise DomainError: nothing chosen, more than MAX_BATCH, no reason, or an unknown decision.
    """
    if user.role is not Role.SUPERVISOR or not user.is_active:
        raise NotPermitted(_("Chỉ lãnh đạo phê duyệt mới được duyệt hoặc từ chối đề xuất."))
    if decision not in DECISIONS:
        raise DomainError(_("Hãy chọn «Phê duyệt» hoặc «Từ chối»."))
    # In id order: two supervisors deciding overlapping batches take the row locks in the same
    # order, so one waits for the other instead of the two deadlocking.
    ids = sorted(set(proposal_ids))
    if not ids:
        raise DomainError(_("Chưa chọn đề xuất nào."))
    if len(ids) > MAX_BATCH:
        raise DomainError(_("Mỗi lần chỉ xử lý được tối đa %(max)s đề xuất; bạn đã chọn %(n)s. "
                            "Hãy chọn ít hơn rồi gửi lại.", max=MAX_BATCH, n=len(ids)))
    if not (reason or "").strip():
        raise DomainError(_("Cần ghi lý do / ý kiến khi phê duyệt hoặc từ chối."), "reason")
    found = {p.id: p for p in session.scalars(
        select(Proposal).options(joinedload(Proposal.case), joinedload(Proposal.proposed_by))
        .where(Proposal.id.in_(ids), proposal_scope(user)))}
    result = BatchResult(decision)
    for proposal_id in ids:
        proposal = found.get(proposal_id)
        if proposal is None:
            result.refused.append(Outcome(proposal_id, _("Không tìm thấy đề xuất này trong phạm vi của bạn.")))
            continue
        # Read before the attempt: a rolled-back savepoint expires what it touched.
        case_id, full_name, trigger = proposal.case_id, proposal.case.full_name, proposal.trigger
        try:
            takes_effect_on = _decide_one(session, actor, user, proposal, decision, reason, today)
        except (NotPermitted, DomainError) as error:
            result.refused.append(Outcome(proposal_id, error.message, case_id, full_name, trigger))
        except StaleDataError:
            result.refused.append(Outcome(proposal_id, _("Hồ sơ vừa được người khác thay đổi; đề xuất chưa được xử lý."),
                                          case_id, full_name, trigger))
        else:
            result.done.append(Outcome(proposal_id, None, case_id, full_name, trigger, takes_effect_on))
    return result


def _decide_one(session: Session, actor: Actor, user: User, proposal: Proposal, decision: str,
                reason: str, today: date | None) -> date | None:
    """Decide one proposal in a savepoint; the day an approval for a later month takes effect."""
    with audit.savepoint(session):
        if decision == "reject":
            reject(session, actor, user, proposal, reason)
            return None
        approve(session, actor, user, proposal, reason, today)
        return proposal.takes_effect_on

