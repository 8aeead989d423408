from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SelectMultipleField, StringField

from forms.base import Form, long_text, text


class DecisionForm(Form):
    """Approve or reject a proposal; the reason goes to the audit trail."""
    reason = long_text(_l("Lý do / ý kiến phê duyệt"), 500, required=True)
    # Only for a status decision proposed without its number (the system's): the service asks.
    decision_number = text(_l("Số quyết định"), 60)


class BatchDecisionForm(Form):
    """Approve or reject the proposals ticked in the inbox (or the one whose row button was
    pressed) with one reason. The service refuses a missing reason, an empty or too large
    selection, each in Vietnamese; the ids are read with `cases.ids.parse_id`."""
    reason = long_text(_l("Lý do / ý kiến (áp dụng cho các đề xuất đã chọn)"), 500)
    decision = StringField()
    proposal = SelectMultipleField(choices=[], validate_choice=False)
