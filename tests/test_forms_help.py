"""Forms that help (issue 15, item 6): prefilled where the case knows the answer, no day that has not
come yet where the form records something that happened, the category checked against the person's
age from the rules data, errors beside their fields and summarised on top, labels tied to inputs."""
from __future__ import annotations

import re
from datetime import date, timedelta
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from cases.changes import local_today
from cases.entry import age_on, check_category_age
from cases.errors import DomainError
from cases.models import AuditRecord
from cases.organisation import commune_by_code
from cases.roles import Role
from extensions import db
from tests.conftest import BINH_GIA, submit
from tests.helpers import case_row, new_case_form, reload_case, text_of, transition_form
from workflow.states import CaseState as S


def commune_id() -> int:
    return commune_by_code(db.session, BINH_GIA).id


class _Form(HTMLParser):
    """The controls, labels, fieldsets and error summary of a page's forms."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.controls: list[dict] = []
        self.label_for: set[str] = set()
        self.legends = 0
        self.fieldset_depth = 0
        self.radios_outside_fieldset: list[str] = []
        self.csrf = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "fieldset":
            self.fieldset_depth += 1
        elif tag == "legend":
            self.legends += 1
        elif tag == "label" and a.get("for"):
            self.label_for.add(a["for"])
        elif tag in ("input", "select", "textarea"):
            if a.get("name") == "csrf_token":
                self.csrf += 1
            if a.get("type") not in ("hidden", "submit"):
                self.controls.append(a)
                if a.get("type") == "radio" and not self.fieldset_depth:
                    self.radios_outside_fieldset.append(a.get("name"))

    def handle_endtag(self, tag):
        if tag == "fieldset":
            self.fieldset_depth -= 1


def read_form(html: str) -> _Form:
    reader = _Form()
    reader.feed(html)
    return reader


@pytest.fixture
def officer(make_user):
    return make_user(Role.OFFICER, full_name="Hoàng Văn Pình")


# --- the category against the person's age ---------------------------------------------------

@pytest.mark.parametrize("code, born, fits", [
    ("D5.K5c", date(2020, 6, 1), False),          # a child under "từ đủ 80 tuổi"
    ("D5.K5c", date(1940, 1, 1), True),
    ("D5.K5a.1", date(1950, 3, 2), True),         # 60 to under 80
    ("D5.K5a.1", date(1930, 3, 2), False),
    ("D5.K1.1", date(2024, 1, 1), True),           # under 4
    ("D5.K1.2", date(2024, 1, 1), False),          # 4 to under 16
    ("D5.K7", date(2020, 1, 1), False),            # under 3
    ("D5.K6.1", date(1990, 1, 1), True),           # adult: 16 to under 60
    ("D5.K6.2", date(1990, 1, 1), False),          # child or elderly
    ("D5.K6.2", date(1950, 1, 1), True),
    ("D5.K4", date(2001, 1, 1), True),             # no age condition
])
def test_a_category_with_an_age_condition_takes_only_those_who_meet_it(app, code, born, fits):
    today = date(2026, 12, 1)
    with app.test_request_context():
        if fits:
            check_category_age(code, born, today)
        else:
            with pytest.raises(DomainError) as refused:
                check_category_age(code, born, today)
            assert refused.value.field == "category_code"


def test_age_counts_whole_years_from_the_birthday():
    assert age_on(date(1946, 12, 2), date(2026, 12, 1)) == 79
    assert age_on(date(1946, 12, 1), date(2026, 12, 1)) == 80


def test_a_child_is_refused_under_a_category_for_80_and_over_with_the_rule_quoted(officer, make_client):
    browser = make_client(officer)
    before = db.session.scalar(select(db.func.count()).select_from(AuditRecord))
    response = submit(browser, "/cases/new", new_case_form(commune_id(), full_name="Lò Văn Bé", birth_date="2020-05-01",
                                                            category_code="D5.K5c"))
    page = text_of(response)
    assert response.status_code == 422
    assert "chỉ dành cho người từ đủ 80 tuổi" in page
    assert "Khoản 5c: Người cao tuổi" in page and "01/05/2020" in page
    # beside the field, and in the summary on top, which links to it
    assert re.search(r'id="category_code-error"><p class="error">Diện «Khoản 5c', page)
    summary = re.search(r'<div class="error-summary" role="alert".*?</div>', page, re.S).group(0)
    assert 'href="#category_code"' in summary and "từ đủ 80 tuổi" in summary
    assert 'aria-describedby="category_code-hint category_code-error"' in page
    assert db.session.scalar(select(db.func.count()).select_from(AuditRecord)) == before   # nothing written


def test_the_edit_form_checks_the_age_when_the_category_or_birth_date_changes(officer, make_case, make_client):
    case = make_case(state=S.IDENTITY_VERIFICATION, by=officer)      # born 1950, D5.K5a.1 (60 to under 80)
    browser = make_client(officer)
    form = new_case_form(commune_id(), category_code="D5.K5c")
    response = submit(browser, f"/cases/{case.id}/edit", form)
    assert response.status_code == 422
    assert "chỉ dành cho người từ đủ 80 tuổi" in text_of(response)
    assert case_row(case.id)["category_code"] == "D5.K5a.1"
    # a person who fits is saved
    response = submit(browser, f"/cases/{case.id}/edit", new_case_form(commune_id(), birth_date="1940-03-02",
                                                                      category_code="D5.K5c"))
    assert response.status_code == 302
    assert case_row(case.id)["category_code"] == "D5.K5c"


# --- no future dates, prefilled forms --------------------------------------------------------

def test_the_identity_form_is_prefilled_and_its_reveal_audited(officer, make_case, make_client):
    case = make_case(state=S.IDENTITY_VERIFICATION, by=officer, national_id="020050000777")
    page = make_client(officer).get(f"/cases/{case.id}/actions/verify_identity").get_data(as_text=True)
    assert 'value="020050000777"' in page
    assert f'value="{local_today().isoformat()}"' in page      # today, in the date picker's format
    reveal = db.session.scalars(select(AuditRecord).where(AuditRecord.action == "case.reveal",
                                                          AuditRecord.case_id == case.id)).all()
    assert len(reveal) == 1 and '"form":"verify_identity"' in reveal[0].detail.replace(" ", "")


@pytest.mark.parametrize("state, trigger, field, value, message", [
    (S.IDENTITY_VERIFICATION, "verify_identity", "verified_on", "tomorrow", "Ngày xác thực không được sau ngày hôm nay."),
    (S.PAYMENT_METHOD, "choose_account", "consent_date", "tomorrow", "Ngày đồng ý không được sau ngày hôm nay."),
    (S.ACCOUNT_OPENING, "record_account_opened", "opened_on", "tomorrow",
     "Ngày mở tài khoản không được sau ngày hôm nay."),
    (S.ACCOUNT_OPENING, "confirm_account_payment", "month_paid", "next month",
     "Tháng chi trả không được sau tháng hiện tại."),
])
def test_a_day_that_has_not_come_is_refused_beside_its_field(officer, make_case, make_client, state, trigger, field,
                                                              value, message):
    case = make_case(state=state, by=officer)
    today = local_today()
    typed = ((today + timedelta(days=1)).isoformat() if value == "tomorrow"
             else (today.replace(day=28) + timedelta(days=5)).strftime("%Y-%m"))
    before = case_row(case.id)
    response = submit(make_client(officer), f"/cases/{case.id}/actions/{trigger}",
                      transition_form(reload_case(case.id), trigger, **{field: typed}))
    page = text_of(response)
    assert response.status_code == 422
    assert re.search(rf'id="{field}-error"><p class="error">{re.escape(message)}', page)
    assert f'href="#{field}"' in page
    assert case_row(case.id) == before


@pytest.mark.parametrize("state, trigger, field, expected", [
    (S.PAYMENT_METHOD, "choose_account", "consent_date", "day"),
    (S.ACCOUNT_OPENING, "record_account_opened", "opened_on", "day"),
    (S.ACCOUNT_OPENING, "confirm_account_payment", "month_paid", "month"),
])
def test_date_fields_of_the_transition_forms_start_at_today(officer, make_case, make_client, state, trigger, field,
                                                            expected):
    case = make_case(state=state, by=officer)
    page = make_client(officer).get(f"/cases/{case.id}/actions/{trigger}").get_data(as_text=True)
    today = local_today()
    shown = today.isoformat() if expected == "day" else today.strftime("%Y-%m")
    assert re.search(rf'name="{field}"[^>]*value="{shown}"|value="{shown}"[^>]*name="{field}"', page)


# --- labels, fieldsets, one token ------------------------------------------------------------

@pytest.mark.parametrize("url", ["/cases/new", "edit", "verify_identity", "choose_account"])
def test_every_control_has_a_label_radios_a_legend_and_the_form_one_token(officer, make_case, make_client, url):
    browser = make_client(officer)
    if url == "edit":
        url = f"/cases/{make_case(state=S.IDENTITY_VERIFICATION, by=officer).id}/edit"
    elif not url.startswith("/"):
        state = S.IDENTITY_VERIFICATION if url == "verify_identity" else S.PAYMENT_METHOD
        url = f"/cases/{make_case(state=state, by=officer).id}/actions/{url}"
    html = browser.get(url).get_data(as_text=True)
    form_html = re.search(r'<form method="post" novalidate.*?</form>', html, re.S).group(0)
    form = read_form(form_html)
    unlabelled = [c.get("name") for c in form.controls if c.get("id") not in form.label_for]
    assert unlabelled == []
    assert form.radios_outside_fieldset == []
    assert form.csrf == 1


def test_the_new_case_form_keeps_long_category_labels_inside_the_page(officer, make_client):
    html = make_client(officer).get("/cases/new").get_data(as_text=True)
    assert 'class="card case-form"' in html and "case.css" in html
    from pathlib import Path
    css = (Path(__file__).resolve().parent.parent / "static" / "case.css").read_text(encoding="utf-8")
    assert re.search(r"\.case-form select[^{]*\{[^}]*max-width: 100%", css)
