"""Where each provider's monthly payment cycle stands (issue 18, item 5): for the month being
prepared and the current month, its list drafted, signed and sent; the provider's return received
and reconciled; the return's rows still waiting to be resolved — with the due date of the next step
and whether it is near or past. The home page shows it; the daily digest reminds of what is due.

A provider takes part in the cycle from the month of its first list: before that the province pays
it outside AnSinh, or it has nobody to pay, and a reminder every month would teach people to skip
the digest.

Read-only: a fixed number of statements whatever the number of lines (lines are never loaded).
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, aliased

from cases.calendar import working_calendar
from cases.models import PaymentList, PaymentListState, PaymentProvider, ReturnException, User
from cases.models.lists import ListJob, ListJobState, ListKind
from cases.payments.lists import may_draft
from cases.queue_filters import DUE_SOON_WORKING_DAYS
from cases.reports.periods import add_months

# Decree 20/2021/NĐ-CP Art. 34(4)-(5) (the rules file's "payment_cycle"; the same for NCC under
# Circular 101/2018/TT-BTC Art. 15(3)-(4)): the list and the funds go to the provider before the
# 25th of the month before the month the list pays; the provider sends back its paid / unpaid
# lists before the 20th of the month paid. "Before": the day itself is late.
LIST_DUE_BEFORE_DAY = 25          # of the month before the list's month
RETURN_DUE_BEFORE_DAY = 20        # of the list's month
# A reminder starts this many working days ahead, as the queues' "due soon" does.
REMIND_WORKING_DAYS = DUE_SOON_WORKING_DAYS


def list_due_before(month: date) -> date:
    """The day `month`'s list is late on: it goes to the provider before it."""
    return add_months(month, -1).replace(day=LIST_DUE_BEFORE_DAY)


def return_due_before(month: date) -> date:
    """The day the provider's return of `month` is late on."""
    return month.replace(day=RETURN_DUE_BEFORE_DAY)


class CycleStage(str, enum.Enum):
    """How far a provider's month has come, each stage past the one before."""
    NOT_DRAFTED = "not_drafted"
    DRAFTED = "drafted"
    SIGNED = "signed"                      # signed, not downloaded yet: not sent
    SENT = "sent"                          # waiting for the provider's return
    RETURN_RECEIVED = "return_received"    # uploaded, not imported yet
    RECONCILED = "reconciled"              # each line has its outcome; unmatched rows may wait


STAGE_LABELS = {
    CycleStage.NOT_DRAFTED: _l("Chưa lập danh sách"),
    CycleStage.DRAFTED: _l("Đã lập, chờ ký duyệt"),
    CycleStage.SIGNED: _l("Đã ký duyệt, chưa gửi"),
    CycleStage.SENT: _l("Đã gửi, chờ tệp trả về"),
    CycleStage.RETURN_RECEIVED: _l("Đã nhận tệp trả về, chưa đối chiếu xong"),
    CycleStage.RECONCILED: _l("Đã đối chiếu"),
}
# The stages whose next step is the list's (sent before the 25th) or the return's (before the 20th).
_LIST_STEP = frozenset({CycleStage.NOT_DRAFTED, CycleStage.DRAFTED, CycleStage.SIGNED})
_RETURN_STEP = frozenset({CycleStage.SENT, CycleStage.RETURN_RECEIVED})
# A refused or dropped upload is no return: the provider has to send a good file.
_NO_RETURN = (ListJobState.FAILED, ListJobState.CANCELLED)


@dataclass(frozen=True)
class CycleRow:
    """One provider's month. `due_before`: the day the next step is late on (None: nothing due)."""
    province_id: int
    provider_id: int
    provider_name: str
    provider_short_name: str
    month: date                            # first day of the month the list pays
    stage: CycleStage
    list_id: int | None                    # the signed list, else the draft
    signed_at: datetime | None
    sent_at: datetime | None
    return_received: bool
    return_reconciled: bool
    open_exceptions: int
    due_before: date | None
    overdue: bool
    due_soon: bool                         # within REMIND_WORKING_DAYS working days, not yet late

    @property
    def label(self):
        return STAGE_LABELS[self.stage]

    @property
    def reminds(self) -> bool:
        return self.overdue or self.due_soon


def cycle_months(today: date) -> tuple[date, date, date]:
    """The month being prepared (next month's list, due this month), the current month, and last
    month (shown only while its return is not reconciled: a late return stays in sight)."""
    current = today.replace(day=1)
    return add_months(current, 1), current, add_months(current, -1)


def follows_cycle(user: User) -> bool:
    """The province's officers and supervisors: they draft and sign its lists."""
    return user.province_id is not None and may_draft(user, user.province_id)


def cycle_of(session: Session, province_id: int, today: date) -> list[CycleRow]:
    """The cycle of the province's active providers taking part in it, by provider name, the month
    being prepared first. Two statements (and the working calendar, kept per process)."""
    return _rows(session, today, province_id)


def due_reminders(session: Session, today: date) -> list[CycleRow]:
    """Every province's steps not done whose due date is past or within REMIND_WORKING_DAYS
    working days, for the digest. Two statements (and the working calendar)."""
    return [row for row in _rows(session, today, None) if row.reminds]


@dataclass(frozen=True)
class _Found:
    list_id: int | None
    state: PaymentListState | None
    signed_at: datetime | None
    sent_at: datetime | None
    received: bool
    reconciled: bool
    open_exceptions: int


_NOTHING = _Found(None, None, None, None, False, False, 0)


def _rows(session: Session, today: date, province_id: int | None) -> list[CycleRow]:
    providers = _providers(session, province_id)
    if not providers:
        return []
    months = cycle_months(today)
    found = _lists(session, months, province_id)
    calendar = working_calendar(session)
    rows = [_row(provider, month, found.get((provider.id, month)), today, calendar)
            for provider in providers for month in months if month >= provider.first_month]
    return [row for row in rows if row.month != months[-1] or (row.list_id is not None and not row.return_reconciled)]


def _row(provider, month: date, here: _Found | None, today: date, calendar) -> CycleRow:
    stage = _stage(here)
    due = (list_due_before(month) if stage in _LIST_STEP
           else return_due_before(month) if stage in _RETURN_STEP else None)
    overdue = due is not None and today >= due
    # Working days left up to the last day allowed (the day before `due`).
    soon = (due is not None and not overdue
            and calendar.working_days_between(today, due - timedelta(days=1)) <= REMIND_WORKING_DAYS)
    here = here or _NOTHING
    return CycleRow(provider.province_id, provider.id, provider.name, provider.short_name, month, stage,
                    here.list_id, here.signed_at, here.sent_at, here.received, here.reconciled,
                    here.open_exceptions, due, overdue, soon)


def _providers(session: Session, province_id: int | None) -> list:
    """The active providers with a list, and the month of their first (the cycle's start)."""
    columns = (PaymentProvider.id, PaymentProvider.province_id, PaymentProvider.name, PaymentProvider.short_name)
    statement = (select(*columns, func.min(PaymentList.month).label("first_month"))
                 .join(PaymentList, PaymentList.provider_id == PaymentProvider.id)
                 .where(PaymentProvider.active.is_(True)).group_by(*columns)
                 .order_by(PaymentProvider.province_id, PaymentProvider.name, PaymentProvider.id))
    if province_id is not None:
        statement = statement.where(PaymentProvider.province_id == province_id)
    return session.execute(statement).all()


def _lists(session: Session, months: tuple[date, ...], province_id: int | None) -> dict[tuple[int, date], _Found]:
    """The window's lists by (provider, month): the signed one, else the newest draft; with their
    returns and open exceptions counted by the database."""
    in_window = [PaymentList.month.in_(months)]
    if province_id is not None:
        in_window.append(PaymentList.province_id == province_id)
    window = aliased(PaymentList)
    returns = (select(ListJob.payment_list_id.label("list_id"), func.count().label("received"),
                      func.count(case((ListJob.state == ListJobState.DONE, 1))).label("done"))
               .join(window, window.id == ListJob.payment_list_id)
               .where(ListJob.kind == ListKind.PAYMENT_RETURN, ListJob.state.not_in(_NO_RETURN),
                      window.month.in_(months),
                      *([window.province_id == province_id] if province_id is not None else []))
               .group_by(ListJob.payment_list_id).subquery())
    waiting = (select(func.count(ReturnException.id))
               .where(ReturnException.list_id == PaymentList.id, ReturnException.resolved_at.is_(None))
               .correlate(PaymentList).scalar_subquery())
    statement = (select(PaymentList.id, PaymentList.provider_id, PaymentList.month, PaymentList.state,
                        PaymentList.signed_at, PaymentList.sent_at,
                        func.coalesce(returns.c.received, 0), func.coalesce(returns.c.done, 0), waiting)
                 .outerjoin(returns, returns.c.list_id == PaymentList.id)
                 .where(*in_window).order_by(PaymentList.id))
    found: dict[tuple[int, date], _Found] = {}
    for list_id, provider_id, month, state, signed_at, sent_at, received, done, open_ in session.execute(statement):
        key = (provider_id, month)
        if key in found and found[key].state is PaymentListState.SIGNED:
            continue
        found[key] = _Found(list_id, state, signed_at, sent_at, received > 0, done > 0, open_)
    return found


def _stage(found: _Found | None) -> CycleStage:
    """The furthest stage the month shows evidence of (a return proves the list was sent)."""
    if found is None:
        return CycleStage.NOT_DRAFTED
    if found.reconciled:
        return CycleStage.RECONCILED
    if found.received:
        return CycleStage.RETURN_RECEIVED
    if found.sent_at is not None:
        return CycleStage.SENT
    return CycleStage.SIGNED if found.state is PaymentListState.SIGNED else CycleStage.DRAFTED
