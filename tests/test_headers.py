"""Every response carries the security headers, on every route of the URL map, for a logged-in
supervisor and for someone not logged in; and no template holds script or style of its own that
the Content-Security-Policy would have to allow."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from app import create_app
from extensions import db
from tests.conftest import csrf_token
from tests.site import Site, every_rule

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
       "base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def assert_secure_headers(response, where: str, static: bool = False) -> None:
    headers = response.headers
    assert headers.get("Content-Security-Policy") == CSP, where
    assert headers.get("X-Content-Type-Options") == "nosniff", where
    assert headers.get("Referrer-Policy") in ("same-origin", "no-referrer"), where
    assert headers.get("X-Frame-Options") == "DENY", where
    if not static:
        assert "no-store" in headers.get("Cache-Control", ""), where
    assert "Strict-Transport-Security" not in headers, where     # not outside production
    assert "Server" not in headers, where


@pytest.fixture
def site(make_user, make_case, make_client):
    return Site(make_user, make_case, make_client)


@pytest.mark.parametrize("who", ["supervisor", "anonymous"])
def test_every_route_sends_the_security_headers(who, app, site):
    browser = site.browsers[who]
    token = csrf_token(browser.get("/login" if who == "anonymous" else "/cases").get_data(as_text=True))
    seen = 0
    for rule in every_rule(app):
        for url, _ in site.urls(rule):
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                if rule.endpoint == "auth.logout" and method == "POST":
                    continue    # would end the session the rest of the walk uses
                # A POST with the token and nothing else: the view runs and refuses the empty form.
                response = browser.open(url, method=method, data={"csrf_token": token} if method == "POST" else None)
                assert response.status_code < 500, f"{method} {url}: {response.status_code}"
                assert_secure_headers(response, f"{who} {method} {url} ({response.status_code})",
                                      static=rule.endpoint == "static")
                response.close()
                seen += 1
    assert seen >= len(list(app.url_map.iter_rules()))


def test_the_headers_on_pages_that_are_not_routes(client):
    assert_secure_headers(client.get("/khong-co-trang-nay"), "404")
    assert_secure_headers(client.get("/static/khong-co.css"), "static 404", static=True)
    refused = client.delete("/login")
    assert_secure_headers(refused, "405")
    assert refused.status_code == 405 and "POST" in refused.headers["Allow"]
    assert "Thao tác không được hỗ trợ" in refused.get_data(as_text=True)


def test_a_page_with_personal_data_is_not_kept_but_the_stylesheet_may_be(site):
    case, _ = site.proposed()
    page = site.browsers["supervisor"].get(f"/cases/{case.id}")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    css = site.browsers["supervisor"].get("/static/app.css")
    assert css.status_code == 200 and "no-store" not in css.headers.get("Cache-Control", "")
    css.close()


def test_production_asks_for_https_from_now_on(monkeypatch, database_url):
    monkeypatch.setenv("SECRET_KEY", "s" * 64)
    monkeypatch.setenv("DATABASE_URL", database_url)
    for name in ("DEBUG", "FLASK_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    production = create_app({"ANSINH_ENV": "production", "SQLALCHEMY_DATABASE_URI": database_url})
    with production.app_context():
        response = production.test_client().get("/login")
        for engine in db.engines.values():
            engine.dispose()
    assert response.status_code == 200
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert response.headers["Content-Security-Policy"] == CSP


# --- the templates -------------------------------------------------------------------------------

INLINE = {
    "a <script> without src": re.compile(r"<script\b(?![^>]*\bsrc\s*=)[^>]*>", re.I),
    "an on...= event handler": re.compile(r"\son[a-z]+\s*=", re.I),
    "a style= attribute": re.compile(r"\sstyle\s*=", re.I),
    "a <style> element": re.compile(r"<style\b", re.I),
    "a javascript: URL": re.compile(r"javascript:", re.I),
}


@pytest.mark.parametrize("template", sorted(p.relative_to(TEMPLATES).as_posix() for p in TEMPLATES.rglob("*.html")))
def test_no_template_holds_inline_script_or_style(template):
    source = (TEMPLATES / template).read_text()
    found = [what for what, pattern in INLINE.items() if pattern.search(source)]
    assert not found, f"{template} has {', '.join(found)}: move it to static/ (the CSP forbids it)"


def test_the_queue_filter_still_submits_itself_from_a_static_script(site):
    site.make_case(commune="06115")      # a second commune in scope shows the filter
    province_wide = site.browsers["auditor"].get("/cases").get_data(as_text=True)
    assert 'data-autosubmit' in province_wide and '/static/app.js' in province_wide
    script = site.browsers["auditor"].get("/static/app.js")
    assert script.status_code == 200 and "data-autosubmit" in script.get_data(as_text=True)
    script.close()
