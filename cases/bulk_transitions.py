"""One transition fired on many cases at once, set-based, with the one-case path's rules.

`cases.actions.fire_transition` loads an ORM case, fires, writes and audits it: 2-3 ms a case,
too slow for the police's answer on ten thousand people. Here the cases are read in one SELECT
per thousand ids, each is moved in memory by the same engine and effects as there (a light row
object stands for the case: the shared machine takes any object with a `status`), refused where
that path would raise, and all are written by a bulk UPDATE (one per set of columns changed:
`cases.bulk_write.BulkSink.update`) guarded by the version each was read at, then audited one
record per case with the same detail.

It checks no permission and no scope (as `fire_transition`): callers have done that. A trigger
that needs approval is refused as a whole: this path never bypasses four eyes.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from cases import audit
from cases.actions import _refuse_unapproved_replacement, move, not_allowed
from cases.audit import Actor
from cases.bulk_read import key_batches
from cases.bulk_write import BulkSink, Converted, converted
from cases.changes import snapshot, utcnow
from cases.entry import DUPLICATE_ID
from cases.errors import DomainError
from cases.models import Case, User
from cases.search import fold_name, given_name_first
from workflow.states import CaseState
from workflow.table import TRANSITIONS, TransitionSpec

_CASES = Case.__table__
_COLUMNS = tuple(_CASES.c)


@dataclass(frozen=True)
class Outcome:
    done: bool
    message: str                                 # in Vietnamese: what was done, or why not
    changes: dict = field(default_factory=dict)  # {field: [before, after]}, as the audit record has them


class _CaseRow:
    """A case as read for a bulk transition: its columns as attributes, nothing else."""

    def __init__(self, values: dict):
        self.__dict__ = values


@dataclass
class _Moved:
    row: _CaseRow
    read_version: int
    from_state: CaseState
    changes: dict
    notes: dict


def fire_many(session: Session, actor: Actor, user: User | None, trigger: str, payloads: dict[int, dict], *,
              expected_state: CaseState | None = None, action: str = "case.transition") -> dict[int, Outcome]:
    """Fire `trigger` on each case of `payloads` ({case id: the form's data}) as
    `fire_transition` would, one audit record per case moved; returns {case id: Outcome}.

    A case that fails (not found, not in `expected_state` or a source of the trigger, data
    refused by the effect, a protected value replaced, an ID number taken) is left untouched
    with the reason; the others move.
    :raise DomainError: the trigger needs a supervisor's approval, or does not exist.
    :raise StaleDataError: a case changed after it was read; nothing of the batch should stand
        (the caller rolls back and retries).
    """
    return write_moves(session, actor, move_in_memory(session, user, trigger, payloads,
                                                      expected_state=expected_state), action)


@dataclass
class Moves:
    """A batch fired in memory (`move_in_memory`), to be written by `write_moves`: what is left to
    do then is the database's, and the audit records' chaining. The UPDATEs' rows and the
    records' details are made here, so that in a read-ahead worker they are made while the
    database writes the batch before. Plain values only: it crosses from that worker as a pickle."""
    trigger: str
    payloads: dict[int, dict]
    outcomes: dict[int, Outcome]
    case_ids: list[int]                                   # the cases moved
    updates: list[tuple[tuple[str, ...], Converted]]     # per set of columns written: its rows (`_updates`)
    details: list[audit.EncodedDetail]                    # each moved case's audit detail, in `case_ids`' order


def move_in_memory(session: Session, user: User | None, trigger: str, payloads: dict[int, dict], *,
                   expected_state: CaseState | None = None, rows: dict[int, object] | None = None) -> Moves:
    """`fire_many`'s first half: the cases read and moved in memory, nothing written. It may run on
    another session than `write_moves` (a read ahead): the write is guarded by the versions read.
    `rows`: the cases as `read_cases` read them, when the caller has read them already (a case not
    among them is not found); they are moved in place.
    :raise DomainError: as `fire_many`."""
    outcomes, moved = _fire_in_memory(session, user, _spec(trigger), payloads, expected_state, rows)
    details = [audit.EncodedDetail(audit.canonical_json({
        "trigger": trigger, "from": m.from_state, "to": m.row.status, "data": payloads[m.row.id],
        "changes": m.changes, **m.notes})) for m in moved]
    return Moves(trigger, payloads, outcomes, [m.row.id for m in moved], _updates(session.get_bind().dialect, moved),
                 details)


def write_moves(session: Session, actor: Actor, moves: Moves, action: str = "case.transition") -> dict[int, Outcome]:
    """`fire_many`'s second half: the moved cases written, one audit record each; their outcomes.
    :raise StaleDataError: as `fire_many`."""
    if moves.case_ids:
        _write(session, moves.updates, moves.case_ids)
        audit.record_many(session, actor, action, zip(moves.case_ids, moves.details))
    return moves.outcomes


def check_many(session: Session, user: User | None, trigger: str, payloads: dict[int, dict], *,
               expected_state: CaseState | None = None) -> dict[int, Outcome]:
    """What `fire_many` would do now, found in memory: nothing is written or audited (a preview).
    :raise DomainError: as `fire_many`."""
    return _fire_in_memory(session, user, _spec(trigger), payloads, expected_state)[0]


def _spec(trigger: str) -> TransitionSpec:
    spec = TRANSITIONS.get(trigger)
    if spec is None:
        raise DomainError(_("Không có thao tác «%(trigger)s».", trigger=trigger))
    if spec.needs_approval:
        raise DomainError(_("«%(action)s» cần lãnh đạo phê duyệt từng hồ sơ; không thực hiện hàng loạt được.",
                            action=spec.label))
    return spec


def _fire_in_memory(session: Session, user: User | None, spec: TransitionSpec, payloads: dict[int, dict],
                    expected_state: CaseState | None, rows: dict[int, object] | None = None,
                    ) -> tuple[dict[int, Outcome], list[_Moved]]:
    outcomes: dict[int, Outcome] = {}
    moved: list[_Moved] = []
    taken: dict[str, int] = {}      # ID numbers this batch records: the unique index sees them only at the write
    done = _("Đã thực hiện «%(action)s».", action=spec.label)
    if rows is None:
        read = _read(session, list(payloads))
    else:
        read = (rows[case_id] for case_id in payloads if case_id in rows)
    for row in read:
        refusal = _refusal(row, spec, expected_state)
        if refusal is None:
            try:
                m = _move(session, user, row, spec, payloads[row.id], taken)
            except DomainError as error:
                refusal = error.message
            else:
                moved.append(m)
                outcomes[row.id] = Outcome(True, done, m.changes)
                continue
        outcomes[row.id] = Outcome(False, str(refusal))
    missing = Outcome(False, _("Không tìm thấy hồ sơ."))
    return {case_id: outcomes.get(case_id, missing) for case_id in payloads}, moved


_KEYS = tuple(column.key for column in _COLUMNS)


def read_cases(session: Session, case_ids: list[int]) -> dict[int, object]:
    """The cases as a bulk transition reads them ({id: the row, its columns as attributes}), in the
    order of `case_ids`; for a caller that looks at them before `move_in_memory` moves them."""
    return {row.id: row for row in _read(session, case_ids)}


def _read(session: Session, case_ids: list[int]):
    """The cases, in the order of `case_ids` (the database returns an IN list in any order, and
    which of two rows claiming one ID number goes first must not depend on it)."""
    connection = session.connection()     # Core, not the ORM's execution: a third less for 100,000 rows
    for chunk, among in key_batches(session, _CASES.c.id, case_ids):
        found = {values[0]: values for values in connection.execute(select(*_COLUMNS).where(among)).tuples()}
        for case_id in chunk:
            if case_id in found:
                yield _CaseRow(dict(zip(_KEYS, found[case_id])))


def _refusal(row: _CaseRow, spec, expected_state: CaseState | None) -> str | None:
    if (expected_state is not None and row.status is not expected_state) or row.status not in spec.sources:
        return not_allowed(spec, row.status)
    return None


def _move(session: Session, user: User | None, row: _CaseRow, spec, payload: dict, taken: dict[str, int]) -> _Moved:
    """Fire on the row in memory as `fire_transition` fires on a case.
    :raise DomainError: as there; the row is then dropped, half-changed, and never written."""
    before, from_state, version = dict(row.__dict__), row.status, row.version
    notes = move(session, user, row, spec, payload)
    changes = _changes(before, row)
    _refuse_unapproved_replacement(spec, from_state, changes)
    if "national_id" in changes:
        number = row.national_id
        if number is not None and taken.setdefault(number, row.id) != row.id:
            raise DomainError(str(DUPLICATE_ID), "national_id")
    if "full_name" in changes:   # the model's validator keeps these; a Core UPDATE must too
        row.name_folded = fold_name(row.full_name)
        row.name_given_first = given_name_first(row.name_folded)
    row.updated_at, row.updated_by_id = utcnow(), (user.id if user is not None else None)
    return _Moved(row, version, from_state, changes, notes)


_DIFFED: tuple[str, ...] | None = None   # the fields `cases.changes.snapshot` takes, less the status


def _changes(before: dict, row: _CaseRow) -> dict:
    """{field: [before, after]} as `fire_transition` computes it (`diff` of two `snapshot`s,
    less the status), in one pass over the row."""
    global _DIFFED
    if _DIFFED is None:
        _DIFFED = tuple(key for key in snapshot(row) if key != "status")
    now = row.__dict__
    return {key: [before[key], now[key]] for key in _DIFFED if before[key] != now[key]}


_ALWAYS = ("status", "updated_at", "updated_by_id")
_NAMES = ("name_folded", "name_given_first")
_GUARD = ("id", "version")


def _updates(dialect: Dialect, moved: list[_Moved]) -> list[tuple[tuple[str, ...], Converted]]:
    """The moved cases as UPDATEs: one per set of changed columns (a batch has one or a few: the
    plain moves, and those with a correction), each row its id and read version, then the
    columns' values, converted for the database. Columns a row did not change stay out of its
    statement: every index on a column written is rewritten, changed or not."""
    groups: dict[tuple[str, ...], list[_Moved]] = defaultdict(list)
    for m in moved:
        keys = set(_ALWAYS).union(m.changes)
        if m.row.status is not m.from_state:
            keys.add("state_entered_at")
        if "full_name" in keys:
            keys.update(_NAMES)
        groups[tuple(sorted(keys))].append(m)
    return [(columns, converted(dialect, _CASES, (*_GUARD, *columns),
                                [(m.row.id, m.read_version, *(getattr(m.row, key) for key in columns)) for m in group]))
            for columns, group in groups.items()]


def _write(session: Session, updates: list[tuple[tuple[str, ...], Converted]], case_ids: list[int]) -> None:
    """Write the moved cases (`_updates`), each row guarded by its read version.
    :raise StaleDataError: some case's version moved on since it was read."""
    sink = BulkSink(session)
    for columns, rows in updates:
        written = sink.update(_CASES, _GUARD, columns, rows, bump=("version",))
        if written != rows.count:
            raise StaleDataError(f"bulk transition: {rows.count} cases read, {written} still at their version")
    _forget_loaded(session, case_ids)


def _forget_loaded(session: Session, case_ids: list[int]) -> None:
    """Cases of the batch the session already holds as objects are now out of date: expire them,
    so the next read of one loads what was written (and its version). The session holds a few
    objects and the batch thousands of ids: the session's are looked up in the batch."""
    held = [key for key in session.identity_map.keys() if key[0] is Case]
    if not held:
        return
    ids = set(case_ids)
    for key in held:
        if key[1][0] in ids:
            case = session.identity_map.get(key)
            if case is not None:
                session.expire(case)
