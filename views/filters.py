"""Jinja filters: the presentation layer (`views.present`) made available to every template.

Dates dd/mm/yyyy, months MM/YYYY, times in Asia/Ho_Chi_Minh and amounts as `500.000 đ` in
Vietnamese (the English formats in English), and every field, enum value and action by its label.
"""
from __future__ import annotations

import json

from flask import Flask, url_for

from cases.audit_trail import may_read_trail
from cases.masking import mask_detail, mask_field, mask_number, may_reveal
from cases.registration import may_register
from views.present.formats import money, number, share_percent, vn_date, vn_datetime, vn_month, vn_number, vn_percent
from views.present.labels import (ACTION_LABELS, FIELD_LABELS, PAYMENT_METHOD_LABELS, SEX_LABELS, action_label,
                                  field_label, role_label, state_label)
from views.present.values import category_label, field_value, person, proposer, raised_by
from workflow.table import STATES, TRANSITIONS

__all__ = ["ACTION_LABELS", "FIELD_LABELS", "PAYMENT_METHOD_LABELS", "SEX_LABELS", "action_label", "category_label",
           "detail", "field_label", "field_value", "masked_field", "money", "number", "person", "proposer", "raised_by", "register",
           "role_label", "state_label", "trigger_label", "vn_date", "vn_datetime", "vn_month"]


def _labelled(labels: dict, empty: str = "—"):
    def label(value) -> str:
        return str(labels.get(getattr(value, "value", value), empty)) if value else str(empty)
    return label


def masked_field(value, name: str):
    """`{{ value|masked_field(name) }}`: masked when `name` is a personal number; empty as a dash."""
    return mask_field(name, value) if value not in (None, "") else "—"


def detail(value: str | None) -> dict:
    """An audit record's detail, personal numbers masked (every page shows it through here)."""
    return mask_detail(json.loads(value)) if value else {}


def trigger_label(trigger: str) -> str:
    return str(TRANSITIONS[trigger].label) if trigger in TRANSITIONS else str(trigger)


def _payment_method_label(value) -> str:
    from flask_babel import gettext as _
    return _labelled(PAYMENT_METHOD_LABELS, _("Chưa đăng ký"))(value)


def register(app: Flask) -> None:
    app.jinja_env.filters.update(
        vn_date=vn_date, vn_month=vn_month, vn_datetime=vn_datetime, money=money, number=number,
        vn_number=vn_number, vn_percent=vn_percent, share_percent=share_percent,
        masked_id=mask_number, masked_field=masked_field, field_label=field_label, field_value=field_value,
        state_label=state_label, role_label=role_label, detail=detail, person=person, proposer=proposer,
        raised_by=raised_by,
        payment_method_label=_payment_method_label, sex_label=_labelled(SEX_LABELS),
        action_label=action_label, trigger_label=trigger_label, category_label=category_label,
    )
    app.jinja_env.globals.update(STATES=STATES, may_register=may_register, may_reveal=may_reveal,
                                 may_read_trail=may_read_trail, links=links)


# An id no row has (cases.ids.MAX_ID + 1 would not pass the int converter's own check on some routes).
_SENTINEL = "2147483647"


def links(endpoint: str, key: str, **values):
    """`links('cases.show', 'case_id')(42)` is `url_for('cases.show', case_id=42)`, with one
    `url_for` for the whole page: a 50-row list spent a fifth of its time building its rows' links
    (about 80 microseconds each)."""
    head, found, tail = url_for(endpoint, **{key: int(_SENTINEL)}, **values).partition(_SENTINEL)
    if not found:
        raise ValueError(f"{endpoint} does not put {key} in its URL")
    return lambda value: f"{head}{int(value)}{tail}"
