"""Security headers on every response.

A small after-request hook rather than Flask-Talisman: Talisman covers CSP, HSTS and the frame
headers but not Cache-Control or the Server header, redirects to HTTPS itself (our proxy does) and
has not been released since 2023; what we need is the few fixed headers below.
"""
from __future__ import annotations

from flask import Flask, Response, current_app, request

# No inline script or style anywhere (tests/test_headers.py scans the templates): everything the
# pages load comes from /static.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:",
    "object-src 'none'", "base-uri 'self'", "form-action 'self'", "frame-ancestors 'none'",
])
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",     # frame-ancestors for browsers without CSP level 2
}
# A year, as browsers' preload lists ask; sent only in production, where the proxy serves HTTPS.
STRICT_TRANSPORT_SECURITY = "max-age=31536000; includeSubDomains"


def register(app: Flask) -> None:
    app.after_request(add_security_headers)


def add_security_headers(response: Response) -> Response:
    """Every page and download carries personal data or sits behind a login, so none may be kept
    by a browser or a shared cache; the stylesheet and script under /static may."""
    response.headers.update(HEADERS)
    if request.endpoint != "static":
        response.headers["Cache-Control"] = "no-store"
    if current_app.config.get("ANSINH_ENV") == "production":
        response.headers["Strict-Transport-Security"] = STRICT_TRANSPORT_SECURITY
    return response
