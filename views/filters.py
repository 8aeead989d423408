"""Jinja filters: dates dd/mm/yyyy, times in Asia/Ho_Chi_Minh, amounts as `500.000 đ`."""
from __future__ import annotations

import json
from datetime import date, datetime

from flask import Flask

from cases import reference
from cases.changes import to_local
from cases.registration import may_register
from workflow.table import STATES, TRANSITIONS

ACTION_LABELS = {
    "case.create": "Tạo hồ sơ",
    "case.edit": "Sửa thông tin",
    "case.transition": "Chuyển trạng thái",
    "proposal.create": "Lập đề xuất",
    "proposal.approve": "Phê duyệt",
    "proposal.reject": "Từ chối đề xuất",
    "access.denied": "Truy cập bị từ chối",
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


def masked_id(value: str | None) -> str:
    return f"•••••••{value[-5:]}" if value else "—"


def state_label(value) -> str:
    return STATES[value].label if value in STATES else str(value or "")


def detail(value: str | None) -> dict:
    return json.loads(value) if value else {}


def register(app: Flask) -> None:
    app.jinja_env.filters.update(
        vn_date=vn_date, vn_month=vn_month, vn_datetime=vn_datetime, money=money, masked_id=masked_id,
        state_label=state_label, detail=detail,
        payment_method_label=_labelled(PAYMENT_METHOD_LABELS, "Chưa đăng ký"), sex_label=_labelled(SEX_LABELS),
        action_label=lambda a: ACTION_LABELS.get(a, a),
        trigger_label=lambda t: TRANSITIONS[t].label if t in TRANSITIONS else t,
        category_label=lambda c: reference.categories()[c].label if c in reference.categories() else c,
    )
    app.jinja_env.globals.update(STATES=STATES, may_register=may_register)
