"""The report page (issue 17): the report on screen with its charts, its downloads (audited), the
archive and sign-off, and the refusals — what a user sees and what the database holds."""
from __future__ import annotations

import html
import io
import json
import re
from datetime import date
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select, text
from sqlalchemy.orm.attributes import set_committed_value

from cases.changes import local_today
from cases.errors import DomainError
from cases.models import ArchivedReport, AuditRecord, Commune, ReportTarget, TargetGroup
from cases.organisation import commune_by_code, province_by_code
from cases.reports import archive
from cases.reports.figures import Band, Counts, Report, Row, Target, TrendPoint
from cases.reports.periods import Period
from cases.roles import Role
from extensions import db, write_intent
from tests import paths
from tests.conftest import BINH_GIA, LANG_SON, OTHER_PROVINCE, SYSTEM, TAN_VAN, csrf_token
from tests.helpers import audit_count, fresh, text_of
from views.present.charts import Bar, BarsText, TrendText, share_bars, svg_of, trend_line
from workflow.states import CaseState as S

PERIOD = Period.month_of(local_today())       # counted as of the end of this month: today's cases count
DUE = date(local_today().year, 12, 31)


@pytest.fixture
def lang_son(make_case):
    """Lạng Sơn with a 60 % target: Bình Gia 2 of 3 paid by account (66.7 %, met), Tân Văn 1 of 3
    (33.3 %, behind). Returns Tân Văn's case still verifying its identity."""
    with write_intent():
        db.session.add(ReportTarget(province_id=province_by_code(db.session, LANG_SON).id, commune_id=None,
                                    policy_group=TargetGroup.ALL, share_per_mille=600, due_on=DUE,
                                    set_at=local_today()))
        db.session.commit()
    for _n in range(2):
        make_case(state=S.PAID_BY_ACCOUNT, commune=BINH_GIA)
    make_case(state=S.PAID_IN_CASH, commune=BINH_GIA)
    make_case(state=S.PAID_BY_ACCOUNT, commune=TAN_VAN)
    make_case(state=S.PAYMENT_METHOD, commune=TAN_VAN)
    return make_case(state=S.IDENTITY_VERIFICATION, commune=TAN_VAN)


@pytest.fixture
def supervisor(make_user):
    return make_user(Role.SUPERVISOR, province=LANG_SON)


def report_url(unit: str = LANG_SON, period: str = PERIOD.code, page: str = "/reports") -> str:
    return f"{page}?period={period}&unit={unit}"


def row_of(page: str, code: str) -> str:
    found = re.search(rf'<tr class="([^"]*)" data-commune="{code}">(.*?)</tr>', page, re.S)
    assert found, code
    return found.group(0)


def cell(row_html: str, key: str) -> str:
    return re.search(rf'data-key="{key}">([^<]*)<', row_html).group(1)


def archive_now(client, unit: str = LANG_SON, sign: bool = True):
    page = client.get(report_url(unit)).get_data(as_text=True)
    data = {"csrf_token": csrf_token(page), "period": PERIOD.code, "unit": unit}
    if sign:
        data["sign"] = "y"
    return client.post("/reports/archive", data=data)


def archived_id(response) -> int:
    assert response.status_code == 302, response.status_code
    return int(re.search(r"/reports/archive/(\d+)$", response.headers["Location"]).group(1))


def stored(report_id: int) -> ArchivedReport:
    fresh()
    return db.session.get(ArchivedReport, report_id)


def communes_of_lang_son() -> int:
    return db.session.scalar(select(func.count()).select_from(Commune).where(
        Commune.province_id == province_by_code(db.session, LANG_SON).id))


# --- the page ------------------------------------------------------------------------------------

def test_the_report_shows_who_is_behind_in_colour_and_words(lang_son, supervisor, make_client):
    page = text_of(make_client(supervisor).get(report_url()))
    binh_gia, tan_van = row_of(page, BINH_GIA), row_of(page, TAN_VAN)
    assert cell(binh_gia, "all_receiving") == "3" and cell(binh_gia, "all_paid_by_account") == "2"
    assert cell(binh_gia, "all_share") == "66,7" and cell(binh_gia, "paid_in_cash") == "1"
    assert 'class=""' in binh_gia and 'class="met" data-key="met">Đạt' in binh_gia
    assert 'class="band band-high" data-key="band">Cao' in binh_gia
    assert cell(tan_van, "all_share") == "33,3"
    assert 'class="behind"' in tan_van and 'class="behind" data-key="met">Chưa đạt' in tan_van
    assert 'class="band band-average" data-key="band">Trung bình' in tan_van
    assert "chưa đạt" in tan_van                        # the badge by the name
    assert cell(tan_van, "target_share") == "60,0" and cell(tan_van, "target_due_on") == f"31/12/{DUE.year}"
    assert cell(binh_gia, "projected") == "Đã đạt"
    assert cell(tan_van, "projected") != ""              # a month, or "not at this pace"
    total = re.search(r'<tr class="total[^"]*">(.*?)</tr>', page, re.S).group(1)
    assert cell(total, "all_receiving") == "6" and cell(total, "all_paid_by_account") == "3"
    assert cell(total, "all_share") == "50,0"
    said = " ".join(re.sub(r"<[^>]+>", " ", page).split())
    assert "1 xã/phường chưa đạt mục tiêu: Xã Tân Văn (dự kiến đạt: " in said and "Xã Xã" not in said
    # Two header lines: the groups, then the columns.
    assert 'scope="colgroup" colspan="4" class="group">Bảo trợ xã hội' in page
    assert "Lưu và ký duyệt" in page and 'name="sign"' in page


def test_the_charts_draw_a_bar_per_commune_and_the_target(lang_son, supervisor, make_client):
    page = make_client(supervisor).get(report_url()).get_data(as_text=True)
    image = re.search(r'<img class="chart" id="share-bars-image" src="[^"]*" alt="([^"]*)">', page)
    assert "1 xã/phường chưa đạt mục tiêu" in html.unescape(image.group(1))
    bars = svg_of(image.group(0))
    assert bars.count('<g class="bar"') == communes_of_lang_son()
    assert 'role="img"' in bars and '<title id="share-bars-title">' in bars
    labels = re.findall(r'<g class="bar" data-label="([^"]*)"', bars)
    assert labels[:2] == ["Xã Bình Gia", "Xã Tân Văn"]          # sorted: 66.7 % before 33.3 %
    target = re.search(r'<g class="target"><line x1="([\d.]+)"', bars)
    assert target and float(target.group(1)) == pytest.approx(200 + 60 * 4.4)
    assert "Mục tiêu 60,0%" in bars
    trend = svg_of(re.search(r'<img class="chart" id="trend-image"[^>]*>', page).group(0))
    assert '<polyline class="line"' in trend and 'class="target"' in trend and 'role="img"' in trend
    assert "<svg" not in page and "<script" not in trend


def test_the_defaults_are_last_month_and_the_users_province(supervisor, make_client):
    response = make_client(supervisor).get("/reports")
    assert response.status_code == 200
    page = text_of(response)
    last = Period.month_of(local_today()).previous()
    assert f'<option value="{last.code}" selected>' in page and f'<option value="{LANG_SON}" selected>' in page
    assert "Lạng Sơn" in page


def test_a_commune_officer_sees_their_commune_only(lang_son, make_user, make_client):
    officer = make_client(make_user(Role.OFFICER, communes=(BINH_GIA,)))
    page = text_of(officer.get("/reports"))
    assert f'<option value="{BINH_GIA}" selected>' in page and f'<option value="{LANG_SON}"' not in page
    assert officer.get(report_url(BINH_GIA)).status_code == 200
    assert officer.get(report_url(LANG_SON)).status_code == 403
    assert officer.get(report_url(TAN_VAN)).status_code == 403


@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.OFFICER, Role.AUDITOR])
def test_another_province_is_refused(lang_son, make_user, make_client, role):
    other = make_client(make_user(role, province=OTHER_PROVINCE))
    response = other.get(report_url())
    assert response.status_code == 403
    assert "không thuộc phạm vi" in text_of(response)
    assert other.get(report_url(page="/reports/csv")).status_code == 403
    assert other.get(report_url(page="/reports/workbook")).status_code == 403


def test_an_administrator_reads_no_reports(make_user, make_client):
    admin = make_client(make_user(Role.ADMIN, province=LANG_SON))
    assert admin.get(report_url()).status_code == 403
    assert admin.get("/reports/archive").status_code == 403


@pytest.mark.parametrize("query, message", [
    ("period=2026-13&unit=20", "Kỳ báo cáo không hợp lệ"),
    ("period=tháng mười&unit=20", "Kỳ báo cáo không hợp lệ"),
    (f"period={PERIOD.code}&unit=99999", "Không có tỉnh hoặc xã/phường mã «99999»"),
])
def test_bad_input_gets_a_clear_message(supervisor, make_client, query, message):
    browser = make_client(supervisor)
    response = browser.get(f"/reports?{query}")
    assert response.status_code == 400
    assert message in text_of(response) and 'id="report-choice"' in text_of(response)
    download = browser.get(f"/reports/csv?{query}", follow_redirects=True)
    assert download.status_code == 200 and message in text_of(download)
    assert browser.get("/reports/archive?period=2026-13").status_code == 400
    assert audit_count("report.download") == 0


# --- downloads -------------------------------------------------------------------------------------

def test_the_csv_and_the_workbook_are_audited(lang_son, supervisor, make_client):
    browser = make_client(supervisor)
    response = browser.get(report_url(page="/reports/csv"))
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.data.startswith(b"\xef\xbb\xbf")
    body = response.data.decode("utf-8-sig")
    assert "Xã Bình Gia" in body and "66.7" in body
    response = browser.get(report_url(page="/reports/workbook"))
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(response.data)).active
    assert any(c.value == "Xã Tân Văn" for r in sheet.iter_rows() for c in r)
    fresh()
    records = db.session.scalars(select(AuditRecord).where(AuditRecord.action == "report.download")
                                 .order_by(AuditRecord.seq)).all()
    assert [json.loads(r.detail) for r in records] == [
        {"format": "csv", "period": PERIOD.code, "unit": LANG_SON},
        {"format": "xlsx", "period": PERIOD.code, "unit": LANG_SON}]
    assert {r.actor_id for r in records} == {supervisor.id}


# --- archive and sign-off --------------------------------------------------------------------------

def test_a_signed_report_is_frozen_and_its_hash_verifies(lang_son, supervisor, make_client):
    browser = make_client(supervisor)
    report_id = archived_id(archive_now(browser))
    kept = stored(report_id)
    assert kept.signed_by_id == supervisor.id and kept.signed_at is not None
    assert kept.produced_by_id == supervisor.id and kept.period == PERIOD.code
    assert archive.verify(kept) and len(kept.sha256) == 64
    assert audit_count("report.archive") == 1 and audit_count("report.sign") == 1

    with write_intent():                     # a later change to a case of Tân Văn
        paths.walk(db.session, db.session.merge(lang_son), S.PAID_BY_ACCOUNT)
        db.session.commit()

    frozen = text_of(browser.get(f"/reports/archive/{report_id}"))
    assert cell(row_of(frozen, TAN_VAN), "all_share") == "33,3"
    assert "Đã ký duyệt bởi " + supervisor.full_name in frozen and "✓ Khớp" in frozen
    fresh_page = text_of(browser.get(report_url()))
    assert cell(row_of(fresh_page, TAN_VAN), "all_share") == "66,7"
    assert "xem báo cáo đã ký duyệt số" in fresh_page
    assert stored(report_id).figures == kept.figures

    workbook = browser.get(f"/reports/archive/{report_id}.xlsx")
    assert workbook.status_code == 200 and workbook.data == kept.workbook
    assert audit_count("report.download") == 1

    listing = text_of(browser.get("/reports/archive"))
    assert kept.sha256[:12] in listing and "✓ Khớp" in listing and supervisor.full_name in listing


def test_a_tampered_report_shows_as_not_verified(lang_son, supervisor, make_client):
    browser = make_client(supervisor)
    report_id = archived_id(archive_now(browser, sign=False))
    with write_intent():
        db.session.execute(text("UPDATE reports SET figures = replace(figures, :was, :now) WHERE id = :id"),
                           {"was": '"paid_by_account":2', "now": '"paid_by_account":3', "id": report_id})
        db.session.commit()
    assert not archive.verify(stored(report_id))
    page = text_of(browser.get(f"/reports/archive/{report_id}"))
    assert "✗ Không khớp" in page and 'class="card archived-banner tampered"' in page
    assert "✗ Không khớp" in text_of(browser.get("/reports/archive"))
    # A tampered report cannot be signed.
    refused = browser.post(f"/reports/archive/{report_id}/sign", data={"csrf_token": csrf_token(page)},
                           follow_redirects=True)
    assert "không còn khớp mã kiểm tra" in text_of(refused)
    assert stored(report_id).signed_at is None


def test_an_officer_archives_but_cannot_sign(lang_son, make_user, make_client):
    officer = make_client(make_user(Role.OFFICER, communes=(BINH_GIA,)))
    page = text_of(officer.get(report_url(BINH_GIA)))
    assert 'name="sign"' not in page and "Lưu vào kho lưu trữ" in page
    report_id = archived_id(archive_now(officer, BINH_GIA, sign=False))
    kept = stored(report_id)
    assert kept.unit_kind.value == "commune" and kept.signed_at is None
    archived_page = officer.get(f"/reports/archive/{report_id}").get_data(as_text=True)
    assert 'id="sign-form"' not in archived_page
    response = officer.post(f"/reports/archive/{report_id}/sign", data={"csrf_token": csrf_token(archived_page)})
    assert response.status_code == 403
    assert stored(report_id).signed_at is None and audit_count("report.sign") == 0
    ticked = archive_now(officer, BINH_GIA, sign=True)
    assert ticked.status_code == 403
    fresh()
    assert db.session.scalar(select(func.count()).select_from(ArchivedReport)) == 1   # nothing more stored


def test_a_second_signature_is_refused(lang_son, supervisor, make_client):
    browser = make_client(supervisor)
    first = archived_id(archive_now(browser))
    second = archived_id(archive_now(browser, sign=False))
    page = browser.get(f"/reports/archive/{second}").get_data(as_text=True)
    again = browser.post(f"/reports/archive/{first}/sign", data={"csrf_token": csrf_token(page)},
                         follow_redirects=True)
    assert "Báo cáo này đã được ký duyệt." in text_of(again)
    other = browser.post(f"/reports/archive/{second}/sign", data={"csrf_token": csrf_token(page)},
                         follow_redirects=True)
    assert f"đã có báo cáo {PERIOD.label} được ký duyệt (số {first})" in text_of(other)
    assert stored(second).signed_at is None and audit_count("report.sign") == 1
    # Archiving with "ký duyệt" ticked when the period is already signed stores nothing.
    refused = archive_now(browser, sign=True)
    assert refused.status_code == 302 and "/reports?" in refused.headers["Location"]
    fresh()
    assert db.session.scalar(select(func.count()).select_from(ArchivedReport)) == 2


def test_two_supervisors_racing_leave_one_signature(supervisor, monkeypatch):
    """The check before the write misses a signature made meanwhile: the unique index refuses it."""
    with write_intent():
        first, second = (_archive_by_hand(supervisor) for _n in range(2))
        db.session.commit()
        archive.sign_report(db.session, SYSTEM, supervisor, first)
        db.session.commit()
    monkeypatch.setattr(archive, "_signed_sibling", lambda session, archived: None)
    with write_intent(), pytest.raises(DomainError, match="vừa có một báo cáo"):
        archive.sign_report(db.session, SYSTEM, supervisor, second)
    db.session.rollback()
    assert stored(second).signed_at is None


def test_a_signature_made_meanwhile_on_the_same_report_wins(supervisor, make_user, monkeypatch):
    """Two supervisors both read the report unsigned; the guarded UPDATE lets only the first sign."""
    other = make_user(Role.SUPERVISOR, province=LANG_SON)
    with write_intent():
        report_id = _archive_by_hand(supervisor)
        db.session.commit()
        archive.sign_report(db.session, SYSTEM, other, report_id)
        db.session.commit()
    read_before = archive.get_archived

    def as_read_before_the_other_signed(session, user, wanted):
        found = read_before(session, user, wanted)
        set_committed_value(found, "signed_at", None)
        return found

    monkeypatch.setattr(archive, "get_archived", as_read_before_the_other_signed)
    with write_intent(), pytest.raises(DomainError, match="vừa được người khác ký duyệt"):
        archive.sign_report(db.session, SYSTEM, supervisor, report_id)
    db.session.rollback()
    assert stored(report_id).signed_by_id == other.id


def _archive_by_hand(user) -> int:
    report = hand_report()
    return archive.archive_report(db.session, report, b"workbook bytes", user).id


def test_another_provinces_archived_report_is_not_found(lang_son, supervisor, make_user, make_client):
    report_id = archived_id(archive_now(make_client(supervisor)))
    other = make_client(make_user(Role.SUPERVISOR, province=OTHER_PROVINCE))
    assert other.get(f"/reports/archive/{report_id}").status_code == 404
    assert other.get(f"/reports/archive/{report_id}.xlsx").status_code == 404
    page = other.get("/reports/archive").get_data(as_text=True)
    assert other.post(f"/reports/archive/{report_id}/sign", data={"csrf_token": csrf_token(page)}).status_code == 404
    assert f'data-report="{report_id}"' not in page
    assert other.get("/reports/archive/999999").status_code == 404
    # A commune officer of the province does not see the province's report either.
    officer = make_client(make_user(Role.OFFICER, communes=(BINH_GIA,)))
    assert officer.get(f"/reports/archive/{report_id}").status_code == 404
    assert stored(report_id).signed_by_id == supervisor.id


def test_the_archive_lists_by_period_and_unit(lang_son, supervisor, make_client):
    browser = make_client(supervisor)
    province = archived_id(archive_now(browser))
    commune = archived_id(archive_now(browser, BINH_GIA, sign=False))
    page = browser.get("/reports/archive").get_data(as_text=True)
    assert page.index(f'data-report="{province}"') < page.index(f'data-report="{commune}"')
    only = browser.get(f"/reports/archive?unit={BINH_GIA}&period={PERIOD.code}").get_data(as_text=True)
    assert f'data-report="{commune}"' in only and f'data-report="{province}"' not in only
    none = browser.get(f"/reports/archive?period={PERIOD.previous().code}").get_data(as_text=True)
    assert "Chưa có báo cáo nào được lưu." in none


# --- the archive service and the charts, alone -----------------------------------------------------

def hand_report(paid: int = 2) -> Report:
    """A report built by hand (cases.reports.figures), as the archive stores it."""
    lang_son = province_by_code(db.session, LANG_SON)
    commune = commune_by_code(db.session, BINH_GIA)
    target = Target("all", 600, DUE, False)
    row = Row(commune.id, BINH_GIA, "Xã Bình Gia", Counts(3, 3, paid), Counts(), 1, 0, target, paid >= 2,
              {"btxh": Band.HIGH, "ncc": None, "all": Band.HIGH}, Decimal("10.0"), Decimal("56.7"), "met")
    total = Row(None, LANG_SON, "Lạng Sơn", Counts(3, 3, paid), Counts(), 1, 0, target, paid >= 2,
                {"btxh": Band.HIGH, "ncc": None, "all": Band.HIGH}, None, None, "met")
    return Report(PERIOD.code, "province", lang_son.id, LANG_SON, "Lạng Sơn", lang_son.id, "Lạng Sơn",
                  PERIOD.as_of, PERIOD.as_of, (row,), total, (TrendPoint(PERIOD.first_day, 3, paid),))


def test_the_stored_report_reads_back_as_it_was(supervisor):
    with write_intent():
        report = hand_report()
        kept = archive.archive_report(db.session, report, b"xlsx", supervisor)
        db.session.commit()
    again = stored(kept.id)
    assert archive.stored_report(again) == report and archive.verify(again)
    assert again.sha256 == archive.report_hash(report.to_json(), b"xlsx")
    assert again.period_end == PERIOD.last_day


def test_the_bars_are_sorted_and_escaped():
    svg = share_bars([Bar("Xã <A>", Decimal("10.0"), False), Bar("Xã B", Decimal("70.5"), True),
                      Bar("Xã C", None, None)], Decimal("60"),
                     BarsText("Tiêu đề", "Mô tả", "Mục tiêu 60%", "không có đối tượng"), fmt=str)
    assert re.findall(r'data-label="([^"]*)"', svg) == ["Xã B", "Xã &lt;A&gt;", "Xã C"]
    assert "<A>" not in svg and "không có đối tượng" in svg
    assert svg.count("<rect") == 2 and 'stroke-dasharray="6 3"' in svg


def test_the_trend_marks_the_due_date_inside_or_at_the_edge():
    months = [date(2026, m, 1) for m in range(1, 13)]
    points = [(m, Decimal(n * 5) if n != 3 else None) for n, m in enumerate(months)]
    words = TrendText("Xu hướng", "Mô tả", "Mục tiêu 60%", "Hạn 31/10/2026", lambda d: f"{d.month:02d}/{d.year}")
    inside = trend_line(points, Decimal("60"), date(2026, 10, 31), words, fmt=str)
    assert '<g class="due"><line' in inside and inside.count("<polyline") == 2     # broken where no share
    assert inside.count("<circle") == 11
    later = trend_line(points, Decimal("60"), date(2027, 12, 31), words, fmt=str)
    assert 'data-outside="true"' in later and "Hạn 31/10/2026 →" in later


def test_the_print_view_is_the_table_alone(lang_son, supervisor, make_client):
    page = text_of(make_client(supervisor).get(report_url(page="/reports/print")))
    assert 'id="report-table"' in page and cell(row_of(page, BINH_GIA), "all_share") == "66,7"
    assert "<nav" not in page and "<form" not in page and 'class="chart"' not in page
    assert "reports.css" in page


def test_an_english_reader_gets_english_number_formats(lang_son, supervisor, make_client):
    with write_intent():
        db.session.merge(supervisor).locale = "en"
        db.session.commit()
    page = text_of(make_client(supervisor).get(report_url()))
    assert cell(row_of(page, BINH_GIA), "all_share") == "66.7"
    assert cell(row_of(page, TAN_VAN), "target_due_on") == f"31 Dec {DUE.year}"


def test_a_country_report_is_not_archived(supervisor):
    report = hand_report()
    country = Report(**{**report.__dict__, "unit_kind": "country"})
    with write_intent(), pytest.raises(DomainError):
        archive.archive_report(db.session, country, b"", supervisor)
