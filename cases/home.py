"""What a user's home page shows: their queues with counts, the proposals waiting on them, their
communes' share paid by account and, for the province's officers and supervisors, where the
payment cycle stands. A fixed number of statements whatever the scope's size.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from cases.access import proposal_scope, scoped_cases
from cases.calendar import working_calendar
from cases.case_counts import capped_count, state_counts
from cases.models import Case, Proposal, ProposalStatus, User
from cases.payments.cycle import cycle_of, follows_cycle
from cases.queue_filters import QueueFilter, conditions
from cases.reports.figures import Target
from cases.reports.monthly import notices_for
from cases.reports.targets import targets_in_force
from cases.roles import Role
from workflow.states import CaseState
from workflow.table import RECEIVING


@dataclass(frozen=True)
class Home:
    by_state: dict[CaseState, int]
    over_sla: tuple[int, bool]          # (count, capped)
    due_soon: tuple[int, bool]
    my_pending: int                     # proposals I made, still waiting for a decision
    to_decide: int                      # pending in my scope, made by others (supervisors only)
    scheduled: int                      # approved decisions waiting for their month
    account_share: float | None         # None: nobody receiving a benefit yet
    target: Target | None = None        # the target in force today for the user's province or commune
    report_notices: tuple = ()          # last month's reports not signed yet (supervisors: cases.reports.monthly)
    # Each provider's month where it stands (cases.payments.cycle): the province's officers and
    # supervisors, who draft and sign the lists; commune users have no part in it.
    payment_cycle: tuple = ()


def account_share(by_state: dict[CaseState, int]) -> float | None:
    """The share paid by account: cases paid by account ÷ cases receiving a monthly benefit
    (every state whose `receiving` is set in the workflow table: from identity verification to
    paid in cash; suspended and terminated cases receive nothing). The one definition, for the
    home page now and the targets of a later issue."""
    receiving = sum(by_state[s] for s in RECEIVING)
    return by_state[CaseState.PAID_BY_ACCOUNT] / receiving if receiving else None


def home_of(session: Session, user: User, today: date) -> Home:
    by_state = state_counts(session, user)
    calendar = working_calendar(session)
    over = capped_count(session, scoped_cases(user, Case.id).where(
        *conditions(QueueFilter(state=None, deadline="over"), user.id, today, calendar)))
    soon = capped_count(session, scoped_cases(user, Case.id).where(
        *conditions(QueueFilter(state=None, deadline="soon"), user.id, today, calendar)))
    pending = Proposal.status == ProposalStatus.PENDING
    deciding = user.role is Role.SUPERVISOR
    mine, others, scheduled = session.execute(
        select(func.count(case((and_(pending, Proposal.proposed_by_id == user.id), 1))),
               # The system's proposals (no proposer) wait on every supervisor.
               func.count(case((and_(pending, func.coalesce(Proposal.proposed_by_id, 0) != user.id), 1))),
               func.count(case((Proposal.status == ProposalStatus.SCHEDULED, 1))))
        .where(proposal_scope(user), Proposal.status.in_((ProposalStatus.PENDING, ProposalStatus.SCHEDULED)))).one()
    return Home(by_state, over, soon, mine, others if deciding else 0, scheduled, account_share(by_state),
                _target(session, user, today), tuple(notices_for(session, user, today)),
                tuple(cycle_of(session, user.province_id, today)) if follows_cycle(user) else ())


def _target(session: Session, user: User, today: date) -> Target | None:
    """The target in force today: the province's for a province user, the first commune's (its own,
    else its province's) for a commune user."""
    if user.province_id is not None:
        return targets_in_force(session, [user.province_id], today).for_commune(user.province_id, None)
    if not user.communes:
        return None
    commune = user.communes[0]
    return targets_in_force(session, [commune.province_id], today).for_commune(commune.province_id, commune.id)
