"""Jinja filters: dates dd/mm/yyyy, times in Asia/Ho_Chi_Minh, amounts as `500.000 đ`."""
from __future__ import annotations

import json
from datetime import date, datetime

from flask import Flask

from cases import reference
from cases.audit_trail import may_read_trail
from cases.changes import to_local
from cases.masking import mask_detail, mask_field, mask_number, may_reveal
from cases.registration import may_register
from workflow.table import STATES, TRANSITIONS

ACTION_LABELS = {
    "case.create": "Tạo hồ sơ",
    "case.edit": "Sửa thông tin",
    "case.transition": "Chuyển trạng thái",
    "proposal.create": "Lập đề xuất",
    "proposal.approve": "Phê duyệt",
    "proposal.reject": "Từ chối đề xuất",
    "decision.take_effect": "Quyết định có hiệu lực",
    "decision.refused": "Quyết định không được áp dụng",
    "access.denied": "Truy cập bị từ chối",
    "case.reveal": "Xem số đầy đủ",
    "audit.export": "Xuất nhật ký",
    "auth.login": "Đăng nhập",
    "auth.login_failed": "Đăng nhập không thành công",
    "auth.logout": "Đăng xuất",
    "user.create": "Tạo người dùng",
    "user.disable": "Khoá tài khoản",
    "user.enable": "Mở lại tài khoản",
    "user.password_reset": "Đặt lại mật khẩu",
    "user.password_change": "Đổi mật khẩu",
    "user.role_change": "Đổi vai trò",
    "user.scope_change": "Đổi phạm vi",
    "calendar.swap_add": "Thêm ngày hoán đổi lịch làm việc",
    "calendar.swap_remove": "Xoá ngày hoán đổi lịch làm việc",
    "job.run_requested": "Yêu cầu chạy việc định kỳ",
}


PAYMENT_METHOD_LABELS = {"account": "Qua tài khoản", "cash": "Tiền mặt"}
SEX_LABELS = {"male": "Nam", "female": "Nữ"}


def _labelled(labels: dict, empty: str = "—"):
    return lambda value: labels.get(getattr(value, "value", value), empty) if value else empty


def vn_date(value) -> str:
    return value.strftime("%d/%m/%Y") if isinstance(value, (date, datetime)) else ""


def vn_month(value) -> str:
    return value.strftime("%m/%Y") if isinstance(value, (date, datetime)) else ""


def vn_datetime(value: datetime | None) -> str:
    return to_local(value).strftime("%d/%m/%Y %H:%M") if value else ""


def money(value) -> str:
    return f"{value:,}".replace(",", ".") + " đ" if value is not None else ""


def masked_field(value, name: str):
    """`{{ value|masked_field(name) }}`: masked when `name` is a personal number; empty as a dash."""
    return mask_field(name, value) if value not in (None, "") else "—"


def state_label(value) -> str:
    return STATES[value].label if value in STATES else str(value or "")


def detail(value: str | None) -> dict:
    """An audit record's detail, personal numbers masked (every page shows it through here)."""
    return mask_detail(json.loads(value)) if value else {}


# Field key (a case column, or a key of a proposal's payload) → how a screen names it. To be
# completed (issue 15): every key a case page, a proposal or the timeline can show.
FIELD_LABELS: dict[str, str] = {
    "full_name": "Họ và tên", "birth_date": "Ngày sinh", "sex": "Giới tính", "national_id": "Số CCCD",
    "payment_method": "Hình thức chi trả", "provider_id": "Tổ chức chi trả", "account_number": "Số tài khoản",
    "monthly_amount": "Mức trợ cấp hàng tháng", "reason_code": "Căn cứ pháp lý", "effective_month": "Áp dụng từ tháng",
}


def field_label(key: str) -> str:
    """`{{ key|field_label }}`: the label of a case field or proposal key."""
    return FIELD_LABELS.get(key, key)


def field_value(value, key: str) -> str:
    """`{{ value|field_value(key) }}`: a field's value as a person reads it (personal numbers
    masked, enums by their label, dates dd/mm/yyyy, amounts in đồng). To be completed."""
    if value in (None, ""):
        return "—"
    if key in ("monthly_amount",):
        return money(value)
    if isinstance(value, (date, datetime)):
        return vn_month(value) if key.endswith("_month") else vn_date(value)
    return str(masked_field(value, key))


def register(app: Flask) -> None:
    app.jinja_env.filters.update(
        vn_date=vn_date, vn_month=vn_month, vn_datetime=vn_datetime, money=money, masked_id=mask_number,
        masked_field=masked_field, field_label=field_label, field_value=field_value,
        state_label=state_label, detail=detail,
        payment_method_label=_labelled(PAYMENT_METHOD_LABELS, "Chưa đăng ký"), sex_label=_labelled(SEX_LABELS),
        action_label=lambda a: ACTION_LABELS.get(a, a),
        trigger_label=lambda t: TRANSITIONS[t].label if t in TRANSITIONS else t,
        category_label=lambda c: reference.categories()[c].label if c in reference.categories() else c,
    )
    app.jinja_env.globals.update(STATES=STATES, may_register=may_register, may_reveal=may_reveal,
                                 may_read_trail=may_read_trail)
