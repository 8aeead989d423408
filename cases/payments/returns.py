"""The provider's return (issue 18, item 3): its paid / unpaid file for one signed payment list,
imported as a list kind (cases.lists.kinds) through the list jobs — previewed, then applied a
chunk per commit.

Before anything else, in the preview, the file's control totals are checked against the signed
list's paid lines (amount > 0): its number of rows and sum, per policy group when the file says the
group, and overall; its own totals row, when it has one; and each row's amount against its line.
Any mismatch refuses the whole file, saying where. The import starts from the preview's verdicts
(cases.payments.return_rows, the plan): neither the file nor a signed list can change between the
two. Without a plan (a job previewed by an earlier version) it reads and checks the file again.

Each row is matched to its line by case number, else by ID number and account number. A paid row
stores the outcome on the line, and a case in `account_opening` moves to `paid_by_account`
(`confirm_account_payment`); an unpaid row stores it, and a case in `paid_by_account` moves back
(`report_payment_failure`, the provider's reason mapped to the form's choices). Cash lines take the
outcome only. A line with an outcome already recorded keeps it (the row counts as "already"), so
importing a return again changes nothing. A row that matches no line waits, as a ReturnException,
to be resolved by hand.
"""
from __future__ import annotations

import hashlib
from collections import defaultdict
from concurrent.futures import Future
from contextlib import nullcontext
from dataclasses import dataclass
from typing import NamedTuple

from babel.numbers import format_decimal
from flask_babel import get_locale, gettext as _, lazy_gettext as _l
from sqlalchemy import String, select, type_coerce
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from cases.bulk_read import ReadAhead, driver_rows, key_batches, read_ahead, taken
from cases.bulk_transitions import Moves, move_in_memory, read_cases, write_moves
from cases.bulk_write import BulkSink, bulk_cache
from cases.changes import local_today, utcnow
from cases.collector import collector_paused, heap_frozen
from cases.errors import DomainError, NotPermitted
from cases.lists.kinds import Checkpoint, Preview, Progress, Rejected, Scope
from cases.models import Case, LineOutcome, PaymentLine, PaymentList, PaymentListState, ReturnException, User
from cases.models.lists import ListJob, ListJobState, ListKind
from cases.payments.return_rows import ReturnRow, Verdict, decode_plan, encode_plan, failure_reason, read_row
from cases.payments.watch import propose_suspensions_for_unpaid_months
from cases.roles import Role
from cases.sheets.reader import read_table
from cases.sheets.values import BadValue, as_amount
from cases.sheets.writer import rejected_workbook
from workflow.states import CaseState as S

CONFIRMED, PAID, FAILED, UNPAID, ALREADY, UNMATCHED, REJECTED = (
    "confirmed", "paid", "failed", "unpaid", "already", "unmatched", "rejected")
SUSPENSION_PROPOSED = "suspension_proposed"
REQUIRED = frozenset({"amount", "outcome"})
CHUNK = 2_000                 # rows per commit of the import
_ATTEMPTS = 3
SHOWN_PROBLEMS = 5            # mismatches named in a refusal
SHOWN_NUMBERS = 10            # case numbers named in a count mismatch
_LINES = PaymentLine.__table__
_GROUPS = ("btxh", "ncc")

# --- the list and its lines -------------------------------------------------------------------

_LINE_FIELDS = (PaymentLine.id, PaymentLine.case_id, PaymentLine.national_id, PaymentLine.account_number,
                PaymentLine.amount, PaymentLine.in_cash, PaymentLine.outcome)


class _Line(NamedTuple):
    """A signed list's line as a return is matched against it: values as stored (`driver_rows`),
    which is all matching asks of them (an outcome is there or not, cash is true or not)."""
    id: int
    case_id: int
    national_id: str | None
    account_number: str | None
    amount: int
    in_cash: bool | int
    outcome: str | None


def _digits(account: str | None) -> str | None:
    """An account number as compared: a number cell lost its leading zeros."""
    return account.lstrip("0") if account else None


_STATES = {state.value: state for state in S}


@dataclass
class _Lines:
    by_case: dict[int, _Line]
    by_id: dict[str, list[_Line]]
    statuses: dict[int, S]      # each line's case's state, read with the lines (the preview classifies by it)

    @classmethod
    def of(cls, session: Session, list_id: int) -> _Lines:
        """The list's paid lines (amount > 0) with their cases' states: a join of 100,000 rows, read
        as the driver's tuples (a row object and the state's conversion a row were half of it)."""
        by_case, by_id, statuses = {}, defaultdict(list), {}
        for *values, status in driver_rows(session, select(*_LINE_FIELDS, type_coerce(Case.status, String))
                                           .join(Case, Case.id == PaymentLine.case_id)
                                           .where(PaymentLine.list_id == list_id, PaymentLine.amount > 0)):
            line = _Line(*values)
            by_case[line.case_id] = line
            statuses[line.case_id] = _STATES[status]
            if line.national_id:
                by_id[line.national_id].append(line)
        return cls(by_case, by_id, statuses)

    def match(self, row: ReturnRow):
        """(the line, or None with why)."""
        if row.case_number is not None:
            line = self.by_case.get(row.case_number)
            if line is None:
                return None, _("Mã hồ sơ %(number)s không có trong danh sách đã ký.", number=row.case_number)
            if row.national_id and line.national_id and row.national_id != line.national_id:
                return None, _("Mã hồ sơ %(number)s và số CCCD trên dòng không cùng một người trong danh sách.",
                               number=row.case_number)
            return line, None
        for line in self.by_id.get(row.national_id, ()):
            if line.in_cash or _digits(line.account_number) == _digits(row.account):
                return line, None
        if self.by_id.get(row.national_id):
            return None, _("Số CCCD có trong danh sách nhưng số tài khoản «%(account)s» không khớp.",
                           account=row.account or "—")
        return None, _("Không có dòng nào mang số CCCD này trong danh sách đã ký.")


def may_import(user: User, plist: PaymentList) -> bool:
    """An officer or supervisor of the list's province."""
    return (user.is_active and user.role in (Role.OFFICER, Role.SUPERVISOR)
            and user.province_id is not None and user.province_id == plist.province_id)


def signed_list_for(session: Session, user: User, list_id: int | None) -> PaymentList:
    """:raise DomainError: no such list, or a draft. :raise NotPermitted: not the user's to import."""
    plist = session.get(PaymentList, list_id) if list_id is not None else None
    if plist is None:
        raise DomainError(_("Tệp trả về phải được tải lên từ trang của một danh sách chi trả đã ký duyệt."))
    if not may_import(user, plist):
        raise NotPermitted(_("Chỉ cán bộ và lãnh đạo cấp tỉnh của danh sách được nhập tệp trả về."))
    if plist.state is not PaymentListState.SIGNED:
        raise DomainError(_("Danh sách chi trả chưa được ký duyệt: chưa nhận tệp trả về cho danh sách này."))
    return plist


# --- control totals ---------------------------------------------------------------------------

def _money(amount: int) -> str:
    return f"{format_decimal(amount, locale=get_locale() or 'vi')} đ"


@dataclass
class _Plan:
    table: object
    verdicts: list[Verdict]
    statuses: dict[int, S]      # the list's cases' states as the plan read them


def _check_totals(plist: PaymentList, lines: _Lines, rows: list[ReturnRow], verdicts: list[Verdict],
                  file_total: int | None) -> None:
    """:raise DomainError: the file's totals differ from the signed list's, or from its own totals
    row, or a row's amount from its line's; the message says where."""
    problems = []
    total = sum(r.amount or 0 for r in rows)
    if file_total is not None and file_total != total:
        problems.append(_("Dòng tổng cộng của tệp ghi %(written)s, cộng các dòng được %(added)s (chênh %(gap)s)",
                          written=_money(file_total), added=_money(total), gap=_money(abs(file_total - total))))
    signed = plist.totals_dict
    wanted = signed.get("all", {"count": plist.line_count, "amount": plist.total_amount})
    if len(rows) != wanted["count"]:
        matched = {v.line.case_id for v in verdicts if v.line is not None}
        missing = sorted(case_id for case_id in lines.by_case if case_id not in matched)
        problem = _("Tệp có %(rows)s dòng, danh sách đã ký có %(lines)s dòng", rows=len(rows), lines=wanted["count"])
        if missing:
            shown = ", ".join(str(n) for n in missing[:SHOWN_NUMBERS]) + ("…" if len(missing) > SHOWN_NUMBERS else "")
            problem += _(": thiếu mã hồ sơ %(numbers)s", numbers=shown)
        problems.append(problem)
    if total != wanted["amount"]:
        problems.append(_("Tổng số tiền trong tệp %(file)s khác danh sách đã ký %(signed)s (chênh %(gap)s)",
                          file=_money(total), signed=_money(wanted["amount"]), gap=_money(abs(total - wanted["amount"]))))
    if any(r.group for r in rows):
        for group in _GROUPS:
            mine = [r for r in rows if r.group == group]
            theirs = signed.get(group, {"count": 0, "amount": 0})
            amount = sum(r.amount or 0 for r in mine)
            if (len(mine), amount) != (theirs["count"], theirs["amount"]):
                problems.append(_("Nhóm %(group)s: tệp có %(rows)s dòng, %(file)s; danh sách đã ký có %(lines)s dòng, "
                                  "%(signed)s", group=group.upper(), rows=len(mine), file=_money(amount),
                                  lines=theirs["count"], signed=_money(theirs["amount"])))
    for verdict in verdicts:
        row, line = verdict.row, verdict.line
        if line is not None and row.amount is not None and row.amount != line.amount:
            problems.append(_("dòng %(row)s: số tiền %(file)s, danh sách ghi %(signed)s", row=row.number,
                              file=_money(row.amount), signed=_money(line.amount)))
    if problems:
        shown = "; ".join(str(p) for p in problems[:SHOWN_PROBLEMS]) + ("…" if len(problems) > SHOWN_PROBLEMS else "")
        raise DomainError(_("Tệp trả về không khớp danh sách đã ký, không nhập dòng nào: %(problems)s.",
                            problems=shown))


def _totals_row(table) -> int | None:
    """The amount on the file's "Tổng cộng" row, under the amount column, when it has one (the one
    reader leaves the row out of the data, and keeps it among the table's end rows)."""
    column = table.columns["amount"]
    for row in table.end_rows[:1]:
        try:
            return as_amount(row[column]) if column < len(row) else None
        except BadValue:
            return None
    return None


# --- the kind ---------------------------------------------------------------------------------

class PaymentReturn:
    kind = ListKind.PAYMENT_RETURN
    label = _l("Tệp trả về của tổ chức chi trả")
    outcomes = {CONFIRMED: _l("Đã chi trả: chuyển sang nhận qua tài khoản"), PAID: _l("Đã chi trả"),
                FAILED: _l("Không chi trả được: trả về chờ mở tài khoản"), UNPAID: _l("Chưa chi trả"),
                ALREADY: _l("Đã có kết quả từ lần nhập trước (giữ nguyên)"),
                UNMATCHED: _l("Không khớp dòng nào: chờ xử lý thủ công"), REJECTED: _l("Không nhập được")}
    # What an import does beyond its rows, counted with them once it is done.
    effects = {SUSPENSION_PROPOSED: _l("Đề xuất tạm dừng: không nhận trợ cấp 3 tháng liên tục")}

    def preview(self, session: Session, scope: Scope, data: bytes, filename: str, progress: Progress) -> Preview:
        plan = self._plan(session, scope, data, filename, progress)
        _classify(plan.verdicts, plan.statuses)
        found = _preview(plan)
        with collector_paused():
            found.plan = encode_plan(plan.verdicts)
        return found

    def apply(self, session: Session, scope: Scope, data: bytes, filename: str, start_row: int,
              checkpoint: Checkpoint, plan: bytes | None = None) -> None:
        signed_list_for(session, scope.user, scope.payment_list_id)
        job_id, rows = _import_job(session, scope, data)
        # With more than one chunk to do, a worker process reads the next chunks' cases and moves
        # them in memory while this one's are written (cases.bulk_read). It is started first, so
        # that its start overlaps the plan's decoding; the chunks before it has started are this
        # process's own.
        ahead_of = read_ahead(session) if (rows or 0) - start_row > CHUNK else nullcontext()
        with ahead_of as worker:
            verdicts = self._replanned(session, scope, plan) if plan is not None else None
            if verdicts is None:
                verdicts = self._plan(session, scope, data, filename, lambda done, total: None).verdicts
            month = session.scalar(select(PaymentList.month).where(PaymentList.id == scope.payment_list_id)).isoformat()
            starts = range(start_row, len(verdicts), CHUNK)
            # The plan's objects stay out of the collector's passes; SQLite keeps its indexes'
            # pages from chunk to chunk.
            with heap_frozen(), bulk_cache(session):
                self._chunks(session, scope, verdicts, starts, job_id, month, worker, checkpoint)
        # The return may complete a third unpaid month: the watcher looks at this list's cases now
        # (idempotent, so a resumed import asks again safely).
        proposed = propose_suspensions_for_unpaid_months(session, local_today(), list_id=scope.payment_list_id)
        checkpoint(len(verdicts), {SUSPENSION_PROPOSED: proposed["proposed"]} if proposed["proposed"] else {})

    @staticmethod
    def _chunks(session: Session, scope: Scope, verdicts: list[Verdict], starts: range, job_id: int, month: str,
                worker: ReadAhead | None, checkpoint: Checkpoint) -> None:
        ahead: dict[int, Future] = {}
        for n, start in enumerate(starts):
            chunk = verdicts[start:start + CHUNK]
            # Two chunks asked ahead, so that a slow one of the worker's seldom keeps this process
            # waiting.
            for later in (n + 1, n + 2):
                if worker is None or not worker.started or later >= len(starts) or later in ahead:
                    continue
                future = worker.submit(_moves, scope.user.id,
                                       _accounts(verdicts[starts[later]:starts[later] + CHUNK]), month)
                if future is not None:
                    ahead[later] = future
            moved = taken(ahead.pop(n, None))
            counts = _apply_chunk(session, scope, chunk, job_id, month, moved)
            session.flush()
            checkpoint(start + len(chunk), counts)

    def _replanned(self, session: Session, scope: Scope, plan: bytes) -> list[Verdict] | None:
        """The preview's verdicts (cases.payments.return_rows: what cannot have changed since),
        the list checked still signed and the user still allowed, each matched row's outcome made
        again from the lines recorded meanwhile; None when the plan is of another version."""
        signed_list_for(session, scope.user, scope.payment_list_id)
        with collector_paused():
            verdicts = decode_plan(plan)
        if verdicts is not None:
            recorded = set(session.connection().execute(select(PaymentLine.id).where(
                PaymentLine.list_id == scope.payment_list_id, PaymentLine.outcome.is_not(None))).scalars())
            for verdict in verdicts:
                if verdict.line is not None:
                    verdict.outcome = (ALREADY if verdict.line.id in recorded
                                       else PAID if verdict.row.paid else UNPAID)
        return verdicts

    def _plan(self, session: Session, scope: Scope, data: bytes, filename: str, progress: Progress) -> _Plan:
        with collector_paused():    # rows and verdicts by the thousand, none of them cyclic
            return self._planned(session, scope, data, filename, progress)

    def _planned(self, session: Session, scope: Scope, data: bytes, filename: str, progress: Progress) -> _Plan:
        plist = signed_list_for(session, scope.user, scope.payment_list_id)
        table = read_table(data, filename, "payment_return", REQUIRED)
        if "case_number" not in table.columns and "national_id" not in table.columns:
            raise DomainError(_("Tệp trả về cần cột «Mã hồ sơ» hoặc cột «Số CCCD» để biết mỗi dòng của ai."))
        rows = [read_row(r) for r in table.rows]
        progress(len(rows) // 2, len(rows))
        lines = _Lines.of(session, plist.id)
        verdicts, taken = [], {}
        for row in rows:
            verdicts.append(_verdict(row, lines, taken))
        _check_totals(plist, lines, rows, verdicts, _totals_row(table))
        progress(len(rows), len(rows))
        return _Plan(table, verdicts, lines.statuses)


PAYMENT_RETURN = PaymentReturn()


def _verdict(row: ReturnRow, lines: _Lines, taken: dict[int, int]) -> Verdict:
    if row.reasons:
        return Verdict(row, REJECTED)
    line, problem = lines.match(row)
    if line is None:
        return Verdict(row, UNMATCHED, refusals=[problem])
    if line.id in taken:
        return Verdict(row, REJECTED, refusals=[_("Trùng với dòng %(row)s của tệp (cùng một người).",
                                                  row=taken[line.id])])
    taken[line.id] = row.number
    if line.outcome is not None:
        return Verdict(row, ALREADY, line)
    return Verdict(row, PAID if row.paid else UNPAID, line)


def _classify(verdicts: list[Verdict], statuses: dict[int, S]) -> None:
    """PAID / UNPAID rows of account lines become CONFIRMED / FAILED where the case's state
    (`statuses`, by case id) moves."""
    for verdict in _on_account(verdicts):
        verdict.outcome = _outcome(verdict.row.paid, statuses.get(verdict.line.case_id))


def _outcome(paid: bool, status: S | None) -> str:
    if paid:
        return CONFIRMED if status is S.ACCOUNT_OPENING else PAID
    return FAILED if status is S.PAID_BY_ACCOUNT else UNPAID


def _on_account(chunk: list[Verdict]) -> list[Verdict]:
    return [v for v in chunk if v.outcome in (PAID, UNPAID, CONFIRMED, FAILED) and not v.line.in_cash]


def _accounts(chunk: list[Verdict]) -> list[tuple[int, bool, str | None, str | None]]:
    """The chunk's account rows as `_moves` takes them: (case id, paid, reference, reason)."""
    return [(v.line.case_id, v.row.paid, v.row.reference, v.row.reason) for v in _on_account(chunk)]


def _payload(outcome: str, reference: str | None, reason: str | None, month: str) -> dict:
    if outcome == CONFIRMED:
        return {"month_paid": month, "reference": reference}
    code, note = failure_reason(reason)
    return {"reason": code, "note": note}


_TRIGGERS = ((CONFIRMED, "confirm_account_payment", S.ACCOUNT_OPENING),
             (FAILED, "report_payment_failure", S.PAID_BY_ACCOUNT))


def _moves(session: Session, user_id: int, accounts: list[tuple], month: str) -> tuple[dict[int, S], dict[str, Moves]]:
    """A chunk's account rows (`_accounts`): their cases read (once: the states that classify
    them are those the moves start from) and moved in memory. (each case's state as read,
    {outcome: the moves}); plain values, so that a read-ahead worker can make them."""
    rows = read_cases(session, [case_id for case_id, *_rest in accounts])
    statuses = {case_id: row.status for case_id, row in rows.items()}
    payloads = {outcome: {} for outcome, _trigger, _state in _TRIGGERS}
    for case_id, paid, reference, reason in accounts:
        outcome = _outcome(paid, statuses.get(case_id))
        if outcome in payloads:
            payloads[outcome][case_id] = _payload(outcome, reference, reason, month)
    user = session.get(User, user_id)
    return statuses, {outcome: move_in_memory(session, user, trigger, payloads[outcome], expected_state=state, rows=rows)
                      for outcome, trigger, state in _TRIGGERS if payloads[outcome]}


def _apply_chunk(session: Session, scope: Scope, chunk: list[Verdict], job_id: int, month: str,
                 moved: tuple[dict[int, S], dict[str, Moves]] | None = None) -> dict:
    """Write the chunk's transitions (`moved`, when `_moves` worked them out ahead) and store its
    outcomes; a case changed meanwhile by someone else makes the chunk start again from what the
    database holds now.

    A chunk is a transaction of its own (`apply` commits after each), so a failed attempt rolls
    the whole transaction back rather than a savepoint: on SQLite, a savepoint made every page the
    chunk wrote be copied to its journal first, a tenth of the cases' UPDATE."""
    for attempt in range(_ATTEMPTS):
        if attempt:
            session.rollback()      # the attempt's writes, and its audit records staged
            _refresh(session, chunk)
            moved = None
        statuses, moves = moved or _moves(session, scope.user.id, _accounts(chunk), month)
        _classify(chunk, statuses)
        try:
            for outcome, _trigger, _state in _TRIGGERS:
                if outcome in moves:
                    chosen = [v for v in chunk if v.outcome == outcome]
                    _take(chosen, write_moves(session, scope.actor, moves[outcome]))
            _store_outcomes(session, chunk, job_id)
            break
        except StaleDataError:
            if attempt == _ATTEMPTS - 1:
                raise
    _store_exceptions(session, scope.payment_list_id, job_id, [v for v in chunk if v.outcome == UNMATCHED])
    counts = dict.fromkeys(PAYMENT_RETURN.outcomes, 0)
    for verdict in chunk:
        counts[verdict.outcome] += 1
    return counts


def _refresh(session: Session, chunk: list[Verdict]) -> None:
    """The chunk's matched rows as the database holds their lines now (another return may have
    recorded some meanwhile), their refusals of the failed attempt dropped."""
    matched = [v for v in chunk if v.line is not None]
    ids = [v.line.id for v in matched]
    recorded = set()
    for _batch, among in key_batches(session, PaymentLine.id, ids):
        recorded.update(session.scalars(select(PaymentLine.id).where(among, PaymentLine.outcome.is_not(None))))
    for verdict in matched:
        verdict.refusals.clear()
        verdict.outcome = ALREADY if verdict.line.id in recorded else PAID if verdict.row.paid else UNPAID


def _take(verdicts: list[Verdict], outcomes: dict) -> None:
    for verdict in verdicts:
        outcome = outcomes[verdict.line.case_id]
        if not outcome.done:
            verdict.refusals.append(outcome.message)
            verdict.outcome = REJECTED


_OUTCOME_COLUMNS = ("outcome", "outcome_reason", "outcome_reference", "outcome_at", "outcome_job_id")


def _store_outcomes(session: Session, chunk: list[Verdict], job_id: int) -> None:
    now = utcnow()
    rows = [(v.line.id, LineOutcome.PAID if v.row.paid else LineOutcome.UNPAID, None if v.row.paid else v.row.reason,
             v.row.reference, now, job_id)
            for v in chunk if v.outcome in (CONFIRMED, PAID, FAILED, UNPAID)]
    if rows:
        written = BulkSink(session).update(_LINES, ("id",), _OUTCOME_COLUMNS, rows, unset=("outcome",))
        if written != len(rows):      # another return recorded some of these lines meanwhile
            raise StaleDataError(f"payment return: {len(rows)} lines to record, {written} still open")


def _store_exceptions(session: Session, list_id: int, job_id: int, verdicts: list[Verdict]) -> None:
    """A ReturnException for each unmatched row, unless the same row of an earlier import of the
    return waits already (importing it again changes nothing)."""
    if not verdicts:
        return
    known = set(session.execute(select(ReturnException.row, ReturnException.national_id, ReturnException.account_number,
                                       ReturnException.amount, ReturnException.full_name)
                                .where(ReturnException.list_id == list_id)).tuples())
    for verdict in verdicts:
        row = verdict.row
        key = (row.number, row.national_id, row.account, row.amount, row.name)
        if key in known:
            continue
        known.add(key)
        session.add(ReturnException(list_id=list_id, job_id=job_id, row=row.number, full_name=row.name,
                                    national_id=row.national_id, account_number=row.account, amount=row.amount,
                                    outcome=LineOutcome.PAID.value if row.paid else LineOutcome.UNPAID.value,
                                    problem=str(verdict.refusals[0])[:300] if verdict.refusals else ""))


def _import_job(session: Session, scope: Scope, data: bytes) -> tuple[int, int | None]:
    """The import's own job (the lines and exceptions name it): its id, and the rows its preview
    read. :raise DomainError: none is importing."""
    job = session.execute(select(ListJob.id, ListJob.rows_total).where(
        ListJob.kind == ListKind.PAYMENT_RETURN, ListJob.payment_list_id == scope.payment_list_id,
        ListJob.owner_id == scope.user.id, ListJob.state == ListJobState.IMPORTING,
        ListJob.content_sha256 == hashlib.sha256(data).hexdigest()).order_by(ListJob.id.desc()).limit(1)).first()
    if job is None:
        raise DomainError(_("Tệp trả về chỉ được nhập qua một lần tải lên đang chạy."))
    return job.id, job.rows_total


def _preview(plan: _Plan) -> Preview:
    counts = dict.fromkeys(PAYMENT_RETURN.outcomes, 0)
    for verdict in plan.verdicts:
        counts[verdict.outcome] += 1
    held = [v for v in plan.verdicts if v.outcome in (REJECTED, UNMATCHED)]
    table = plan.table
    header = dict(enumerate(table.header))
    return Preview(
        total=len(plan.verdicts), counts=counts,
        rejected=[Rejected(v.row.number, v.row.name, tuple(str(r) for r in v.reasons)) for v in held],
        columns=[(header.get(i, ""), name) for name, i in table.columns.items()], ignored=list(table.ignored),
        rejected_workbook=rejected_workbook(table, [(v.row.source, v.reasons) for v in held],
                                            str(_("Lý do chưa nhập được"))) if held else None)
