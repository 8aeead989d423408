"""The payment watcher (issue 18, item 4): a beneficiary who has not received the benefit for three
consecutive months is proposed for suspension — Circular 02/2021 Art. 2(3)(a), reason
`TT02.D2.K3.a` — for a supervisor to decide. It reads the outcomes the providers' returns left on
the signed lists' lines (cases.payments.returns), whatever the way of payment: an account payment
that failed, or cash not collected at the post office.

The daily watch looks at every list; a provider's return, once reconciled, at its own list's cases
at once, so the supervisor who imported it sees who is proposed. A run of unpaid months is
proposed once: `unpaid_runs` keeps each run by its first month, so the
daily pass, and a fourth unpaid month of the same run, raise nothing more; a paid month ends the
run, and a later run is a new one. Only a run still going is proposed (it reaches the case's latest
month with an outcome): a run that a payment ended months ago is history, not a reason to suspend.

The reason code belongs to the social-assistance rules (Decree 20/2021, Circular 02/2021); the
preferential-allowance ordinance (NCC) has no such ground among the suspension reasons in the
rules file, so NCC cases are counted, not proposed.

Services flush, never commit.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime

from flask_babel import force_locale, gettext as _
from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from cases import audit
from cases.actions import OPEN_STATUSES, propose_as_system
from cases.audit import Actor
from cases.changes import utcnow
from cases.errors import DomainError
from cases.models import (Case, LineChange, LineOutcome, PaymentLine, PaymentList, PaymentListState, PolicyGroup,
                          Proposal, UnpaidRun)
from cases.reports.periods import add_months
from workflow.table import TRANSITIONS

UNPAID_MONTHS = 3                 # Circular 02/2021 Art. 2(3)(a): "liên tục từ 03 tháng trở lên"
REASON_CODE = "TT02.D2.K3.a"
WATCHER = Actor.system("payment_watcher")
# How far back a run is looked for: a run longer than this is proposed all the same (its first
# month is then taken as the window's first), and it is proposed long before it gets there.
_LOOKBACK_MONTHS = 12


def propose_suspensions_for_unpaid_months(session: Session, today: date, now: datetime | None = None,
                                          list_id: int | None = None) -> dict:
    """Propose for suspension each BTXH case receiving a benefit whose latest months with an
    outcome are three or more consecutive unpaid months not proposed yet — of the cases on
    `list_id` when given (a return just reconciled), else of every list; what it did, as counts."""
    latest = today.replace(day=1)
    since = add_months(latest, -_LOOKBACK_MONTHS)
    runs = _open_runs(session, since, latest, list_id)
    counts = {"unpaid_runs": len(runs), "proposed": 0, "already_proposed": 0, "ncc": 0, "not_receiving": 0,
              "proposal_open": 0}
    if not runs:
        return counts
    done = set(session.execute(select(UnpaidRun.case_id, UnpaidRun.first_month)
                               .where(UnpaidRun.case_id.in_(list(runs)))).tuples())
    cases = {c.id: c for c in session.scalars(select(Case).where(Case.id.in_(list(runs))))}
    held = set(session.scalars(select(Proposal.case_id).where(Proposal.case_id.in_(list(runs)),
                                                              Proposal.status.in_(OPEN_STATUSES))))
    spec = TRANSITIONS["suspend"]
    now = now or utcnow()
    for case_id in sorted(runs):
        months = runs[case_id]
        case = cases[case_id]
        if (case_id, months[0]) in done:
            counts["already_proposed"] += 1
        elif case.policy_group is not PolicyGroup.BTXH:
            counts["ncc"] += 1
        elif case.status not in spec.sources:
            counts["not_receiving"] += 1
        elif case_id in held:
            counts["proposal_open"] += 1      # tried again tomorrow: the run is still not proposed
        else:
            counts[_propose(session, case, months, now)] += 1
    return counts


def _propose(session: Session, case: Case, months: list[date], now: datetime) -> str:
    payload = {"reason_code": REASON_CODE, "effective_month": add_months(months[-1], 1).isoformat(),
               "decision_number": ""}
    with force_locale("vi"):    # stored, and shown to every reader as written
        reason = _("Không nhận trợ cấp %(n)s tháng liên tục (%(months)s): tổ chức chi trả báo chưa chi trả được.",
                   n=len(months), months=", ".join(f"{m:%m/%Y}" for m in months))
    try:
        with audit.savepoint(session):
            proposal = propose_as_system(session, WATCHER, case, "suspend", payload, reason, "payment_watcher")
            session.add(UnpaidRun(case_id=case.id, first_month=months[0], proposal_id=proposal.id, raised_at=now))
            session.flush()
    except DomainError:
        return "proposal_open"       # raced by an officer's proposal: tried again tomorrow
    return "proposed"


def _open_runs(session: Session, since: date, latest: date, list_id: int | None) -> dict[int, list[date]]:
    """Each case whose run of unpaid months, ending at its latest month with an outcome, is three
    months or longer: its months, oldest first. Two statements: the cases with three unpaid months
    in the window (an aggregate over the signed lists' lines), then their outcomes."""
    signed = (PaymentLine.list_id == PaymentList.id, PaymentList.state == PaymentListState.SIGNED,
              PaymentList.month.between(since, latest), PaymentLine.change != LineChange.REMOVED,
              PaymentLine.outcome.is_not(None))
    candidates = (select(PaymentLine.case_id).select_from(PaymentLine).join(PaymentList, signed[0])
                  .where(*signed[1:], PaymentLine.outcome == LineOutcome.UNPAID)
                  .group_by(PaymentLine.case_id).having(func.count(distinct(PaymentList.month)) >= UNPAID_MONTHS))
    if list_id is not None:
        candidates = candidates.where(PaymentLine.case_id.in_(
            select(PaymentLine.case_id).where(PaymentLine.list_id == list_id, PaymentLine.outcome == LineOutcome.UNPAID)))
    outcomes: dict[int, dict[date, bool]] = defaultdict(dict)
    for case_id, month, outcome in session.execute(
            select(PaymentLine.case_id, PaymentList.month, PaymentLine.outcome).select_from(PaymentLine)
            .join(PaymentList, signed[0]).where(*signed[1:], PaymentLine.case_id.in_(candidates))):
        # Paid on any list of the month (a case moved between providers) is paid that month.
        outcomes[case_id][month] = outcomes[case_id].get(month, False) or outcome is LineOutcome.PAID
    runs = {}
    for case_id, paid in outcomes.items():
        run = _trailing_unpaid(paid)
        if len(run) >= UNPAID_MONTHS:
            runs[case_id] = run
    return runs


def _trailing_unpaid(paid: dict[date, bool]) -> list[date]:
    """The consecutive unpaid months ending at the latest month: a month with no outcome (not on a
    list, or its return not in) breaks the run, as a paid one does."""
    run: list[date] = []
    month = max(paid)
    while month in paid and not paid[month]:
        run.insert(0, month)
        month = add_months(month, -1)
    return run
