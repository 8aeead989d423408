"""Error pages in Vietnamese; refusals of access are written to the audit trail."""
from __future__ import annotations

import logging

from flask import Flask, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import Forbidden, NotFound

from cases import audit
from cases.access import OutOfScope
from cases.errors import NotPermitted
from extensions import db, write_intent
from views.common import current_actor

log = logging.getLogger(__name__)


def register(app: Flask) -> None:
    app.register_error_handler(NotFound, not_found)
    app.register_error_handler(NotPermitted, forbidden)
    app.register_error_handler(Forbidden, forbidden)
    app.register_error_handler(CSRFError, csrf_failed)
    app.register_error_handler(500, server_error)


def _record_denial(detail: dict, case_id: int | None = None) -> None:
    """Write the refusal in its own short transaction, after dropping whatever the request did."""
    db.session.rollback()
    with write_intent():
        audit.record(db.session, current_actor(), "access.denied", case_id=case_id, outcome="denied",
                     detail={"path": request.path, "method": request.method, **detail})
        db.session.commit()


def not_found(error):
    if isinstance(error, OutOfScope):
        log.warning("user %s asked for case %s outside their scope", error.user.username, error.case_id)
        _record_denial({"reason": "out_of_scope"}, case_id=error.case_id)
    return render_template("errors/page.html", code=404, title="Không tìm thấy",
                           message="Không tìm thấy trang hoặc hồ sơ bạn yêu cầu."), 404


def forbidden(error):
    message = getattr(error, "message", None) or "Bạn không có quyền thực hiện thao tác này."
    log.warning("forbidden %s %s: %s", request.method, request.path, error)
    _record_denial({"reason": "forbidden", "message": message})
    return render_template("errors/page.html", code=403, title="Không có quyền", message=message), 403


def csrf_failed(error):
    log.warning("CSRF check failed on %s: %s", request.path, error.description)
    return render_template("errors/page.html", code=400, title="Biểu mẫu đã hết hạn",
                           message="Biểu mẫu đã hết hạn hoặc thiếu mã bảo vệ. Hãy quay lại, tải lại trang "
                                   "và gửi lại; dữ liệu chưa được lưu."), 400


def server_error(error):
    log.exception("unhandled error on %s %s", request.method, request.path)
    db.session.rollback()
    return render_template("errors/page.html", code=500, title="Có lỗi xảy ra",
                           message="Hệ thống gặp lỗi; thao tác chưa được lưu. Vui lòng thử lại hoặc báo quản trị."), 500
