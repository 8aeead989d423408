"""The diagram is drawn from the table: every move of the table, and nothing else, is an arrow."""
from workflow.diagram import mermaid
from workflow.engine import MACHINE
from workflow.states import CaseState
from workflow.table import TRANSITIONS


def test_every_machine_move_is_drawn_once():
    arrows = {line.strip() for line in mermaid().splitlines() if "-->" in line and "[*]" not in line}
    value = {s.name: s.value for s in CaseState}
    moves = {f"{value[t.source]} --> {value[t.dest or t.source]} : {trigger}{' (phê duyệt)' if TRANSITIONS[trigger].needs_approval else ''}"
             for trigger, event in MACHINE.events.items()
             for transitions in event.transitions.values() for t in transitions}
    assert arrows == moves
    assert len(arrows) == 37   # 30, and issue 14: change_account from 2 states, amend_protected_fields from 5
