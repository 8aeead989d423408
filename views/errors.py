"""Error pages in Vietnamese; refusals of access are written to the audit trail."""
from __future__ import annotations

import logging

from flask import Flask, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import Forbidden, HTTPException, NotFound, RequestEntityTooLarge

from cases import audit
from cases.access import OutOfScope, ProposalOutOfScope
from cases.denials import count_denial
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
    app.register_error_handler(RequestEntityTooLarge, too_large)
    app.register_error_handler(HTTPException, other_client_error)


def _record_denial(detail: dict, case_id: int | None = None) -> None:
    """Write the refusal in its own short transaction, after dropping whatever the request did.
    A logged-in user's repeated refusals for one target (a method and path: opening a foreign
    case, editing it and posting to it are three) are audited once an hour, counted
    (`cases.denials`), so no one can grow the trail by repeating a request."""
    db.session.rollback()
    actor = current_actor()
    with write_intent():
        repeats = 0
        if actor.user_id is not None:
            repeats = count_denial(db.session, actor.user_id, f"{request.method} {request.path}")
        if repeats is not None:
            extra = {"repeats_in_previous_hour": repeats} if repeats else {}
            audit.record(db.session, actor, "access.denied", case_id=case_id, outcome="denied",
                         detail={"path": request.path, "method": request.method, **detail, **extra})
        db.session.commit()


def not_found(error):
    if isinstance(error, OutOfScope):
        log.warning("user %s asked for case %s outside their scope", error.user.username, error.case_id)
        _record_denial({"reason": "out_of_scope"}, case_id=error.case_id)
    elif isinstance(error, ProposalOutOfScope):
        log.warning("user %s asked for proposal %s outside their scope", error.user.username, error.proposal_id)
        _record_denial({"reason": "out_of_scope", "proposal_id": error.proposal_id})
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


def too_large(error):
    """A body over MAX_CONTENT_LENGTH (or a field over MAX_FORM_MEMORY_SIZE, or too many fields)
    is refused before it is parsed."""
    log.warning("request body too large on %s %s (%s bytes)", request.method, request.path, request.content_length)
    return render_template("errors/page.html", code=413, title="Dữ liệu gửi lên quá lớn",
                           message="Dữ liệu gửi lên vượt quá giới hạn cho phép nên chưa được lưu. "
                                   "Hãy rút ngắn nội dung và gửi lại."), 413


_CLIENT_ERRORS = {
    400: ("Yêu cầu không hợp lệ", "Yêu cầu có dữ liệu không đọc được nên chưa được xử lý."),
    405: ("Thao tác không được hỗ trợ", "Trang này không nhận thao tác bạn vừa gửi."),
}


def other_client_error(error: HTTPException):
    """Any other refusal Werkzeug raises (400, 405, 414 ...) on a Vietnamese page, keeping the
    headers it carries (`Allow` on a 405)."""
    if error.code is None or not 400 <= error.code < 500:
        return error
    title, message = _CLIENT_ERRORS.get(error.code, ("Không xử lý được yêu cầu", "Yêu cầu chưa được xử lý."))
    headers = [(k, v) for k, v in error.get_headers() if k.lower() != "content-type"]
    return render_template("errors/page.html", code=error.code, title=title, message=message), error.code, headers
