"""The provider's return (issue 18, item 3): a return reconciled — who moved to paid by account, who
failed and why — then imported again changing nothing; wrong totals refused with the place named
and nothing written; a row for an unknown case waiting to be resolved by hand; the file-safety
corpus; a draft list and a user of another province refused."""
from __future__ import annotations

import json
import threading
import zlib
from contextlib import contextmanager
from datetime import date
from io import BytesIO

import pytest
from openpyxl import Workbook
from sqlalchemy import select, update

from cases import bulk_transitions
from cases.actions import fire_transition
from cases.audit import verify_chain
from cases.changes import local_today, utcnow
from cases.errors import DomainError, NotPermitted
from cases.lists import jobs
from cases.lists.kinds import Scope
from cases.models import Case, PaymentLine, PaymentList, PaymentProvider, ReturnException
from cases.models.lists import ListJob, ListJobState
from cases.payments.lists import draft_list, sign_list
from cases.payments.return_desk import upload_return
from cases.payments.return_rows import (PlannedLine, ReturnRow, Verdict, cell_text, decode_plan, encode_plan,
                                        failure_reason)
from cases.payments import returns
from cases.payments.returns import PAYMENT_RETURN
from cases.roles import Role
from cases.sheets.safety import UnsafeFile
from cases.users import actor_of
from extensions import db, write_intent
from tests.conftest import BINH_GIA, LANG_SON, OTHER_PROVINCE
from tests.helpers import audit_records, case_row, last_seq, reload_case, text_of
from tests.paths import SYSTEM, payload_for
from tests.test_sheets_reader import MESS, xlsx
from tests.test_sheets_safety import LAUGHS, XXE, FAR_SHEET, compound_file, declare_size, with_part
from workflow.states import CaseState as S
from workflow.table import STATES, TRANSITIONS

HEADER = ["STT", "Mã hồ sơ", "Họ và tên", "Số CCCD", "Số tài khoản", "Số tiền (đồng)", "Kết quả", "Lý do",
          "Mã tham chiếu"]


def provider(short_name: str) -> PaymentProvider:
    return db.session.scalars(select(PaymentProvider).where(PaymentProvider.short_name == short_name)).one()


def fire(case_id: int, trigger: str, **changes) -> None:
    with write_intent():
        case = reload_case(case_id)
        fire_transition(db.session, SYSTEM, None, case, TRANSITIONS[trigger],
                        payload_for(db.session, case, trigger) | changes)
        db.session.commit()


@pytest.fixture
def people(make_user):
    return {"officer": make_user(Role.OFFICER, province=LANG_SON),
            "supervisor": make_user(Role.SUPERVISOR, province=LANG_SON)}


def month() -> date:
    return local_today().replace(day=1)


def signed(people, sign: bool = True) -> PaymentList:
    with write_intent():
        plist = draft_list(db.session, actor_of(people["officer"]), people["officer"], provider("AGRIBANK-LS"), month())
        db.session.commit()
        if sign:
            sign_list(db.session, actor_of(people["supervisor"]), people["supervisor"], plist.id, b"xlsx")
            db.session.commit()
        return db.session.get(PaymentList, plist.id)


@pytest.fixture
def world(people, make_case):
    """Agribank's signed list of the month: two accounts opened, awaiting their first payment, and
    three paid by account already."""
    cases = {}
    for name, paid in (("opening", False), ("opening_unpaid", False), ("closed", True), ("paid", True),
                       ("moved_away", True)):
        case_id = make_case(state=S.PAYMENT_METHOD, by=people["officer"], full_name=f"Hoàng Văn {name}").id
        fire(case_id, "choose_account", account_number=None, provider_id=provider("AGRIBANK-LS").id)
        fire(case_id, "record_account_opened", provider_id=provider("AGRIBANK-LS").id, account_number=f"77{case_id:08d}")
        if paid:
            fire(case_id, "confirm_account_payment", month_paid=date(2026, 1, 1).isoformat())
        cases[name] = case_id
    plist = signed(people)
    lines = {line.case_id: line for line in
             db.session.scalars(select(PaymentLine).where(PaymentLine.list_id == plist.id))}
    return {"list": plist.id, "cases": cases, "lines": lines}


def the_return(world, replies: dict[str, tuple], total: int | None = None, extra: list[tuple] = (),
               by_id: tuple[str, ...] = (), groups: dict[str, str] | None = None) -> bytes:
    """The bank's file: a row per case named in `replies` ({name: (outcome, reason, reference)}),
    found by case number, or by ID and account for the names in `by_id`; a total row; a group
    column when `groups` ({name: "BTXH"}) is given."""
    book = Workbook()
    sheet = book.active
    sheet.append(["KẾT QUẢ CHI TRẢ QUA TÀI KHOẢN"])
    sheet.append(HEADER + (["Nhóm"] if groups is not None else []))
    rows = []
    for n, (name, (outcome, reason, reference)) in enumerate(replies.items(), 1):
        line = world["lines"][world["cases"][name]]
        rows.append((n, None if name in by_id else line.case_id, line.full_name, line.national_id,
                     line.account_number, line.amount, outcome, reason, reference)
                    + ((groups.get(name, "BTXH"),) if groups is not None else ()))
    rows += list(extra)
    for row in rows:
        sheet.append(row)
    sheet.append(("Tổng cộng", None, None, None, None, sum(r[5] for r in rows) if total is None else total))
    out = BytesIO()
    book.save(out)
    return out.getvalue()


REPLIES = {"opening": ("Đã chi trả", None, "GD-0001"), "opening_unpaid": ("Chưa chi trả", "Chưa đến nhận", None),
           "closed": ("Không thành công", "Tài khoản đã đóng", None), "paid": ("Thành công", None, "GD-0004"),
           "moved_away": ("failed", "Người hưởng đã chuyển đi nơi khác", None)}


def run(app, user, list_id: int, data: bytes, confirm: bool = True) -> ListJob:
    """Upload, preview and (when `confirm`) import the return as the worker does."""
    with write_intent():
        job_id = upload_return(db.session, actor_of(user), user, list_id, "tra-ve.xlsx", data, utcnow()).id
        db.session.commit()
    jobs.work_queued(app, "test-worker")
    db.session.rollback()
    job = db.session.get(ListJob, job_id)
    if confirm and job.state is ListJobState.PREVIEWED:
        with write_intent():
            jobs.confirm(db.session, actor_of(user), user, job)
            db.session.commit()
        jobs.work_queued(app, "test-worker")
        db.session.rollback()
        job = db.session.get(ListJob, job_id)
    return job


def outcomes(list_id: int) -> dict[int, tuple]:
    db.session.rollback()
    return {line.case_id: (line.outcome and line.outcome.value, line.outcome_reason, line.outcome_reference)
            for line in db.session.scalars(select(PaymentLine).where(PaymentLine.list_id == list_id))}


def test_a_return_is_reconciled_then_imported_again_changing_nothing(app, world, people, make_client):
    c, officer = world["cases"], people["officer"]
    data = the_return(world, REPLIES, by_id=("paid",))
    versions = {name: case_row(case_id)["version"] for name, case_id in c.items()}
    since = last_seq()

    job = run(app, officer, world["list"], data, confirm=False)

    assert job.state is ListJobState.PREVIEWED, job.error
    preview = json.loads(job.preview)
    assert preview["counts"] == {"confirmed": 1, "paid": 1, "failed": 2, "unpaid": 1, "already": 0, "unmatched": 0,
                                 "rejected": 0}
    assert {name: case_row(case_id)["version"] for name, case_id in c.items()} == versions   # nothing written
    with write_intent():
        jobs.confirm(db.session, actor_of(officer), officer, job)
        db.session.commit()
    jobs.work_queued(app, "test-worker")
    db.session.rollback()
    job = db.session.get(ListJob, job.id)

    assert job.state is ListJobState.DONE, job.error
    assert json.loads(job.counts) == preview["counts"]
    opening, closed, moved = case_row(c["opening"]), case_row(c["closed"]), case_row(c["moved_away"])
    assert (opening["status"], opening["last_paid_month"], opening["last_payment_reference"]) == (
        S.PAID_BY_ACCOUNT, month(), "GD-0001")
    assert (closed["status"], closed["payment_failure_reason"]) == (S.ACCOUNT_OPENING, "account_closed")
    assert (moved["status"], moved["payment_failure_reason"]) == (
        S.ACCOUNT_OPENING, "other: Người hưởng đã chuyển đi nơi khác")
    assert case_row(c["paid"])["status"] is S.PAID_BY_ACCOUNT
    assert case_row(c["opening_unpaid"])["status"] is S.ACCOUNT_OPENING
    assert outcomes(world["list"]) == {
        c["opening"]: ("paid", None, "GD-0001"), c["opening_unpaid"]: ("unpaid", "Chưa đến nhận", None),
        c["closed"]: ("unpaid", "Tài khoản đã đóng", None), c["paid"]: ("paid", None, "GD-0004"),
        c["moved_away"]: ("unpaid", "Người hưởng đã chuyển đi nơi khác", None)}
    records = {r.case_id: json.loads(r.detail) for r in audit_records(since) if r.action == "case.transition"}
    assert set(records) == {c["opening"], c["closed"], c["moved_away"]}
    assert records[c["opening"]]["trigger"] == "confirm_account_payment"
    assert records[c["opening"]]["data"] == {"month_paid": month().isoformat(), "reference": "GD-0001"}
    assert records[c["closed"]]["trigger"] == "report_payment_failure"
    assert records[c["closed"]]["data"]["reason"] == "account_closed"
    page = text_of(make_client(officer).get(f"/cases/{c['opening']}"))
    assert str(STATES[S.PAID_BY_ACCOUNT].label) in page
    page = text_of(make_client(officer).get(f"/cases/{c['closed']}"))
    assert str(STATES[S.ACCOUNT_OPENING].label) in page

    # The same file again: every line has its outcome; nothing moves, nothing is recorded but the job's own.
    since = last_seq()
    again = run(app, officer, world["list"], data)
    assert again.state is ListJobState.DONE, again.error
    assert json.loads(again.counts) == {"confirmed": 0, "paid": 0, "failed": 0, "unpaid": 0, "already": 5,
                                        "unmatched": 0, "rejected": 0}
    assert not [r for r in audit_records(since) if r.action == "case.transition"]
    assert {r.action for r in audit_records(since)} <= {"list_job.upload", "list_job.previewed", "list_job.confirm",
                                                        "list_job.done"}
    assert case_row(c["opening"])["status"] is S.PAID_BY_ACCOUNT


def test_two_uploads_of_one_return_previewed_together_record_each_line_once(app, world, people):
    """The second import starts from its preview's plan, made before the first import recorded
    anything: it finds every line recorded meanwhile and changes nothing."""
    c, officer = world["cases"], people["officer"]
    data = the_return(world, REPLIES)
    first = run(app, officer, world["list"], data, confirm=False)
    second = run(app, officer, world["list"], data, confirm=False)
    assert json.loads(second.preview)["counts"] == json.loads(first.preview)["counts"] == {
        "confirmed": 1, "paid": 1, "failed": 2, "unpaid": 1, "already": 0, "unmatched": 0, "rejected": 0}
    since = last_seq()
    for job in (first, second):
        with write_intent():
            jobs.confirm(db.session, actor_of(officer), officer, db.session.get(ListJob, job.id))
            db.session.commit()
        jobs.work_queued(app, "test-worker")
    db.session.rollback()

    first, second = db.session.get(ListJob, first.id), db.session.get(ListJob, second.id)
    assert (first.state, second.state) == (ListJobState.DONE, ListJobState.DONE), (first.error, second.error)
    assert json.loads(first.counts) == json.loads(first.preview)["counts"]
    assert json.loads(second.counts) == {"confirmed": 0, "paid": 0, "failed": 0, "unpaid": 0, "already": 5,
                                         "unmatched": 0, "rejected": 0}
    moved = [r.case_id for r in audit_records(since) if r.action == "case.transition"]
    assert sorted(moved) == sorted((c["opening"], c["closed"], c["moved_away"]))
    assert case_row(c["opening"])["status"] is S.PAID_BY_ACCOUNT


def test_a_plan_of_another_version_is_not_used():
    verdict = Verdict(ReturnRow(7, None, "Vi Thị Lan", case_number=12, amount=540_000, paid=True), "paid",
                      PlannedLine(3, 12, False))
    assert decode_plan(encode_plan([verdict])) == [verdict]
    stored = json.loads(zlib.decompress(encode_plan([verdict])))
    stored["version"] += 1
    assert decode_plan(zlib.compress(json.dumps(stored).encode())) is None


def test_a_chunk_meeting_a_case_changed_meanwhile_is_done_again_with_one_record_per_case(
        app, world, people, monkeypatch):
    """Another officer's edit lands between the import's read of a case and its write: the chunk
    starts again from what the database holds, and each case moves once, with one record."""
    c = world["cases"]
    read, raced = bulk_transitions._read, []

    def read_then_someone_edits(session, case_ids):
        rows = list(read(session, case_ids))
        if not raced:
            raced.append(case_ids[0])
            session.execute(update(Case).where(Case.id == case_ids[0]).values(version=Case.version + 1)
                            .execution_options(synchronize_session=False))
        return rows
    monkeypatch.setattr(bulk_transitions, "_read", read_then_someone_edits)
    since = last_seq()

    job = run(app, people["officer"], world["list"], the_return(world, REPLIES))

    assert job.state is ListJobState.DONE, job.error
    assert raced
    assert json.loads(job.counts) == {"confirmed": 1, "paid": 1, "failed": 2, "unpaid": 1, "already": 0,
                                      "unmatched": 0, "rejected": 0}
    assert case_row(c["opening"])["status"] is S.PAID_BY_ACCOUNT
    assert {case_row(c[name])["status"] for name in ("closed", "moved_away")} == {S.ACCOUNT_OPENING}
    moved = [r.case_id for r in audit_records(since) if r.action == "case.transition"]
    assert sorted(moved) == sorted((c["opening"], c["closed"], c["moved_away"]))
    assert len(outcomes(world["list"])) == 5
    assert verify_chain(db.session).ok


def _started_worker(read_ahead):
    """`read_ahead` whose worker has started before the first chunk (as with a slow writer): the
    import does its chunks itself only until then, and these few chunks would be done before."""
    @contextmanager
    def started(session):
        with read_ahead(session) as worker:
            worker.wait_started()
            yield worker
    return started


def test_a_chunk_read_ahead_meeting_a_case_changed_meanwhile_is_done_again(app, world, people, monkeypatch):
    """A worker process reads the next chunks and moves them in memory while the current one is
    written. Another officer's edit, committed after that read and before the chunk is written,
    makes the write find a newer version: the chunk starts again from the database, each case
    moving once."""
    c = world["cases"]
    apply_chunk, raced = returns._apply_chunk, []
    monkeypatch.setattr(returns, "read_ahead", _started_worker(returns.read_ahead))

    def someone_edits_then_apply(session, scope, chunk, job_id, month, moved=None):
        if moved is not None and not raced:     # read ahead; no transaction of the import's is open
            raced.append(chunk[0].line.case_id)
            with db.engine.begin() as other:
                other.execute(update(Case).where(Case.id == raced[0]).values(version=Case.version + 1))
        return apply_chunk(session, scope, chunk, job_id, month, moved)
    monkeypatch.setattr(returns, "_apply_chunk", someone_edits_then_apply)
    monkeypatch.setattr(returns, "CHUNK", 2)
    since = last_seq()

    job = run(app, people["officer"], world["list"], the_return(world, REPLIES))

    assert job.state is ListJobState.DONE, job.error
    assert raced and raced[0] in (c["closed"], c["moved_away"])
    assert json.loads(job.counts) == {"confirmed": 1, "paid": 1, "failed": 2, "unpaid": 1, "already": 0,
                                      "unmatched": 0, "rejected": 0}
    assert case_row(c["opening"])["status"] is S.PAID_BY_ACCOUNT
    assert {case_row(c[name])["status"] for name in ("closed", "moved_away")} == {S.ACCOUNT_OPENING}
    moved = [r.case_id for r in audit_records(since) if r.action == "case.transition"]
    assert sorted(moved) == sorted((c["opening"], c["closed"], c["moved_away"]))
    assert len(outcomes(world["list"])) == 5
    assert verify_chain(db.session).ok


def test_an_import_whose_worker_fails_does_every_chunk_itself(app, world, people, monkeypatch):
    """The read-ahead worker is help, not a part the import depends on: when its work fails (here
    it cannot even unpickle the work it is given) the import reads and moves each chunk itself."""
    ahead = _started_worker(returns.read_ahead)

    class FailingWork:
        def __init__(self, worker):
            self.worker, self.started = worker, worker.started

        def submit(self, work, *args):
            return self.worker.submit(work, *args, threading.Lock())    # a lock does not pickle

    @contextmanager
    def failing_worker(session):
        with ahead(session) as worker:
            assert worker.started
            yield FailingWork(worker)
    monkeypatch.setattr(returns, "read_ahead", failing_worker)
    monkeypatch.setattr(returns, "CHUNK", 2)
    since = last_seq()

    job = run(app, people["officer"], world["list"], the_return(world, REPLIES))

    assert job.state is ListJobState.DONE, job.error
    assert json.loads(job.counts) == {"confirmed": 1, "paid": 1, "failed": 2, "unpaid": 1, "already": 0,
                                      "unmatched": 0, "rejected": 0}
    moved = [r.case_id for r in audit_records(since) if r.action == "case.transition"]
    assert sorted(moved) == sorted((c_id for name, c_id in world["cases"].items()
                                    if name in ("opening", "closed", "moved_away")))
    assert verify_chain(db.session).ok


def test_an_import_does_not_wait_for_a_worker_still_starting(app, world, people, monkeypatch):
    """Until its worker has started, the import reads and moves each chunk itself, asking the
    worker for nothing."""
    class Starting:
        started = False

        def submit(self, work, *args):
            raise AssertionError("a chunk asked of a worker still starting")

    @contextmanager
    def starting_worker(session):
        yield Starting()
    monkeypatch.setattr(returns, "read_ahead", starting_worker)
    monkeypatch.setattr(returns, "CHUNK", 2)

    job = run(app, people["officer"], world["list"], the_return(world, REPLIES))

    assert job.state is ListJobState.DONE, job.error
    assert json.loads(job.counts) == {"confirmed": 1, "paid": 1, "failed": 2, "unpaid": 1, "already": 0,
                                      "unmatched": 0, "rejected": 0}
    assert case_row(world["cases"]["opening"])["status"] is S.PAID_BY_ACCOUNT


@pytest.mark.parametrize("wrong, named", [
    ("row_amount", "dòng 5: số tiền 1 đ, danh sách ghi"),
    ("missing_row", "Tệp có 4 dòng, danh sách đã ký có 5 dòng: thiếu mã hồ sơ"),
    ("total_row", "Dòng tổng cộng của tệp ghi 1 đ"),
])
def test_wrong_totals_are_refused_naming_the_place_and_nothing_is_written(app, world, people, wrong, named):
    c = world["cases"]
    if wrong == "total_row":
        data = the_return(world, REPLIES, total=1)
    elif wrong == "missing_row":
        data = the_return(world, {k: v for k, v in REPLIES.items() if k != "paid"})
        named += f" {c['paid']}"
    else:
        data = _with_amount(world, row=5, amount=1)
    since = last_seq()

    job = run(app, people["officer"], world["list"], data)

    assert job.state is ListJobState.FAILED
    assert job.error.startswith("Tệp trả về không khớp danh sách đã ký, không nhập dòng nào:")
    assert named in job.error, job.error
    assert set(outcomes(world["list"]).values()) == {(None, None, None)}
    assert not [r for r in audit_records(since) if r.action == "case.transition"]
    with pytest.raises(DomainError) as refused:
        PAYMENT_RETURN.preview(db.session, scope_of(people["officer"], world["list"]), data, "tra-ve.xlsx",
                               lambda done, total: None)
    assert named in refused.value.message


def _with_amount(world, row: int, amount: int) -> bytes:
    """The return with the data row at sheet row `row` paid `amount` (the file's total following it)."""
    from openpyxl import load_workbook
    book = load_workbook(BytesIO(the_return(world, REPLIES)))
    sheet = book.active
    old = sheet.cell(row, 6).value
    sheet.cell(row, 6).value = amount
    total_row = sheet.max_row
    sheet.cell(total_row, 6).value = sheet.cell(total_row, 6).value - old + amount
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def test_the_overall_sum_is_named_in_dong(app, world, people):
    data = _with_amount(world, row=3, amount=world["lines"][world["cases"]["opening"]].amount + 500_000)
    with pytest.raises(DomainError) as refused:
        PAYMENT_RETURN.preview(db.session, scope_of(people["officer"], world["list"]), data, "tra-ve.xlsx",
                               lambda done, total: None)
    assert "(chênh 500.000 đ)" in refused.value.message
    assert "Tổng số tiền trong tệp" in refused.value.message


def test_the_totals_per_policy_group_are_checked_when_the_file_says_the_group(app, world, people):
    scope = scope_of(people["officer"], world["list"])
    fine = PAYMENT_RETURN.preview(db.session, scope, the_return(world, REPLIES, groups={}), "tra-ve.xlsx",
                                  lambda done, total: None)
    assert fine.counts["rejected"] == 0 and ("Nhóm", "policy_group") in fine.columns
    amount = world["lines"][world["cases"]["paid"]].amount
    with pytest.raises(DomainError) as refused:
        PAYMENT_RETURN.preview(db.session, scope, the_return(world, REPLIES, groups={"paid": "NCC"}), "tra-ve.xlsx",
                               lambda done, total: None)
    assert "Nhóm NCC: tệp có 1 dòng" in refused.value.message
    assert "Nhóm BTXH: tệp có 4 dòng, " + f"{amount * 4:,} đ".replace(",", ".") in refused.value.message


def test_a_cash_list_takes_the_outcomes_only(app, people, make_case):
    paid, unpaid = (make_case(state=S.PAID_IN_CASH, by=people["officer"], full_name=n).id
                    for n in ("Lò Văn Tiền", "Lò Thị Mặt"))
    with write_intent():
        plist = draft_list(db.session, actor_of(people["officer"]), people["officer"], provider("BUUDIEN-LS"), month())
        db.session.commit()
        sign_list(db.session, actor_of(people["supervisor"]), people["supervisor"], plist.id, b"xlsx")
        db.session.commit()
        list_id = plist.id
    lines = {line.case_id: line for line in db.session.scalars(select(PaymentLine).where(PaymentLine.list_id == list_id))}
    world = {"list": list_id, "cases": {"paid": paid, "unpaid": unpaid}, "lines": lines}
    versions = {case_id: case_row(case_id)["version"] for case_id in (paid, unpaid)}
    data = the_return(world, {"paid": ("Đã chi trả", None, "BD-1"), "unpaid": ("Chưa chi trả", "Vắng nhà", None)},
                      by_id=("paid", "unpaid"))          # by ID number alone: a cash line has no account

    job = run(app, people["officer"], list_id, data)

    assert job.state is ListJobState.DONE, job.error
    assert json.loads(job.counts) | {} == {"confirmed": 0, "paid": 1, "failed": 0, "unpaid": 1, "already": 0,
                                           "unmatched": 0, "rejected": 0}
    assert outcomes(list_id) == {paid: ("paid", None, "BD-1"), unpaid: ("unpaid", "Vắng nhà", None)}
    assert {case_id: case_row(case_id)["version"] for case_id in (paid, unpaid)} == versions


def scope_of(user, list_id: int) -> Scope:
    return Scope(user=user, actor=actor_of(user), province_id=user.province_id, commune_id=None, today=local_today(),
                 payment_list_id=list_id)


def test_a_row_for_an_unknown_case_waits_and_is_resolved_by_hand(app, world, people, make_client):
    c, officer = world["cases"], people["officer"]
    stranger_amount = world["lines"][c["paid"]].amount
    replies = {k: v for k, v in REPLIES.items() if k != "paid"}
    data = the_return(world, replies, extra=[(9, 999_999, "Người Lạ", "020050999999", "1234", stranger_amount,
                                              "Đã chi trả", None, None)])

    job = run(app, officer, world["list"], data)

    assert job.state is ListJobState.DONE, job.error
    assert json.loads(job.counts)["unmatched"] == 1
    (waiting,) = db.session.scalars(select(ReturnException).where(ReturnException.list_id == world["list"])).all()
    assert (waiting.full_name, waiting.row, waiting.amount, waiting.outcome, waiting.resolved_at) == (
        "Người Lạ", 7, stranger_amount, "paid", None)
    assert "999999" in waiting.problem
    browser = make_client(officer)
    page = text_of(browser.get(f"/payments/{world['list']}/return"))
    assert "Người Lạ" in page and "Mã hồ sơ 999999 không có trong danh sách đã ký." in page
    assert outcomes(world["list"])[c["paid"]] == (None, None, None)        # its line still waits

    again = run(app, officer, world["list"], data)                          # no second exception for the row
    assert json.loads(again.counts)["unmatched"] == 1
    assert db.session.scalar(select(ReturnException.id).where(ReturnException.list_id == world["list"])
                             .order_by(ReturnException.id.desc())) == waiting.id

    since = last_seq()
    from tests.conftest import csrf_token
    token = csrf_token(page_html := browser.get(f"/payments/{world['list']}/return").get_data(as_text=True))
    assert f"/exceptions/{waiting.id}/resolve" in page_html
    response = browser.post(f"/payments/{world['list']}/return/exceptions/{waiting.id}/resolve",
                            data={"csrf_token": token, "note": "Ngân hàng chuyển nhầm, đã báo thu hồi"})
    assert response.status_code == 302
    db.session.rollback()
    resolved = db.session.get(ReturnException, waiting.id)
    assert (resolved.resolution, resolved.resolved_by_id) == ("Ngân hàng chuyển nhầm, đã báo thu hồi", officer.id)
    (record,) = [r for r in audit_records(since) if r.action == "payment_return.resolve"]
    assert json.loads(record.detail)["exception"] == waiting.id
    twice = browser.post(f"/payments/{world['list']}/return/exceptions/{waiting.id}/resolve",
                         data={"csrf_token": token, "note": "lần nữa"}, follow_redirects=True)
    assert "Dòng này đã được xử lý." in text_of(twice)


def test_the_upload_page_sends_the_file_to_its_jobs_page(app, world, people, make_client):
    browser = make_client(people["supervisor"])
    page = browser.get(f"/payments/{world['list']}/return").get_data(as_text=True)
    from tests.conftest import csrf_token
    response = browser.post(f"/payments/{world['list']}/return", data={
        "csrf_token": csrf_token(page), "file": (BytesIO(the_return(world, REPLIES)), "tra-ve.xlsx")},
        content_type="multipart/form-data")
    assert response.status_code == 302 and "/lists/" in response.headers["Location"]
    job = db.session.scalars(select(ListJob).order_by(ListJob.id.desc())).first()
    assert (job.payment_list_id, job.province_id) == (world["list"], people["supervisor"].province_id)
    jobs.work_queued(app, "test-worker")
    shown = text_of(browser.get(response.headers["Location"]))      # the lists' own page: preview, confirm
    assert "Đã chi trả: chuyển sang nhận qua tài khoản" in shown and "Xác nhận nhập" in shown
    assert "tra-ve.xlsx" in text_of(browser.get(f"/payments/{world['list']}/return"))
    refused = browser.post(f"/payments/{world['list']}/return", data={
        "csrf_token": csrf_token(page), "file": (BytesIO(b"%PDF-1.4 not a sheet"), "tra-ve.xlsx")},
        content_type="multipart/form-data")
    assert refused.status_code == 400 and "không phải là bảng tính" in text_of(refused)


@pytest.mark.parametrize("name, reason", [
    ("Tài khoản đã đóng", "account_closed"), ("TK đã đóng", "account_closed"), ("Sai số tài khoản", "wrong_number"),
    ("Tài khoản không tồn tại", "wrong_number"), ("Tên không khớp", "name_mismatch"), ("Lý do khác lạ", "other"),
])
def test_the_providers_reasons_map_to_the_failure_forms_choices(name, reason):
    assert failure_reason(name)[0] == reason


def test_unreadable_rows_are_rejected_with_their_reason(app, world, people):
    replies = dict(REPLIES, paid=("Đang xử lý", None, None))
    found = PAYMENT_RETURN.preview(db.session, scope_of(people["officer"], world["list"]),
                                   the_return(world, replies), "tra-ve.xlsx", lambda done, total: None)
    db.session.rollback()
    assert found.counts["rejected"] == 1
    assert found.rejected[0].reasons == ("Kết quả «Đang xử lý» không rõ: hãy ghi «Đã chi trả» hoặc «Chưa chi trả».",)


# -- the file-safety corpus: every hostile file the other importers face, refused before calamine

CORPUS = {
    "empty": b"",
    "pdf": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n",
    "csv": "STT,Họ và tên\n1,Hoàng Văn Thụ\n".encode(),
    "encrypted": compound_file({"EncryptionInfo": bytes(4096), "EncryptedPackage": bytes(8192)}),
    "damaged": xlsx(MESS)[:-200],
    "bomb": with_part(xlsx(MESS), "xl/worksheets/sheet1.xml", b" " * (3 * 1024 * 1024)),
    "lying_size": declare_size(with_part(xlsx(MESS), "xl/media/padding.bin", bytes(1000)), "xl/media/padding.bin",
                               401 * 1024 * 1024),
    "billion_laughs": with_part(xlsx(MESS), "xl/sharedStrings.xml", LAUGHS),
    "xxe": with_part(xlsx(MESS), "xl/worksheets/sheet1.xml", XXE),
    "far_cell": with_part(xlsx(MESS), "xl/worksheets/sheet1.xml", FAR_SHEET),
}


@pytest.mark.parametrize("name", list(CORPUS))
def test_the_file_safety_corpus_is_refused_by_the_return_importer(world, people, name):
    officer = people["officer"]
    with write_intent(), pytest.raises(DomainError) as at_upload:     # an empty upload: "choose a file"
        upload_return(db.session, actor_of(officer), officer, world["list"], "tra-ve.xlsx", CORPUS[name], utcnow())
    db.session.rollback()
    with pytest.raises(UnsafeFile) as at_preview:
        PAYMENT_RETURN.preview(db.session, scope_of(officer, world["list"]), CORPUS[name], "tra-ve.xlsx",
                               lambda done, total: None)
    if name != "empty":
        assert isinstance(at_upload.value, UnsafeFile) and at_preview.value.message == at_upload.value.message
    assert db.session.scalar(select(ListJob.id)) is None


# -- who may import, and for which list

def test_a_draft_list_is_refused(app, people, make_case):
    plist = signed(people, sign=False)
    officer = people["officer"]
    with write_intent(), pytest.raises(DomainError) as refused:
        upload_return(db.session, actor_of(officer), officer, plist.id, "tra-ve.xlsx", xlsx(MESS), utcnow())
    assert "chưa được ký duyệt" in refused.value.message
    db.session.rollback()
    with pytest.raises(DomainError):
        PAYMENT_RETURN.preview(db.session, scope_of(officer, plist.id), xlsx(MESS), "tra-ve.xlsx",
                               lambda done, total: None)


def test_a_user_of_another_province_is_refused(app, world, make_user, make_client):
    other = make_user(Role.SUPERVISOR, province=OTHER_PROVINCE)
    commune_officer = make_user(Role.OFFICER, communes=(BINH_GIA,))
    data = the_return(world, REPLIES)
    for user in (other, commune_officer):
        with write_intent(), pytest.raises(NotPermitted):
            upload_return(db.session, actor_of(user), user, world["list"], "tra-ve.xlsx", data, utcnow())
        db.session.rollback()
    with pytest.raises(NotPermitted):
        PAYMENT_RETURN.preview(db.session, scope_of(other, world["list"]), data, "tra-ve.xlsx",
                               lambda done, total: None)
    assert make_client(other).get(f"/payments/{world['list']}/return").status_code == 404
    assert db.session.scalar(select(ListJob.id)) is None


def test_the_general_upload_form_does_not_take_a_return_without_its_list(app, people):
    officer = people["officer"]
    from cases.models.lists import ListKind
    with write_intent(), pytest.raises(DomainError) as refused:
        jobs.enqueue(db.session, actor_of(officer), officer, ListKind.PAYMENT_RETURN, None, "tra-ve.xlsx", xlsx(MESS),
                     utcnow())
    assert "trang danh sách chi trả" in refused.value.message


@pytest.mark.parametrize("cell, read", [
    ("  Nguyễn   Văn\u00a0Minh\t", "Nguyễn Văn"), ("GD0001", "GD0001"), ("", None), (" \u00a0 ", None),
    (123, "123"), (0, "0"), (12.0, "12"), (12.5, "12.5"), (True, "True"), (None, None),
    (date(2026, 11, 5), "05/11/2026")])
def test_a_cell_is_read_as_text_whatever_its_type(cell, read):
    """A return's text cells (name, account, reference, reason) trimmed, their spaces made one,
    cut to the field's length; numbers without ".0", dates as dd/mm/yyyy."""
    assert cell_text(cell, 10) == read
