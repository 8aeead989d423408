"""Showing one personal number of a case in full, on request, audited."""
from __future__ import annotations

from flask import Blueprint, g, make_response, request
from flask_login import login_required

from cases.access import get_case
from cases.masking import reveal as reveal_number
from extensions import db
from views import cases
from views.common import acting_user, current_actor

bp = Blueprint("reveal", __name__)


@bp.route("/cases/<int:case_id>/reveal", methods=["POST"])
@login_required
def reveal(case_id: int):
    """The case page with the number named by the form's `field` in full (`g.revealed`).

    POST only, so the number is never in a URL (history, server logs, Referer), and the page
    is `no-store`, so no browser or proxy keeps it.
    :raise 404: the case is not in the user's scope, or has no such number.
    :raise 403: the user's role does not see full numbers.
    """
    user = acting_user()
    case = get_case(db.session, user, case_id)
    field = request.form.get("field", "")
    reveal_number(db.session, current_actor(), user, case, field)
    g.revealed = field
    response = make_response(cases.show(case_id))
    # Rendered before the commit: if the audit record fails to land, the page is never sent.
    db.session.commit()
    response.headers["Cache-Control"] = "no-store"
    return response
