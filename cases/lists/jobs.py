"""The list jobs' mechanism (issue 16): an upload becomes a job row; a worker claims it, previews
it (reads and checks, writes nothing), and after the user confirms imports it a chunk per commit.

Claims, progress during the preview and the stale sweep are short transactions of their own, so a
page in another tab sees them at once. During the import each chunk's cases, their audit records
and the job's `rows_done` land in one commit (the kind's `checkpoint`), so a worker that dies
leaves exactly the committed chunks and the next one resumes from `rows_done`. Every write of a
worker is conditional on the job still being claimed by it: a worker swept as stale and still
running stops at its next checkpoint instead of writing a chunk twice.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
from contextlib import contextmanager
from dataclasses import asdict
from datetime import datetime, timedelta

from flask import Flask
from flask_babel import gettext as _, lazy_gettext as _l
from sqlalchemy import func, or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from werkzeug.exceptions import NotFound

from cases import audit
from cases.access import commune_ids, may_see_commune
from cases.audit import Actor
from cases.changes import local_today, utcnow
from cases.errors import DomainError, NotPermitted
from cases.lists import kinds as kinds_module
from cases.lists.kinds import Preview, Scope
from cases.models import Commune, User
from cases.models.lists import CLAIMS, FINISHED, WORKING, ListJob, ListJobState as St, ListKind
from cases.registration import may_register
from cases.roles import Role
from cases.users import actor_of
from extensions import db, set_write_intent, write_intent

log = logging.getLogger(__name__)

PROGRESS_EVERY = 2000           # preview rows checked between two progress commits
PREVIEW_REJECTED_KEPT = 500     # rejected rows kept in the preview's JSON (the workbook has them all)
JOBS_LISTED = 50
SCOPE_READERS = frozenset({Role.SUPERVISOR, Role.AUDITOR})

STATE_LABELS = {
    St.QUEUED_PREVIEW: _l("Đang chờ đọc và kiểm tra"),
    St.PREVIEWING: _l("Đang đọc và kiểm tra"),
    St.PREVIEWED: _l("Chờ xác nhận"),
    St.QUEUED_IMPORT: _l("Đang chờ nhập"),
    St.IMPORTING: _l("Đang nhập"),
    St.DONE: _l("Đã nhập xong"),
    St.FAILED: _l("Không thành công"),
    St.CANCELLED: _l("Đã huỷ"),
}
QUEUED = {working: queued for queued, working in CLAIMS.items()}


def all_kinds() -> dict:
    """The kinds, looked up at each call (tests put a kind of their own in `cases.lists.kinds.kinds`)."""
    return kinds_module.kinds()


class LostClaim(Exception):
    """The job is no longer this worker's (swept as stale and claimed again): stop, write nothing."""


# --- The web side: upload, confirm, cancel, read ------------------------------------------------

def enqueue(session: Session, actor: Actor, user: User, kind: ListKind, commune_id: int | None, filename: str,
            data: bytes, now: datetime, payment_list_id: int | None = None) -> ListJob:
    """Store an uploaded list as a job waiting for its preview; flushed, audited.

    :raise NotPermitted: the user may not write cases.
    :raise DomainError: no file, a kind without that scope, a commune outside the user's scope, a
        provider's return without its payment list (or a list for another kind), or a file
        `cases.sheets.safety.check_file` refuses (its message).
    """
    if not may_register(user):
        raise NotPermitted(_("Tài khoản của bạn chỉ được xem, không được nhập danh sách."))
    if not isinstance(kind, ListKind) or kind not in all_kinds():
        raise DomainError(_("Hãy chọn loại danh sách."), "kind")
    if (kind is ListKind.PAYMENT_RETURN) != (payment_list_id is not None):
        raise DomainError(_("Tệp trả về của tổ chức chi trả được tải lên từ trang danh sách chi trả đã ký duyệt."),
                          "kind")
    province_id, commune = _unit(session, user, kind, commune_id)
    if not data:
        raise DomainError(_("Hãy chọn tệp danh sách cần tải lên."), "file")
    from cases.sheets.safety import check_file      # late: the reader's module loads its parsers
    check_file(data, filename)
    job = ListJob(kind=kind, state=St.QUEUED_PREVIEW, owner_id=user.id, province_id=province_id,
                  commune_id=commune.id if commune else None, filename=_plain_name(filename), size_bytes=len(data),
                  content_sha256=hashlib.sha256(data).hexdigest(), content=data, rows_done=0, created_at=now,
                  payment_list_id=payment_list_id)
    session.add(job)
    session.flush()
    audit.record(session, actor, "list_job.upload", detail={
        "job": job.id, "kind": kind.value, "commune": commune.code if commune else None,
        "filename": job.filename, "size": job.size_bytes, "sha256": job.content_sha256})
    return job


def _unit(session: Session, user: User, kind: ListKind, commune_id: int | None) -> tuple[int, Commune | None]:
    """(province id, commune) of a new job. A beneficiary list is one commune's; police results
    may be a whole province's, for a user who answers for the province."""
    if commune_id is None:
        if kind is ListKind.BENEFICIARIES or user.province_id is None:
            raise DomainError(_("Hãy chọn xã/phường của danh sách."), "commune")
        return user.province_id, None
    commune = session.get(Commune, commune_id)
    if commune is None or not may_see_commune(user, commune):
        raise DomainError(_("Xã/phường không thuộc phạm vi bạn quản lý."), "commune")
    return commune.province_id, commune


def _plain_name(filename: str) -> str:
    name = os.path.basename((filename or "").replace("\\", "/")).strip()
    return "".join(ch for ch in name if ch.isprintable())[:200] or "danh-sach"


def visible_to(user: User):
    """The WHERE clause of the jobs `user` sees: their own, and for a supervisor or auditor those of
    the communes (or the province) they answer for."""
    mine = ListJob.owner_id == user.id
    if not user.is_active or user.role not in SCOPE_READERS:
        return mine
    if user.province_id is not None:
        return or_(mine, ListJob.province_id == user.province_id)
    ids = commune_ids(user)
    return or_(mine, ListJob.commune_id.in_(ids)) if ids else mine


def get_job(session: Session, user: User, job_id: int) -> ListJob:
    """The job if `user` may see it. :raise NotFound: (404) no such job, or not the user's to see."""
    job = session.scalars(select(ListJob).where(ListJob.id == job_id, visible_to(user))).first()
    if job is None:
        raise NotFound()
    return job


def jobs_of(session: Session, user: User, limit: int = JOBS_LISTED) -> list[tuple[ListJob, str]]:
    """The jobs `user` sees, newest first, each with its uploader's name."""
    return [tuple(row) for row in session.execute(
        select(ListJob, User.full_name).join(User, User.id == ListJob.owner_id).where(visible_to(user))
        .order_by(ListJob.created_at.desc(), ListJob.id.desc()).limit(limit))]


def may_decide(user: User, job: ListJob) -> bool:
    """Its owner, or a supervisor whose scope holds its commune (its province, for a province job)."""
    if not user.is_active:
        return False
    if job.owner_id == user.id:
        return True
    if user.role is not Role.SUPERVISOR:
        return False
    if user.province_id is not None:
        return job.province_id == user.province_id
    return job.commune_id in (commune_ids(user) or [])


def confirm(session: Session, actor: Actor, user: User, job: ListJob) -> None:
    """The user has read the preview: queue the import (flushed, audited).

    :raise NotPermitted: neither its owner nor a supervisor of its scope.
    :raise DomainError: the job is not waiting for a confirmation (confirmed or cancelled already).
    """
    _decide(session, user, job, St.QUEUED_IMPORT,
            dict(rows_done=0, counts=None, started_at=None, heartbeat_at=None, worker=None))
    audit.record(session, actor, "list_job.confirm", detail={"job": job.id})


def cancel(session: Session, actor: Actor, user: User, job: ListJob) -> None:
    """Drop the job after its preview; the stored file goes with it. Raises as `confirm`."""
    _decide(session, user, job, St.CANCELLED, dict(content=None, plan=None, finished_at=utcnow()))
    audit.record(session, actor, "list_job.cancel", detail={"job": job.id})


def _decide(session: Session, user: User, job: ListJob, to: St, values: dict) -> None:
    if not may_decide(user, job):
        raise NotPermitted(_("Chỉ người tải lên hoặc lãnh đạo phụ trách được xác nhận hay huỷ danh sách này."))
    # Conditional: of two tabs (or two people) confirming at once, one wins.
    moved = session.execute(update(ListJob).where(ListJob.id == job.id, ListJob.state == St.PREVIEWED)
                            .values(state=to, **values).execution_options(synchronize_session=False)).rowcount
    if moved != 1:
        raise DomainError(_("Danh sách này không còn chờ xác nhận."))


def progress(job: ListJob) -> dict:
    """What the page and its JSON show of a job: its state, the rows done of all, the counts."""
    total, done = job.rows_total, job.rows_done or 0
    if job.state is St.DONE:
        percent = 100
    elif job.state in (St.QUEUED_PREVIEW, St.PREVIEWED, St.QUEUED_IMPORT, St.CANCELLED) and not done:
        percent = 0
    else:
        percent = min(100, int(done * 100 / total)) if total else 0
    return {"id": job.id, "state": job.state.value, "label": str(STATE_LABELS[job.state]), "rows_done": done,
            "rows_total": total, "percent": percent, "counts": json.loads(job.counts) if job.counts else {},
            "working": job.state in WORKING or job.state in QUEUED.values(), "finished": job.state in FINISHED,
            "error": job.error}


def preview_of(job: ListJob) -> dict | None:
    return json.loads(job.preview) if job.preview else None


# --- The worker's side ------------------------------------------------------------------------

def claim(engine_or_session: Engine | Session, worker: str, now: datetime, job_id: int | None = None) -> int | None:
    """Take the oldest queued job (or job `job_id`, when it is queued: `flask cases import` works
    its own) for `worker`, in a transaction of its own: its id, or None when none waits. Two
    workers never take the same job (SKIP LOCKED on PostgreSQL; on SQLite the writers are
    serialised and the UPDATE is conditional on the state read)."""
    engine = engine_or_session.get_bind() if isinstance(engine_or_session, Session) else engine_or_session
    postgres = engine.dialect.name == "postgresql"
    oldest = (select(ListJob.id, ListJob.state).where(ListJob.state.in_(list(CLAIMS)))
              .order_by(ListJob.created_at, ListJob.id).limit(1))
    if job_id is not None:
        oldest = oldest.where(ListJob.id == job_id)
    if postgres:
        oldest = oldest.with_for_update(skip_locked=True)
    with write_intent(), engine.begin() as conn:
        found = conn.execute(oldest).first()
        if found is None:
            return None
        queued = St(found.state)
        taken = conn.execute(update(ListJob).where(ListJob.id == found.id, ListJob.state == queued)
                             .values(state=CLAIMS[queued], worker=worker[:80], started_at=now, heartbeat_at=now))
        return found.id if taken.rowcount == 1 else None


def requeue_stale(session: Session, now: datetime, after: timedelta) -> int:
    """Put back in its queue each job whose worker has shown no sign of life for `after` (it died,
    or its host did): the next worker resumes it from `rows_done`. Flushed, audited; the number."""
    last_sign = func.coalesce(ListJob.heartbeat_at, ListJob.started_at)
    stale = list(session.execute(select(ListJob.id, ListJob.state, ListJob.worker)
                                 .where(ListJob.state.in_(list(WORKING)), last_sign < now - after)))
    requeued = 0
    for job_id, state, worker in stale:
        moved = session.execute(update(ListJob).where(ListJob.id == job_id, ListJob.state == state,
                                                      ListJob.worker == worker)
                                .values(state=QUEUED[state], worker=None)
                                .execution_options(synchronize_session=False)).rowcount
        if moved:
            requeued += 1
            audit.record(session, Actor.system("list-worker"), "list_job.requeued",
                         detail={"job": job_id, "state": state.value})
            log.warning("list job %d was left %s by a worker that stopped; queued again", job_id, state.value)
    return requeued


def work_queued(app: Flask, worker: str, stop=lambda: False) -> int:
    """Claim and work queued jobs one after another until none waits (or `stop()` says so); the
    number worked. `flask lists work` and the scheduler's worker both come here."""
    with app.app_context():
        engine = db.engine
    worked = 0
    while not stop():
        job_id = claim(engine, worker, utcnow())
        if job_id is None:
            return worked
        work(app, job_id, worker)
        worked += 1
    return worked


def work(app: Flask, job_id: int, worker: str) -> St | None:
    """Run the claimed job's current phase to its end; the state it ended in, or None when the
    job was no longer this worker's. A DomainError fails the job with its message; any other error
    too, with a generic message (the error logged in English). Nothing escapes."""
    worker = worker[:80]
    with app.app_context(), write_intent():
        session = db.session
        try:
            with _reading():
                job = session.scalars(select(ListJob).where(ListJob.id == job_id)).first()
                if job is None or job.state not in WORKING or job.worker != worker:
                    session.rollback()
                    return None
                run = _preview if job.state is St.PREVIEWING else _import
                scope = _scope(session, job)
            ended = run(session, job, scope, worker)
            log.info("list job %d: %s", job_id, ended.value)
            return ended
        except LostClaim:
            session.rollback()
            log.warning("list job %d was taken from worker %s; it stopped", job_id, worker)
            return None
        except DomainError as refusal:
            session.rollback()
            return _fail(session, job_id, worker, refusal.message)
        except Exception:  # noqa: BLE001 - one job's failure must not stop the worker
            session.rollback()
            log.exception("list job %d failed", job_id)
            return _fail(session, job_id, worker, _("Có lỗi bất ngờ khi xử lý danh sách. Các phần đã nhập "
                                                    "được giữ nguyên; hãy báo quản trị hệ thống."))


def _scope(session: Session, job: ListJob) -> Scope:
    """The uploader's scope: the list is their act, and is refused when they may no longer write.

    :raise DomainError: the uploader's account was disabled or no longer writes cases."""
    owner = session.get(User, job.owner_id)
    if not owner.is_active or not may_register(owner):
        raise DomainError(_("Tài khoản của người tải lên không còn quyền nhập danh sách; danh sách không được xử lý."))
    actor = actor_of(owner, None, f"list-job-{job.id}")
    return Scope(user=owner, actor=actor, province_id=job.province_id, commune_id=job.commune_id, today=local_today(),
                 payment_list_id=job.payment_list_id)


@contextmanager
def _reading():
    """Reads in a deferred transaction (SQLite): the preview must not hold the write lock for its
    whole length, stopping every writing request and its own progress commits."""
    set_write_intent(False)
    try:
        yield
    finally:
        set_write_intent(True)


def _preview(session: Session, job: ListJob, scope: Scope, worker: str) -> St:
    """Read and check the whole file in a transaction rolled back at the end (nothing written),
    the progress committed apart so the bar moves; then store what it found."""
    job_id, data, filename, kind = job.id, job.content, job.filename, all_kinds()[job.kind]
    engine, last = session.get_bind(), [0]

    def report(done: int, total: int) -> None:
        if done - last[0] >= PROGRESS_EVERY or done == total:
            last[0] = done
            with write_intent(), engine.begin() as conn:
                _still_mine(conn.execute(_mine(job_id, worker, St.PREVIEWING)
                                         .values(rows_done=done, rows_total=total, heartbeat_at=utcnow())))

    with _reading():
        found = kind.preview(session, scope, data, filename, report)
        session.rollback()
    _still_mine(session.execute(_mine(job_id, worker, St.PREVIEWING).values(
        state=St.PREVIEWED, rows_total=found.total, rows_done=found.total, counts=json.dumps(found.counts),
        preview=json.dumps(_preview_json(found), ensure_ascii=False), rejected_workbook=found.rejected_workbook,
        plan=found.plan, heartbeat_at=utcnow())))
    audit.record(session, scope.actor, "list_job.previewed",
                 detail={"job": job_id, "rows": found.total, "counts": found.counts})
    session.commit()
    return St.PREVIEWED


def _preview_json(found: Preview) -> dict:
    return {"total": found.total, "counts": found.counts, "rejected_count": len(found.rejected),
            "rejected": [asdict(r) for r in found.rejected[:PREVIEW_REJECTED_KEPT]],
            "columns": [list(c) for c in found.columns], "ignored": list(found.ignored)}


def _import(session: Session, job: ListJob, scope: Scope, worker: str) -> St:
    """Write the data rows from `rows_done` on, a chunk per commit; then mark the job done."""
    job_id, data, filename, start, kind = job.id, job.content, job.filename, job.rows_done or 0, all_kinds()[job.kind]
    plan = job.plan
    counts: dict[str, int] = json.loads(job.counts) if job.counts else {}
    session.rollback()      # the reads above were deferred; the chunks begin as writers

    def checkpoint(done: int, chunk: dict) -> None:
        for key, n in chunk.items():
            counts[key] = counts.get(key, 0) + n
        _still_mine(session.execute(_mine(job_id, worker, St.IMPORTING).values(
            rows_done=done, counts=json.dumps(counts), heartbeat_at=utcnow())))
        session.commit()

    kind.apply(session, scope, data, filename, start, checkpoint, plan=plan)
    now = utcnow()
    _still_mine(session.execute(_mine(job_id, worker, St.IMPORTING).values(
        state=St.DONE, finished_at=now, heartbeat_at=now, content=None, plan=None, counts=json.dumps(counts))))
    audit.record(session, scope.actor, "list_job.done", detail={"job": job_id, "counts": counts})
    session.commit()
    return St.DONE


def _mine(job_id: int, worker: str, state: St):
    return (update(ListJob).where(ListJob.id == job_id, ListJob.state == state, ListJob.worker == worker)
            .execution_options(synchronize_session=False))


def _still_mine(result) -> None:
    if result.rowcount != 1:
        raise LostClaim()


def _fail(session: Session, job_id: int, worker: str, message: str) -> St | None:
    """Mark the job failed with `message` (what was committed stays, counted in `counts`)."""
    now = utcnow()
    moved = session.execute(update(ListJob).where(ListJob.id == job_id, ListJob.state.in_(list(WORKING)),
                                                  ListJob.worker == worker)
                            .values(state=St.FAILED, error=message, finished_at=now, heartbeat_at=now, content=None,
                                    plan=None)
                            .execution_options(synchronize_session=False)).rowcount
    if moved != 1:
        session.rollback()
        return None
    owner = session.scalar(select(ListJob.owner_id).where(ListJob.id == job_id))
    user = session.get(User, owner)
    audit.record(session, actor_of(user, None, f"list-job-{job_id}"), "list_job.failed",
                 detail={"job": job_id}, outcome="failed", reason=message)
    session.commit()
    return St.FAILED


def template_of(kind: ListKind) -> bytes | None:
    """The kind's blank list to download, when it offers one."""
    made = getattr(all_kinds().get(kind), "template", None)
    return made() if made is not None else None

