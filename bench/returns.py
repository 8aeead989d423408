"""A provider's return of 100,000 rows reconciled (issue 18, Speed: `return_100k_s` ≤ 15 s).

`measure_return` builds, untimed and set-based, `rows` cases in `account_opening` with their
account numbers at a bank of their own, and that bank's signed list of the month with a line for
each; writes the bank's return (every row paid, a reference each, a total row); then times its
upload, preview and import as a list job runs them — the control totals checked, every line's
outcome stored, `confirm_account_payment` fired on every case with its audit record, committed.
On whatever database the app points at; not wired into bench/run.py.
"""
from __future__ import annotations

import hashlib
import json
import time
import uuid
from io import BytesIO

from flask import Flask
from openpyxl import Workbook
from sqlalchemy import func, select

from bench.measure import _bench_user
from cases.audit import Actor
from cases.bulk_write import BulkSink, allocate_ids
from cases.case_rows import BLANK_CASE, CASE_COLUMNS, CASE_TABLE
from cases.changes import local_today, utcnow
from cases.lists import jobs
from cases.models import Case, Commune, PaymentLine, PaymentList, PaymentListState, Province, ProviderKind, User
from cases.models.lists import ListJob, ListJobState
from cases.organisation import ensure_provider
from cases.payments.lists import _LINE_COLUMNS
from cases.payments.return_desk import upload_return
from cases.roles import Role
from cases.search import fold_name
from cases.users import actor_of
from extensions import db, write_intent
from workflow.states import CaseState

BENCH_ACTOR = Actor.system("bench")
_NAMES = ("Nguyễn Văn Minh", "Hoàng Thị Hoa", "Lương Văn Sơn", "Vi Thị Lan", "Nông Đức Thắng", "Hà Thị Mai")
_LINES = PaymentLine.__table__


def measure_return(app: Flask, rows: int = 100_000) -> dict:
    """Seconds to upload, preview and import a `rows`-row return (every row paid: a transition and
    an audit record each), as a list job runs them."""
    with app.app_context():
        province = _province()
        list_id, month = _signed_list(province, rows)
        username = _bench_user(f"bench.supervisor.p{province.id}", Role.SUPERVISOR, province_id=province.id)
        data = _the_return(list_id)
        db.session.remove()
    worker = f"bench-returns-{uuid.uuid4().hex[:8]}"
    started = time.perf_counter()
    with app.app_context(), write_intent():
        user = db.session.scalar(select(User).where(User.username == username))
        job_id = upload_return(db.session, actor_of(user, None, "bench-returns"), user, list_id, "tra-ve.xlsx", data,
                               utcnow()).id
        db.session.commit()
    _work(app, job_id, worker)
    with app.app_context(), write_intent():
        user = db.session.scalar(select(User).where(User.username == username))
        jobs.confirm(db.session, actor_of(user, None, "bench-returns"), user, db.session.get(ListJob, job_id))
        db.session.commit()
    _work(app, job_id, worker)
    elapsed = time.perf_counter() - started
    with app.app_context():
        job = db.session.get(ListJob, job_id)
        assert job.state is ListJobState.DONE, job.error
        counts = json.loads(job.counts)
        moved = db.session.scalar(select(func.count()).select_from(Case).where(
            Case.provider_id == db.session.get(PaymentList, list_id).provider_id,
            Case.status == CaseState.PAID_BY_ACCOUNT, Case.last_paid_month == month))
    return {"return_100k_s": round(elapsed, 3), "return_rows": rows, "return_confirmed": counts.get("confirmed", 0),
            "return_moved": moved}


def _work(app: Flask, job_id: int, worker: str) -> None:
    with app.app_context():
        engine = db.engine
    assert jobs.claim(engine, worker, utcnow(), job_id) == job_id
    jobs.work(app, job_id, worker)


def _province() -> Province:
    found = db.session.scalar(select(Province).where(Province.code == "20"))
    if found is None:
        found = db.session.get(Province, db.session.scalar(select(Commune.province_id).order_by(Commune.id).limit(1)))
    return found


def _signed_list(province: Province, rows: int):
    """A bank of its own, `rows` cases awaiting their first payment there, and its signed list of
    this month: (the list's id, the month)."""
    month = local_today().replace(day=1)
    communes = db.session.scalars(select(Commune.id).where(Commune.province_id == province.id)
                                  .order_by(Commune.id)).all()
    now = utcnow()
    stamp = now.isoformat(" ", "microseconds")
    with write_intent():
        short = f"BENCH-{uuid.uuid4().hex[:6].upper()}"
        provider = ensure_provider(db.session, province, short, f"Ngân hàng thử {short}", ProviderKind.BANK)
        ids = allocate_ids(db.session, CASE_TABLE, rows)
        cases = []
        for n, case_id in enumerate(ids):
            name = _NAMES[n % len(_NAMES)]
            group = "ncc" if n % 3 == 0 else "btxh"
            cases.append(BLANK_CASE | {
                "id": case_id, "status": CaseState.ACCOUNT_OPENING.value, "province_id": province.id,
                "commune_id": communes[n % len(communes)], "full_name": name, "name_folded": fold_name(name),
                "name_given_first": fold_name(name), "birth_date": "1950-01-01", "sex": "male", "policy_group": group,
                "category_code": "D5.K5a.1" if group == "btxh" else "PL02.D3.c", "monthly_amount": 540_000,
                "payment_method": "account", "provider_id": provider.id, "account_holder": "self",
                "account_number": f"88{case_id:010d}", "state_entered_at": stamp, "created_at": stamp,
                "updated_at": stamp})
        sink = BulkSink(db.session)
        sink.write(CASE_TABLE, CASE_COLUMNS, [tuple(case[c] for c in CASE_COLUMNS) for case in cases])
        sink.finish([CASE_TABLE])
        totals = {key: {"count": 0, "amount": 0} for key in ("btxh", "ncc", "all")}
        for case in cases:
            for key in (case["policy_group"], "all"):
                totals[key]["count"] += 1
                totals[key]["amount"] += 540_000
        plist = PaymentList(provider_id=provider.id, province_id=province.id, month=month,
                            state=PaymentListState.SIGNED, cut_off_at=now, drafted_at=now, signed_at=now,
                            totals=json.dumps(totals, sort_keys=True), line_count=rows, total_amount=rows * 540_000,
                            workbook=b"bench", sha256=hashlib.sha256(b"bench").hexdigest())
        db.session.add(plist)
        db.session.flush()
        line_ids = allocate_ids(db.session, _LINES, rows)
        BulkSink(db.session).write(_LINES, _LINE_COLUMNS, [
            (line_id, plist.id, case["id"], case["commune_id"], case["policy_group"], case["full_name"], None, False,
             case["full_name"], case["account_number"], 540_000, 0, 540_000, "new", "first_list")
            for line_id, case in zip(line_ids, cases)])
        db.session.commit()
        return plist.id, month


def _the_return(list_id: int) -> bytes:
    """The bank's file: every line paid, a reference each, a total row."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Ket qua")
    sheet.append(["KẾT QUẢ CHI TRẢ QUA TÀI KHOẢN"])
    sheet.append(["STT", "Mã hồ sơ", "Họ và tên", "Số tài khoản", "Số tiền (đồng)", "Kết quả", "Mã tham chiếu"])
    total = 0
    lines = db.session.execute(select(PaymentLine.case_id, PaymentLine.full_name, PaymentLine.account_number,
                                      PaymentLine.amount).where(PaymentLine.list_id == list_id)
                               .order_by(PaymentLine.id))
    for n, (case_id, name, account, amount) in enumerate(lines, 1):
        sheet.append([n, case_id, name, account, amount, "Đã chi trả", f"GD{n:08d}"])
        total += amount
    sheet.append(["Tổng cộng", None, None, None, total])
    out = BytesIO()
    book.save(out)
    return out.getvalue()
