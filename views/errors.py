"""Error pages in the user's language (Vietnamese unless they chose English), in the app's frame;
refusals of access are written to the audit trail. Werkzeug's own English pages never reach a user."""
from __future__ import annotations

import logging

from flask import Flask, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import Forbidden, HTTPException, InternalServerError, NotFound, RequestEntityTooLarge

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
    app.register_error_handler(InternalServerError, server_error)
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


def page(code: int, title: str, message: str, advice: str | None = None):
    """An error page in the app's frame, with what happened and what to do now."""
    return render_template("errors/page.html", code=code, title=title, message=message, advice=advice), code


def not_found(error):
    if isinstance(error, OutOfScope):
        log.warning("user %s asked for case %s outside their scope", error.user.username, error.case_id)
        _record_denial({"reason": "out_of_scope"}, case_id=error.case_id)
    elif isinstance(error, ProposalOutOfScope):
        log.warning("user %s asked for proposal %s outside their scope", error.user.username, error.proposal_id)
        _record_denial({"reason": "out_of_scope", "proposal_id": error.proposal_id})
    return page(404, _("Không tìm thấy"), _("Không tìm thấy trang hoặc hồ sơ bạn yêu cầu."),
                _("Hãy kiểm tra lại địa chỉ, hoặc tìm hồ sơ từ danh sách."))


def forbidden(error):
    # A domain refusal carries its own Vietnamese sentence (already through the catalogue where
    # it was raised); Werkzeug's Forbidden carries English, which a user must never see.
    message = getattr(error, "message", None) or _("Bạn không có quyền thực hiện thao tác này.")
    log.warning("forbidden %s %s: %s", request.method, request.path, error)
    _record_denial({"reason": "forbidden", "message": str(message)})
    return page(403, _("Không có quyền"), message,
                _("Nếu bạn cần làm việc này, hãy nhờ lãnh đạo hoặc quản trị hệ thống cấp quyền."))


def csrf_failed(error):
    log.warning("CSRF check failed on %s: %s", request.path, error.description)
    return page(400, _("Biểu mẫu đã hết hạn"),
                _("Biểu mẫu đã hết hạn hoặc thiếu mã bảo vệ. Hãy quay lại, tải lại trang "
                  "và gửi lại; dữ liệu chưa được lưu."))


def too_large(error):
    """A body over MAX_CONTENT_LENGTH (or a field over MAX_FORM_MEMORY_SIZE, or too many fields)
    is refused before it is parsed."""
    log.warning("request body too large on %s %s (%s bytes)", request.method, request.path, request.content_length)
    return page(413, _("Dữ liệu gửi lên quá lớn"),
                _("Dữ liệu gửi lên vượt quá giới hạn cho phép nên chưa được lưu."),
                _("Hãy rút ngắn nội dung và gửi lại."))


def _client_error_text(code: int) -> tuple[str, str, str | None]:
    known = {
        400: (_("Yêu cầu không hợp lệ"), _("Yêu cầu có dữ liệu không đọc được nên chưa được xử lý."),
              _("Hãy quay lại trang trước, tải lại và thử lại.")),
        405: (_("Thao tác không được hỗ trợ"),
              _("Trang này không mở trực tiếp được; hãy dùng nút trên trang hồ sơ."), None),
    }
    return known.get(code, (_("Không xử lý được yêu cầu"), _("Yêu cầu chưa được xử lý."),
                            _("Hãy quay lại trang trước và thử lại.")))


def other_client_error(error: HTTPException):
    """Any other refusal Werkzeug raises (400, 405, 414 ... and a 503) on a page of the app,
    keeping the headers it carries (`Allow` on a 405, `Retry-After` on a 503). Redirects pass."""
    if error.code is None or error.code < 400:
        return error
    if error.code >= 500:
        title, message, advice = (_("Có lỗi xảy ra"), _("Hệ thống chưa xử lý được yêu cầu; thao tác chưa được lưu."),
                                  _("Vui lòng thử lại sau ít phút hoặc báo quản trị hệ thống."))
    else:
        title, message, advice = _client_error_text(error.code)
    headers = [(k, v) for k, v in error.get_headers() if k.lower() != "content-type"]
    body, code = page(error.code, title, message, advice)
    return body, code, headers


# The last resort: no template, no database, no translation, nothing that can fail in turn.
_BARE_500 = ("<!doctype html><html lang=\"vi\"><head><meta charset=\"utf-8\">"
             "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
             "<title>Có lỗi xảy ra · AnSinh</title></head><body><main><h1>Có lỗi xảy ra</h1>"
             "<p>Hệ thống gặp lỗi; thao tác chưa được lưu. Vui lòng thử lại sau ít phút hoặc báo quản trị.</p>"
             "<p><a href=\"/\">Về trang chủ</a></p></main></body></html>")


def server_error(error):
    """Never a traceback: the app's page when it can be drawn, else a bare page that needs
    nothing (the database may be what failed, and the frame reads the user from it)."""
    log.error("unhandled error on %s %s", request.method, request.path,
              exc_info=getattr(error, "original_exception", None) or error)
    try:
        db.session.rollback()
    except Exception:   # noqa: BLE001 - the connection itself may be gone
        log.warning("rollback after an unhandled error failed too", exc_info=True)
    try:
        return page(500, _("Có lỗi xảy ra"), _("Hệ thống gặp lỗi; thao tác chưa được lưu."),
                    _("Vui lòng thử lại hoặc báo quản trị hệ thống."))
    except Exception:   # noqa: BLE001 - drawing the page failed: fall back to the bare one
        log.warning("the error page could not be drawn", exc_info=True)
        try:
            db.session.rollback()
        except Exception:   # noqa: BLE001
            pass
        return _BARE_500, 500, {"Content-Type": "text/html; charset=utf-8"}
