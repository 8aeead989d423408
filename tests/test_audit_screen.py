"""Finding 12: auditors read the trail on a screen of their own: only what their scope covers,
filtered, newest first, paged by keyset, exported to Excel (masked, audited, formula-safe)."""
from __future__ import annotations

import json
import re
import zipfile
from datetime import datetime
from io import BytesIO

import pytest
from openpyxl import load_workbook
from sqlalchemy import Select, event
from sqlalchemy.sql.visitors import iterate

import cases.audit
from cases import audit
from cases.audit_export import HEADERS
from cases.masking import mask_number
from cases.models import AuditCheck, AuditRecord
from cases.organisation import commune_by_code
from cases.roles import Role
from cases.users import actor_of
from extensions import db, write_intent
from tests.conftest import BINH_GIA, LANG_SON, OTHER_COMMUNE, OTHER_PROVINCE, TAN_VAN, csrf_token
from tests.helpers import audit_records, fresh, text_of

SEQ = re.compile(r'<tr data-seq="(\d+)">')
NEXT = re.compile(r'href="(/audit\?[^"]*before=[^"]*)">Trang sau')
EXPORT_FORM = re.compile(r'<form method="post" action="/audit/export" class="export">(.*?)</form>', re.S)
HIDDEN = re.compile(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)">')
NATIONAL_ID = "020050123456"
INJECTED = '=HYPERLINK("http://ke-gian.example/x","Bấm vào đây")'


def note(user, count: int = 1, case_id: int | None = None, action: str = "case.note", reason: str | None = None,
         detail: dict | None = None) -> None:
    """`count` audit records by `user`, as a service writes them."""
    with write_intent():
        for _ in range(count):
            audit.record(db.session, actor_of(user), action, case_id=case_id, reason=reason, detail=detail)
        db.session.commit()


def shown(browser, **query) -> list[int]:
    """The seqs on the first page of the screen for `query`."""
    response = browser.get("/audit", query_string=query)
    assert response.status_code == 200, response.status_code
    return [int(s) for s in SEQ.findall(response.get_data(as_text=True))]


def words(response) -> str:
    """The page's text without its tags, spaces collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", text_of(response)).split())


def in_scope(predicate) -> list[int]:
    return [r.seq for r in reversed(audit_records()) if predicate(r)]


@pytest.fixture
def world(make_user, make_case):
    """Cases in Bình Gia, Tân Văn and Hà Nội; an officer of each who logged in and left notes on
    their case; a failed login under no known name."""
    officers, case_ids = {}, {}
    for commune, name in ((BINH_GIA, "Hoàng Văn Bình"), (TAN_VAN, "Lý Văn Tân"), (OTHER_COMMUNE, "Đỗ Văn Ba")):
        officer = officers[commune] = make_user(Role.OFFICER, communes=(commune,), username=f"canbo.{commune}")
        case_ids[commune] = make_case(commune=commune, by=officer, full_name=name,
                                      national_id=NATIONAL_ID if commune == BINH_GIA else None).id
        note(officer, action="auth.login")
        note(officer, 2, case_id=case_ids[commune], reason=f"Ghi chú của {commune}")
    with write_intent():
        audit.record(db.session, audit.Actor(None, "ai-do", None, None), "auth.login_failed", outcome="denied")
        db.session.commit()
    return officers, case_ids


@pytest.fixture
def auditor(make_user, make_client):
    return make_client(make_user(Role.AUDITOR, province=LANG_SON, username="kiemtra.langson"))


@pytest.mark.parametrize("role,scope", [(Role.OFFICER, {"communes": (TAN_VAN,)}), (Role.SUPERVISOR, {"province": LANG_SON})])
def test_only_auditors_and_admins_open_the_trail(world, make_user, make_client, role, scope):
    browser = make_client(make_user(role, **scope))
    response = browser.get("/audit")
    assert response.status_code == 403 and "Ghi chú" not in text_of(response)
    assert "Nhật ký kiểm tra" not in text_of(browser.get("/cases"))
    assert audit_records()[-1].action == "access.denied"


def test_auditor_and_admin_find_the_screen_from_the_menu(world, make_user, make_client):
    for role in (Role.AUDITOR, Role.ADMIN):
        browser = make_client(make_user(role, province=LANG_SON))
        assert 'href="/audit">Nhật ký kiểm tra</a>' in browser.get("/cases").get_data(as_text=True)
        assert browser.get("/audit").status_code == 200


def test_province_auditor_sees_their_province_only(world, auditor):
    officers, case_ids = world
    lang_son = {"canbo.06112", "canbo.06115", "kiemtra.langson"}   # the auditor's own login too
    expected = in_scope(lambda r: r.case_id in (case_ids[BINH_GIA], case_ids[TAN_VAN])
                        or (r.case_id is None and r.actor_id is not None and r.actor_username in lang_son))
    page = shown(auditor)
    assert page == expected                                   # newest first, one page
    seen = {r.seq: r for r in audit_records() if r.seq in page}
    assert not any(r.case_id == case_ids[OTHER_COMMUNE] or r.actor_id == officers[OTHER_COMMUNE].id
                   for r in seen.values())
    assert not any(r.action == "auth.login_failed" for r in seen.values())  # no unit, listed to no one
    assert {r.actor_username for r in seen.values() if r.action == "auth.login"} == lang_son


def test_commune_auditor_sees_nothing_of_another_commune(world, make_user, make_client):
    officers, case_ids = world
    viewer = make_user(Role.AUDITOR, communes=(TAN_VAN,))
    browser = make_client(viewer)
    page = text_of(browser.get("/audit"))
    assert "Lý Văn Tân" in page and "Ghi chú của 06115" in page
    assert "Hoàng Văn Bình" not in page and "Ghi chú của 06112" not in page and "canbo.06112" not in page
    assert set(shown(browser)) == set(in_scope(lambda r: r.case_id == case_ids[TAN_VAN] or (
        r.case_id is None and r.actor_id in (officers[TAN_VAN].id, viewer.id))))


def test_ha_noi_auditor_sees_nothing_of_lang_son(world, make_user, make_client):
    officers, case_ids = world
    viewer = make_user(Role.AUDITOR, province=OTHER_PROVINCE)
    browser = make_client(viewer)
    assert set(shown(browser)) == set(in_scope(lambda r: r.case_id == case_ids[OTHER_COMMUNE] or (
        r.case_id is None and r.actor_id in (officers[OTHER_COMMUNE].id, viewer.id))))


def test_a_refusal_is_seen_where_the_case_is_or_else_where_the_actor_is(world, auditor, make_user, make_client):
    officers, case_ids = world
    browser = make_client(officers[BINH_GIA])
    assert browser.get(f"/cases/{case_ids[OTHER_COMMUNE]}").status_code == 404   # Hà Nội's case
    assert browser.get("/cases/999999").status_code == 404                       # no such case
    on_nothing, on_ha_noi = in_scope(lambda r: r.action == "access.denied")   # newest first
    ha_noi = make_client(make_user(Role.AUDITOR, province=OTHER_PROVINCE))
    assert shown(auditor, action="access.denied") == [on_nothing]
    assert shown(ha_noi, action="access.denied") == [on_ha_noi]
    assert shown(auditor, case=999999) == [on_nothing] and shown(ha_noi, case=999999) == []


FILTERS = {
    "case": lambda w: ({"case": w[1][BINH_GIA]}, lambda r: r.case_id == w[1][BINH_GIA]),
    "user": lambda w: ({"user": "canbo.06115"}, lambda r: r.actor_id == w[0][TAN_VAN].id),
    "commune": lambda w: ({"commune": commune_by_code(db.session, TAN_VAN).id}, lambda r: r.case_id == w[1][TAN_VAN]),
    "action": lambda w: ({"action": "auth.login"}, lambda r: r.action == "auth.login"),
    "two at once": lambda w: ({"user": "canbo.06112", "action": "case.note"},
                              lambda r: r.actor_id == w[0][BINH_GIA].id and r.action == "case.note"),
}


@pytest.mark.parametrize("name", FILTERS)
def test_each_filter_narrows_the_list(world, auditor, name):
    query, keeps = FILTERS[name](world)
    everything = shown(auditor)
    records = {r.seq: r for r in audit_records()}
    narrowed = shown(auditor, **query)
    assert narrowed and set(narrowed) < set(everything)
    assert narrowed == [seq for seq in everything if keeps(records[seq])]


def test_a_name_nobody_has_shows_nothing(world, auditor):
    assert shown(auditor, user="khong.co.ai") == []


def test_dates_are_local_days_in_either_form(world, auditor, monkeypatch, make_case):
    officers, _ = world
    case = make_case(commune=BINH_GIA, full_name="Vi Văn Đêm")
    for moment in (datetime(2025, 3, 1, 16, 30), datetime(2025, 3, 1, 17, 30)):  # 23:30 and 00:30 the next day
        monkeypatch.setattr(cases.audit, "utcnow", lambda moment=moment: moment)
        note(officers[BINH_GIA], case_id=case.id, reason=f"lúc {moment:%H:%M} UTC")
    late, early = in_scope(lambda r: r.reason and r.reason.startswith("lúc"))
    assert shown(auditor, **{"from": "02/03/2025", "to": "2025-03-02"}) == [late]
    assert shown(auditor, **{"from": "2025-03-01", "to": "01/03/2025"}) == [early]
    assert shown(auditor, **{"from": "01/03/2025", "to": "02/03/2025"}) == [late, early]
    page = text_of(auditor.get("/audit", query_string={"from": "02/03/2025"}))
    assert "02/03/2025 00:30:00" in page
    bad = text_of(auditor.get("/audit", query_string={"from": "31/02/2025"}))
    assert "Từ ngày không hợp lệ" in bad and "Vi Văn Đêm" not in bad


def test_keyset_pages_show_every_record_once(world, auditor, make_user):
    officers, case_ids = world
    note(officers[BINH_GIA], 60, case_id=case_ids[BINH_GIA])
    note(officers[OTHER_COMMUNE], 30, case_id=case_ids[OTHER_COMMUNE])   # out of scope, interleaved
    note(officers[TAN_VAN], 50, case_id=case_ids[TAN_VAN])
    expected = in_scope(lambda r: r.case_id in (case_ids[BINH_GIA], case_ids[TAN_VAN]) or (
        r.case_id is None and r.actor_username in ("canbo.06112", "canbo.06115", "kiemtra.langson")))
    statements = []

    def remember(_connection, statement, *_):
        if isinstance(statement, Select) and "audit_records" in str(statement):
            statements.append(statement)

    event.listen(db.engine, "before_execute", remember)
    try:
        pages, url = [], "/audit"
        while url:
            page = auditor.get(url).get_data(as_text=True)
            pages.append([int(s) for s in SEQ.findall(page)])
            found = NEXT.search(page)
            url = found.group(1).replace("&amp;", "&") if found else None
    finally:
        event.remove(db.engine, "before_execute", remember)
    walked = [seq for page in pages for seq in page]
    assert walked == expected and len(walked) == len(set(walked))
    assert [len(p) for p in pages] == [50, 50, len(expected) - 100]
    # Read off the statements, not their SQL: SQLite's dialect writes `OFFSET ?` after every LIMIT.
    assert len(statements) == 3
    assert not [e for statement in statements for e in iterate(statement)
                if isinstance(e, Select) and e._offset_clause is not None]


def export(browser, **query):
    """Open the screen with `query` and press its export button, as a user would."""
    page = browser.get("/audit", query_string=query).get_data(as_text=True)
    form = dict(HIDDEN.findall(EXPORT_FORM.search(page).group(1)))
    assert form.pop("csrf_token") == csrf_token(page)
    assert form == {k: str(v) for k, v in query.items()}             # the filters, no more
    return browser.post("/audit/export", data={**form, "csrf_token": csrf_token(page)})


def sheet_rows(response) -> list[tuple]:
    book = load_workbook(BytesIO(response.get_data()))
    return [tuple(c.value for c in row) for row in book.active.iter_rows()]


def test_export_holds_what_the_filter_shows_masked_and_is_audited(world, auditor):
    commune = commune_by_code(db.session, BINH_GIA).id
    on_screen = shown(auditor, commune=commune)
    before = audit_records()[-1].seq

    response = export(auditor, commune=commune)

    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    rows = sheet_rows(response)
    assert rows[0] == HEADERS
    assert [r[0] for r in rows[1:]] == on_screen
    assert {r[6] for r in rows[1:]} == {"Hoàng Văn Bình"} and {r[7] for r in rows[1:]} == {"Xã Bình Gia"}
    cells = json.dumps(rows, default=str, ensure_ascii=False)
    assert NATIONAL_ID not in cells and mask_number(NATIONAL_ID) in cells   # the case.create snapshot
    [record] = audit_records(before)
    assert (record.action, record.actor_username) == ("audit.export", "kiemtra.langson")
    assert json.loads(record.detail) == {"filters": {"commune": str(commune)}, "rows": len(on_screen),
                                         "truncated": False}


@pytest.mark.parametrize("text", [INJECTED, "+1+2", "-2+3", "@SUM(A1:A9)", "\t=1+1"])
def test_export_keeps_formulas_as_text(world, auditor, make_case, text):
    officers, _ = world
    case = make_case(commune=BINH_GIA, full_name=INJECTED)
    note(officers[BINH_GIA], case_id=case.id, reason=text)
    response = export(auditor, case=case.id)
    book = load_workbook(BytesIO(response.get_data()))
    rows = list(book.active.iter_rows(min_row=2))
    names = [row[6] for row in rows]
    reasons = [row[8] for row in rows if row[8].value is not None]
    assert {(c.value, c.data_type) for c in names} == {(INJECTED, "s")}
    assert [(c.value, c.data_type) for c in reasons] == [(text, "s")]
    with zipfile.ZipFile(BytesIO(response.get_data())) as xlsx:
        assert "<f>" not in xlsx.read("xl/worksheets/sheet1.xml").decode()


def test_last_verification_and_anchor(world, auditor):
    page = text_of(auditor.get("/audit"))
    assert page.count("chưa kiểm tra") == 2
    head = audit_records()[-1]
    with write_intent():
        db.session.add_all([
            AuditCheck(kind="verify", at=datetime(2025, 6, 1, 1, 0), ok=True, checked=head.seq, head_seq=head.seq,
                       head_hash=head.hash),
            AuditCheck(kind="verify", at=datetime(2025, 6, 2, 1, 0), ok=False, checked=3, head_seq=head.seq,
                       head_hash=head.hash, broken_seq=4, problem="hash does not match"),
            AuditCheck(kind="anchor", at=datetime(2025, 6, 2, 1, 5), ok=True, head_seq=head.seq, head_hash=head.hash),
        ])
        db.session.commit()
    page = words(auditor.get("/audit"))
    assert "chưa kiểm tra" not in page
    assert "02/06/2025 08:00: phát hiện sai lệch tại bản ghi số 4: hash does not match" in page
    assert f"02/06/2025 08:05: bản ghi số {head.seq}, mã {head.hash[:16]}…" in page


def test_export_of_an_unreadable_filter_writes_nothing(world, auditor):
    before = audit_records()[-1].seq
    response = auditor.post("/audit/export", data={"from": "hôm qua", "csrf_token": csrf_token(
        auditor.get("/audit").get_data(as_text=True))})
    assert response.status_code == 302
    assert audit_records(before) == []
    fresh()
    assert db.session.query(AuditRecord).filter(AuditRecord.action == "audit.export").count() == 0


def test_the_screen_names_fields_and_values_as_the_case_page_does(world, auditor):
    """Issue 15: no raw field key or enum value on the screen; the export keeps the keys."""
    officer, case_id = world[0][BINH_GIA], world[1][BINH_GIA]
    note(officer, action="case.edit", case_id=case_id, detail={"changes": {"payment_method": ["cash", "account"],
                                                          "identity_source": [None, "police_list"]}})
    page = words(auditor.get("/audit", query_string={"action": "case.edit"}))
    assert "Hình thức chi trả" in page and "payment_method" not in page and "police_list" not in page
