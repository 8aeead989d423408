"""The one engine that changes a case's state.

One `transitions.Machine` is built from the table at import and shared by every case
(`model=None`; a case is passed to the event, never added to the machine), so firing a
transition costs a dictionary lookup and a few callbacks, whatever the number of cases.
"""
from __future__ import annotations

import contextvars
from collections.abc import Callable
from datetime import datetime, timezone

from transitions import Machine, MachineError

from workflow.states import CaseState
from workflow.table import INITIAL_STATE, RECEIVING, RETURN, TRANSITIONS, TransitionSpec

_firing: contextvars.ContextVar[bool] = contextvars.ContextVar("workflow_firing", default=False)


class TransitionNotAllowed(Exception):
    """The workflow table has no such move from the case's current state."""

    def __init__(self, trigger: str, state: CaseState | None):
        self.trigger, self.state = trigger, state
        super().__init__(f"transition {trigger!r} is not allowed from state {state and state.value!r}")


def engine_is_firing() -> bool:
    """True while the engine is setting a status; the model refuses status writes otherwise."""
    return _firing.get()


def _remember_suspended_from(event) -> None:
    event.model.suspended_from = event.model.status


def _forget_suspended_from(event) -> None:
    event.model.suspended_from = None


def _returns_to(state: CaseState) -> Callable:
    def condition(event) -> bool:
        return event.model.suspended_from == state
    return condition


def _apply_form(event) -> None:
    apply = event.kwargs.get("apply")
    if apply is not None:
        apply(event.model)


def _machine_transitions(spec: TransitionSpec) -> list[dict]:
    moves = []
    for source in spec.sources:
        if spec.dest == RETURN:
            moves += [
                {"trigger": spec.trigger, "source": source, "dest": state,
                 "conditions": [_returns_to(state)], "after": [_forget_suspended_from]}
                for state in RECEIVING
            ]
        else:
            move = {"trigger": spec.trigger, "source": source, "dest": spec.dest}
            if spec.dest is CaseState.SUSPENDED:
                move["before"] = [_remember_suspended_from]
            moves.append(move)
    return moves


def _build_machine() -> Machine:
    machine = Machine(
        model=None,
        states=list(CaseState),
        initial=None,
        auto_transitions=False,
        model_attribute="status",
        send_event=True,
        before_state_change=[_apply_form],
    )
    for spec in TRANSITIONS.values():
        for move in _machine_transitions(spec):
            machine.add_transition(**move)
    return machine


MACHINE = _build_machine()


def allowed_triggers(state: CaseState) -> list[str]:
    """The triggers the table allows from `state`, in table order."""
    return [t.trigger for t in TRANSITIONS.values() if state in t.sources]


def start(case) -> None:
    """Put a newly registered case in the initial state."""
    token = _firing.set(True)
    try:
        case.status = INITIAL_STATE
        case.state_entered_at = _now()
    finally:
        _firing.reset(token)


def fire(case, trigger: str, apply: Callable | None = None) -> CaseState:
    """Move `case` along `trigger`; `apply(case)` records the form's data just before the move.

    Returns the new state.
    :raise TransitionNotAllowed: the table has no such move from the case's state, or its
        condition fails (resume with no state to return to). Nothing is changed then.
    """
    event = MACHINE.events.get(trigger)
    if event is None or case.status not in TRANSITIONS[trigger].sources:
        raise TransitionNotAllowed(trigger, case.status)
    before = case.status
    token = _firing.set(True)
    try:
        moved = event.trigger(case, apply=apply)
    except MachineError as error:
        raise TransitionNotAllowed(trigger, before) from error
    finally:
        _firing.reset(token)
    if not moved:
        raise TransitionNotAllowed(trigger, before)
    if TRANSITIONS[trigger].dest is not None:
        case.state_entered_at = _now()
    return case.status


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)
