"""Reports (issue 17, item 3): a small history built by hand through the engine — cases changing
state across month ends, a suspension, a resume with arrears, a termination, a payment confirmed
late — and every figure of two consecutive monthly reports and a half-year asserted; the as-of
rule; bands; the projection; targets changing mid-year.

The clock is injected: the engine's moment of entering a state and the edit's `updated_at` are what
the stays are written with (migration 0015's triggers)."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

import cases.changes
import workflow.engine
from cases.actions import fire_transition
from cases.changes import utcnow
from cases.errors import DomainError
from cases.models import CaseStay, PaymentProvider, PolicyGroup, ReportMonthCount, ReportTarget, TargetGroup
from cases.organisation import commune_by_code, province_by_code
from cases.registration import register_case
from cases.roles import Role
from cases.reports.figures import ALREADY_MET, NO_TARGET, NOT_AT_THIS_PACE, Band, Counts
from cases.reports.month_counts import record_missing_months, record_month
from cases.reports.periods import Period, add_months
from cases.reports.produce import find_unit, produce_report
from extensions import db, write_intent
from tests.conftest import BINH_GIA, LANG_SON, TAN_VAN, national_id_for, person
from tests.paths import SYSTEM
from workflow.table import TRANSITIONS

NCC = dict(policy_group=PolicyGroup.NCC, category_code="PL02.D3.c", monthly_amount=1_731_000)


class Clock:
    """Office hours in Vietnam: each event at 09:00 local (02:00 UTC) of its day."""

    def __init__(self, monkeypatch):
        self.now = datetime(2026, 1, 1, 2)
        monkeypatch.setattr(workflow.engine, "_now", lambda: self.now)
        monkeypatch.setattr(cases.changes, "utcnow", lambda: self.now)

    def on(self, day: date) -> None:
        self.now = datetime.combine(day, datetime.min.time()) + timedelta(hours=2)


@pytest.fixture
def clock(monkeypatch):
    return Clock(monkeypatch)


class History:
    def __init__(self, clock: Clock, officer):
        self.clock, self.officer = clock, officer
        self.provider = db.session.scalar(select(PaymentProvider.id).where(
            PaymentProvider.province_id == province_by_code(db.session, LANG_SON).id))

    def register(self, day: date, commune: str = BINH_GIA, **fields):
        self.clock.on(day)
        data = person(**fields)
        data["commune_id"] = commune_by_code(db.session, commune).id
        with write_intent():
            case = register_case(db.session, SYSTEM, self.officer, data, day)
            db.session.commit()
        return case

    def fire(self, case, day: date, trigger: str, **payload) -> None:
        self.clock.on(day)
        with write_intent():
            fire_transition(db.session, SYSTEM, None, case, TRANSITIONS[trigger], payload)
            db.session.commit()

    # The steps of the route to payment, with the data their forms post.
    def verify(self, case, day):
        self.fire(case, day, "verify_identity", national_id=national_id_for(case.birth_date, case.sex),
                  source="police_list", verified_on=day.isoformat())

    def choose_account(self, case, day):
        self.fire(case, day, "choose_account", holder="self", provider_id=self.provider, account_number=None,
                  consent_date=day.isoformat())

    def account_opened(self, case, day):
        self.fire(case, day, "record_account_opened", provider_id=self.provider,
                  account_number=f"10{case.id:08d}", opened_on=day.isoformat())

    def paid(self, case, day, month: date):
        self.fire(case, day, "confirm_account_payment", month_paid=month.isoformat(), reference="REF")

    def to_paid(self, case, verified, chosen, opened, paid):
        self.verify(case, verified)
        self.choose_account(case, chosen)
        self.account_opened(case, opened)
        self.paid(case, paid, paid.replace(day=1))

    def suspend(self, case, day):
        self.fire(case, day, "suspend", reason_code="TT02.D2.K3.a", effective_month=day.replace(day=1).isoformat(),
                  decision_number="5/QĐ")

    def resume(self, case, day, arrears: int):
        self.fire(case, day, "resume", decision_number="6/QĐ", effective_month=day.replace(day=1).isoformat(),
                  arrears_months=arrears)


def set_target(commune: str | None, per_mille: int, due_on: date, group=TargetGroup.ALL) -> None:
    province = province_by_code(db.session, LANG_SON)
    with write_intent():
        db.session.add(ReportTarget(
            province_id=province.id, commune_id=commune_by_code(db.session, commune).id if commune else None,
            policy_group=group, share_per_mille=per_mille, due_on=due_on, set_at=utcnow()))
        db.session.commit()


@pytest.fixture
def history(clock, make_user):
    """Bình Gia (BTXH) and Tân Văn (NCC), February to April 2026:

    c1 paid from 15/03; c2 account opened 20/03, its March payment confirmed late, on 05/04;
    c3 paid 01/03, suspended 10/04; c4 paid in cash; c5 paid 25/02, suspended 05/03, resumed with
    two months' arrears 03/04; c6 waits for its identity check until terminated 20/04; in Tân Văn,
    c7 paid 10/03 and c8 registered 20/03, its identity verified 10/04.
    """
    story = History(clock, make_user(Role.OFFICER, communes=(BINH_GIA, TAN_VAN)))
    d = date
    cases = {}
    for name in ("c1", "c2", "c3", "c4", "c5", "c6"):
        cases[name] = story.register(d(2026, 2, 5))
    story.to_paid(cases["c1"], d(2026, 2, 10), d(2026, 2, 12), d(2026, 2, 20), d(2026, 3, 15))
    story.verify(cases["c2"], d(2026, 2, 10))
    story.choose_account(cases["c2"], d(2026, 2, 12))
    story.account_opened(cases["c2"], d(2026, 3, 20))
    story.paid(cases["c2"], d(2026, 4, 5), d(2026, 3, 1))              # March's payment, confirmed late
    story.to_paid(cases["c3"], d(2026, 2, 10), d(2026, 2, 12), d(2026, 2, 20), d(2026, 3, 1))
    story.suspend(cases["c3"], d(2026, 4, 10))
    story.verify(cases["c4"], d(2026, 2, 10))
    story.fire(cases["c4"], d(2026, 2, 15), "choose_cash", reason="special_case", proxy_name=None)
    story.to_paid(cases["c5"], d(2026, 2, 10), d(2026, 2, 12), d(2026, 2, 14), d(2026, 2, 25))
    story.suspend(cases["c5"], d(2026, 3, 5))
    story.resume(cases["c5"], d(2026, 4, 3), arrears=2)
    story.fire(cases["c6"], d(2026, 4, 20), "terminate", reason_code="TT02.D2.K1.a", event_date="2026-03-31",
               decision_number="7/QĐ")
    cases["c7"] = story.register(d(2026, 2, 5), TAN_VAN, **NCC)
    story.to_paid(cases["c7"], d(2026, 2, 10), d(2026, 2, 12), d(2026, 2, 20), d(2026, 3, 10))
    cases["c8"] = story.register(d(2026, 3, 20), TAN_VAN, **NCC)
    story.verify(cases["c8"], d(2026, 4, 10))
    set_target(None, 600, d(2026, 12, 31))          # Lạng Sơn: 60 % by the end of 2026,
    set_target(None, 1000, d(2027, 12, 31))         # then everyone
    set_target(BINH_GIA, 500, d(2026, 3, 31))       # Bình Gia's own milestone: half by the end of March
    clock.on(d(2026, 5, 1))
    return cases


def report(period: str, unit: str = LANG_SON):
    return produce_report(db.session, Period.parse(period), find_unit(db.session, unit))


def row(found, commune: str):
    return next(r for r in found.rows if r.code == commune)


def test_march_every_figure(history):
    march = report("2026-03")
    assert len(march.rows) == len(province_by_code(db.session, LANG_SON).communes)
    binh_gia = row(march, BINH_GIA)
    # Receiving: c1 (paid), c2 (opening, account on record), c3 (paid), c4 (cash), c6 (identity);
    # c5 is suspended.
    assert binh_gia.btxh == Counts(receiving=5, with_account=3, paid_by_account=2)
    assert binh_gia.ncc == Counts()
    assert (binh_gia.paid_in_cash, binh_gia.suspended) == (1, 1)
    assert binh_gia.together.share == Decimal("40.0")
    # Bình Gia's own target is due on 31/03: 50 %, not met.
    assert (binh_gia.target.share_per_mille, binh_gia.target.due_on, binh_gia.target.set_for_commune) == (
        500, date(2026, 3, 31), True)
    assert binh_gia.met is False
    assert binh_gia.bands == {"btxh": Band.AVERAGE, "ncc": None, "all": Band.AVERAGE}
    # End of February: six receiving, only c5 paid (16.7 %).
    assert binh_gia.previous_share == Decimal("16.7")
    assert binh_gia.change == Decimal("23.3")
    # From nothing at the end of December to 40 % in three months: 13.3 points a month, 10 to go.
    assert binh_gia.projected == "2026-04"

    tan_van = row(march, TAN_VAN)
    assert tan_van.ncc == Counts(receiving=2, with_account=1, paid_by_account=1)
    assert tan_van.btxh == Counts()
    assert (tan_van.paid_in_cash, tan_van.suspended) == (0, 0)
    assert (tan_van.target.share_per_mille, tan_van.target.set_for_commune) == (600, False)
    assert tan_van.met is False
    assert tan_van.bands == {"btxh": None, "ncc": Band.HIGH, "all": Band.HIGH}
    assert (tan_van.previous_share, tan_van.change) == (Decimal("0.0"), Decimal("50.0"))
    assert tan_van.projected == "2026-04"

    others = [r for r in march.rows if r.code not in (BINH_GIA, TAN_VAN)]
    assert all(r.together == Counts() and r.bands["all"] is None and r.met is None for r in others)

    total = march.total
    assert (total.btxh, total.ncc) == (Counts(5, 3, 2), Counts(2, 1, 1))
    assert total.together == Counts(7, 4, 3)
    assert total.together.share == Decimal("42.9")
    assert (total.paid_in_cash, total.suspended) == (1, 1)
    assert (total.target.share_per_mille, total.target.due_on) == (600, date(2026, 12, 31))
    assert total.met is False
    assert (total.previous_share, total.change) == (Decimal("14.3"), Decimal("28.6"))
    assert total.projected == "2026-05"      # 42.9 % at 14.3 points a month: two more months
    assert total.band is Band.AVERAGE


def test_april_every_figure(history):
    april = report("2026-04")
    binh_gia = row(april, BINH_GIA)
    # c1, c2 (paid on 05/04) and c5 (resumed) paid; c4 cash; c3 suspended; c6 terminated.
    assert binh_gia.btxh == Counts(receiving=4, with_account=3, paid_by_account=3)
    assert (binh_gia.paid_in_cash, binh_gia.suspended) == (1, 1)
    assert binh_gia.together.share == Decimal("75.0")
    # Bình Gia's milestone has passed: the province's 60 % by the end of the year judges it now.
    assert (binh_gia.target.share_per_mille, binh_gia.target.set_for_commune) == (600, False)
    assert binh_gia.met is True
    assert binh_gia.projected == ALREADY_MET
    assert binh_gia.bands["all"] is Band.HIGH
    assert (binh_gia.previous_share, binh_gia.change) == (Decimal("40.0"), Decimal("35.0"))

    tan_van = row(april, TAN_VAN)
    assert tan_van.ncc == Counts(receiving=2, with_account=1, paid_by_account=1)
    assert (tan_van.change, tan_van.met) == (Decimal("0.0"), False)
    # 50 % now, 0 % at the end of January: 16.7 points a month, 10 to go.
    assert tan_van.projected == "2026-05"

    assert april.total.together == Counts(6, 4, 4)
    assert april.total.together.share == Decimal("66.7")
    assert (april.total.met, april.total.projected) == (True, ALREADY_MET)
    assert april.total.change == Decimal("23.8")
    # The trend: twelve months up to April, the province's share at each month's end.
    assert [p.month for p in april.trend][-4:] == [date(2026, m, 1) for m in (1, 2, 3, 4)]
    assert [(p.receiving, p.paid_by_account) for p in april.trend][-4:] == [(0, 0), (7, 1), (7, 3), (6, 4)]


def test_half_year_counts_as_of_june(history, clock):
    half = report("2026-H1")
    assert half.as_of == datetime(2026, 6, 30, 17)
    assert half.total.together == Counts(6, 4, 4)
    # The half-year before counted nobody: no share to compare with.
    assert (half.total.previous_share, half.total.change) == (None, None)
    assert [p.month for p in half.trend][-1] == date(2026, 6, 1)


def test_a_report_for_a_month_gives_the_same_figures_later(history, clock, make_user):
    on_the_day = report("2026-04")
    # In May and June, cases move on: c4 switches to an account, c2's payment fails.
    story = History(clock, make_user())
    story.fire(history["c4"], date(2026, 5, 4), "switch_to_account")
    story.fire(history["c2"], date(2026, 6, 2), "report_payment_failure", reason="wrong_number")
    clock.on(date(2026, 6, 15))
    later = report("2026-04")
    assert later.rows == on_the_day.rows and later.total == on_the_day.total
    assert report("2026-06").total.together != on_the_day.total.together


def test_pace_that_never_reaches_the_target(history, clock, make_user):
    story = History(clock, make_user())
    for name in ("c1", "c2", "c5"):
        story.fire(history[name], date(2026, 5, 6), "report_payment_failure", reason="wrong_number")
    may = report("2026-05")
    binh_gia = row(may, BINH_GIA)
    assert binh_gia.together.share == Decimal("0.0")          # none of c1, c2, c4, c5
    assert binh_gia.bands["all"] is Band.NOT_STARTED
    # 0 % in May against 16.7 % at the end of February: falling, so never at this pace.
    assert binh_gia.projected == NOT_AT_THIS_PACE
    assert binh_gia.on_track is False


def test_a_commune_with_no_target(history):
    with write_intent():
        db.session.execute(ReportTarget.__table__.delete())
        db.session.commit()
    april = report("2026-04")
    assert row(april, BINH_GIA).projected == NO_TARGET
    assert row(april, BINH_GIA).met is None


def test_a_commune_report_has_one_row(history):
    april = report("2026-04", BINH_GIA)
    assert [r.code for r in april.rows] == [BINH_GIA]
    assert april.total.together == row(april, BINH_GIA).together


@pytest.mark.parametrize("code", ["2026-13", "2026-H3", "26-04", "april", ""])
def test_a_bad_period_is_refused_in_vietnamese(code):
    with pytest.raises(DomainError, match="Kỳ báo cáo không hợp lệ"):
        Period.parse(code)


def test_an_unknown_unit_is_refused(history):
    with pytest.raises(DomainError, match="Không có tỉnh hoặc xã/phường"):
        find_unit(db.session, "99999")


def test_each_transition_closes_one_stay_and_opens_the_next(history):
    stays = db.session.execute(select(CaseStay.status, CaseStay.has_account, CaseStay.valid_from, CaseStay.valid_to)
                               .where(CaseStay.case_id == history["c2"].id).order_by(CaseStay.valid_from)).all()
    assert [(s.status, s.has_account) for s in stays] == [
        ("identity_verification", False), ("payment_method", False), ("account_opening", False),
        ("account_opening", True), ("paid_by_account", True)]
    assert all(a.valid_to == b.valid_from for a, b in zip(stays, stays[1:]))
    assert stays[-1].valid_to == datetime(9999, 12, 31)


def test_recorded_months_give_the_same_report(history, clock):
    live = report("2026-04")
    with write_intent():
        recorded = record_missing_months(db.session, date(2026, 4, 1), now=clock.now)
        db.session.commit()
    assert recorded == [add_months(date(2026, 4, 1), -n) for n in range(12, -1, -1)]
    assert db.session.scalar(select(func.count()).select_from(ReportMonthCount)
                             .where(ReportMonthCount.month == date(2026, 4, 1))) == 2   # Bình Gia BTXH, Tân Văn NCC
    from_records = report("2026-04")
    assert (from_records.rows, from_records.total, from_records.trend) == (live.rows, live.total, live.trend)
    # Nothing left to record; a month not yet ended is never recorded.
    with write_intent():
        assert record_missing_months(db.session, date(2026, 4, 1), now=clock.now) == []
        with pytest.raises(ValueError):
            record_month(db.session, date(2026, 5, 1), now=clock.now)
        db.session.rollback()


def test_flask_report_generate_writes_the_workbook(history, app, tmp_path):
    out = tmp_path / "bao-cao.xlsx"
    result = app.test_cli_runner().invoke(args=["report", "generate", "--period", "2026-04", "--unit", LANG_SON,
                                                "--out", str(out), "--archive"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[-1] == (f"period=2026-04 unit={LANG_SON} communes={len(report('2026-04').rows)} receiving=6 "
                         f"paid_by_account=4 share=66.7 out={out}")
    assert lines[-2].startswith("archived as report ")
    book = load_workbook(out)
    assert any("Tháng 04/2026" in str(c.value) for row in book.active.iter_rows(max_row=8) for c in row if c.value)
    refused = app.test_cli_runner().invoke(args=["report", "generate", "--period", "2026-13", "--unit", LANG_SON,
                                                 "--out", str(out)])
    assert refused.exit_code == 2 and "Kỳ báo cáo không hợp lệ" in refused.output
