"""The police's answer on ten thousand people imported (`measure_police_results`): preview, import
and commit timed together, as a list job runs them, transitions fired with their audit records.

Each run verifies the cases it answers for, so a reused dataset runs out of cases awaiting
verification; the shortfall is registered first in the province that has most (untimed), each
case with its `case.create` record.
"""
from __future__ import annotations

import time
from datetime import date
from io import BytesIO
from random import Random

from flask import Flask
from openpyxl import Workbook
from sqlalchemy import func, insert, select

from bench.measure import _bench_user
from cases import audit
from cases.audit import Actor
from cases.calendar import working_calendar
from cases.changes import local_today, snapshot, utcnow
from cases.lists.kinds import Scope
from cases.lists.police import POLICE_RESULTS
from cases.models import Case, Commune, Province, User
from cases.roles import Role
from cases.users import actor_of
from extensions import db, write_intent
from workflow.states import CaseState

AWAITING = CaseState.IDENTITY_VERIFICATION
BENCH_ACTOR = Actor.system("bench")


def measure_police_results(app: Flask, rows: int = 10_000) -> dict:
    """Seconds to preview, import and commit the police's answer on `rows` people of one province
    (mostly matches, some corrected names and birth dates, some no-matches)."""
    with app.app_context():
        province_id = _province_with_most_awaiting()
        _ensure_awaiting(province_id, rows)
        username = _bench_user(f"bench.supervisor.p{province_id}", Role.SUPERVISOR, province_id=province_id)
        data = _answer(_awaiting(province_id, rows))
        working_calendar(db.session)    # built once per process (111 years of holidays): a worker has it
        db.session.remove()
    with app.app_context(), write_intent():
        session = db.session
        user = session.scalar(select(User).where(User.username == username))
        scope = Scope(user=user, actor=actor_of(user, None, "bench-police"), province_id=province_id,
                      commune_id=None, today=local_today())
        started = time.perf_counter()
        found = POLICE_RESULTS.preview(session, scope, data, "ket-qua-cong-an.xlsx", lambda done, total: None)
        session.rollback()
        previewed = time.perf_counter() - started
        POLICE_RESULTS.apply(session, scope, data, "ket-qua-cong-an.xlsx", 0, lambda done, counts: session.commit())
        session.commit()
        elapsed = time.perf_counter() - started
        verified = session.scalar(select(func.count()).select_from(Case).where(
            Case.province_id == province_id, Case.identity_verified_on == scope.today))
    moved = found.counts["verified"] + found.counts["corrected"]
    assert verified >= moved, f"only {verified} of {moved} verifications took effect"
    return {"police_results_10k_s": round(elapsed, 2), "police_results_preview_s": round(previewed, 2),
            "police_results_rows": rows, "police_results_counts": found.counts}


def _province_with_most_awaiting() -> int:
    found = db.session.execute(
        select(Case.province_id).where(Case.status == AWAITING, Case.national_id.is_not(None))
        .group_by(Case.province_id).order_by(func.count().desc()).limit(1)).scalar()
    return found if found is not None else db.session.scalar(select(Province.id).order_by(Province.code).limit(1))


def _awaiting(province_id: int, rows: int) -> list:
    return db.session.execute(
        select(Case.id, Case.full_name, Case.birth_date, Case.national_id)
        .where(Case.province_id == province_id, Case.status == AWAITING, Case.national_id.is_not(None),
               Case.identity_problem.is_(None))
        .order_by(Case.id).limit(rows)).all()


def _ensure_awaiting(province_id: int, rows: int) -> None:
    """Register the cases awaiting verification the province lacks, written around the ORM in
    one statement per thousand, each with its `case.create` record (untimed)."""
    missing = rows - len(_awaiting(province_id, rows))
    if missing <= 0:
        return
    from demo.beneficiaries import BLANK_CASE, register
    from demo.people import NationalIds
    from demo.places import Place
    from demo.synthetic import highest_serials
    province = db.session.get(Province, province_id)
    communes = db.session.scalars(select(Commune).where(Commune.province_id == province_id).order_by(Commune.code)).all()
    rng, today, now = Random(f"police:{province_id}:{missing}"), local_today(), utcnow()
    ids = NationalIds(rng, highest_serials(db.session), seed=int(time.time()))
    first = (db.session.scalar(select(func.max(Case.id))) or 0) + 1
    cases = []
    for n in range(missing):
        commune = communes[n % len(communes)]
        place = Place(commune.id, commune.code, province_id, province.code, (), (), None)
        registered = register(rng, place, AWAITING, today, ids, 0.25)
        case = dict(BLANK_CASE) | registered.fields
        case.update(id=first + n, national_id=registered.true_national_id, birth_date=date.fromisoformat(case["birth_date"]),
                    status=AWAITING, state_entered_at=now, created_at=now, updated_at=now)
        cases.append(case)
    with write_intent():
        for start in range(0, len(cases), 1_000):
            db.session.execute(insert(Case.__table__), cases[start:start + 1_000])
        for case in cases:
            audit.record(db.session, BENCH_ACTOR, "case.create", case_id=case["id"],
                         detail={"fields": snapshot(_Fields(case))})
        db.session.commit()


class _Fields:
    def __init__(self, values: dict):
        self.__dict__.update(values)


def _answer(cases: list) -> bytes:
    """The police's workbook: a title, the header, one row per person."""
    rng = Random(len(cases))
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Kết quả")
    sheet.append(["KẾT QUẢ XÁC THỰC THÔNG TIN CÔNG DÂN"])
    sheet.append(["STT", "Mã hồ sơ", "Họ và tên", "Số CCCD", "Kết quả", "Họ tên đúng", "Ngày sinh đúng", "Ghi chú"])
    for n, case in enumerate(cases, 1):
        draw, result, name, born, note = rng.random(), "Khớp", None, None, None
        if draw < 0.05:
            result, note = "Không khớp", "Sai thông tin nhân thân"
        elif draw < 0.09:
            name = case.full_name.rsplit(" ", 1)[0] + " Hòa"
        elif draw < 0.11 and case.birth_date.day != 1:
            born = case.birth_date.replace(day=1).strftime("%d/%m/%Y")
        sheet.append([n, case.id, case.full_name, case.national_id, result, name, born, note])
    out = BytesIO()
    book.save(out)
    return out.getvalue()
