from __future__ import annotations

from forms.base import Form, long_text


class DecisionForm(Form):
    """Approve or reject a proposal; the reason goes to the audit trail."""
    reason = long_text("Lý do / ý kiến phê duyệt", 500, required=True)
