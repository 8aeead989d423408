"""The lifecycle drawn from the table, as a Mermaid state diagram (`flask workflow diagram`)."""
from __future__ import annotations

from workflow.table import INITIAL_STATE, RECEIVING, RETURN, STATES, TRANSITIONS


def mermaid() -> str:
    lines = ["stateDiagram-v2", f"    [*] --> {INITIAL_STATE.value}"]
    for state, spec in STATES.items():
        sla = f" · SLA {spec.sla.label}" if spec.sla else ""
        lines.append(f"    {state.value} : {spec.label}{sla}")
    for spec in TRANSITIONS.values():
        mark = " (phê duyệt)" if spec.needs_approval else ""
        for source in spec.sources:
            if spec.dest == RETURN:
                targets = RECEIVING
            else:
                targets = (spec.dest or source,)
            for target in targets:
                lines.append(f"    {source.value} --> {target.value} : {spec.trigger}{mark}")
    return "\n".join(lines)
