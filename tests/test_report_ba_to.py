"""The Ba Tơ letter's table reproduced (issue 17): a district's communes built with counts that
add up to the letter's — NCC 443 of 1,492 paid through an account (29.7 %), BTXH 684 of 2,320
(29.5 %) — and banded as the letter bands them: high, average, low, and not started per policy
group. The cases are written as a list import writes them (bulk, past the ORM); the stays come
from the database's triggers, as for every case."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from cases.bulk_write import BulkSink, allocate_ids
from cases.case_rows import BLANK_CASE, CASE_COLUMNS, CASE_TABLE
from cases.models import Commune, Province
from cases.models.organisation import CODE_LIST_2025
from cases.reports.figures import Band
from cases.reports.periods import Period
from cases.reports.produce import find_unit, produce_report
from cases.search import fold_name
from extensions import db, write_intent

BA_TO = "98"     # not a real province code: the district stands as a unit of its own here
# commune: (BTXH receiving, BTXH paid through an account, NCC receiving, NCC paid)
COMMUNES = {
    "Thị trấn Ba Tơ": (200, 150, 150, 90), "Ba Động": (150, 110, 100, 55), "Ba Nam": (120, 85, 80, 45),
    "Ba Khâm": (130, 90, 90, 50),
    "Ba Giang": (140, 45, 90, 30), "Ba Lế": (130, 40, 80, 25), "Ba Ngạc": (120, 35, 70, 20),
    "Ba Tô": (125, 35, 75, 20),
    "Ba Vi": (130, 20, 80, 0), "Ba Dinh": (120, 15, 80, 10), "Ba Vinh": (120, 15, 75, 10),
    "Ba Thành": (110, 12, 70, 10), "Ba Điền": (110, 12, 70, 10), "Ba Cung": (100, 10, 60, 10),
    "Ba Bích": (100, 10, 70, 0),
    "Ba Liên": (100, 0, 60, 30), "Ba Trang": (100, 0, 62, 28), "Ba Tiêu": (110, 0, 65, 0), "Ba Xa": (105, 0, 65, 0),
}
# The letter's words: "đạt tỷ lệ cao như xã: Ba Động, Ba Nam, Ba Khâm, Thị trấn Ba Tơ" ...
HIGH = {"Thị trấn Ba Tơ", "Ba Động", "Ba Nam", "Ba Khâm"}
AVERAGE = {"Ba Giang", "Ba Lế", "Ba Ngạc", "Ba Tô"}
LOW = {"Ba Vi", "Ba Dinh", "Ba Vinh", "Ba Thành", "Ba Điền", "Ba Cung", "Ba Bích"}
NOT_STARTED_BTXH = {"Ba Tiêu", "Ba Liên", "Ba Trang", "Ba Xa"}
NOT_STARTED_NCC = {"Ba Xa", "Ba Tiêu", "Ba Vi", "Ba Bích"}
BEFORE = datetime(2024, 6, 3, 2)


def _district() -> dict[str, Commune]:
    province = db.session.scalars(select(Province).where(Province.code == BA_TO)).first()
    if province is None:
        province = Province(code=BA_TO, name="Huyện Ba Tơ (thử)", code_list=CODE_LIST_2025)
        db.session.add(province)
        db.session.flush()
        for n, name in enumerate(COMMUNES, start=1):
            db.session.add(Commune(province_id=province.id, code=f"98{n:03d}", name=name,
                                   kind="Thị trấn" if name.startswith("Thị trấn") else "Xã",
                                   code_list=CODE_LIST_2025))
        db.session.flush()
    return {c.name: c for c in province.communes}


def _cases(communes: dict[str, Commune]) -> list[tuple]:
    rows = []
    for name, (btxh, btxh_paid, ncc, ncc_paid) in COMMUNES.items():
        commune = communes[name]
        for group, receiving, paid in (("btxh", btxh, btxh_paid), ("ncc", ncc, ncc_paid)):
            for n in range(receiving):
                rows.append(_case(commune, group, paid=n < paid))
    return rows


def _case(commune: Commune, group: str, paid: bool) -> dict:
    full_name = "Đinh Văn Đoàn"
    return BLANK_CASE | {
        "status": "paid_by_account" if paid else "identity_verification",
        "province_id": commune.province_id, "commune_id": commune.id, "full_name": full_name,
        "name_folded": fold_name(full_name), "name_given_first": fold_name(full_name),
        "birth_date": "1950-01-01", "sex": "male", "policy_group": group,
        "category_code": "D5.K5a.1" if group == "btxh" else "PL02.D3.c", "monthly_amount": 540_000,
        "payment_method": "account" if paid else None, "account_number": "1234500001" if paid else None,
        "state_entered_at": BEFORE.isoformat(" ", "microseconds"), "created_at": BEFORE.isoformat(" ", "microseconds"),
        "updated_at": BEFORE.isoformat(" ", "microseconds"),
    }


@pytest.fixture
def ba_to():
    with write_intent():
        communes = _district()
        cases = _cases(communes)
        ids = allocate_ids(db.session, CASE_TABLE, len(cases))
        sink = BulkSink(db.session)
        sink.write(CASE_TABLE, CASE_COLUMNS, [tuple((case | {"id": i})[c] for c in CASE_COLUMNS)
                                              for case, i in zip(cases, ids)])
        sink.finish([CASE_TABLE])
        db.session.commit()
    return produce_report(db.session, Period.parse("2024-07"), find_unit(db.session, BA_TO))


def test_the_district_totals_are_the_letters(ba_to):
    assert (ba_to.total.ncc.paid_by_account, ba_to.total.ncc.receiving) == (443, 1492)
    assert ba_to.total.ncc.share == Decimal("29.7")
    assert (ba_to.total.btxh.paid_by_account, ba_to.total.btxh.receiving) == (684, 2320)
    assert ba_to.total.btxh.share == Decimal("29.5")
    assert ba_to.as_of == datetime(2024, 7, 31, 17)
    assert ba_to.period == "2024-07" and len(ba_to.rows) == len(COMMUNES)


def test_the_communes_are_banded_as_the_letter_bands_them(ba_to):
    bands = {row.name.removeprefix("Xã ").removeprefix("Thị trấn ").strip(): row.bands for row in ba_to.rows}
    bands = {("Thị trấn " + name if name == "Ba Tơ" else name): b for name, b in bands.items()}
    assert {n for n, b in bands.items() if b["all"] is Band.HIGH} == HIGH
    assert {n for n, b in bands.items() if b["all"] is Band.AVERAGE} == AVERAGE
    assert LOW <= {n for n, b in bands.items() if b["all"] is Band.LOW}
    assert {n for n, b in bands.items() if b["btxh"] is Band.NOT_STARTED} == NOT_STARTED_BTXH
    assert {n for n, b in bands.items() if b["ncc"] is Band.NOT_STARTED} == NOT_STARTED_NCC
    # Both groups not started: the commune as a whole has not started.
    assert {n for n, b in bands.items() if b["all"] is Band.NOT_STARTED} == NOT_STARTED_BTXH & NOT_STARTED_NCC


def test_a_month_before_the_cases_the_district_counts_nobody(ba_to):
    may = produce_report(db.session, Period.parse("2024-05"), find_unit(db.session, BA_TO))
    assert may.total.together.receiving == 0 and may.total.bands["all"] is None
    assert date(2024, 5, 1) == may.trend[-1].month
