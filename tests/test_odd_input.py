"""Odd input never gives a 500: huge and negative integers, 1e30, NUL and other control characters,
bytes that are not UTF-8 and 10,000-character strings, put in every argument of every route of the
URL map, in every query parameter the pages use, and in every field of every form the pages show
(posted with a valid CSRF token and version); and a body over the limit answers 413.

A NUL or another control character typed into a text field is refused beside the field; tab and
line breaks are taken only by a multi-line note (and a password, which is never shown).
"""
from __future__ import annotations

import re
from html import unescape
from urllib.parse import quote, urlencode, urlsplit

import argon2
import pytest
from sqlalchemy import func, select
from werkzeug.exceptions import HTTPException

from cases.models import Case, LoginThrottle
from extensions import db
from tests.conftest import PASSWORD, csrf_token
from tests.helpers import new_case_form, text_of
from tests.site import (Site, every_rule, fill, named_query_parameters, path_of, query_names, read_page,
                        rule_arguments)

OUT_OF_RANGE = ["0", "-1", "2147483648", "4294967296", "9223372036854775807", "9223372036854775808",
                "-9223372036854775809", "99999999999999999999", "1" * 10_000]
NOT_NUMBERS = ["1e30", "+1", " 1", "1.5", "0x10", "١٢"]
CONTROLS = ["\x00", "Nguyễn\x00Văn", "\x01\x08\x0b\x0c\x1b", "A\x7fB\x85C\x9f", b"\xff\xfe", b"Nguy\xe1\xbb"]
LINE_BREAKS = ["a\tb", "dòng 1\ndòng 2", "a\rb"]
LONG = ["x" * 10_000, "ễ" * 10_000]
CORPUS = OUT_OF_RANGE + NOT_NUMBERS + CONTROLS + LINE_BREAKS + LONG + ["%00", "../../etc/passwd", "'; --"]
# Every field of every form, and every query parameter on every page, take a shorter corpus: each
# kind of oddity once (the full one goes into the route arguments, which are few).
FIELD_CORPUS = ["-1", "9223372036854775808", "1e30", "1" * 10_000] + CONTROLS + LINE_BREAKS[:2] + LONG[1:]
QUERY_CORPUS = ["-1", "2147483648", "9223372036854775808", "1e30", "1" * 10_000, "\x00", b"\xff\xfe", "x" * 10_000]
TEXT_KINDS = {"text", "password", "textarea", "search", "email", "tel"}
REFUSED_CHARACTER = "Có ký tự không hợp lệ (ký tự điều khiển hoặc lỗi mã hoá)"
NOT_UTF8 = "Yêu cầu có dữ liệu không đọc được"
ONE_LINE_ONLY = "Trường này chỉ nhận một dòng"


@pytest.fixture
def site(make_user, make_case, make_client):
    return Site(make_user, make_case, make_client)


def encode(values: dict) -> bytes:
    """A form body as a browser sends it; bytes values go in as they are (not UTF-8)."""
    return urlencode([(k, v) for k, v in values.items()]).encode("ascii")


def multipart(values: dict) -> tuple[bytes, str]:
    """A multipart body, bytes values as they are (the test client would post their repr)."""
    boundary = "ansinh-odd-input"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
             + (value if isinstance(value, bytes) else str(value).encode()) + b"\r\n" for name, value in values.items()]
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def post_form(browser, url: str, values: dict):
    return browser.post(url, data=encode(values), content_type="application/x-www-form-urlencoded")


def token_of(browser, who: str) -> str:
    return csrf_token(browser.get("/login" if who == "anonymous" else "/cases").get_data(as_text=True))


def who_reads(site: Site, url: str) -> str:
    """The first role that gets the page itself (not a refusal or a redirect)."""
    for who in (*Site.ROLES, "anonymous"):
        response = site.browsers[who].get(url)
        response.close()
        if response.status_code == 200:
            return who
    return "supervisor"


def send(failures: list, where: str, request, *args, **kwargs):
    """Make the request; a 500 raised through the test client is noted as a failure, not thrown,
    so one run lists every place that fails."""
    try:
        response = request(*args, **kwargs)
    except Exception as error:  # noqa: BLE001 - whatever escapes the app is the finding
        failures.append(f"{where}: raised {type(error).__name__}: {str(error)[:120]}")
        return None
    response.close()
    return response


# --- URL arguments and query parameters ----------------------------------------------------------

def test_every_route_argument_takes_odd_values(app, site):
    failures = []
    for rule in every_rule(app):
        if not rule.arguments:
            continue
        values, _ = site.values(rule)[0]
        plain_url = fill(rule, values)
        who = who_reads(site, plain_url) if "GET" in rule.methods else "supervisor"
        browser, token = site.browsers[who], token_of(site.browsers[who], who)
        for name, converter, _ in rule_arguments(rule):
            for odd in CORPUS:
                url = fill(rule, values | {name: odd})
                for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                    response = send(failures, f"{who} {method} {rule.rule} {name}={odd!r:.40}", browser.open, url,
                                    method=method, data={"csrf_token": token} if method == "POST" else None)
                    if response is None:
                        continue
                    if response.status_code >= 500:
                        failures.append(f"{who} {method} {rule.rule} {name}={odd!r:.40}: {response.status_code}")
                    elif converter == "int" and odd in OUT_OF_RANGE and response.status_code != 404:
                        failures.append(f"{who} {method} {rule.rule} {name}={odd!r:.40}: {response.status_code}, not 404")
    assert not failures, "\n".join(failures)


def pages_and_query_names(app, site) -> tuple[dict[str, str], list[str]]:
    """Every GET page (with the role that reads it) and every query parameter the views read by
    name or the pages put in their links and filter forms."""
    pages = {}
    for rule in every_rule(app):
        if "GET" in rule.methods and rule.endpoint != "static":
            url = site.urls(rule)[0][0]
            who = who_reads(site, url)
            pages[url] = who
    links = []
    for url, who in pages.items():
        page = site.browsers[who].get(url)
        if page.mimetype != "text/html":    # a download (a workbook) has no links or forms to follow
            continue
        forms, found = read_page(url, page.get_data(as_text=True))
        links += found + [page.headers.get("Location", "")]
        links += [form.actions[0] + "?" + urlencode(form.values) for form in forms if form.method == "get"]
    links.append(site.browsers["anonymous"].get("/cases").headers["Location"])    # the login's ?next=
    names = sorted(named_query_parameters() | query_names(links))
    assert {"state", "commune", "after", "next"} <= set(names)
    return pages, names


def test_every_query_parameter_takes_odd_values(app, site):
    pages, names = pages_and_query_names(app, site)
    failures = []
    for url, who in pages.items():
        for name in names:
            for odd in QUERY_CORPUS:
                value = quote(odd if isinstance(odd, bytes) else odd.encode(), safe="")
                where = f"{who} GET {url}?{name}={odd!r:.40}"
                response = send(failures, where, site.browsers[who].get, f"{url}?{name}={value}")
                if response is not None and response.status_code >= 500:
                    failures.append(f"{who} GET {url}?{name}={odd!r:.40}: {response.status_code}")
    assert not failures, "\n".join(failures)


def test_a_filter_posted_to_a_form_takes_odd_values(app, site):
    """A POST that reads a filter from its form (the audit trail's export) takes the query
    parameters' corpus too."""
    _, names = pages_and_query_names(app, site)
    failures = []
    for rule in every_rule(app):
        if "POST" not in rule.methods or "GET" in rule.methods or rule.endpoint == "auth.logout":
            continue
        url = site.urls(rule)[0][0]
        for who in ("supervisor", "auditor"):
            token = token_of(site.browsers[who], who)
            for name in names:
                for odd in ["9223372036854775808", "1e30", "\x00", "1" * 10_000]:
                    where = f"{who} POST {url} {name}={odd!r:.40}"
                    response = send(failures, where, post_form, site.browsers[who], url, {name: odd, "csrf_token": token})
                    if response is not None and response.status_code >= 500:
                        failures.append(f"{where}: {response.status_code}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("cursor", ["2025-01-01T00:00:00_1e30", "2025-01-01T00:00:00_9223372036854775808",
                                    "2025-01-01T00:00:00_-5", "2025-01-01T00:00:00+07:00_5", "\x00_1", "_", "x_y_z"])
def test_an_odd_cursor_shows_the_first_page(cursor, site):
    case = site.make_case(full_name="Hoàng Thị Cúc")
    page = site.browsers["officer"].get("/cases", query_string={"after": cursor})
    assert page.status_code == 200
    assert case.full_name in text_of(page) or "+07:00" in cursor


@pytest.mark.parametrize("commune", ["1e30", "99999999999999999999", "-1", "0", "\x00"])
def test_an_odd_commune_filter_filters_nothing(commune, site):
    case = site.make_case(full_name="Hoàng Thị Cúc")
    page = site.browsers["officer"].get("/cases", query_string={"commune": commune})
    assert page.status_code == 200 and case.full_name in text_of(page)


@pytest.mark.parametrize("path", ["/cases/9223372036854775808", "/cases/99999999999999999999", "/cases/-1",
                                  "/cases/0", "/cases/2147483648", "/proposals/1e30/approve",
                                  "/proposals/99999999999999999999/approve"])
def test_an_id_no_row_can_have_is_not_found(path, site):
    browser = site.browsers["supervisor"]
    method = "POST" if path.startswith("/proposals") else "GET"
    response = browser.open(path, method=method, data={"csrf_token": token_of(browser, "supervisor")})
    assert response.status_code == 404
    assert "Không tìm thấy" in text_of(response)


# --- every field of every form ----------------------------------------------------------------------

def discover_forms(app, site):
    """(endpoint the form posts to, the page rule, which URL of the rule, who, form index, action
    index): one entry per form target, found by reading every page as every role."""
    adapter = app.url_map.bind("localhost")
    found = {}
    for rule in every_rule(app):
        if "GET" not in rule.methods or rule.endpoint == "static":
            continue
        for index, (url, _) in enumerate(site.urls(rule)):
            for who in (*Site.ROLES, "anonymous"):
                page = site.browsers[who].get(url)
                if page.status_code != 200 or page.mimetype != "text/html":
                    continue
                forms, _ = read_page(url, page.get_data(as_text=True))
                for f, form in enumerate(forms):
                    if form.method != "post" or set(form.kinds) <= {"csrf_token"}:
                        continue
                    for a, action in enumerate(form.actions):
                        try:
                            endpoint, values = adapter.match(urlsplit(action).path, method="POST")
                        except HTTPException:
                            continue    # the page's own URL, where every button names another target
                        key = (endpoint, values.get("trigger"))
                        found.setdefault(key, (endpoint, rule, index, who, f, a))
    return list(found.values())


def test_every_form_field_takes_odd_values(app, site):
    failures, posted = [], 0
    for endpoint, rule, index, who, f, a in discover_forms(app, site):
        if who == "anonymous":
            continue    # the login form: its own test below, after every browser has logged in
        posted += fuzz_form(site, endpoint, rule, index, who, f, a, failures)
    assert posted > 500
    assert not failures, "\n".join(failures)


def test_the_login_form_takes_odd_values(app, site):
    failures = []
    targets = [t for t in discover_forms(app, site) if t[0] == "auth.login" and t[3] == "anonymous"]
    assert targets
    for target in targets:
        fuzz_form(site, *target, failures)
    assert not failures, "\n".join(failures)


def fuzz_form(site: Site, endpoint, rule, index, who, f, a, failures: list) -> int:
    """Post each corpus value into each field of one form, the rest of the form valid; count the posts."""
    browser, posted = site.browsers[who], 0
    page = None
    for name in list(open_form(site, rule, index, who, f, a)[1].kinds):
        if name == "csrf_token":
            continue
        for odd in FIELD_CORPUS:
            if page is None:
                page = open_form(site, rule, index, who, f, a)
            action, form, key, page_endpoint = page
            values = form.values | site.valid_data(endpoint, action, who) | {name: odd}
            where = f"{who} {endpoint} {name}={odd!r:.40}"
            response = send(failures, where, post_form, browser, path_of(action), values)
            posted += 1
            if response is None:
                page = None
                continue
            if response.status_code >= 500:
                failures.append(f"{where}: {response.status_code}")
            elif form.kinds[name] in TEXT_KINDS and endpoint == page_endpoint and refused_here(odd, form.kinds[name]):
                if not refused(response, odd):
                    failures.append(f"{where}: {response.status_code}, not refused beside the field")
            if response.status_code in (301, 302, 303):
                site.forget(key)    # the case moved on, or the proposal was decided: take a new one
                page = None
    return posted


def refused_here(odd, kind: str) -> bool:
    return odd in CONTROLS or (odd in LINE_BREAKS and kind not in ("textarea", "password"))


def refused(response, odd) -> bool:
    """Bytes that are not UTF-8 spoil the whole form (400); a control character, the one field."""
    if isinstance(odd, bytes):
        return response.status_code == 400 and NOT_UTF8 in text_of(response)
    shown = text_of(response)
    return response.status_code not in (301, 302, 303) and (REFUSED_CHARACTER in shown or ONE_LINE_ONLY in shown)


def open_form(site: Site, rule, index, who, f, a):
    url, key = site.urls(rule)[index]
    page = site.browsers[who].get(url)
    assert page.status_code == 200, (who, url, page.status_code)
    form = read_page(url, page.get_data(as_text=True))[0][f]
    return form.actions[a], form, key, rule.endpoint


# --- the messages a person reads -------------------------------------------------------------------

def test_a_nul_in_a_name_is_refused_beside_the_field(site):
    browser = site.browsers["officer"]
    page = browser.get("/cases/new").get_data(as_text=True)
    before = count_cases()
    response = post_form(browser, "/cases/new", new_case_form(site.commune_id, full_name="Hoàng\x00Văn Thụ")
                         | {"csrf_token": csrf_token(page)})
    assert response.status_code == 422
    assert REFUSED_CHARACTER in field_errors(response, "full_name")
    assert count_cases() == before


@pytest.mark.parametrize("raw", [b"Ho\xe0ng", b"Ho%E0ng", b"Ho%ED%A0%80ng"], ids=["raw", "encoded", "surrogate"])
def test_a_form_that_is_not_utf8_is_refused(raw, site):
    browser = site.browsers["officer"]
    token = csrf_token(browser.get("/cases/new").get_data(as_text=True))
    body = encode(new_case_form(site.commune_id) | {"csrf_token": token}).replace(b"full_name=", b"full_name=" + raw, 1)
    before = count_cases()
    response = browser.post("/cases/new", data=body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400 and NOT_UTF8 in text_of(response)
    assert count_cases() == before


def test_a_multipart_form_that_is_not_utf8_is_refused_beside_the_field(site):
    browser = site.browsers["officer"]
    token = csrf_token(browser.get("/cases/new").get_data(as_text=True))
    form = new_case_form(site.commune_id) | {"csrf_token": token}
    before = count_cases()
    body, content_type = multipart(form | {"full_name": b"Ho\xe0ng V\xc4n"})
    response = browser.post("/cases/new", data=body, content_type=content_type)
    assert response.status_code == 422
    assert REFUSED_CHARACTER in field_errors(response, "full_name")
    assert count_cases() == before


@pytest.mark.parametrize("query", ["state=\xff", "commune=%FF", "after=%C3%28"], ids=["raw", "encoded", "cursor"])
def test_a_query_string_that_is_not_utf8_is_refused(query, site):
    # QUERY_STRING as a WSGI server hands it over: the raw bytes, one character each.
    response = site.browsers["officer"].get("/cases", environ_overrides={"QUERY_STRING": query})
    assert response.status_code == 400 and NOT_UTF8 in text_of(response)


def test_a_note_keeps_its_lines_but_a_name_takes_one_line(site):
    browser = site.browsers["officer"]
    token = csrf_token(browser.get("/cases/new").get_data(as_text=True))
    one_line = post_form(browser, "/cases/new", new_case_form(site.commune_id, full_name="Hoàng\tVăn Thụ")
                         | {"csrf_token": token})
    assert one_line.status_code == 422 and ONE_LINE_ONLY in field_errors(one_line, "full_name")
    noted = post_form(browser, "/cases/new", new_case_form(site.commune_id, notes="Dòng một\r\n\tDòng hai")
                      | {"csrf_token": token})
    assert noted.status_code == 302


def test_a_nul_in_the_login_name_is_refused_before_login(site, make_client):
    browser = make_client()
    token = csrf_token(browser.get("/login").get_data(as_text=True))
    response = post_form(browser, "/login", {"username": site.users["officer"].username + "\x00",
                                             "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 401
    assert REFUSED_CHARACTER in field_errors(response, "username")
    assert browser.get("/cases").status_code == 302       # not logged in


@pytest.mark.parametrize("target", ["/\x00x", "/cases\nSet-Cookie: x=1", "/cases\r\nX-A: b", "/" + "x" * 10_000,
                                    "//elsewhere.example", "/\u202e"])
def test_an_odd_next_after_login_leads_somewhere_on_this_site(target, site, make_client):
    browser = make_client()
    token = csrf_token(browser.get("/login").get_data(as_text=True))
    response = browser.post("/login", query_string={"next": target}, data={
        "username": site.users["officer"].username, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith("/") and not location.startswith("//")
    assert not re.search(r"[\x00-\x1f\x7f]", location)


def test_a_password_over_1024_characters_is_refused_without_hashing_it(site, make_client, monkeypatch):
    verified = []
    monkeypatch.setattr(argon2.PasswordHasher, "verify", lambda self, *args: verified.append(args) or False)
    browser = make_client()
    token = csrf_token(browser.get("/login").get_data(as_text=True))
    response = post_form(browser, "/login", {"username": site.users["officer"].username,
                                             "password": "p" * 1025, "csrf_token": token})
    assert response.status_code == 401
    assert "Không được dài quá 1024 ký tự." in field_errors(response, "password")
    assert verified == []
    assert count_rows(LoginThrottle) == 0


# --- the size of a request ---------------------------------------------------------------------

TOO_LARGE = "Dữ liệu gửi lên quá lớn"


URLENCODED, MULTIPART = "application/x-www-form-urlencoded", "multipart/form-data"


@pytest.mark.parametrize("who, url, body, kind", [
    ("officer", "/cases/new", {"notes": "x" * (3 * 1024 * 1024)}, URLENCODED),     # over MAX_CONTENT_LENGTH
    ("officer", "/cases/new", {"notes": "x" * (3 * 1024 * 1024)}, MULTIPART),
    ("officer", "/cases/new", {"notes": "x" * (600 * 1024)}, MULTIPART),           # a field over MAX_FORM_MEMORY_SIZE
    ("officer", "/cases/new", {f"f{i}": "1" for i in range(1100)}, MULTIPART),     # over MAX_FORM_PARTS
    ("anonymous", "/login", {"username": "ai", "password": "p" * (20 * 1024 * 1024)}, URLENCODED),
], ids=["body", "multipart-body", "field", "parts", "login"])
def test_a_body_over_the_limit_is_refused_before_it_is_read(who, url, body, kind, site):
    browser = site.browsers[who]
    before = count_cases()
    data = body | {"csrf_token": token_of(browser, who)}
    payload, content_type = (encode(data), kind) if kind == URLENCODED else multipart(data)
    response = browser.post(url, data=payload, content_type=content_type)
    assert response.status_code == 413
    assert TOO_LARGE in text_of(response)
    assert count_cases() == before and count_rows(LoginThrottle) == 0


# --- reading the database and the page ----------------------------------------------------------

def count_cases() -> int:
    return count_rows(Case)


def count_rows(model) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model))


def field_errors(response, name: str) -> str:
    """The error text shown beside the field `name` (the field macro puts it in the same div)."""
    page = response.get_data(as_text=True)
    found = re.search(rf'<div class="field[^"]*has-error">(?:(?!</div>).)*name="{name}"(?:(?!</div>).)*</div>',
                      page, re.S)
    assert found, f"no error shown beside {name}"
    return unescape(found.group(0))
