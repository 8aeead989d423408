"""The payment provider on an account form: the active ones of the case's province are offered,
and the transition itself checks the chosen one against the database, whatever the form offered.
And the administrator's pages that keep a province's providers (issue 18): what they write and
audit, what they refuse, and who may use them."""
from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest
from sqlalchemy import delete, insert, select, update
from werkzeug.datastructures import MultiDict

from cases.errors import DomainError, NotPermitted
from cases.models import AuditRecord, PaymentProvider, ProviderKind
from cases.models.organisation import provider_communes
from cases.organisation import commune_by_code, ensure_provider, forget_provider_choices, province_by_code, \
    provider_choices
from cases.provider_admin import DEFAULT_HEADINGS, PAYMENT_LIST_COLUMNS, communes_of, headings_of, layout_of, \
    save_provider
from cases.roles import Role
from extensions import db, write_intent
from tests.conftest import BINH_GIA, LANG_SON, OTHER_COMMUNE, OTHER_PROVINCE, SYSTEM, TAN_VAN, csrf_token
from tests.helpers import case_row, fill_and_submit, last_seq, open_form, text_of, transition_form
from views.present.values import forget_names
from workflow.states import CaseState as S

REFUSED = "Tổ chức chi trả không phục vụ tỉnh của hồ sơ này."


@pytest.fixture
def officer(make_user):
    return make_user(Role.OFFICER)


def provider_id(short_name: str) -> int:
    db.session.rollback()
    return db.session.scalar(select(PaymentProvider.id).where(PaymentProvider.short_name == short_name))


def set_active(short_name: str, active: bool) -> None:
    with write_intent():
        db.session.execute(update(PaymentProvider).where(PaymentProvider.short_name == short_name).values(active=active))
        db.session.commit()


def offered(browser, case_id: int) -> str:
    return browser.get(f"/cases/{case_id}/actions/choose_account").get_data(as_text=True)


def test_the_form_offers_the_providers_of_the_case_province(officer, make_case, make_client):
    case = make_case(state=S.PAYMENT_METHOD)
    page = offered(make_client(officer), case.id)
    assert "Agribank chi nhánh Lạng Sơn" in page and "Bưu điện tỉnh Lạng Sơn" in page
    assert "BIDV Hà Nội" not in page


def test_another_province_provider_is_refused_and_nothing_changes(officer, make_case, make_client):
    case = make_case(state=S.PAYMENT_METHOD)
    browser = make_client(officer)
    before, seq = case_row(case.id), last_seq()
    response = fill_and_submit(browser, f"/cases/{case.id}/actions/choose_account",
                               transition_form(case, "choose_account", provider_id=str(provider_id("BIDV-HN"))))
    assert response.status_code == 422
    assert "Lựa chọn không hợp lệ." in text_of(response)
    assert case_row(case.id) == before and last_seq() == seq


def test_a_provider_closed_after_the_form_was_offered_is_refused(officer, make_case, make_client):
    """Forms keep a province's list for a minute; the transition reads the provider afresh."""
    case = make_case(state=S.PAYMENT_METHOD)
    browser = make_client(officer)
    agribank = provider_id("AGRIBANK-LS")
    form = open_form(browser, f"/cases/{case.id}/actions/choose_account")
    set_active("AGRIBANK-LS", False)
    try:
        assert "Agribank chi nhánh Lạng Sơn" in offered(browser, case.id)  # still in this minute's list
        before, seq = case_row(case.id), last_seq()
        response = browser.post(f"/cases/{case.id}/actions/choose_account",
                                data=form | transition_form(case, "choose_account", provider_id=str(agribank)))
        assert response.status_code == 422
        assert REFUSED in text_of(response)
        assert case_row(case.id) == before and last_seq() == seq
    finally:
        set_active("AGRIBANK-LS", True)


def test_a_new_provider_is_offered_at_once_in_the_process_that_added_it(officer, make_case, make_client):
    case = make_case(state=S.PAYMENT_METHOD)
    browser = make_client(officer)
    assert "Vietinbank Lạng Sơn" not in offered(browser, case.id)
    with write_intent():
        ensure_provider(db.session, province_by_code(db.session, LANG_SON), "VIETIN-LS", "Vietinbank Lạng Sơn",
                        ProviderKind.BANK)
        db.session.commit()
    try:
        assert "Vietinbank Lạng Sơn" in offered(browser, case.id)
    finally:
        with write_intent():
            db.session.execute(PaymentProvider.__table__.delete().where(PaymentProvider.short_name == "VIETIN-LS"))
            db.session.commit()
        forget_provider_choices()


# --- The administrator's pages (issue 18) ---------------------------------------------------------

PAGE = "/admin/providers"


class _PostedForm(HTMLParser):
    """The (name, value) pairs a browser posts from the page's form method="post" (not the
    language or logout forms): every ticked checkbox of a name, each checked radio, each text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.pairs: list[tuple[str, str]] = []
        self._in = self._done = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and (a.get("method") or "").lower() == "post" and "novalidate" in a and not self._done:
            self._in = True
        if not self._in or tag != "input" or not a.get("name"):
            return
        kind = (a.get("type") or "text").lower()
        if kind in ("checkbox", "radio"):
            if "checked" in a:
                self.pairs.append((a["name"], a.get("value") or "y"))
        elif kind != "submit":
            self.pairs.append((a["name"], a.get("value") or ""))

    def handle_endtag(self, tag):
        if tag == "form" and self._in:
            self._in, self._done = False, True


def posted_form(browser, url: str) -> MultiDict:
    page = browser.get(url)
    assert page.status_code == 200, page.status_code
    reader = _PostedForm()
    reader.feed(page.get_data(as_text=True))
    return MultiDict(reader.pairs)


def submit_provider(browser, url: str, typed: dict | None = None, communes: list[int] | None = None,
                    unticked: tuple[str, ...] = ()):
    """Open the form at `url`, type over it, tick exactly `communes` when given, untick `unticked`."""
    data = posted_form(browser, url)
    for name in unticked:
        data.poplist(name)
    for name, value in (typed or {}).items():
        data.setlist(name, [value])
    if communes is not None:
        data.setlist("communes", [str(c) for c in communes])
    return browser.post(url, data=data)


@pytest.fixture
def restore_providers():
    """The providers as they were: this module's tests add and change some, and the organisation is
    not cleaned between tests (other tests count Lạng Sơn's providers)."""
    providers, links = PaymentProvider.__table__, provider_communes
    db.session.rollback()
    rows = [dict(r._mapping) for r in db.session.execute(select(providers))]
    pairs = [tuple(r) for r in db.session.execute(select(links.c.provider_id, links.c.commune_id))]
    yield
    db.session.rollback()
    with write_intent():
        db.session.execute(delete(links))
        db.session.execute(delete(providers).where(providers.c.id.not_in([r["id"] for r in rows])))
        for row in rows:
            db.session.execute(update(providers).where(providers.c.id == row["id"]).values(**row))
        if pairs:
            db.session.execute(insert(links), [{"provider_id": p, "commune_id": c} for p, c in pairs])
        db.session.commit()
    forget_provider_choices()
    forget_names()


@pytest.fixture
def admin(make_user, restore_providers):
    return make_user(Role.ADMIN, province=LANG_SON, username="quantri.tochuc")


def lang_son() -> int:
    return province_by_code(db.session, LANG_SON).id


def commune_id(code: str) -> int:
    return commune_by_code(db.session, code).id


def provider_row(short_name: str) -> dict | None:
    db.session.rollback()
    provider = db.session.scalar(select(PaymentProvider).where(PaymentProvider.short_name == short_name))
    if provider is None:
        return None
    return {"name": provider.name, "kind": provider.kind, "policy_groups": provider.policy_groups,
            "pays_in_cash": provider.pays_in_cash, "active": provider.active,
            "communes": [c.code for c in provider.communes],
            "file_layout": json.loads(provider.file_layout) if provider.file_layout else None}


def providers_now() -> list[tuple]:
    db.session.rollback()
    return [tuple(r) for r in db.session.execute(select(PaymentProvider.__table__).order_by(PaymentProvider.id))] + \
        [tuple(r) for r in db.session.execute(select(provider_communes).order_by(provider_communes.c.provider_id,
                                                                                    provider_communes.c.commune_id))]


def provider_records() -> list[AuditRecord]:
    db.session.rollback()
    return list(db.session.scalars(select(AuditRecord).where(AuditRecord.action.like("provider.%"))
                                   .order_by(AuditRecord.seq)))


def new_vietinbank(browser, **typed):
    fields = {"short_name": "VIETIN-LS", "name": "Vietinbank chi nhánh Lạng Sơn", "kind": "bank",
              "policy_groups": "btxh"} | typed
    return submit_provider(browser, f"{PAGE}/new", fields, unticked=("pays_in_cash",))


def test_the_page_lists_the_province_providers(admin, make_client):
    page = text_of(make_client(admin).get(PAGE))
    assert "Tổ chức chi trả · Tỉnh Lạng Sơn" in page
    assert "Agribank chi nhánh Lạng Sơn" in page and "AGRIBANK-LS" in page and "Bưu điện tỉnh Lạng Sơn" in page
    assert "BIDV Hà Nội" not in page
    assert "Toàn tỉnh" in page and "Theo mẫu của hệ thống" in page
    assert "các hồ sơ đang ghi tổ chức đó vẫn giữ nguyên" in page


def test_an_administrator_adds_a_provider_offered_at_once(admin, officer, make_case, make_client):
    case = make_case(state=S.PAYMENT_METHOD)
    assert "Vietinbank chi nhánh Lạng Sơn" not in offered(make_client(officer), case.id)  # the list is cached now
    browser = make_client(admin)
    binh_gia, tan_van = commune_id(BINH_GIA), commune_id(TAN_VAN)
    response = submit_provider(browser, f"{PAGE}/new", {
        "short_name": "VIETIN-LS", "name": "Vietinbank chi nhánh Lạng Sơn", "kind": "bank", "policy_groups": "btxh",
        "heading_full_name": "Tên khách hàng", "heading_account_number": "  Số TK  "},
        communes=[tan_van, binh_gia], unticked=("pays_in_cash",))
    assert response.status_code == 302
    shown = text_of(browser.get(response.headers["Location"]))
    assert "Đã thêm tổ chức chi trả Vietinbank chi nhánh Lạng Sơn (VIETIN-LS)." in shown
    assert "Xã Bình Gia, Xã Tân Văn" in shown and "Riêng (2 cột)" in shown
    assert provider_row("VIETIN-LS") == {
        "name": "Vietinbank chi nhánh Lạng Sơn", "kind": ProviderKind.BANK, "policy_groups": "btxh",
        "pays_in_cash": False, "active": True, "communes": [BINH_GIA, TAN_VAN],
        "file_layout": {"full_name": "Tên khách hàng", "account_number": "Số TK"}}
    [record] = provider_records()
    assert record.action == "provider.create" and record.actor_id == admin.id
    detail = json.loads(record.detail)
    assert detail.pop("provider_id") == provider_id("VIETIN-LS")
    assert detail == {"province": LANG_SON, "short_name": "VIETIN-LS", "name": "Vietinbank chi nhánh Lạng Sơn",
                      "kind": "bank", "policy_groups": "btxh", "pays_in_cash": False, "active": True,
                      "communes": [BINH_GIA, TAN_VAN],
                      "file_layout": {"full_name": "Tên khách hàng", "account_number": "Số TK"}}
    # Not a minute later: at once, in this process, for the service and for the officer's form.
    assert (provider_id("VIETIN-LS"), "Vietinbank chi nhánh Lạng Sơn") in provider_choices(db.session, lang_son())
    assert "Vietinbank chi nhánh Lạng Sơn" in offered(make_client(officer), case.id)


def test_an_administrator_edits_groups_communes_and_layout(admin, make_client):
    browser = make_client(admin)
    assert new_vietinbank(browser, heading_full_name="Tên khách hàng").status_code == 302
    url = f"{PAGE}/{provider_id('VIETIN-LS')}"
    page = browser.get(url).get_data(as_text=True)
    assert 'value="Tên khách hàng"' in page
    assert page.count('name="communes"') == len(communes_of(db.session, lang_son())) == 65
    response = submit_provider(browser, url, {"policy_groups": "all", "heading_full_name": "",
                                              "heading_amount": "Số tiền"}, communes=[commune_id(TAN_VAN)])
    assert response.status_code == 302
    assert "Đã lưu tổ chức chi trả Vietinbank chi nhánh Lạng Sơn (VIETIN-LS)." in \
        text_of(browser.get(response.headers["Location"]))
    row = provider_row("VIETIN-LS")
    assert (row["policy_groups"], row["communes"], row["file_layout"]) == ("all", [TAN_VAN], {"amount": "Số tiền"})
    create, change = provider_records()
    assert change.action == "provider.update" and change.actor_id == admin.id
    assert json.loads(change.detail) == {
        "province": LANG_SON, "provider_id": provider_id("VIETIN-LS"), "short_name": "VIETIN-LS",
        "changes": {"policy_groups": ["btxh", "all"], "communes": [[], [TAN_VAN]],
                    "file_layout": [{"full_name": "Tên khách hàng"}, {"amount": "Số tiền"}]}}
    # The form posted again untouched changes nothing and writes nothing.
    assert submit_provider(browser, url).status_code == 302
    assert len(provider_records()) == 2


def test_a_deactivated_provider_is_no_longer_offered(admin, officer, make_case, make_client):
    case = make_case(state=S.PAYMENT_METHOD)
    browser = make_client(admin)
    assert new_vietinbank(browser).status_code == 302
    assert "Vietinbank chi nhánh Lạng Sơn" in offered(make_client(officer), case.id)
    response = submit_provider(browser, f"{PAGE}/{provider_id('VIETIN-LS')}", unticked=("active",))
    assert response.status_code == 302
    assert provider_row("VIETIN-LS")["active"] is False
    assert json.loads(provider_records()[-1].detail)["changes"] == {"active": [True, False]}
    assert "Vietinbank chi nhánh Lạng Sơn" not in offered(make_client(officer), case.id)
    assert "Ngừng hoạt động" in text_of(browser.get(PAGE))


def test_an_existing_provider_keeps_its_id_and_its_cases(admin, make_client):
    """Changing the seeded Agribank (restored afterwards): the same row, a new name."""
    browser = make_client(admin)
    agribank = provider_id("AGRIBANK-LS")
    response = submit_provider(browser, f"{PAGE}/{agribank}", {"name": "Agribank Lạng Sơn", "policy_groups": "ncc"})
    assert response.status_code == 302
    assert provider_id("AGRIBANK-LS") == agribank and provider_row("AGRIBANK-LS")["name"] == "Agribank Lạng Sơn"
    assert json.loads(provider_records()[-1].detail)["changes"] == {
        "name": ["Agribank chi nhánh Lạng Sơn", "Agribank Lạng Sơn"], "policy_groups": ["all", "ncc"]}


@pytest.mark.parametrize("typed, message", [
    ({"short_name": "AGRIBANK-LS"}, "Mã viết tắt “AGRIBANK-LS” đã có trong tỉnh."),
    ({"short_name": "agribank-ls"}, "Mã viết tắt “agribank-ls” đã có trong tỉnh."),
    ({"short_name": "V"}, "Mã viết tắt phải từ 2 đến 30 ký tự"),
    ({"short_name": "VIETIN LS"}, "Mã viết tắt phải từ 2 đến 30 ký tự"),
    ({"short_name": ""}, "Trường này bắt buộc."),
    ({"name": ""}, "Trường này bắt buộc."),
    ({"kind": "atm"}, "Lựa chọn không hợp lệ."),
    ({"policy_groups": "khac"}, "Lựa chọn không hợp lệ."),
    ({"heading_amount": "S" * 81}, "Không được dài quá 80 ký tự."),
    ({"heading_amount": "Số\x01tiền"}, "Có ký tự không hợp lệ"),
    ({"heading_amount": "Họ và tên"}, "Hai cột “Họ và tên” và “Số tiền chi trả (đồng)” không được cùng tiêu đề “Họ và tên”."),
    ({"communes": "abc"}, "Lựa chọn không hợp lệ."),
])
def test_bad_input_is_refused_in_vietnamese(typed, message, admin, make_client):
    before = providers_now()
    response = new_vietinbank(make_client(admin), **typed)
    assert response.status_code == 422
    assert message in text_of(response)
    assert providers_now() == before and not provider_records()


def test_a_commune_of_another_province_is_refused(admin, make_client):
    before = providers_now()
    browser = make_client(admin)
    response = submit_provider(browser, f"{PAGE}/{provider_id('AGRIBANK-LS')}",
                               communes=[commune_id(BINH_GIA), commune_id(OTHER_COMMUNE)])
    assert response.status_code == 422
    assert "Xã, phường này không thuộc Tỉnh Lạng Sơn." in text_of(response)
    assert providers_now() == before and not provider_records()


def save(admin, provider: int | None = None, **fields):
    values = dict(short_name="VIETIN-LS", name="Vietinbank chi nhánh Lạng Sơn", kind=ProviderKind.BANK,
                  policy_groups="btxh", pays_in_cash=False, active=True, commune_ids=[], file_layout={}) | fields
    with write_intent():
        try:
            saved = save_provider(db.session, SYSTEM, admin, lang_son(), provider, **values)
            db.session.commit()
            return saved
        finally:
            db.session.rollback()


@pytest.mark.parametrize("fields, message", [
    ({"file_layout": {"bank_code": "Mã NH"}}, "Cột “bank_code” không có trong danh sách chi trả."),
    ({"file_layout": {"amount": "S" * 81}}, "Số tiền chi trả (đồng) phải từ 1 đến 80 ký tự."),
    ({"file_layout": {"amount": "Số\ntiền"}}, "Số tiền chi trả (đồng) có ký tự không hợp lệ"),
    ({"commune_ids": [10**9]}, "Xã, phường này không thuộc Tỉnh Lạng Sơn."),
    ({"policy_groups": "khac"}, "Nhóm đối tượng không hợp lệ."),
    ({"kind": "atm"}, "Loại tổ chức chi trả không hợp lệ."),
    ({"name": " "}, "Tên tổ chức chi trả phải từ 1 đến 200 ký tự."),
    ({"short_name": "BUUDIEN-LS"}, "Mã viết tắt “BUUDIEN-LS” đã có trong tỉnh."),
])
def test_the_service_refuses_what_a_form_would_not_send(fields, message, admin):
    before = providers_now()
    with pytest.raises(DomainError, match=re.escape(message)):
        save(admin, **fields)
    assert providers_now() == before and not provider_records()


def test_the_unique_index_refusal_is_a_vietnamese_message(admin, monkeypatch):
    """Another administrator took the code between the check and the write."""
    monkeypatch.setattr("cases.provider_admin._check_short_name", lambda *args: None)
    before = providers_now()
    with pytest.raises(DomainError, match="Mã viết tắt “AGRIBANK-LS” đã có trong tỉnh."):
        save(admin, short_name="AGRIBANK-LS")
    assert providers_now() == before and not provider_records()


def test_the_headings_of_a_provider_file(admin):
    saved = save(admin, file_layout={"full_name": "Tên khách hàng", "stt": " "})
    db.session.rollback()
    provider = db.session.get(PaymentProvider, saved.id)
    assert layout_of(provider) == {"full_name": "Tên khách hàng"}
    assert headings_of(provider)[:4] == ["STT", "Mã hồ sơ", "Tên khách hàng", "Số CCCD"]
    assert len(headings_of(provider)) == len(PAYMENT_LIST_COLUMNS) == len(DEFAULT_HEADINGS)


def refused_everywhere(browser) -> None:
    agribank = provider_id("AGRIBANK-LS")
    token = csrf_token(browser.get("/cases").get_data(as_text=True))
    for url in (PAGE, f"{PAGE}?province={LANG_SON}", f"{PAGE}/new", f"{PAGE}/{agribank}"):
        assert browser.get(url).status_code == 403, url
    data = {"csrf_token": token, "short_name": "VIETIN-LS", "name": "Vietinbank", "kind": "bank",
            "policy_groups": "all", "active": "y"}
    for url in (f"{PAGE}/new?province={LANG_SON}", f"{PAGE}/{agribank}"):
        assert browser.post(url, data=data).status_code == 403, url


@pytest.mark.parametrize("role", [Role.OFFICER, Role.SUPERVISOR, Role.AUDITOR])
def test_only_an_administrator_keeps_the_providers(role, make_user, make_client, restore_providers):
    before = providers_now()
    refused_everywhere(make_client(make_user(role, province=LANG_SON)))
    assert providers_now() == before and not provider_records()


def test_an_administrator_of_communes_keeps_no_provider(make_user, make_client, restore_providers):
    before = providers_now()
    browser = make_client(make_user(Role.ADMIN, communes=(BINH_GIA, TAN_VAN), username="quantri.xa"))
    refused_everywhere(browser)
    assert "Chỉ quản trị của tỉnh được quản lý tổ chức chi trả." in text_of(browser.get(PAGE))
    assert providers_now() == before and not provider_records()


def test_an_administrator_of_another_province_is_refused(make_user, make_client, restore_providers):
    before = providers_now()
    browser = make_client(make_user(Role.ADMIN, province=OTHER_PROVINCE))
    own = text_of(browser.get(PAGE))
    assert "BIDV Hà Nội" in own and "Agribank" not in own
    assert browser.get(f"{PAGE}?province={LANG_SON}").status_code == 403
    assert browser.get(f"{PAGE}?province=99").status_code == 404
    assert browser.get(f"{PAGE}/999999").status_code == 404
    agribank = provider_id("AGRIBANK-LS")
    assert browser.get(f"{PAGE}/{agribank}").status_code == 403
    token = csrf_token(browser.get("/cases").get_data(as_text=True))
    data = {"csrf_token": token, "short_name": "VIETIN-LS", "name": "Vietinbank", "kind": "bank",
            "policy_groups": "all", "active": "y"}
    assert browser.post(f"{PAGE}/{agribank}", data=data).status_code == 403
    assert browser.post(f"{PAGE}/new?province={LANG_SON}", data=data).status_code == 403
    assert providers_now() == before and not provider_records()
    with write_intent(), pytest.raises(NotPermitted):
        save_provider(db.session, SYSTEM, make_user(Role.ADMIN, province=OTHER_PROVINCE, username="quantri.hn2"),
                      lang_son(), None, short_name="VIETIN-LS", name="Vietinbank", kind=ProviderKind.BANK,
                      policy_groups="all", pays_in_cash=False, active=True, commune_ids=[], file_layout={})
