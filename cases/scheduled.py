"""Decisions that take effect in their month (issue 19, item 5).

A suspension, resumption or termination approved for a month not yet begun waits as a SCHEDULED
proposal (`cases.actions.approve`). On the first day of that month the scheduler's job
`apply_scheduled_decisions` fires it through the engine, with its own audit record, if the case
is as it was when the decision was approved; a case that changed meanwhile (an edit, another
transition: its version moved) gets the decision refused, never applied blindly, and flagged to
its supervisors until someone makes a new proposal on the case.
"""
from __future__ import annotations

from datetime import date

from flask_babel import force_locale, gettext as _
from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session, aliased, joinedload

from cases import audit
from cases.access import proposal_scope
from cases.actions import fire_transition
from cases.audit import Actor
from cases.changes import utcnow
from cases.models import Proposal, ProposalStatus, User
from workflow.table import STATES, TRANSITIONS

SCHEDULER = Actor.system("scheduler")


def N_(message: str) -> str:
    """Marks `message` for the catalogue and leaves it as it is (pybabel's default keyword)."""
    return message


# A refusal is stored with the proposal in Vietnamese, the language of the record, whoever's
# request happens to run the job; digests translate it when they show it (it is its own msgid).
CHANGED = N_("Hồ sơ đã thay đổi sau khi quyết định được phê duyệt (sửa thông tin hoặc chuyển trạng thái), "
             "nên quyết định không được tự động áp dụng. Lãnh đạo cần xem lại hồ sơ; nếu vẫn cần, hãy lập đề xuất mới.")


def due_decisions(session: Session, today: date) -> list[Proposal]:
    """The scheduled decisions whose day has come, oldest first (a few a day: a loop is right)."""
    return list(session.scalars(
        select(Proposal).where(Proposal.status == ProposalStatus.SCHEDULED, Proposal.takes_effect_on <= today)
        .order_by(Proposal.takes_effect_on, Proposal.id)))


def apply_scheduled_decisions(session: Session, today: date, actor: Actor = SCHEDULER) -> dict:
    """Fire every decision due on or before `today` (local) whose case has not changed since its
    approval; refuse and flag the others. Flushes, never commits. Returns the counts.

    :raise DomainError: the effect refused data it accepted at approval (not expected: the case is
        unchanged); the run fails and the next day's run tries again.
    """
    counts = {"applied": 0, "not_applied": 0}
    for proposal in due_decisions(session, today):
        refusal = refusal_of(proposal)
        if not _settle(session, proposal, ProposalStatus.NOT_APPLIED if refusal else ProposalStatus.APPROVED, refusal):
            continue  # another run settled it a moment ago
        if refusal is None:
            _take_effect(session, actor, proposal)
            counts["applied"] += 1
        else:
            _refuse(session, actor, proposal, refusal)
            counts["not_applied"] += 1
    return counts


def refusal_of(proposal: Proposal) -> str | None:
    """Why the decision cannot take effect on its case as it is now (Vietnamese), or None."""
    case, spec = proposal.case, TRANSITIONS[proposal.trigger]
    if case.version != proposal.case_version:
        return CHANGED
    with force_locale("vi"):
        if case.status not in spec.sources:  # the version moves with every transition; kept for safety
            return _("Hồ sơ đang ở trạng thái «%(state)s», không thể «%(action)s»; quyết định không được áp dụng.",
                     state=STATES[case.status].label, action=spec.label)
    return None


def _take_effect(session: Session, actor: Actor, proposal: Proposal) -> None:
    fire_transition(session, actor, None, proposal.case, TRANSITIONS[proposal.trigger], proposal.payload,
                    "decision.take_effect", proposal=proposal, extra={
                        "takes_effect_on": proposal.takes_effect_on.isoformat(),
                        "approved_by": proposal.decided_by.username, "proposed_by": proposal.proposer_name})


def _refuse(session: Session, actor: Actor, proposal: Proposal, refusal: str) -> None:
    case = proposal.case
    audit.record(session, actor, "decision.refused", case=case, proposal=proposal, reason=refusal,
                 outcome="refused", detail={
                     "trigger": proposal.trigger, "state": case.status, "data": proposal.payload,
                     "takes_effect_on": proposal.takes_effect_on.isoformat(),
                     "case_version_approved": proposal.case_version, "case_version_now": case.version,
                     "approved_by": proposal.decided_by.username})


_PROPOSALS = Proposal.__table__


def _settle(session: Session, proposal: Proposal, status: ProposalStatus, refusal: str | None) -> bool:
    """Mark the decision applied or not, if it is still scheduled: a second run (a manual one
    beside the daily slot) queues on the row and finds it settled."""
    settled = session.connection().execute(
        update(_PROPOSALS).where(_PROPOSALS.c.id == proposal.id, _PROPOSALS.c.status == ProposalStatus.SCHEDULED)
        .values(status=status, settled_at=utcnow(), not_applied_reason=refusal)).rowcount
    session.expire(proposal, ["status", "settled_at", "not_applied_reason"])
    return settled == 1


# --- what supervisors and officers see ----------------------------------------------------------

def scheduled_decisions(session: Session, user: User, limit: int = 200) -> list[Proposal]:
    """The decisions waiting for their month in `user`'s scope, the earliest to take effect first."""
    return _listed(session, user, Proposal.status == ProposalStatus.SCHEDULED, limit)


def refused_decisions(session: Session, user: User, limit: int = 200) -> list[Proposal]:
    """The decisions in `user`'s scope that could not take effect and still stand flagged (no
    proposal has been made on their case since), the earliest effective date first."""
    return _listed(session, user, (Proposal.status == ProposalStatus.NOT_APPLIED) & _not_superseded(), limit)


def refused_decision(session: Session, case_id: int) -> Proposal | None:
    """The case's flagged decision, if it has one (the caller has checked scope)."""
    return session.scalars(
        select(Proposal).where(Proposal.case_id == case_id, Proposal.status == ProposalStatus.NOT_APPLIED,
                               _not_superseded()).order_by(Proposal.id.desc())).first()


def _not_superseded():
    later = aliased(Proposal)
    return ~exists().where(later.case_id == Proposal.case_id, later.id > Proposal.id)


def _listed(session: Session, user: User, condition, limit: int) -> list[Proposal]:
    return list(session.scalars(
        select(Proposal).options(joinedload(Proposal.case), joinedload(Proposal.decided_by))
        .where(condition, proposal_scope(user))
        .order_by(Proposal.takes_effect_on, Proposal.id).limit(limit)))
