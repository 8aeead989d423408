"""A field's value as a person reads it: `field_value(value, key)` for any case field, payload key
or audit detail key. Ids become names, codes labels, reason codes their legal text, dates and money
the locale's formats, personal numbers masked (`cases.masking`).

Names for ids come without a query per row: providers and communes from a per-process list
(refreshed every minute, as `cases.organisation.provider_choices`), villages and users from the
request's `names` (`remember_names`, filled by one query of the page that shows them), any other id
from one query, kept for the rest of the request.
"""
from __future__ import annotations

import time
from datetime import date, datetime

from flask import g, has_app_context
from flask_babel import gettext as _
from sqlalchemy import select

from cases import reference
from cases.masking import PERSONAL_NUMBERS, mask_number
from cases.models import Commune, PaymentProvider, User, Village
from extensions import db
from views.present.formats import reader_language, money, number, vn_date, vn_datetime, vn_month
from views.present.labels import RAISED_BY_LABELS, VALUE_LABELS, field_label, role_label

DATE_KEYS = frozenset({"birth_date", "account_opened_on", "consent_date", "identity_verified_on",
                       "identity_follow_up_on", "verified_on", "follow_up_on", "opened_on", "event_date",
                       "takes_effect_on", "escalated_on", "on"})
MONTH_KEYS = frozenset({"benefit_start_month", "last_paid_month", "status_effective_month", "month_paid",
                        "effective_month"})
MOMENT_KEYS = frozenset({"state_entered_at", "created_at", "updated_at", "decided_at", "proposed_at"})
MONEY_KEYS = frozenset({"monthly_amount"})
REASON_KEYS = frozenset({"reason_code", "status_reason_code"})
CATEGORY_KEYS = frozenset({"category_code"})
USER_KEYS = frozenset({"created_by_id", "updated_by_id", "assigned_to_id", "decided_by_id", "proposed_by_id",
                       "actor_id", "user_id"})
NAMED = {"provider_id": PaymentProvider, "commune_id": Commune, "village_id": Village}
_CACHED_TABLES = {"provider_id": PaymentProvider, "commune_id": Commune}
NAMES_TTL_S = 60.0
_process_names: dict[tuple, tuple[float, dict[int, str]]] = {}


def field_value(value, key: str) -> str:
    """`{{ value|field_value(key) }}`: the display text of `value` held under `key`; "—" for none."""
    if value is None or value == "" or value == []:
        return "—"
    if key in PERSONAL_NUMBERS:
        return mask_number(value)
    if isinstance(value, bool):
        return _("Có") if value else _("Không")
    value = getattr(value, "value", value)      # an enum
    if key in ("field", "fields"):              # an audit record naming fields (a reveal)
        return ", ".join(field_label(v) for v in (value if isinstance(value, list) else [value]))
    if key in VALUE_LABELS and isinstance(value, str):
        labels = VALUE_LABELS[key]
        if value in labels:
            return str(labels[value])
        code, said, rest = value.partition(": ")    # a code with the officer's note: `wrong_number: …`
        if said and code in labels:
            return f"{labels[code]}: {rest}"
    if key in ("role", "actor_role"):
        return role_label(value)
    if key in MONEY_KEYS:
        return money(value)
    if key in MONTH_KEYS or (isinstance(value, (date, datetime)) and key.endswith("_month")):
        return vn_month(value) or str(value)
    if key in MOMENT_KEYS and isinstance(value, datetime):
        return vn_datetime(value)
    if key in DATE_KEYS or isinstance(value, (date, datetime)):
        return vn_date(value) or str(value)
    if key in REASON_KEYS:
        return reference.reason_label(str(value), reader_language())
    if key in CATEGORY_KEYS:
        return category_label(value)
    if key in NAMED or key in USER_KEYS:
        return _name_of(key, value)
    if isinstance(value, list):
        return ", ".join(field_value(v, key) for v in value)
    if isinstance(value, int):
        return number(value)
    return str(value)


def category_label(code) -> str:
    category = reference.categories().get(code or "")
    return category.label_in(reader_language()) if category else (code or "—")


def remember_names(villages: dict[int, str] | None = None, users: dict[int, str] | None = None) -> None:
    """Names a page loaded in its own query, for `field_value` to use during this request."""
    names = _request_names()
    names["village_id"].update(villages or {})
    for key in USER_KEYS:
        names[key].update(users or {})


def person(full_name: str | None, role) -> str:
    """`Hoàng Văn Pình (Cán bộ xã)`; the system when there is no one."""
    if not full_name:
        return _("Hệ thống")
    label = role_label(role)
    return f"{full_name} ({label})" if label else full_name


def raised_by(job: str | None) -> str:
    """Who raised a proposal that no user made: `Hệ thống (theo dõi chi trả)`."""
    label = RAISED_BY_LABELS.get(job or "")
    return _("Hệ thống (%(job)s)", job=label) if label else _("Hệ thống")


def proposer(proposal) -> str:
    """A proposal's proposer by name and role, or the system job that raised it."""
    if proposal.proposed_by is None:
        return raised_by(proposal.raised_by)
    return person(proposal.proposed_by.full_name, proposal.proposed_by.role)


def _name_of(key: str, value) -> str:
    try:
        ident = int(value)
    except (TypeError, ValueError):
        return str(value)
    if not has_app_context():
        return str(value)
    if key in _CACHED_TABLES:
        name = _process_table(key).get(ident)
        if name is not None:
            return name
    names = _request_names()[key]
    if ident not in names:   # not preloaded by the page: one query, then kept for the request
        model = User if key in USER_KEYS else NAMED[key]
        column = model.full_name if model is User else model.name
        names[ident] = db.session.scalar(select(column).where(model.id == ident)) or str(ident)
    return names[ident]


def _request_names() -> dict[str, dict[int, str]]:
    if "present_names" not in g:
        g.present_names = {key: {} for key in (*NAMED, *USER_KEYS)}
    return g.present_names


def _process_table(key: str) -> dict[int, str]:
    model = _CACHED_TABLES[key]
    cache_key, now = (db.engine.url.render_as_string(), key), time.monotonic()
    cached = _process_names.get(cache_key)
    if cached is None or now - cached[0] > NAMES_TTL_S:
        cached = now, dict(db.session.execute(select(model.id, model.name)).tuples().all())
        _process_names[cache_key] = cached
    return cached[1]


def forget_names() -> None:
    """Drop this process's lists (tests that load new providers or communes)."""
    _process_names.clear()
