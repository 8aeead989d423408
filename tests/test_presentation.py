"""The presentation layer (views/present, the Jinja filters): dates, months, times, numbers and money
in the reader's locale, and one label for every field, enum value, reason code and audit action."""
from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path

import pytest
from flask_babel import force_locale

from cases.models import AccountHolder, PaymentMethod, PolicyGroup, ProposalStatus, Sex
from cases.models.case import IdentitySource
from views.filters import ACTION_LABELS, field_label, field_value, money, vn_date, vn_datetime, vn_month
from views.present.labels import FIELD_LABELS, VALUE_LABELS, role_label, state_label
from workflow.states import CaseState
from workflow.table import TRANSITIONS

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def request_context(app):
    with app.test_request_context():
        yield


@pytest.mark.parametrize("locale, expected", [
    ("vi", ("01/12/2026", "01/2027", "01/12/2026 17:05", "500.000 đ", "2.789.000 đ")),
    ("en", ("01 Dec 2026", "Jan 2027", "01 Dec 2026 17:05", "VND 500,000", "VND 2,789,000")),
])
def test_formats_follow_the_locale(request_context, locale, expected):
    with force_locale(locale):
        shown = (vn_date(date(2026, 12, 1)), vn_month(date(2027, 1, 1)), vn_datetime(datetime(2026, 12, 1, 10, 5)),
                 money(500_000), money(2_789_000))
    assert shown == expected


def test_iso_strings_from_payloads_and_audit_records_are_formatted_too(request_context):
    assert vn_date("2026-12-01") == "01/12/2026"
    assert vn_month("2027-01-01") == "01/2027"
    assert field_value("2027-01-01", "effective_month") == "01/2027"
    assert field_value("2026-11-30", "event_date") == "30/11/2026"
    assert vn_date(None) == "" and money(None) == ""


@pytest.mark.parametrize("value, key, expected", [
    ("police_list", "identity_source", "Danh sách Công an xã trả về"),
    ("police_list", "source", "Danh sách Công an xã trả về"),
    ("paid_by_account", "suspended_from", "Chi trả qua tài khoản"),
    (CaseState.SUSPENDED, "status", "Tạm dừng"),
    ("account", "payment_method", "Qua tài khoản"),
    (PaymentMethod.CASH, "payment_method", "Tiền mặt"),
    ("self", "holder", "Chính đối tượng"),
    ("btxh", "policy_group", "Bảo trợ xã hội (BTXH)"),
    ("female", "sex", "Nữ"),
    ("no_id_card", "problem", "Chưa có thẻ CCCD"),
    ("wrong_number: đã báo ngân hàng", "payment_failure_reason", "Sai số tài khoản: đã báo ngân hàng"),
    ("special_case", "reason", "Đối tượng đặc thù (cao tuổi, ốm nặng, khuyết tật không đi lại được, không có người ủy quyền)"),
    ("Đối tượng muốn nhận tại nhà", "reason", "Đối tượng muốn nhận tại nhà"),
    (True, "special_very_old", "Có"),
    (False, "special_gravely_ill", "Không"),
    (2_055_000, "monthly_amount", "2.055.000 đ"),
    (None, "account_number", "—"),
    ("", "notes", "—"),
    ("079123456789", "national_id", "••••••••6789"),
    ("3100205123456", "account_number", "••••••••3456"),
    ("supervisor", "actor_role", "Lãnh đạo phê duyệt"),
])
def test_field_value_shows_every_kind_of_value_as_a_person_reads_it(request_context, value, key, expected):
    assert field_value(value, key) == expected


def test_reason_codes_come_with_their_legal_text_in_the_readers_language(request_context):
    assert field_value("TT02.D2.K3.c", "reason_code").startswith("TT02.D2.K3.c — Đối tượng bị tạm giam")
    assert field_value("TT02.D2.K3.c", "status_reason_code") == field_value("TT02.D2.K3.c", "reason_code")
    with force_locale("en"):
        assert field_value("TT02.D2.K3.c", "reason_code").startswith("TT02.D2.K3.c — Held in pre-trial detention")
    assert field_value("XX.UNKNOWN", "reason_code") == "XX.UNKNOWN"


def test_ids_become_names(request_context, make_user):
    from cases.models import PaymentProvider, Village
    from extensions import db
    from sqlalchemy import select
    provider = db.session.scalars(select(PaymentProvider).order_by(PaymentProvider.id)).first()
    village = db.session.scalars(select(Village)).first()
    user = make_user(full_name="Hoàng Văn Pình")
    assert field_value(provider.id, "provider_id") == provider.name
    assert field_value(village.id, "village_id") == village.name
    assert field_value(village.commune_id, "commune_id") == village.commune.name
    assert field_value(user.id, "updated_by_id") == "Hoàng Văn Pình"
    assert field_value("D5.K5c", "category_code").startswith("Khoản 5c: Người cao tuổi")


def test_every_field_of_a_case_and_every_payload_key_has_a_label(app):
    from sqlalchemy import inspect

    from cases.models import Case
    from forms.transitions import FORMS
    keys = {c.key for c in inspect(Case).column_attrs}
    for form in FORMS.values():
        keys |= {name for name in dir(form) if not name.startswith("_") and hasattr(getattr(form, name), "field_class")}
    keys -= {"csrf_token", "version"}
    assert sorted(k for k in keys if k not in FIELD_LABELS) == []
    with app.test_request_context():
        assert field_label("identity_source") == "Nguồn xác thực"
        assert field_label("suspended_from") == "Trạng thái trước khi tạm dừng"
        assert field_label("provider_id") == "Tổ chức chi trả"


@pytest.mark.parametrize("enum_type, key", [
    (Sex, "sex"), (PolicyGroup, "policy_group"), (PaymentMethod, "payment_method"),
    (AccountHolder, "account_holder"), (IdentitySource, "identity_source"), (CaseState, "status"),
    (ProposalStatus, "proposal_status"),
])
def test_every_enum_value_has_a_label(enum_type, key):
    assert {m.value for m in enum_type} <= set(VALUE_LABELS[key])


def test_states_roles_and_triggers_have_labels(request_context):
    assert state_label("paid_by_account") == "Chi trả qua tài khoản"
    assert state_label(CaseState.TERMINATED) == "Thôi hưởng"
    assert role_label("officer") == "Cán bộ xã"
    assert all(str(spec.label) for spec in TRANSITIONS.values())


def test_every_audit_action_in_the_code_has_a_label():
    """An action written by `audit.record(session, actor, "x.y", ...)` anywhere is named on screen."""
    written = {"case.transition", "decision.take_effect", "auth.login_failed", "proposal.withdraw"}
    call = re.compile(r'audit\.record\(\s*[^,()]+(?:\([^()]*\))?,\s*[^,]+,\s*"([a-z_]+\.[a-z_]+)"', re.S)
    for folder in ("cases", "views", "scheduler", "workflow"):
        for source in (ROOT / folder).rglob("*.py"):
            written |= set(call.findall(source.read_text(encoding="utf-8")))
    written |= set(call.findall((ROOT / "commands.py").read_text(encoding="utf-8")))
    assert "case.create" in written and "proposal.approve" in written
    assert sorted(written - set(ACTION_LABELS)) == []
    assert str(ACTION_LABELS["proposal.withdraw"]) == "Rút đề xuất"
