"""Moving a case: fire a transition, or propose it and have a second supervisor decide.

Permissions are checked before any work and refused with `NotPermitted` (403); business rules
refuse with `DomainError`. Services flush, never commit: the view commits once.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _, lazy_gettext as _l
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from cases import audit, effects
from cases.audit import Actor
from cases.changes import check_version, diff, local_today, snapshot, touch, unique_or, utcnow, write_case
from cases.entry import DUPLICATE_ID
from cases.errors import DomainError, NotPermitted
from cases.models import Case, Proposal, ProposalStatus, User
from cases.roles import Role
from workflow import engine, four_eyes
from workflow.table import STATES, TRANSITIONS, TransitionSpec


PENDING_EXISTS = _l("Hồ sơ đang có một đề xuất chờ phê duyệt; chưa thể lập đề xuất khác.")
SCHEDULED_EXISTS = _l("Hồ sơ đang có một quyết định đã phê duyệt, chờ đến tháng có hiệu lực; chưa thể lập đề xuất "
                      "khác cho đến khi quyết định đó có hiệu lực.")
OPEN_STATUSES = (ProposalStatus.PENDING, ProposalStatus.SCHEDULED)


@dataclass(frozen=True)
class Action:
    """A transition the user may start on a case now."""
    spec: TransitionSpec
    proposes: bool  # True: it becomes a proposal that a supervisor must approve


def available_actions(user: User, case: Case, pending: Proposal | None) -> list[Action]:
    """What `user` may do to `case` now, derived from the workflow table and the user's role."""
    if user.role not in {Role.OFFICER, Role.SUPERVISOR}:
        return []
    actions = []
    for trigger in engine.allowed_triggers(case.status):
        spec = TRANSITIONS[trigger]
        if spec.form is None or user.role not in spec.roles or (spec.needs_approval and pending is not None):
            continue
        if trigger == "resume" and case.suspended_from is None:
            continue
        actions.append(Action(spec, spec.needs_approval))
    return actions


def may_decide(user: User, proposal: Proposal | None) -> bool:
    """Whether `user` may approve or reject `proposal` (a supervisor who did not propose it)."""
    return (proposal is not None and proposal.status is ProposalStatus.PENDING
            and user.role is Role.SUPERVISOR and proposal.proposed_by_id != user.id)


def may_withdraw(user: User, proposal: Proposal | None) -> bool:
    """Whether `user` may withdraw `proposal`: its own proposer, while it still waits for a decision."""
    return (proposal is not None and proposal.status is ProposalStatus.PENDING
            and user.is_active and proposal.proposed_by_id == user.id)


def pending_proposal(session: Session, case_id: int) -> Proposal | None:
    """The case's open proposal: one waiting for a decision, or an approved decision waiting for
    its month (SCHEDULED); a case has one at most, and no other is made meanwhile."""
    return session.scalars(
        select(Proposal).where(Proposal.case_id == case_id, Proposal.status.in_(OPEN_STATUSES))
    ).first()


def effective_from(trigger: str, payload: dict) -> date | None:
    """The first day of the month a status decision takes effect: a suspension's or a resumption's
    effective month, a termination's month after the event (`effects.terminate`); None for a
    proposal that takes effect when approved."""
    if trigger in ("suspend", "resume") and payload.get("effective_month"):
        return date.fromisoformat(payload["effective_month"]).replace(day=1)
    if trigger == "terminate" and payload.get("event_date"):
        return effects.month_after(date.fromisoformat(payload["event_date"]))
    return None


def start_transition(session: Session, actor: Actor, user: User, case: Case, trigger: str,
                     payload: dict, version: int | None, reason: str | None = None) -> Proposal | None:
    """Fire `trigger` on `case`, or, when the table says it needs approval, propose it.

    Returns the proposal, or None when the transition took effect.
    :raise NotPermitted: the user's role may not start this transition.
    :raise StaleCase: the case changed since the form was rendered.
    :raise DomainError: not allowed from the case's state, a proposal is pending, or the data fails.
    """
    spec = _spec(trigger)
    _check_role(user, spec)
    check_version(case, version)
    _ensure_allowed(case, spec)
    if spec.needs_approval:
        return _propose(session, actor, user, case, spec, payload, reason)
    fire_transition(session, actor, user, case, spec, payload, "case.transition", reason=reason)
    return None


def propose(session: Session, actor: Actor, user: User, case: Case, trigger: str, payload: dict,
            reason: str | None = None) -> Proposal:
    """Propose `trigger`, a transition that needs approval, on `case` as it stands now (the edit
    form proposes the changes it holds back this way).

    :raise NotPermitted: the user's role may not start this transition.
    :raise DomainError: not allowed from the case's state, a proposal is pending, or the data fails.
    """
    spec = _spec(trigger)
    _check_role(user, spec)
    _ensure_allowed(case, spec)
    return _propose(session, actor, user, case, spec, payload, reason)


def approve(session: Session, actor: Actor, user: User, proposal: Proposal, reason: str | None,
            today: date | None = None, decision_number: str | None = None) -> Case:
    """Approve a pending proposal, after re-checking the case: the transition fires now, or, for a
    decision whose effective month begins after `today`'s (local), it is scheduled for the first
    day of that month (`cases.scheduled` fires it then) and the case stays as it is. A status
    decision proposed without its number (`Proposal.awaits_decision_number`) takes the approver's
    `decision_number` into its data.

    :raise NotPermitted: not a supervisor, or the proposer themselves.
    :raise DomainError: already decided, the case changed since, the move is no longer allowed, or
        the decision number is missing.
    """
    _check_decider(user, proposal)
    case = proposal.case
    if case.version != proposal.case_version:
        raise DomainError(_("Hồ sơ đã thay đổi sau khi đề xuất được lập, nên không thể phê duyệt. "
                            "Hãy từ chối đề xuất này; cán bộ lập đề xuất mới nếu vẫn cần."))
    spec = _spec(proposal.trigger)
    _ensure_allowed(case, spec)
    if proposal.awaits_decision_number:
        _take_decision_number(session, proposal, decision_number)
    effective = effective_from(proposal.trigger, proposal.payload)
    if effective is not None and effective > (today or local_today()).replace(day=1):
        _claim(session, user, proposal, ProposalStatus.SCHEDULED, reason, effective)
        audit.record(session, actor, "proposal.approve", case=case, proposal=proposal, reason=reason, detail={
            "trigger": spec.trigger, "state": case.status, "data": proposal.payload, "scheduled": True,
            "takes_effect_on": effective.isoformat(), "proposed_by": proposal.proposer_name,
            "proposal_reason": proposal.reason})
        return case
    _claim(session, user, proposal, ProposalStatus.APPROVED, reason)
    fire_transition(session, actor, user, case, spec, proposal.payload, "proposal.approve", proposal=proposal,
          reason=reason, extra={"proposed_by": proposal.proposer_name,
                                "proposal_reason": proposal.reason})
    return case


def _take_decision_number(session: Session, proposal: Proposal, decision_number: str | None) -> None:
    number = (decision_number or "").strip()
    if not number:
        raise DomainError(_("Đề xuất này do hệ thống lập, chưa có số quyết định: hãy ghi số quyết định khi "
                            "phê duyệt."), "decision_number")
    if len(number) > 60:
        raise DomainError(_("Số quyết định dài quá 60 ký tự."), "decision_number")
    # Into the proposal's data, so a decision scheduled for its month fires with it too.
    proposal.payload = proposal.payload | {"decision_number": number}
    session.flush()


def propose_as_system(session: Session, actor: Actor, case: Case, trigger: str, payload: dict, reason: str,
                      raised_by: str) -> Proposal:
    """A proposal the system raises (the payment watcher: three unpaid months), for a supervisor to
    decide: the same checks as an officer's proposal, with no proposing user — `raised_by` names
    the job, nobody may withdraw it, and any supervisor of the commune may decide it.

    :raise DomainError: not allowed from the case's state, a proposal is open, or the data fails.
    """
    spec = _spec(trigger)
    _ensure_allowed(case, spec)
    return _propose(session, actor, None, case, spec, payload, reason, raised_by)


def reject(session: Session, actor: Actor, user: User, proposal: Proposal, reason: str) -> None:
    """Reject a pending proposal with a reason; the case stays as it is.

    :raise NotPermitted: not a supervisor, or the proposer themselves.
    :raise DomainError: already decided, or no reason given.
    """
    _check_decider(user, proposal)
    if not (reason or "").strip():
        raise DomainError(_("Cần ghi lý do từ chối."), "reason")
    _claim(session, user, proposal, ProposalStatus.REJECTED, reason)
    audit.record(session, actor, "proposal.reject", case_id=proposal.case_id, proposal=proposal,
                 reason=reason, detail={"trigger": proposal.trigger, "proposed_by": proposal.proposer_name})


def withdraw(session: Session, actor: Actor, user: User, proposal: Proposal) -> None:
    """The proposer takes back a proposal still waiting for a decision; the case stays as it is,
    and a new proposal may then be made on it.

    :raise NotPermitted: not the proposer.
    :raise DomainError: already decided or withdrawn (also when a decision won the race).
    """
    if proposal.proposed_by_id != user.id or not user.is_active:
        raise NotPermitted(_("Chỉ người lập đề xuất mới được rút đề xuất."))
    if proposal.status is not ProposalStatus.PENDING:
        raise DomainError(_("Đề xuất này đã được xử lý nên không thể rút."))
    # The same guarded UPDATE as a decision: a withdrawal racing an approval, one of them wins.
    _claim(session, user, proposal, ProposalStatus.WITHDRAWN, None)
    audit.record(session, actor, "proposal.withdraw", case_id=proposal.case_id, proposal=proposal,
                 detail={"trigger": proposal.trigger, "proposed_by": user.username})


def _spec(trigger: str) -> TransitionSpec:
    try:
        return TRANSITIONS[trigger]
    except KeyError:
        raise DomainError(_("Không có thao tác «%(trigger)s».", trigger=trigger)) from None


def _check_role(user: User, spec: TransitionSpec) -> None:
    if user.role not in spec.roles:
        raise NotPermitted(_("Vai trò %(role)s không được thực hiện «%(action)s».", role=user.role.label,
                             action=spec.label))


def _ensure_allowed(case: Case, spec: TransitionSpec) -> None:
    if case.status not in spec.sources:
        raise DomainError(_("Không thể «%(action)s» khi hồ sơ đang ở trạng thái «%(state)s».",
                            action=spec.label, state=STATES[case.status].label))


def _propose(session: Session, actor: Actor, user: User | None, case: Case, spec: TransitionSpec,
             payload: dict, reason: str | None, raised_by: str | None = None) -> Proposal:
    open_one = pending_proposal(session, case.id)
    if open_one is not None:
        raise DomainError(str(SCHEDULED_EXISTS if open_one.status is ProposalStatus.SCHEDULED else PENDING_EXISTS))
    # Check the data now, on a copy of nothing: run the effect and undo it, so a proposal that
    # could never be approved is refused while the officer still has the form in front of them.
    _dry_run(session, user, case, spec, payload)
    proposal = Proposal(
        case_id=case.id, commune_id=case.commune_id, trigger=spec.trigger, payload=payload,
        reason=reason, case_version=case.version, status=ProposalStatus.PENDING,
        proposed_by_id=user.id if user is not None else None, raised_by=raised_by, proposed_at=utcnow(),
    )
    session.add(proposal)
    with unique_or(str(PENDING_EXISTS)):
        session.flush()
    audit.record(session, actor, "proposal.create", case=case, proposal=proposal, reason=reason,
                 detail={"trigger": spec.trigger, "state": case.status, "data": payload})
    return proposal


def _dry_run(session: Session, user: User | None, case: Case, spec: TransitionSpec, payload: dict) -> None:
    before = snapshot(case)
    try:
        with session.no_autoflush:
            effects.apply(session, case, spec.trigger, payload, user)
    finally:
        for key, value in before.items():
            if getattr(case, key) != value and key != "status":
                setattr(case, key, value)


def fire_transition(session: Session, actor: Actor, user: User | None, case: Case, spec: TransitionSpec,
                    payload: dict, action: str = "case.transition", *, proposal: Proposal | None = None,
                    reason: str | None = None, extra: dict | None = None) -> None:
    """Apply the form's data, move the case and write the audit record. Checks no permission:
    callers (a user's action, an approval, later a provider's return file) have done that.

    :raise DomainError: the move is not allowed from the case's state, the data fails, or a
        transition that needs no approval would replace a protected value (`workflow.four_eyes`).
    """
    before, from_state = snapshot(case), case.status
    notes = move(session, user, case, spec, payload)
    changes = diff(before, snapshot(case))
    changes.pop("status", None)
    if not spec.needs_approval:
        _refuse_unapproved_replacement(spec, from_state, changes)
    # Without autoflush: reading `user.id` of a user expired by an earlier commit reloads it, and an
    # autoflush then would write the half-moved case once more (a second version number).
    with session.no_autoflush:
        touch(case, user)
    with unique_or(DUPLICATE_ID, "national_id"):
        write_case(session, case)
    audit.record(session, actor, action, case=case, proposal=proposal, reason=reason, detail={
        "trigger": spec.trigger, "from": from_state, "to": case.status, "data": payload,
        "changes": changes, **notes, **(extra or {}),
    })


def move(session: Session, user: User | None, case, spec: TransitionSpec, payload: dict) -> dict:
    """Fire `spec` on `case` (a Case, or any object with its attributes: cases.bulk_transitions)
    through the engine, the effect recording the form's data; what the effect asks the audit
    record to say (an ID-number correction).

    :raise DomainError: the move is not allowed from the case's state, or the data fails.
    """
    notes: dict = {}
    from_state = case.status
    try:
        # No autoflush while the effect runs: a query it makes (the ID-number check) would flush the
        # half-applied case, hitting the unique index before the check can refuse in Vietnamese,
        # and would spend a second version number on one transition.
        with session.no_autoflush:
            engine.fire(case, spec.trigger,
                        apply=lambda c: notes.update(effects.apply(session, c, spec.trigger, payload, user)))
    except engine.TransitionNotAllowed:
        raise DomainError(not_allowed(spec, from_state)) from None
    return notes


def not_allowed(spec: TransitionSpec, state) -> str:
    return _("Không thể «%(action)s» từ trạng thái «%(state)s».", action=spec.label, state=STATES[state].label)


def _refuse_unapproved_replacement(spec: TransitionSpec, state, changes: dict) -> None:
    """A transition without approval records money and identity data the first time only."""
    replaced = four_eyes.replaced_without_approval(state, changes)
    if replaced:
        raise DomainError(_(
            "«%(action)s» không được thay %(fields)s đã ghi trong hồ sơ. Thay đổi tài khoản cần lãnh đạo khác "
            "phê duyệt: hãy dùng «%(change)s».", action=spec.label, fields=four_eyes.labels(replaced),
            change=TRANSITIONS["change_account"].label), replaced[0])


def _check_decider(user: User, proposal: Proposal) -> None:
    if may_decide(user, proposal):
        return
    if user.role is not Role.SUPERVISOR:
        raise NotPermitted(_("Chỉ lãnh đạo phê duyệt mới được duyệt hoặc từ chối đề xuất."))
    if proposal.proposed_by_id == user.id:
        raise NotPermitted(_("Không được tự phê duyệt hoặc từ chối đề xuất do chính mình lập."))
    if proposal.status is not ProposalStatus.PENDING:
        raise DomainError(_("Đề xuất này đã được xử lý."))


# Built once, and run on the connection: the ORM's bulk-update path cost ten times the UPDATE.
_PROPOSALS = Proposal.__table__
_CLAIM = (update(_PROPOSALS)
          .where(_PROPOSALS.c.id == bindparam("proposal_id"), _PROPOSALS.c.status == ProposalStatus.PENDING)
          .values(status=bindparam("decision"), decided_by_id=bindparam("decider_id"),
                  decided_at=bindparam("decided_on"), decision_reason=bindparam("reason_given"),
                  takes_effect_on=bindparam("effective_on")))


def _claim(session: Session, user: User, proposal: Proposal, status: ProposalStatus, reason: str | None,
           takes_effect_on: date | None = None) -> None:
    """Decide the proposal if it is still pending. Concurrent deciders queue on the row; one wins."""
    claimed = session.connection().execute(_CLAIM, {
        "proposal_id": proposal.id, "decision": status, "decider_id": user.id, "decided_on": utcnow(),
        "reason_given": reason, "effective_on": takes_effect_on}).rowcount
    if claimed != 1:
        raise DomainError(_("Đề xuất này vừa được người khác xử lý."))
    session.expire(proposal, ["status", "decided_by_id", "decided_at", "decision_reason", "takes_effect_on"])
