"""The identity round trip with the police (issue 16, BRIEF section 5): the list of cases awaiting
verification goes out (cases.lists.police_export); the police's answer comes back, person by
person, and is imported here.

In: `POLICE_RESULTS`, a list kind
(cases.lists.kinds). Each answer row is matched back by ID number among the cases in scope: a
match fires `verify_identity` (source `police_list`, with the corrected name, birth date or sex
when the police give one that differs), a no-match fires `record_identity_problem` with a
follow-up date, both set-based through `cases.bulk_transitions`; a case already verified, or
already holding the same problem, is left alone, so importing the same file again changes
nothing; a number with no case awaiting verification in scope waits to be resolved by hand.
"""
from __future__ import annotations

import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

from flask_babel import gettext as _, lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from cases.access import commune_ids, may_see_commune
from cases.bulk_read import key_batches
from cases.bulk_transitions import check_many, fire_many
from cases.bulk_write import bulk_cache
from cases.calendar import working_calendar
from cases.checks import CheckFailed, check_birth_date, check_national_id
from cases.collector import collector_paused, heap_frozen
from cases.errors import DomainError, NotPermitted
from cases.lists.kinds import Checkpoint, Preview, Progress, Rejected, Scope
from cases.models import Case, Commune
from cases.models.case import IdentitySource
from cases.models.lists import ListKind
from cases.search import case_number, fold_name
from cases.sheets.reader import read_table
from cases.sheets.values import BadValue, as_date, as_national_id, as_sex, as_text
from cases.sheets.writer import rejected_workbook
from workflow.states import CaseState
from workflow.table import TRANSITIONS

VERIFIED, CORRECTED, PROBLEM, ALREADY, UNMATCHED, REJECTED = (
    "verified", "corrected", "problem", "already", "unmatched", "rejected")
REQUIRED = frozenset({"national_id", "result"})
CHUNK = 2_000               # rows per commit of the import
FOLLOW_UP_WORKING_DAYS = 10
AWAITING = CaseState.IDENTITY_VERIFICATION
SOURCE = IdentitySource.POLICE_LIST
NO_MATCH_PROBLEM = _l("Công an trả lời: không khớp với CSDL quốc gia về dân cư")
PROBLEM_MAX = 300           # cases.identity_problem


# --- in: the police's answer ------------------------------------------------------------------

MATCH, NO_MATCH = "match", "no_match"
# Folded words (cases.search.fold_name), read generously: what a police officer writes in the
# result column. A no-match is looked for first: "không khớp" holds "khớp".
_NO_MATCH_WORDS = ("khong", "sai", "chua khop", "no match", "mismatch", "not found", "ko khop", "k khop")
_MATCH_WORDS = ("khop", "dung", "trung", "co trong", "hop le", "match", "ok", "yes")
_TICKS = frozenset({"x", "v", "✓", "✔", "1", "true", "co"})


@dataclass
class _Row:
    """One answer row as read: what it says, and why it cannot be used (file-level reasons)."""
    number: int                          # the spreadsheet's row number
    source: object                       # the SheetRow, for the rejected-rows workbook
    name: str | None
    national_id: str | None = None
    result: str | None = None
    case_number: int | None = None
    corrections: dict = field(default_factory=dict)   # full_name / birth_date / sex, as read
    note: str | None = None
    reasons: list[str] = field(default_factory=list)


@dataclass
class Verdict:
    row: _Row
    outcome: str
    case_id: int | None = None
    payload: dict | None = None
    refusals: list[str] = field(default_factory=list)   # why the case cannot take it (matching, firing)

    @property
    def reasons(self) -> list[str]:
        return self.row.reasons + self.refusals


class PoliceResults:
    kind = ListKind.POLICE_RESULTS
    label = _l("Kết quả xác thực của công an")
    outcomes = {VERIFIED: _l("Khớp"), CORRECTED: _l("Khớp, có đính chính"),
                PROBLEM: _l("Không khớp: vướng mắc ghi nhận"), ALREADY: _l("Đã xác thực trước đó"),
                UNMATCHED: _l("Không tìm thấy hồ sơ chờ xác thực"), REJECTED: _l("Không nhập được")}

    def preview(self, session: Session, scope: Scope, data: bytes, filename: str, progress: Progress) -> Preview:
        table, verdicts = self._plan(session, scope, data, filename, progress)
        _dry_run(session, scope, verdicts)
        return _preview(table, verdicts)

    def apply(self, session: Session, scope: Scope, data: bytes, filename: str, start_row: int,
              checkpoint: Checkpoint, plan: bytes | None = None) -> None:
        """The file read again (this kind's preview makes no plan)."""
        table, verdicts = self._plan(session, scope, data, filename, lambda done, total: None)
        # The plan's objects stay out of the collector's passes; SQLite keeps its indexes' pages
        # from chunk to chunk.
        with heap_frozen(), bulk_cache(session):
            for start in range(start_row, len(verdicts), CHUNK):
                chunk = verdicts[start:start + CHUNK]
                counts = _apply_chunk(session, scope, chunk)
                session.flush()
                checkpoint(start + len(chunk), counts)
        if start_row >= len(verdicts):
            checkpoint(len(verdicts), {})

    def _plan(self, session: Session, scope: Scope, data: bytes, filename: str, progress: Progress):
        _check_scope(session, scope)
        with collector_paused():    # rows and verdicts by the thousand, none of them cyclic
            table = read_table(data, filename, "police_results", REQUIRED)
            return table, plan(session, scope, table, progress)


POLICE_RESULTS = PoliceResults()


def plan(session: Session, scope: Scope, table, progress: Progress = lambda done, total: None) -> list[Verdict]:
    """Each data row's verdict, in the file's order (an import resumes by index)."""
    result_header = _folded(table.header[table.columns["result"]]) if "result" in table.columns else ""
    rows = []
    total = len(table.rows)
    for done, sheet_row in enumerate(table.rows, 1):
        rows.append(_read(sheet_row, result_header, scope.today))
        if done % 5_000 == 0:
            progress(done, total)
    _hold_back_duplicates(rows)
    verdicts = _match(session, scope, rows)
    progress(total, total)
    return verdicts


def _check_scope(session: Session, scope: Scope) -> None:
    if scope.user.role not in TRANSITIONS["verify_identity"].roles or not scope.user.is_active:
        raise NotPermitted(_("Chỉ cán bộ và lãnh đạo được nhập kết quả xác thực của công an."))
    if scope.commune_id is not None:
        commune = session.get(Commune, scope.commune_id)
        if commune is None or commune.province_id != scope.province_id or not may_see_commune(scope.user, commune):
            raise DomainError(_("Xã/phường không thuộc phạm vi bạn quản lý."))
    elif scope.user.province_id != scope.province_id:
        raise DomainError(_("Chỉ người phụ trách cả tỉnh được nhập kết quả của cả tỉnh."))


# -- reading one row

def _read(sheet_row, result_header: str, today: date) -> _Row:
    values = sheet_row.values
    row = _Row(sheet_row.number, sheet_row, _name(values.get("full_name")))
    try:
        row.national_id = as_national_id(values.get("national_id"))
        if row.national_id is None:
            row.reasons.append(_("Thiếu số CCCD."))
        else:
            row.national_id = check_national_id(row.national_id, None, None)
    except (BadValue, CheckFailed) as bad:
        row.reasons.append(str(bad))
    row.result = _result(values.get("result"), values.get("result_no_match"), result_header)
    if row.result is None:
        shown = _shown(values.get("result"))
        row.reasons.append(_("Kết quả «%(value)s» không rõ: hãy ghi «Khớp» hoặc «Không khớp».", value=shown)
                           if shown else _("Thiếu kết quả đối chiếu (Khớp / Không khớp)."))
    number = _text(values.get("case_number"))
    if number:
        row.case_number = case_number(number)
        if row.case_number is None:
            row.reasons.append(_("Mã hồ sơ «%(value)s» không đúng.", value=number[:20]))
    row.note = _note(values.get("police_note"))
    if row.result == MATCH:
        _read_corrections(row, values, today)
    return row


def _read_corrections(row: _Row, values: dict, today: date) -> None:
    try:
        name = as_text(values.get("corrected_full_name"))
        if name and name.strip():
            name = " ".join(unicodedata.normalize("NFC", name).split())
            if len(name) > 120:
                raise BadValue(_("Họ tên đúng dài quá 120 ký tự."))
            row.corrections["full_name"] = name
    except BadValue as bad:
        row.reasons.append(str(bad))
    try:
        found = as_date(values.get("corrected_birth_date"))
        if found is not None:
            day, year_only = found
            if year_only:
                raise BadValue(_("Ngày sinh đúng chỉ có năm: cần ghi đủ ngày, tháng, năm."))
            row.corrections["birth_date"] = check_birth_date(day, today)
    except (BadValue, CheckFailed) as bad:
        row.reasons.append(str(bad))
    try:
        sex = as_sex(values.get("corrected_sex"))
        if sex is not None:
            row.corrections["sex"] = sex
    except BadValue as bad:
        row.reasons.append(str(bad))


def _result(raw, raw_no_match, header: str) -> str | None:
    """MATCH, NO_MATCH or None (unreadable) from the result cell, a tick under a column headed
    "Khớp" / "Không khớp" included."""
    if _ticked(raw_no_match):
        return NO_MATCH
    if raw is True:
        raw = "x"
    return _said(raw if isinstance(raw, str) else _shown(raw), header)


@lru_cache(maxsize=512)
def _said(raw: str, header: str) -> str | None:
    """A list repeats a few words ten thousand times: each is read once."""
    text = _folded(raw)
    if not text:
        return None
    if text in _TICKS:
        if "khong khop" in header or "sai" in header.split() or "khong" in header.split():
            return NO_MATCH
        return MATCH if "khop" in header or "dung" in header.split() else None
    padded = f" {text} "
    if any(f" {words} " in padded for words in _NO_MATCH_WORDS):
        return NO_MATCH
    if any(f" {words} " in padded for words in _MATCH_WORDS):
        return MATCH
    return None


def _ticked(raw) -> bool:
    return raw is True or _folded(raw) in _TICKS


def _folded(raw) -> str:
    if raw is None or raw is False:
        return ""
    text = str(raw).replace("/", " ").replace(",", " ").replace(".", " ").replace(":", " ")
    return fold_name(text)


def _shown(raw) -> str:
    return "" if raw is None else str(raw).strip()[:40]


def _name(raw) -> str | None:
    text = "" if raw is None else str(raw).strip()
    return text[:120] or None


def _text(raw) -> str | None:
    try:
        text = as_text(raw)
    except BadValue:
        text = str(raw)
    return text.strip() or None if text else None


def _note(raw) -> str | None:
    text = _text(raw)
    return " ".join(text.split())[:PROBLEM_MAX] if text else None


def _hold_back_duplicates(rows: list[_Row]) -> None:
    """Rows sharing an ID number are all held back: which answer is right is for a person to say."""
    groups: dict[str, list[_Row]] = defaultdict(list)
    for row in rows:
        if row.national_id and not row.reasons:
            groups[row.national_id].append(row)
    for group in groups.values():
        if len(group) > 1:
            for row in group:
                others = ", ".join(str(o.number) for o in group if o is not row)
                row.reasons.append(_("Số CCCD trùng với dòng %(rows)s trong tệp.", rows=others))


# -- matching the rows back to cases

_CASE_FIELDS = (Case.id, Case.national_id, Case.status, Case.province_id, Case.commune_id, Case.full_name,
                Case.birth_date, Case.sex, Case.identity_verified_on, Case.identity_problem)
# By number alone, the live cases' unique index: with the scope's province or commune in the
# WHERE clause SQLite (which keeps no statistics here) walks the whole province's index instead,
# once per thousand numbers. The scope is applied to the few rows found (`_visible`).
_BY_NUMBER = select(*_CASE_FIELDS).where(Case.status != CaseState.TERMINATED)


def _cases_by_number(session: Session, scope: Scope, numbers: list[str]) -> dict[str, object]:
    """The live cases in the unit and in the user's scope carrying these numbers."""
    visible = _visible(scope)
    found = {}
    for _batch, among in key_batches(session, Case.national_id, numbers):
        for case in session.execute(_BY_NUMBER.where(among)):
            if visible(case):
                found[case.national_id] = case
    return found


def _visible(scope: Scope):
    """Whether a case row is in the import's unit and in its user's scope: the rule of
    `cases.access.case_scope` (a province, or some communes), for rows already read."""
    user = scope.user
    communes = commune_ids(user)
    communes = None if communes is None else frozenset(communes)
    if scope.commune_id is not None:
        return lambda case: case.commune_id == scope.commune_id and (
            case.province_id == user.province_id if communes is None else case.commune_id in communes)
    if communes is None:
        return lambda case: case.province_id == scope.province_id == user.province_id
    return lambda case: case.province_id == scope.province_id and case.commune_id in communes


def _match(session: Session, scope: Scope, rows: list[_Row]) -> list[Verdict]:
    cases = _cases_by_number(session, scope, [r.national_id for r in rows if not r.reasons])
    follow_up = working_calendar(session).add_working_days(scope.today, FOLLOW_UP_WORKING_DAYS)
    return [_verdict(row, cases.get(row.national_id), scope.today, follow_up) for row in rows]


def _verdict(row: _Row, case, today: date, follow_up: date) -> Verdict:
    if row.reasons:
        return Verdict(row, REJECTED)
    if case is None or (case.status is not AWAITING and case.identity_verified_on is None):
        return Verdict(row, UNMATCHED, refusals=[_(
            "Không tìm thấy hồ sơ chờ xác thực mang số CCCD này trong phạm vi của bạn; cần xử lý thủ công.")])
    if row.case_number is not None and row.case_number != case.id:
        return Verdict(row, REJECTED, case.id, refusals=[_(
            "Mã hồ sơ %(given)s không khớp với hồ sơ mang số CCCD này (%(found)s).",
            given=row.case_number, found=case.id)])
    if case.status is not AWAITING:
        return Verdict(row, ALREADY, case.id)
    if row.result == NO_MATCH:
        problem = row.note or str(NO_MATCH_PROBLEM)
        if case.identity_problem == problem:
            return Verdict(row, ALREADY, case.id)
        return Verdict(row, PROBLEM, case.id, {"problem": problem, "follow_up_on": follow_up.isoformat()})
    payload = {"national_id": case.national_id, "source": SOURCE.value, "verified_on": today.isoformat()}
    corrections = _differing(row.corrections, case)
    payload.update(corrections)
    return Verdict(row, CORRECTED if corrections else VERIFIED, case.id, payload)


def _differing(corrections: dict, case) -> dict:
    """The corrections that differ from the case, as a payload writes them (JSON-safe)."""
    found = {}
    if "full_name" in corrections and corrections["full_name"] != case.full_name:
        found["full_name"] = corrections["full_name"]
    if "birth_date" in corrections and corrections["birth_date"] != case.birth_date:
        found["birth_date"] = corrections["birth_date"].isoformat()
    if "sex" in corrections and corrections["sex"] is not case.sex:
        found["sex"] = corrections["sex"].value
    return found


# -- firing

_TRIGGERS = {VERIFIED: "verify_identity", CORRECTED: "verify_identity", PROBLEM: "record_identity_problem"}
_ATTEMPTS = 3


def _dry_run(session: Session, scope: Scope, verdicts: list[Verdict]) -> None:
    """What the import would refuse among the corrections, found now, in memory (nothing written).
    A plain verification records the number the case holds, and a problem free text: the checks
    the effect runs on them passed at registration, and cost as much as the import itself."""
    chosen = [v for v in verdicts if v.outcome == CORRECTED]
    for start in range(0, len(chosen), CHUNK):
        part = chosen[start:start + CHUNK]
        _take(part, check_many(session, scope.user, "verify_identity", {v.case_id: v.payload for v in part},
                               expected_state=AWAITING))


def _apply_chunk(session: Session, scope: Scope, chunk: list[Verdict]) -> dict:
    """Fire the chunk's transitions; a case changed meanwhile by someone else makes the chunk
    start again from what the database holds now (its rows then may be `already`). A chunk is a
    transaction of its own (`apply` commits after each): a failed attempt rolls it back whole, as
    a provider's return does (cases.payments.returns._apply_chunk says why not a savepoint)."""
    for attempt in range(_ATTEMPTS):
        try:
            for trigger in ("verify_identity", "record_identity_problem"):
                chosen = [v for v in chunk if _TRIGGERS.get(v.outcome) == trigger]
                if chosen:
                    _take(chosen, fire_many(session, scope.actor, scope.user, trigger,
                                            {v.case_id: v.payload for v in chosen}, expected_state=AWAITING))
            break
        except StaleDataError:
            if attempt == _ATTEMPTS - 1:
                raise
            session.rollback()      # the attempt's writes, and its audit records staged
            chunk[:] = _rematch(session, scope, chunk)
    counts = dict.fromkeys(POLICE_RESULTS.outcomes, 0)
    for verdict in chunk:
        counts[verdict.outcome] += 1
    return counts


def _take(verdicts: list[Verdict], outcomes: dict) -> None:
    for verdict in verdicts:
        outcome = outcomes[verdict.case_id]
        if not outcome.done:
            verdict.refusals.append(outcome.message)
            verdict.outcome = REJECTED


def _rematch(session: Session, scope: Scope, chunk: list[Verdict]) -> list[Verdict]:
    return _match(session, scope, [v.row for v in chunk])


def _preview(table, verdicts: list[Verdict]) -> Preview:
    counts = dict.fromkeys(POLICE_RESULTS.outcomes, 0)
    for verdict in verdicts:
        counts[verdict.outcome] += 1
    held = [v for v in verdicts if v.outcome in (REJECTED, UNMATCHED)]
    header = dict(enumerate(table.header))
    return Preview(
        total=len(verdicts), counts=counts,
        rejected=[Rejected(v.row.number, v.row.name, tuple(v.reasons)) for v in held],
        columns=[(header.get(i, ""), name) for name, i in table.columns.items()],
        ignored=list(table.ignored),
        rejected_workbook=rejected_workbook(table, [(v.row.source, v.reasons) for v in held],
                                            str(_("Lý do chưa nhập được"))) if held else None)
