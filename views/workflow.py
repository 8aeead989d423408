"""The workflow page: the case lifecycle drawn from the workflow table, and the table itself."""
from __future__ import annotations

from flask import Blueprint, Response, current_app, render_template
from flask_babel import gettext as _
from flask_login import login_required

from workflow.diagram import DiagramText, svg
from workflow.table import RETURN, STATES, TRANSITIONS

bp = Blueprint("workflow", __name__)


@bp.route("/workflow")
@login_required
def index():
    return render_template("workflow/index.html", states=STATES, transitions=TRANSITIONS, RETURN=RETURN)


@bp.route("/workflow/diagram.svg")
@login_required
def diagram():
    """The picture as an image of its own: a page holds no inline SVG (nothing a browser could run
    from markup), and the image is drawn in the reader's language like the page."""
    return Response(svg(diagram_text()), mimetype="image/svg+xml")


def diagram_text() -> DiagramText:
    """The words of the picture, through the same presentation layer as every other page."""
    filters = current_app.jinja_env.filters
    return DiagramText(
        state=filters["state_label"], trigger=filters["trigger_label"], role=filters["role_label"],
        sla=lambda sla: _("Hạn: %(sla)s", sla=sla.label),
        approval=_("Cần lãnh đạo phê duyệt"), no_approval=_("Không cần phê duyệt"),
        stays=_("Hồ sơ giữ nguyên trạng thái"), returns=_("Về trạng thái trước khi tạm dừng"),
        headings=(_("Trạng thái hiện tại"), _("Thao tác"), _("Trạng thái sau")),
        title=_("Sơ đồ quy trình xử lý hồ sơ"))
