"""The payment provider on an account form: the active ones of the case's province are offered,
and the transition itself checks the chosen one against the database, whatever the form offered."""
from __future__ import annotations

import pytest
from sqlalchemy import select, update

from cases.models import PaymentProvider, ProviderKind
from cases.organisation import ensure_provider, forget_provider_choices, province_by_code
from cases.roles import Role
from extensions import db, write_intent
from tests.conftest import LANG_SON
from tests.helpers import case_row, fill_and_submit, last_seq, open_form, text_of, transition_form
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
