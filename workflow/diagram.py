"""The lifecycle drawn from the table: as a Mermaid state diagram (`flask workflow diagram`) and
as SVG for the workflow page (`svg`)."""
from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from markupsafe import Markup, escape

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


# --- the same lifecycle drawn as SVG by the app (the workflow page) -------------------------------
#
# Three columns: the state a case is in (left), the transition (middle: its label, who may fire it,
# whether a supervisor must approve), the state it goes to (right). Every move of the table is a
# line from its source on the left through its transition to its target on the right, so the
# picture stays legible whatever the table holds: boxes never overlap and labels sit in boxes,
# not on crossing lines. A transition that keeps the case where it is points back to its source.

_STATE_W, _TRANSITION_W, _GAP = 230, 270, 130
_LINE, _PAD, _ROW_GAP = 16, 8, 14
_TOP = 34                       # room for the column headings
_STATE_CHARS, _TRANSITION_CHARS = 24, 33
# Colours as SVG attributes, not CSS: the picture is an image of its own (the page shows it with
# <img>, and the Content-Security-Policy refuses a <style> in it). Text is 4.5:1 or more on its fill.
_INK, _MUTED, _LINE_INK, _BRAND, _AMBER = "#1d2733", "#5b6b7c", "#44556a", "#0b5cab", "#8a4b00"
_FILLS = {"state": ("#e6edf5", _BRAND), "state final": ("#eef0f2", _MUTED)}
_TEXT_INK = {"label": _INK, "sla": _MUTED, "roles": _MUTED, "rule": _MUTED}
_FONT = 'font-family="system-ui, Segoe UI, Roboto, Arial, sans-serif"'


@dataclass(frozen=True)
class DiagramText:
    """Everything the picture says in words, given by the caller (the page passes its translated
    presentation layer; this module knows no language)."""
    state: Callable[[object], str]
    trigger: Callable[[str], str]
    role: Callable[[object], str]
    sla: Callable[[object], str]            # an Sla → "SLA 10 ngày làm việc"
    approval: str                            # "Cần lãnh đạo phê duyệt"
    no_approval: str
    stays: str                               # a transition that keeps the case in its state
    returns: str                             # resume: back to the state it was suspended from
    headings: tuple[str, str, str]           # the three columns
    title: str


@dataclass
class _Box:
    x: int
    y: int
    w: int
    lines: list[tuple[str, str]] = field(default_factory=list)   # (css class, text)

    @property
    def h(self) -> int:
        return len(self.lines) * _LINE + 2 * _PAD

    @property
    def mid(self) -> int:
        return self.y + self.h // 2


def moves(transitions: Iterable | None = None, states: Mapping | None = None) -> list[tuple[str, object, object]]:
    """(trigger, source, target) for every move of the table: a transition without a destination
    stays where it is, `resume` goes back to each receiving state."""
    transitions = TRANSITIONS.values() if transitions is None else transitions
    receiving = RECEIVING if states is None else tuple(s for s, spec in states.items() if spec.receiving)
    found = []
    for spec in transitions:
        for source in spec.sources:
            targets = receiving if spec.dest == RETURN else (spec.dest or source,)
            found.extend((spec.trigger, source, target) for target in targets)
    return found


def svg(text: DiagramText, states: Mapping | None = None, transitions: Mapping | None = None) -> Markup:
    """The lifecycle as an inline <svg>, from `states` and `transitions` (the workflow table
    unless given). Each line is a `<path>` with `data-trigger`, `data-from` / `data-to`."""
    states = STATES if states is None else states
    transitions = TRANSITIONS if transitions is None else transitions
    left, middle, right = _columns(text, states, transitions)
    height = max(_bottom(left), _bottom(middle)) + _PAD
    width = 2 * _STATE_W + _TRANSITION_W + 2 * _GAP + 2 * _PAD
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
           f'height="{height}" role="img" aria-labelledby="workflow-diagram-title" {_FONT}>',
           f'<title id="workflow-diagram-title">{escape(text.title)}</title>', _MARKERS,
           f'<rect width="{width}" height="{height}" fill="#fff"/>']
    for x, heading in zip((_PAD, _PAD + _STATE_W + _GAP, _PAD + _STATE_W + _TRANSITION_W + 2 * _GAP),
                          text.headings):
        out.append(f'<text class="heading" x="{x}" y="20" font-size="15" font-weight="700" fill="{_INK}">{escape(heading)}</text>')
    lines = _lines_of(transitions, states, left, middle, right)
    for trigger, spec in transitions.items():
        out.append(_transition(text, spec, left, middle[trigger], right, lines))
    for column, side in ((left, "from"), (right, "to")):
        out.extend(_state_box(state, box, side, states) for state, box in column.items())
    out.append("</svg>")
    return Markup("\n".join(out))


_MARKERS = ('<defs>'
            '<marker id="wf-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" markerHeight="8" '
            'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="' + _LINE_INK + '"/></marker>'
            '<marker id="wf-arrow-approval" class="approval" viewBox="0 0 10 10" refX="9" refY="5" '
            'markerWidth="8" markerHeight="8" orient="auto-start-reverse">'
            '<path d="M0,0 L10,5 L0,10 z" fill="' + _AMBER + '"/></marker>'
            '</defs>')


def _wrap(value: str, width: int, css: str) -> list[tuple[str, str]]:
    return [(css, line) for line in textwrap.wrap(str(value), width) or [""]]


def _columns(text: DiagramText, states: Mapping, transitions: Mapping):
    middle_x = _PAD + _STATE_W + _GAP
    right_x = middle_x + _TRANSITION_W + _GAP
    middle, y = {}, _TOP
    for trigger, spec in transitions.items():
        roles = ", ".join(str(text.role(r)) for r in sorted(spec.roles, key=lambda r: r.value))
        lines = (_wrap(text.trigger(trigger), _TRANSITION_CHARS, "label") + _wrap(roles, _TRANSITION_CHARS, "roles")
                 + _wrap(text.approval if spec.needs_approval else text.no_approval, _TRANSITION_CHARS, "rule"))
        if spec.dest is None:
            lines += _wrap(text.stays, _TRANSITION_CHARS, "rule")
        elif spec.dest == RETURN:
            lines += _wrap(text.returns, _TRANSITION_CHARS, "rule")
        middle[trigger] = _Box(middle_x, y, _TRANSITION_W, lines)
        y += middle[trigger].h + _ROW_GAP
    left, right = _state_column(text, states, _PAD), _state_column(text, states, right_x)
    # Spread the states over the height of the transitions, so the lines slope gently.
    spare = _bottom(middle) - _bottom(left)
    if spare > 0 and len(states) > 1:
        step = spare // (len(states) - 1)
        for column in (left, right):
            for i, box in enumerate(column.values()):
                box.y += i * step
    return left, middle, right


def _state_column(text: DiagramText, states: Mapping, x: int) -> dict:
    column, y = {}, _TOP
    for state, spec in states.items():
        lines = _wrap(text.state(state), _STATE_CHARS, "label")
        if spec.sla:
            lines += _wrap(text.sla(spec.sla), _STATE_CHARS, "sla")
        column[state] = _Box(x, y, _STATE_W, lines)
        y += column[state].h + _ROW_GAP
    return column


def _bottom(column: dict) -> int:
    return max((box.y + box.h for box in column.values()), default=_TOP)


def _state_box(state, box: _Box, side: str, states: Mapping) -> str:
    value = getattr(state, "value", state)
    css = "state final" if states[state].sla is None and not states[state].receiving else "state"
    return (f'<g class="{css}" data-state="{escape(value)}" data-side="{side}">'
            f'<rect x="{box.x}" y="{box.y}" width="{box.w}" height="{box.h}" rx="6" fill="{_FILLS[css][0]}" '
            f'stroke="{_FILLS[css][1]}" stroke-width="1.5"/>'
            + _lines(box) + "</g>")


def _lines(box: _Box, approval: bool = False) -> str:
    out = []
    for i, (css, line) in enumerate(box.lines):
        weight = ' font-weight="600"' if css == "label" else ""
        ink = _AMBER if approval and css == "rule" else _TEXT_INK.get(css, _INK)
        out.append(f'<text class="{css}" x="{box.x + _PAD}" y="{box.y + _PAD + (i + 1) * _LINE - 4}" '
                   f'font-size="13" fill="{ink}"{weight}>{escape(line)}</text>')
    return "".join(out)


def _curve(x1: int, y1: int, x2: int, y2: int) -> str:
    bend = (x2 - x1) // 2
    return f"M{x1},{y1} C{x1 + bend},{y1} {x2 - bend},{y2} {x2},{y2}"


def _targets(spec, states: Mapping) -> tuple:
    if spec.dest == RETURN:
        return tuple(s for s, st in states.items() if st.receiving)
    return (spec.dest,) if spec.dest else tuple(spec.sources)


def _ports(boxes: dict, links: list[tuple[object, int, tuple]]) -> dict[tuple, int]:
    """Where each line meets its box: the lines of one box spread down its edge in the order of
    the boxes they lead to, so they neither meet in one point nor cross at the edge."""
    by_box: dict[object, list] = {}
    for key, other_y, link in links:
        by_box.setdefault(key, []).append((other_y, link))
    ports = {}
    for key, ends in by_box.items():
        box = boxes[key]
        for i, (_, link) in enumerate(sorted(ends, key=lambda e: e[0])):
            ports[link] = box.y + round((i + 1) * box.h / (len(ends) + 1))
    return ports


def _lines_of(transitions: Mapping, states: Mapping, left: dict, middle: dict, right: dict):
    """The two halves of every move: state → transition and transition → state, with the y where
    each end meets its box."""
    into = [(t, s) for t, spec in transitions.items() for s in spec.sources if s in left]
    out_of = [(t, s) for t, spec in transitions.items() for s in dict.fromkeys(_targets(spec, states)) if s in right]
    ports = {
        "from": _ports(left, [(s, middle[t].mid, (t, s)) for t, s in into]),
        "into": _ports(middle, [(t, left[s].mid, (t, s)) for t, s in into]),
        "out": _ports(middle, [(t, right[s].mid, (t, s)) for t, s in out_of]),
        "to": _ports(right, [(s, middle[t].mid, (t, s)) for t, s in out_of]),
    }
    return into, out_of, ports


def _transition(text: DiagramText, spec, left: dict, box: _Box, right: dict, lines) -> str:
    into, out_of, ports = lines
    approval = " approval" if spec.needs_approval else ""
    marker = "wf-arrow-approval" if spec.needs_approval else "wf-arrow"
    stroke = (f'fill="none" stroke="{_AMBER}" stroke-width="1.4" stroke-dasharray="6 3"' if spec.needs_approval
              else f'fill="none" stroke="{_LINE_INK}" stroke-width="1.4"')
    label = str(text.trigger(spec.trigger))
    out = [f'<g class="arrow{approval}" data-trigger="{escape(spec.trigger)}">']
    for trigger, source in into:
        if trigger != spec.trigger:
            continue
        start, link = left[source], (trigger, source)
        title = f"{str(text.state(source))} → {label}"
        d = _curve(start.x + start.w, ports["from"][link], box.x, ports["into"][link])
        out.append(f'<path data-from="{escape(source.value)}" d="{d}" {stroke} marker-end="url(#{marker})">'
                   f'<title>{escape(title)}</title></path>')
    for trigger, target in out_of:
        if trigger != spec.trigger:
            continue
        end, link = right[target], (trigger, target)
        title = f"{label} → {str(text.state(target))}"
        d = _curve(box.x + box.w, ports["out"][link], end.x, ports["to"][link])
        out.append(f'<path data-to="{escape(target.value)}" d="{d}" {stroke} marker-end="url(#{marker})">'
                   f'<title>{escape(title)}</title></path>')
    fill = (f'fill="#fff4e0" stroke="{_AMBER}" stroke-dasharray="6 3"' if spec.needs_approval
            else f'fill="#fff" stroke="{_LINE_INK}"')
    out.append(f'<rect x="{box.x}" y="{box.y}" width="{box.w}" height="{box.h}" rx="4" class="transition-box" '
               f'{fill} stroke-width="1.2"/>')
    out.append(_lines(box, spec.needs_approval))
    out.append("</g>")
    return "".join(out)
