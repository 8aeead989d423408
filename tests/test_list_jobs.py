"""The list jobs' mechanism (cases.lists.jobs) with a kind the tests control: upload, claim,
preview, confirm, import a chunk per commit, failures midway, a killed worker resumed, two workers
claiming at once, and what the audit trail says of it all."""
from __future__ import annotations

import io
import json
import sys
import threading
import types
from datetime import timedelta
from functools import lru_cache

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cases.audit import verify_chain
from cases.changes import utcnow
from cases.errors import DomainError
from cases.lists import jobs
from cases.lists import kinds as kinds_module
from cases.lists.kinds import Preview, Rejected
from cases.models import AuditRecord, Case, ListJob, User
from cases.models.lists import ListJobState as St, ListKind
from cases.organisation import commune_by_code
from cases.registration import register_case
from cases.roles import Role
from cases.users import actor_of
from extensions import db, write_intent
from tests.conftest import BINH_GIA, TAN_VAN, person

NAMES = ["Hoàng Văn An", "Lục Thị Bình", "", "Vi Văn Cường", "Nông Thị Dung", "Lý Văn Em", "Hà Thị Gấm"]
MISSING_NAME = "Thiếu họ và tên."


class Killed(BaseException):
    """The process dies midway (nothing of the worker's own handling runs)."""


class FakeList:
    """A beneficiary list of one column, "Họ và tên": each named row becomes a case through
    `register_case`, `chunk` rows per checkpoint; a row without a name is rejected. `fail_at` makes
    `apply` raise `failure` on reaching that row (0-based among data rows), after registering the
    rows before it in the chunk; `pause` slows each chunk (the browser test watches the bar)."""
    kind = ListKind.BENEFICIARIES
    label = "Danh sách đối tượng của xã"
    outcomes = {"created": "Tạo mới", "rejected": "Bị loại"}

    def __init__(self, chunk: int = 2, fail_at: int | None = None, failure: type[BaseException] = RuntimeError,
                 pause: float = 0.0, on_progress=None, after_chunk=None, plan: bytes | None = None):
        self.chunk, self.fail_at, self.failure, self.pause = chunk, fail_at, failure, pause
        self.on_progress, self.after_chunk = on_progress, after_chunk
        self.plan, self.plans_given = plan, []     # the plan its preview makes; those its imports were given

    @staticmethod
    def names(data: bytes) -> list[str]:
        sheet = load_workbook(io.BytesIO(data), read_only=True).active
        return [(row[0] or "").strip() for row in sheet.iter_rows(min_row=2, values_only=True)]

    def preview(self, session, scope, data, filename, progress) -> Preview:
        names = self.names(data)
        rejected = [Rejected(n + 2, None, (MISSING_NAME,)) for n, name in enumerate(names) if not name]
        for done in range(1, len(names) + 1):
            progress(done, len(names))
            if self.on_progress:
                self.on_progress(done)
        return Preview(total=len(names), counts={"created": len(names) - len(rejected), "rejected": len(rejected)},
                       rejected=rejected, columns=[("Họ và tên", "full_name")], ignored=["Ghi chú"],
                       rejected_workbook=rejected_workbook(rejected) if rejected else None, plan=self.plan)

    def apply(self, session, scope, data, filename, start_row, checkpoint, plan=None) -> None:
        import time

        self.plans_given.append(plan)

        names, counts = self.names(data), {}
        for index in range(start_row, len(names)):
            if index == self.fail_at:
                raise self.failure("the kind fails on purpose")
            if names[index]:
                register_case(session, scope.actor, scope.user,
                              person(full_name=names[index], commune_id=scope.commune_id), scope.today)
                counts["created"] = counts.get("created", 0) + 1
            else:
                counts["rejected"] = counts.get("rejected", 0) + 1
            if (index + 1) % self.chunk == 0 or index + 1 == len(names):
                session.flush()
                time.sleep(self.pause)
                checkpoint(index + 1, counts)
                counts = {}
                if self.after_chunk:
                    self.after_chunk(index + 1)

    def template(self) -> bytes:
        return workbook([])


def workbook(names: list[str]) -> bytes:
    """The list's file; the same bytes each time for the same names (openpyxl dates a workbook, and
    its zip's members, by the second it is saved in: a test comparing a stored upload with the
    file failed when the two fell in different seconds)."""
    return _workbook(tuple(names))


@lru_cache(maxsize=None)
def _workbook(names: tuple[str, ...]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(["Họ và tên"])
    for name in names:
        sheet.append([name or None])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def rejected_workbook(rejected: list[Rejected]) -> bytes:
    book = Workbook()
    book.active.append(["Họ và tên", "Lý do"])
    for row in rejected:
        book.active.append([row.name, "; ".join(row.reasons)])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.fixture
def use_kind(monkeypatch):
    """use_kind(kind): the app's only kind of list is `kind`, for this test."""
    def use(kind) -> FakeList:
        monkeypatch.setattr(kinds_module, "kinds", lambda: {kind.kind: kind})
        return kind
    return use


@pytest.fixture(autouse=True)
def sheets_safety(monkeypatch):
    """cases.sheets.safety is written by another helper at the same time; until it lands, uploads
    here go through a pass-through `check_file` (the refusal itself is tested only with the real one)."""
    try:
        import cases.sheets.safety  # noqa: F401
    except ModuleNotFoundError:
        stand_in = types.ModuleType("cases.sheets.safety")
        stand_in.check_file = lambda data, filename, max_bytes=None: "xlsx"
        monkeypatch.setitem(sys.modules, "cases.sheets.safety", stand_in)


@pytest.fixture
def officer(make_user):
    return make_user(Role.OFFICER, communes=(BINH_GIA,))


def upload(user, names=NAMES, commune=BINH_GIA, filename="danh-sach.xlsx") -> int:
    with write_intent():
        job = jobs.enqueue(db.session, actor_of(user), user, ListKind.BENEFICIARIES,
                           commune_by_code(db.session, commune).id, filename, workbook(names), utcnow())
        job_id = job.id
        db.session.commit()
    return job_id


def fresh(job_id: int) -> ListJob:
    db.session.rollback()
    return db.session.scalars(select(ListJob).where(ListJob.id == job_id).execution_options(populate_existing=True)).one()


def claim_and_work(app, worker: str = "w1") -> St | None:
    job_id = jobs.claim(db.engine, worker, utcnow())
    assert job_id is not None
    return jobs.work(app, job_id, worker)


def confirm(user, job_id: int) -> None:
    with write_intent():
        jobs.confirm(db.session, actor_of(user), user, fresh(job_id))
        db.session.commit()


def actions() -> list[str]:
    db.session.rollback()
    return list(db.session.scalars(select(AuditRecord.action).where(AuditRecord.action != "user.create")
                                   .order_by(AuditRecord.seq)))


def case_names() -> list[str]:
    db.session.rollback()
    return sorted(db.session.scalars(select(Case.full_name)))


def test_a_list_is_uploaded_previewed_confirmed_and_imported(app, use_kind, officer):
    use_kind(FakeList(chunk=2))
    job_id = upload(officer)
    job = fresh(job_id)
    assert job.state is St.QUEUED_PREVIEW and job.rows_done == 0 and job.content == workbook(NAMES)
    assert len(job.content_sha256) == 64 and job.size_bytes == len(job.content)

    assert claim_and_work(app) is St.PREVIEWED
    job = fresh(job_id)
    assert (job.rows_total, job.rows_done) == (7, 7)
    assert json.loads(job.counts) == {"created": 6, "rejected": 1}
    preview = json.loads(job.preview)
    assert preview["rejected"] == [{"row": 4, "name": None, "reasons": [MISSING_NAME]}]
    assert preview["columns"] == [["Họ và tên", "full_name"]] and preview["ignored"] == ["Ghi chú"]
    assert job.rejected_workbook is not None
    assert case_names() == []                                   # the preview wrote nothing

    confirm(officer, job_id)
    job = fresh(job_id)
    assert job.state is St.QUEUED_IMPORT and job.rows_done == 0 and job.counts is None
    assert claim_and_work(app) is St.DONE
    job = fresh(job_id)
    assert job.state is St.DONE and job.rows_done == 7 and job.finished_at is not None
    assert json.loads(job.counts) == {"created": 6, "rejected": 1}
    assert job.content is None and len(job.content_sha256) == 64       # the file dropped, its hash kept
    assert case_names() == sorted(n for n in NAMES if n)
    assert actions() == ["list_job.upload", "list_job.previewed", "list_job.confirm"] + ["case.create"] * 6 + ["list_job.done"]
    done = db.session.scalars(select(AuditRecord).where(AuditRecord.action == "list_job.done")).one()
    assert json.loads(done.detail) == {"job": job_id, "counts": {"created": 6, "rejected": 1}}
    assert done.actor_id == officer.id                          # the import is the uploader's act
    assert verify_chain(db.session).ok


@pytest.mark.parametrize("fail_at", [None, 3])
def test_the_preview_plan_is_kept_for_the_import_and_dropped_with_the_file(app, use_kind, officer, fail_at):
    """What a kind's preview makes for its import is stored with the job, given to the import, and
    dropped with the file when the job ends, done or failed."""
    plan = "dòng 1–7 đã đọc".encode() * 1000
    kind = use_kind(FakeList(chunk=2, plan=plan, fail_at=fail_at))
    job_id = upload(officer)
    assert claim_and_work(app) is St.PREVIEWED
    assert fresh(job_id).plan == plan
    confirm(officer, job_id)
    assert claim_and_work(app) is (St.DONE if fail_at is None else St.FAILED)
    assert kind.plans_given == [plan]
    job = fresh(job_id)
    assert (job.plan, job.content) == (None, None)


def test_a_kind_without_a_plan_is_given_none(app, use_kind, officer):
    kind = use_kind(FakeList(chunk=2))
    job_id = upload(officer)
    claim_and_work(app)
    confirm(officer, job_id)
    assert claim_and_work(app) is St.DONE
    assert kind.plans_given == [None] and fresh(job_id).plan is None


def test_the_preview_commits_its_progress_as_it_goes(app, use_kind, officer, monkeypatch):
    seen = []

    def look(done):                      # what another tab's request would read at this moment
        with Session(db.engine) as other:
            seen.append(other.scalar(select(ListJob.rows_done).where(ListJob.id == job_id)))
    monkeypatch.setattr(jobs, "PROGRESS_EVERY", 2)
    use_kind(FakeList(on_progress=look))
    job_id = upload(officer)
    claim_and_work(app)
    assert seen == [0, 2, 2, 4, 4, 6, 7]
    assert fresh(job_id).state is St.PREVIEWED


@pytest.mark.parametrize("failure, message", [
    (RuntimeError, "Có lỗi bất ngờ khi xử lý danh sách. Các phần đã nhập được giữ nguyên; hãy báo quản trị hệ thống."),
    (lambda _text: DomainError("Tệp danh sách đã thay đổi."), "Tệp danh sách đã thay đổi."),
])
def test_a_kind_failing_midway_leaves_exactly_the_committed_chunks(app, use_kind, officer, failure, message):
    use_kind(FakeList(chunk=2))
    job_id = upload(officer)
    claim_and_work(app)
    confirm(officer, job_id)
    use_kind(FakeList(chunk=2, fail_at=5, failure=failure))      # row 4 is registered, then row 5 fails
    assert claim_and_work(app) is St.FAILED
    job = fresh(job_id)
    assert job.state is St.FAILED and job.error == message
    assert job.rows_done == 4 and json.loads(job.counts) == {"created": 3, "rejected": 1}
    assert job.content is None
    assert case_names() == sorted(["Hoàng Văn An", "Lục Thị Bình", "Vi Văn Cường"])   # not "Nông Thị Dung"
    assert actions().count("case.create") == 3
    assert actions()[-1] == "list_job.failed"
    failed = db.session.scalars(select(AuditRecord).where(AuditRecord.action == "list_job.failed")).one()
    assert failed.outcome == "failed" and failed.reason == message
    assert verify_chain(db.session).ok


def test_a_killed_worker_is_requeued_and_the_next_one_resumes_without_doing_anything_twice(app, use_kind, officer):
    use_kind(FakeList(chunk=2))
    job_id = upload(officer)
    claim_and_work(app)
    confirm(officer, job_id)
    use_kind(FakeList(chunk=2, fail_at=5, failure=Killed))
    with pytest.raises(Killed):
        claim_and_work(app, "dead-worker")
    job = fresh(job_id)
    assert job.state is St.IMPORTING and job.worker == "dead-worker" and job.rows_done == 4
    assert len(case_names()) == 3

    with write_intent():                              # not stale yet: left alone
        assert jobs.requeue_stale(db.session, utcnow(), timedelta(minutes=5)) == 0
        assert jobs.requeue_stale(db.session, utcnow() + timedelta(minutes=6), timedelta(minutes=5)) == 1
        db.session.commit()
    job = fresh(job_id)
    assert job.state is St.QUEUED_IMPORT and job.worker is None and job.rows_done == 4

    use_kind(FakeList(chunk=2))
    assert claim_and_work(app, "w2") is St.DONE
    job = fresh(job_id)
    assert job.rows_done == 7 and json.loads(job.counts) == {"created": 6, "rejected": 1}
    assert case_names() == sorted(n for n in NAMES if n)                   # each once
    assert actions().count("case.create") == 6 and "list_job.requeued" in actions()
    assert verify_chain(db.session).ok


def test_a_worker_swept_as_stale_while_it_runs_stops_at_its_next_checkpoint(app, use_kind, officer):
    """It paused (a long GC, a frozen VM) past the stale limit; its job was requeued and claimed by
    another worker. Its next chunk is rolled back; the other resumes after its last commit."""
    use_kind(FakeList(chunk=2))
    job_id = upload(officer)
    claim_and_work(app)
    confirm(officer, job_id)

    def swept(done):
        if done == 2:
            with write_intent(), Session(db.engine) as other:
                jobs.requeue_stale(other, utcnow() + timedelta(hours=1), timedelta(minutes=5))
                other.commit()
            assert jobs.claim(db.engine, "other", utcnow()) == job_id
    use_kind(FakeList(chunk=2, after_chunk=swept))
    assert claim_and_work(app, "paused") is None
    job = fresh(job_id)
    assert (job.state, job.worker, job.rows_done) == (St.IMPORTING, "other", 2)
    assert len(case_names()) == 2
    use_kind(FakeList(chunk=2))
    assert jobs.work(app, job_id, "other") is St.DONE
    assert case_names() == sorted(n for n in NAMES if n)
    assert verify_chain(db.session).ok


def test_a_worker_whose_claim_was_swept_writes_nothing(app, use_kind, officer):
    """Its job was requeued and taken by another worker before it began: it leaves it alone."""
    use_kind(FakeList(chunk=2))
    job_id = upload(officer)
    claim_and_work(app)
    confirm(officer, job_id)
    slow = jobs.claim(db.engine, "slow", utcnow())
    with write_intent():
        jobs.requeue_stale(db.session, utcnow() + timedelta(hours=1), timedelta(minutes=5))
        db.session.commit()
    assert claim_and_work(app, "fast") is St.DONE
    assert jobs.work(app, slow, "slow") is None               # no longer its job: writes nothing
    assert case_names() == sorted(n for n in NAMES if n)


def test_a_previewing_worker_that_died_is_requeued_to_preview_again(app, use_kind, officer):
    use_kind(FakeList())
    job_id = upload(officer)
    assert jobs.claim(db.engine, "dead", utcnow()) == job_id
    with write_intent():
        jobs.requeue_stale(db.session, utcnow() + timedelta(minutes=10), timedelta(minutes=5))
        db.session.commit()
    assert fresh(job_id).state is St.QUEUED_PREVIEW
    assert jobs.work(app, job_id, "dead") is None               # the dead one's claim is gone
    assert claim_and_work(app, "w2") is St.PREVIEWED


def test_the_oldest_queued_job_is_claimed_first_and_a_claimed_one_never_again(app, use_kind, officer):
    use_kind(FakeList())
    first, second = upload(officer), upload(officer)
    now = utcnow()
    assert jobs.claim(db.engine, "w1", now) == first
    assert jobs.claim(db.engine, "w2", now) == second
    assert jobs.claim(db.engine, "w3", now) is None
    assert fresh(first).state is St.PREVIEWING and fresh(first).worker == "w1"


def test_two_workers_claiming_at_once_never_take_the_same_job(app, use_kind, officer):
    use_kind(FakeList())
    ids = {upload(officer) for _ in range(8)}
    taken: dict[str, list[int]] = {"a": [], "b": []}
    start, engine = threading.Barrier(2), db.engine

    def worker(name):
        start.wait()
        while (job_id := jobs.claim(engine, name, utcnow())) is not None:
            taken[name].append(job_id)
    threads = [threading.Thread(target=worker, args=(name,)) for name in taken]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(taken["a"] + taken["b"]) == sorted(ids)                 # each once
    db.session.rollback()
    workers = dict(db.session.execute(select(ListJob.id, ListJob.worker)).all())
    assert all(workers[i] == name for name, claimed in taken.items() for i in claimed)


@pytest.mark.postgresql
def test_on_postgresql_a_claim_skips_the_job_another_connection_is_claiming(app, use_kind, officer):
    use_kind(FakeList())
    first, second = upload(officer), upload(officer)
    with db.engine.connect() as other:
        busy = other.begin()
        other.execute(select(ListJob.id).where(ListJob.id == first).with_for_update())   # mid-claim
        assert jobs.claim(db.engine, "w2", utcnow()) == second           # not blocked, not the same
        busy.rollback()
    assert jobs.claim(db.engine, "w1", utcnow()) == first
    assert jobs.claim(db.engine, "w3", utcnow()) is None


def test_confirm_and_cancel_only_from_the_preview_and_only_by_who_may(app, use_kind, officer, make_user):
    use_kind(FakeList())
    job_id = upload(officer)
    with write_intent(), pytest.raises(DomainError):
        jobs.confirm(db.session, actor_of(officer), officer, fresh(job_id))        # not previewed yet
    db.session.rollback()
    claim_and_work(app)
    colleague = make_user(Role.OFFICER, communes=(BINH_GIA,))
    auditor = make_user(Role.AUDITOR, province="20")
    from cases.errors import NotPermitted
    for who in (colleague, auditor):
        with write_intent(), pytest.raises(NotPermitted):
            jobs.cancel(db.session, actor_of(who), who, fresh(job_id))
        db.session.rollback()
    supervisor = make_user(Role.SUPERVISOR, communes=(BINH_GIA,))
    with write_intent():
        jobs.cancel(db.session, actor_of(supervisor), supervisor, fresh(job_id))
        db.session.commit()
    job = fresh(job_id)
    assert job.state is St.CANCELLED and job.content is None and job.finished_at is not None
    with write_intent(), pytest.raises(DomainError):
        jobs.confirm(db.session, actor_of(officer), officer, job)
    assert actions()[-1] == "list_job.cancel"


def test_upload_checks_the_writer_and_the_scope(app, use_kind, officer, make_user):
    use_kind(FakeList())
    from cases.errors import NotPermitted
    auditor = make_user(Role.AUDITOR, province="20")
    with pytest.raises(NotPermitted):
        upload(auditor)
    with pytest.raises(DomainError, match="phạm vi"):
        upload(officer, commune=TAN_VAN)
    with write_intent(), pytest.raises(DomainError, match="Hãy chọn tệp"):
        jobs.enqueue(db.session, actor_of(officer), officer, ListKind.BENEFICIARIES,
                     commune_by_code(db.session, BINH_GIA).id, "x.xlsx", b"", utcnow())
    with write_intent(), pytest.raises(DomainError, match="xã/phường"):       # a commune list needs its commune
        jobs.enqueue(db.session, actor_of(officer), officer, ListKind.BENEFICIARIES, None, "x.xlsx",
                     workbook(NAMES), utcnow())
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(ListJob)) == 0


def test_an_unsafe_file_is_refused_at_upload_with_its_message(app, use_kind, officer):
    safety = pytest.importorskip("cases.sheets.safety")
    if not hasattr(safety, "UnsafeFile"):
        pytest.skip("cases.sheets.safety has not landed")
    use_kind(FakeList())
    with write_intent(), pytest.raises(safety.UnsafeFile) as refused:
        jobs.enqueue(db.session, actor_of(officer), officer, ListKind.BENEFICIARIES,
                     commune_by_code(db.session, BINH_GIA).id, "thu.pdf", b"%PDF-1.4\n" + b"x" * 200, utcnow())
    assert refused.value.message
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(ListJob)) == 0
    assert "list_job.upload" not in actions()


def test_progress_says_the_state_the_rows_and_the_counts(app, use_kind, officer):
    use_kind(FakeList())
    job_id = upload(officer)
    assert jobs.progress(fresh(job_id)) | {"id": 0} == {
        "id": 0, "state": "queued_preview", "label": "Đang chờ đọc và kiểm tra", "rows_done": 0, "rows_total": None,
        "percent": 0, "counts": {}, "working": True, "finished": False, "error": None}
    claim_and_work(app)
    confirm(officer, job_id)
    assert jobs.claim(db.engine, "w", utcnow()) == job_id
    with write_intent():                    # as the worker's first checkpoints leave it
        db.session.execute(jobs._mine(job_id, "w", St.IMPORTING).values(rows_done=3, counts='{"created": 3}'))
        db.session.commit()
    shown = jobs.progress(fresh(job_id))
    assert (shown["state"], shown["label"], shown["percent"], shown["counts"]) == ("importing", "Đang nhập", 42, {"created": 3})


def test_flask_lists_work_works_every_queued_job(app, use_kind, officer):
    from cases.lists.cli import lists_cli

    use_kind(FakeList())
    first, second = upload(officer), upload(officer)
    result = app.test_cli_runner().invoke(lists_cli, ["work"])
    assert result.exit_code == 0, result.output
    assert "worked 2 list job(s)" in result.output
    assert fresh(first).state is St.PREVIEWED and fresh(second).state is St.PREVIEWED


def test_the_scheduler_works_list_jobs_only_while_it_holds_the_lease(app, use_kind, officer):
    from scheduler.process import Runner

    use_kind(FakeList())
    job_id = upload(officer)
    standby = Runner(app, holder="standby")
    assert standby.work_lists() == 0 and fresh(job_id).state is St.QUEUED_PREVIEW
    active = Runner(app, holder="active")
    active.poll(submit=lambda fn, *args: None)
    assert active.work_lists() == 1
    job = fresh(job_id)
    assert job.state is St.PREVIEWED and job.worker == "active"


def test_a_list_whose_uploader_was_disabled_is_not_worked(app, use_kind, officer):
    from cases.audit import Actor
    from cases.user_admin import disable_user

    use_kind(FakeList())
    job_id = upload(officer)
    with write_intent():
        disable_user(db.session, Actor.system("test"), None, db.session.get(User, officer.id))
        db.session.commit()
    assert claim_and_work(app) is St.FAILED
    assert fresh(job_id).error.startswith("Tài khoản của người tải lên không còn quyền nhập danh sách")
    assert case_names() == [] and actions()[-1] == "list_job.failed"
