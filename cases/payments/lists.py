"""A provider's payment list for a month (issue 18, item 2): who is paid, how much, into which
account or in cash, as the cases stand at the cut-off — with the decisions waiting for their month
applied as of the month the list pays — and how it differs from the provider's signed list of the
month before.

Who is on which list:
- a case paid by account (an account number recorded, in `account_opening` — its first payment
  confirms the account — or `paid_by_account`) is on its recorded provider's list;
- every other case receiving a benefit (identity, payment method, paid in cash, or an account not
  yet opened) is paid in cash, on the list of the first active cash provider (lowest id) serving
  its commune and policy group;
- a suspension or termination approved for a month not later than the list's takes the case off;
  a resumption approved for it puts the case back, with its arrears.

The amount is the monthly amount in force in the list's month (BTXH: the base amount of that month
× the category's coefficient; NCC: the case's amount), plus, for a case resumed that month, the
months of arrears its decision grants, each at the amount in force then. Nothing is taken off
silently: a case on last month's list and not on this one is a REMOVED line saying why.

Services flush, never commit.
"""
from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import NamedTuple

from flask_babel import gettext as _
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from cases import audit, reference
from cases.actions import effective_from
from cases.audit import Actor
from cases.bulk_write import BulkSink, allocate_ids
from cases.changes import unique_or, utcnow
from cases.errors import DomainError, NotPermitted
from cases.models import (Case, LineChange, PaymentLine, PaymentList, PaymentListState, PaymentProvider, Proposal,
                          ProposalStatus, User)
from cases.reports.periods import add_months
from cases.roles import Role
from workflow.states import CaseState as S
from workflow.table import RECEIVING

_ACCOUNT_STATES = (S.ACCOUNT_OPENING, S.PAID_BY_ACCOUNT)
_LINES = PaymentLine.__table__
_LINE_COLUMNS = ("id", "list_id", "case_id", "commune_id", "policy_group", "full_name", "national_id", "in_cash",
                 "account_holder_name", "account_number", "monthly_amount", "arrears_amount", "amount", "change",
                 "reason")     # what a draft writes; the return fills in the outcome
_CASE_COLUMNS = (Case.id, Case.status, Case.suspended_from, Case.commune_id, Case.policy_group, Case.full_name,
                 Case.national_id, Case.category_code, Case.monthly_amount, Case.benefit_start_month,
                 Case.payment_method, Case.provider_id, Case.account_holder_name, Case.account_number)

# Why a line is new, or removed (labelled on screen and in the workbook).
FIRST_LIST, NEW_ACCOUNT, RESUMED, MOVED_PROVIDER, NEW_BENEFICIARY = (
    "first_list", "new_account", "resumed", "moved_provider", "new_beneficiary")
SUSPENDED, TERMINATED, SWITCHED_TO_CASH, SWITCHED_TO_ACCOUNT, NOT_RECEIVING = (
    "suspended", "terminated", "switched_to_cash", "switched_to_account", "not_receiving")


class Line(NamedTuple):
    """A line as computed, before it is stored (a tuple: a list holds 100,000 of them)."""
    case_id: int
    commune_id: int
    policy_group: str
    full_name: str
    national_id: str | None
    in_cash: bool
    account_holder_name: str | None
    account_number: str | None
    monthly_amount: int
    arrears_amount: int
    change: LineChange = LineChange.SAME
    reason: str | None = None

    @property
    def amount(self) -> int:
        return 0 if self.change is LineChange.REMOVED else self.monthly_amount + self.arrears_amount


@dataclass
class Totals:
    """Control totals: per policy group and "all", the lines paid and their sum in đồng."""
    by_group: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(lambda: {"count": 0, "amount": 0}))

    def add(self, line: Line) -> None:
        if line.amount <= 0:
            return
        for key in (line.policy_group, "all"):
            self.by_group[key]["count"] += 1
            self.by_group[key]["amount"] += line.amount

    def as_dict(self) -> dict[str, dict[str, int]]:
        keys = ("btxh", "ncc", "all")
        return {k: dict(self.by_group.get(k, {"count": 0, "amount": 0})) for k in keys}


# --- who is paid, and how much -------------------------------------------------------------------

class _Amounts:
    """The monthly amount of a case in force in a month: NCC, the case's amount; BTXH, the base
    amount of the month × the category's coefficient — looked up once per category and month, the
    same for thousands of cases."""

    def __init__(self):
        self._btxh: dict[tuple[str, date], int] = {}

    def of(self, case, month: date) -> int:
        if case.policy_group.value == "ncc":
            return int(case.monthly_amount)
        key = (case.category_code, month)
        if key not in self._btxh:
            self._btxh[key] = reference.btxh_monthly_amount(case.category_code, month)
        return self._btxh[key]


@dataclass(frozen=True)
class _Decisions:
    """The status decisions that change who is paid in `month`, by case."""
    leaving: dict[int, str]            # case → SUSPENDED / TERMINATED, effective by the month
    resuming: set[int]                 # scheduled resumptions taking effect by the month
    arrears_months: dict[int, int]     # case → months of arrears granted by a resumption effective that month


def _decisions(session: Session, province_id: int, month: date) -> _Decisions:
    statement = (select(Proposal.case_id, Proposal.trigger, Proposal.status, Proposal.payload, Proposal.takes_effect_on)
                 .join(Case, Case.id == Proposal.case_id)
                 .where(Case.province_id == province_id,
                        Proposal.trigger.in_(("suspend", "terminate", "resume")),
                        Proposal.status.in_((ProposalStatus.SCHEDULED, ProposalStatus.APPROVED))))
    leaving, resuming, arrears = {}, set(), {}
    for case_id, trigger, status, payload, takes_effect_on in session.execute(statement):
        effective = effective_from(trigger, payload)
        if status is ProposalStatus.SCHEDULED and takes_effect_on is not None and takes_effect_on <= month:
            if trigger == "resume":
                resuming.add(case_id)
            else:
                leaving[case_id] = SUSPENDED if trigger == "suspend" else TERMINATED
        if trigger == "resume" and effective == month and status in (ProposalStatus.APPROVED, ProposalStatus.SCHEDULED):
            arrears[case_id] = max(int(payload.get("arrears_months") or 0), 0)
    return _Decisions(leaving, resuming, arrears)


def _paid_state(case, decisions: _Decisions) -> S | None:
    """The state the case is paid from in the month, decisions applied; None: not paid."""
    if case.id in decisions.leaving:
        return None
    if case.status is S.SUSPENDED and case.id in decisions.resuming:
        return case.suspended_from
    return case.status if case.status in RECEIVING else None


def _by_account(case, state: S) -> bool:
    return state in _ACCOUNT_STATES and bool(case.account_number) and case.provider_id is not None


class CashProviders:
    """Which cash provider pays a commune's cases of a policy group: the first active one (lowest
    id) serving it."""

    def __init__(self, providers: list[PaymentProvider]):
        self._cash = sorted((p for p in providers if p.active and p.pays_in_cash), key=lambda p: p.id)
        self._served = {p.id: {c.id for c in p.communes} for p in self._cash}

    def payer(self, commune_id: int, group: str) -> int | None:
        for provider in self._cash:
            served = self._served[provider.id]
            if (not served or commune_id in served) and provider.policy_groups in ("all", group):
                return provider.id
        return None


def compute_lines(session: Session, provider: PaymentProvider, month: date) -> list[Line]:
    """The lines `provider` pays in `month`, the cases as they stand now, decisions applied."""
    providers = list(session.scalars(select(PaymentProvider).where(PaymentProvider.province_id == provider.province_id)))
    cash = CashProviders(providers)
    decisions = _decisions(session, provider.province_id, month)
    candidates = select(*_CASE_COLUMNS).where(Case.province_id == provider.province_id,
                                              Case.status.in_((*RECEIVING, S.SUSPENDED))).order_by(Case.id)
    if not provider.pays_in_cash:       # a bank pays only the accounts recorded with it
        candidates = candidates.where(Case.provider_id == provider.id)
    lines = []
    amounts = _Amounts()
    # On the connection: the ORM's handling of 100,000 rows of plain columns cost more than the query.
    for case in session.connection().execute(candidates):
        state = _paid_state(case, decisions)
        if state is None or (case.benefit_start_month is not None and case.benefit_start_month > month):
            continue
        by_account = _by_account(case, state)
        payer = case.provider_id if by_account else cash.payer(case.commune_id, case.policy_group.value)
        if payer != provider.id:
            continue
        monthly = amounts.of(case, month)
        arrears_months = decisions.arrears_months.get(case.id, 0)
        arrears = sum(amounts.of(case, add_months(month, -k)) for k in range(1, arrears_months + 1))
        lines.append(Line(case.id, case.commune_id, case.policy_group.value, case.full_name, case.national_id,
                          not by_account, case.account_holder_name if by_account else None,
                          case.account_number if by_account else None, monthly, arrears))
    return lines


# --- the differences against last month ------------------------------------------------------------

def compare(lines: list[Line], previous: dict[int, PaymentLine] | None, elsewhere: set[int],
            states: dict[int, tuple]) -> list[Line]:
    """`lines` with their change against `previous` (the provider's signed list of the month
    before, by case; None: there is none), then a REMOVED line for each case of `previous` not on
    this list. `elsewhere`: cases on another provider's list last month; `states`: case →
    (status, payment_method, provider_id) now, to say why a case left."""
    result = []
    for line in lines:
        before = previous.get(line.case_id) if previous is not None else None
        if previous is None:
            change, reason = LineChange.NEW, FIRST_LIST
        elif before is None or before.change is LineChange.REMOVED:
            change, reason = LineChange.NEW, _why_new(line, elsewhere)
        elif (before.account_number or None) != (line.account_number or None):
            change, reason = LineChange.ACCOUNT_CHANGED, None
        elif before.amount != line.monthly_amount + line.arrears_amount:
            change, reason = LineChange.AMOUNT_CHANGED, None
        else:
            change, reason = LineChange.SAME, None
        result.append(_with(line, change, reason))
    on_list = {line.case_id for line in lines}
    for case_id, before in sorted((previous or {}).items()):
        if case_id in on_list or before.change is LineChange.REMOVED:
            continue
        result.append(Line(case_id, before.commune_id, before.policy_group, before.full_name, before.national_id,
                           before.in_cash, before.account_holder_name, before.account_number, 0, 0,
                           LineChange.REMOVED, _why_removed(states.get(case_id), before)))
    return result


def _with(line: Line, change: LineChange, reason: str | None) -> Line:
    return line._replace(change=change, reason=reason)


def _why_new(line: Line, elsewhere: set[int]) -> str:
    if line.arrears_amount:
        return RESUMED
    if line.case_id in elsewhere:
        return NEW_ACCOUNT if not line.in_cash else MOVED_PROVIDER
    return NEW_BENEFICIARY


def _why_removed(state: tuple | None, before: PaymentLine) -> str:
    if state is None:
        return NOT_RECEIVING
    status, method, _provider = state
    if status is S.SUSPENDED:
        return SUSPENDED
    if status is S.TERMINATED:
        return TERMINATED
    if not before.in_cash and status is S.PAID_IN_CASH:
        return SWITCHED_TO_CASH
    if before.in_cash and status in _ACCOUNT_STATES:
        return SWITCHED_TO_ACCOUNT
    return MOVED_PROVIDER if status in RECEIVING else NOT_RECEIVING


# --- drafting and signing --------------------------------------------------------------------------

def signed_list(session: Session, provider_id: int, month: date) -> PaymentList | None:
    return session.scalars(select(PaymentList).where(
        PaymentList.provider_id == provider_id, PaymentList.month == month,
        PaymentList.state == PaymentListState.SIGNED)).first()


def draft_list(session: Session, actor: Actor, user: User | None, provider: PaymentProvider, month: date,
               now: datetime | None = None) -> PaymentList:
    """Compute `provider`'s list for `month` (first day) as the cases stand now, replacing any
    draft of it, and store it as a draft with its lines and control totals; audited.

    :raise DomainError: the month's list of this provider is signed already (a later change to a
        case goes into next month's list).
    """
    month = month.replace(day=1)
    if signed_list(session, provider.id, month) is not None:
        raise DomainError(_("Danh sách chi trả tháng này của tổ chức chi trả đã được ký duyệt; thay đổi sau đó "
                            "sẽ vào danh sách tháng sau."))
    now = now or utcnow()
    _drop_drafts(session, provider.id, month)
    previous = signed_list(session, provider.id, add_months(month, -1))
    previous_lines = _lines_by_case(session, previous.id) if previous is not None else None
    lines = compute_lines(session, provider, month)
    elsewhere, states = _context(session, provider, month, previous_lines,
                                 previous.id if previous is not None else None)
    lines = compare(lines, previous_lines, elsewhere, states)
    totals = Totals()
    for line in lines:
        totals.add(line)
    plist = PaymentList(provider_id=provider.id, province_id=provider.province_id, month=month,
                        state=PaymentListState.DRAFT, cut_off_at=now, drafted_by_id=user.id if user else None,
                        drafted_at=now, totals=json.dumps(totals.as_dict(), sort_keys=True),
                        line_count=totals.as_dict()["all"]["count"], total_amount=totals.as_dict()["all"]["amount"],
                        previous_id=previous.id if previous is not None else None)
    session.add(plist)
    session.flush()
    _store_lines(session, plist.id, lines)
    audit.record(session, actor, "payment_list.draft", detail={
        "list": plist.id, "provider": provider.short_name, "month": month.isoformat(), "totals": totals.as_dict(),
        "removed": sum(1 for line in lines if line.change is LineChange.REMOVED)})
    return plist


def _drop_drafts(session: Session, provider_id: int, month: date) -> None:
    drafts = select(PaymentList.id).where(PaymentList.provider_id == provider_id, PaymentList.month == month,
                                          PaymentList.state == PaymentListState.DRAFT)
    ids = list(session.scalars(drafts))
    if ids:
        session.execute(delete(PaymentLine).where(PaymentLine.list_id.in_(ids)))
        session.execute(delete(PaymentList).where(PaymentList.id.in_(ids)))


_PREVIOUS = select(*(getattr(PaymentLine, key) for key in _LINE_COLUMNS if key not in ("id", "list_id")))


def _lines_by_case(session: Session, list_id: int) -> dict[int, PaymentLine]:
    """The lines of `list_id` by case, as rows with a line's attributes (not ORM objects: 100,000
    of them cost seconds to build)."""
    return {line.case_id: line for line in session.connection().execute(_PREVIOUS.where(PaymentLine.list_id == list_id))}


def _context(session: Session, provider: PaymentProvider, month: date, previous: dict[int, PaymentLine] | None,
             previous_id: int | None) -> tuple[set[int], dict[int, tuple]]:
    """Cases on another provider's signed list last month, and the state now of the cases that
    were on this provider's."""
    last_month = add_months(month, -1)
    others = (select(PaymentLine.case_id).join(PaymentList, PaymentList.id == PaymentLine.list_id)
              .where(PaymentList.province_id == provider.province_id, PaymentList.month == last_month,
                     PaymentList.state == PaymentListState.SIGNED, PaymentList.provider_id != provider.id,
                     PaymentLine.amount > 0))
    elsewhere = set(session.scalars(others))
    states = {}
    if previous:
        on_previous = select(PaymentLine.case_id).where(PaymentLine.list_id == previous_id)
        for case_id, status, method, provider_id in session.connection().execute(
                select(Case.id, Case.status, Case.payment_method, Case.provider_id).where(Case.id.in_(on_previous))):
            states[case_id] = (status, method, provider_id)
    return elsewhere, states


def _store_lines(session: Session, list_id: int, lines: list[Line]) -> None:
    ids = allocate_ids(session, _LINES, len(lines))
    sink = BulkSink(session)
    rows = [(line_id, list_id, line.case_id, line.commune_id, line.policy_group, line.full_name, line.national_id,
             line.in_cash, line.account_holder_name, line.account_number, line.monthly_amount, line.arrears_amount,
             line.amount, line.change.value, line.reason)
            for line_id, line in zip(ids, lines)]
    # Ids from the table's sequence (PostgreSQL) or after the largest under the write lock (SQLite):
    # nothing to move past afterwards.
    sink.write(_LINES, _LINE_COLUMNS, rows)


def may_draft(user: User, province_id: int) -> bool:
    """An officer or supervisor of the whole province: a provider's list spans its communes."""
    return user.is_active and user.role in (Role.OFFICER, Role.SUPERVISOR) and user.province_id == province_id


def may_sign(user: User, plist: PaymentList) -> bool:
    return user.is_active and user.role is Role.SUPERVISOR and user.province_id == plist.province_id


def sign_list(session: Session, actor: Actor, user: User, list_id: int, workbook: bytes,
              now: datetime | None = None) -> PaymentList:
    """Sign off a draft: from now on it is frozen — its lines are final, `workbook` (built from
    them) is stored with its SHA-256, and it may be downloaded. Audited.

    :raise NotPermitted: not a supervisor of the list's province.
    :raise DomainError: no such draft (signed already, or replaced by a newer draft meanwhile), or
        another list of the provider for the month is signed.
    """
    plist = session.get(PaymentList, list_id)
    if plist is None:
        raise DomainError(_("Không có danh sách chi trả này."))
    if not may_sign(user, plist):
        raise NotPermitted(_("Chỉ lãnh đạo cấp tỉnh được ký duyệt danh sách chi trả."))
    now = now or utcnow()
    with unique_or(_("Danh sách chi trả tháng này của tổ chức chi trả đã được ký duyệt.")):
        signed = session.execute(
            update(PaymentList).where(PaymentList.id == list_id, PaymentList.state == PaymentListState.DRAFT)
            .values(state=PaymentListState.SIGNED, signed_by_id=user.id, signed_at=now, workbook=workbook,
                    sha256=hashlib.sha256(workbook).hexdigest())
            .execution_options(synchronize_session=False)).rowcount
    if signed != 1:
        raise DomainError(_("Danh sách này đã được ký duyệt hoặc đã được lập lại; hãy tải lại trang."))
    session.expire(plist)
    audit.record(session, actor, "payment_list.sign", detail={
        "list": plist.id, "provider": plist.provider_id, "month": plist.month.isoformat(),
        "totals": plist.totals_dict, "sha256": plist.sha256})
    return plist


def record_download(session: Session, actor: Actor, plist: PaymentList, provider: PaymentProvider,
                    now: datetime | None = None) -> None:
    """A signed list downloaded (audited: it names people and accounts); the first download is
    when it was sent to its provider, as the cycle on the home page counts it."""
    session.execute(update(PaymentList).where(PaymentList.id == plist.id, PaymentList.sent_at.is_(None))
                    .values(sent_at=now or utcnow()).execution_options(synchronize_session=False))
    audit.record(session, actor, "payment_list.download", detail={
        "list": plist.id, "provider": provider.short_name, "month": plist.month.isoformat(), "sha256": plist.sha256})
