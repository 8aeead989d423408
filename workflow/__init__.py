"""The case lifecycle: one table (`workflow.table`) and the one engine that applies it."""
from workflow.states import CaseState
from workflow.table import STATES, TRANSITIONS, TransitionSpec, StateSpec

__all__ = ["CaseState", "STATES", "TRANSITIONS", "TransitionSpec", "StateSpec"]
