"""Script typed into any text field is saved as text and shown as text: through the case form, the
transitions' notes and fields and a proposal, then on every page of the URL map, as every role,
the words appear escaped and nothing on the page runs them."""
from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from markupsafe import escape

from cases.models import Case
from extensions import db
from tests.conftest import csrf_token
from tests.helpers import new_case_form, pending_of, reload_case, text_of, transition_form
from tests.site import Site, every_rule, fill, read_page, rule_arguments
from workflow.states import CaseState as S

PAYLOADS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(2)>',
    "'><svg onload=alert(3)>",
    "javascript:alert(4)",
    "</textarea><script>alert(5)</script>",
    "{{ 7*7 }}<b>đậm</b>",
]
TEXT_KINDS = {"text", "textarea"}
# The case form's fields with a fixed format (ID numbers, phone numbers, dates): script is refused there.
FORMATTED = {"national_id", "phone", "guardian_national_id", "guardian_phone", "holder_national_id",
             "account_number", "benefit_start_month", "birth_date"}
# The path through the workflow each case takes, and the text fields typed on the way.
STEPS = ["verify_identity", "choose_account", "confirm_account_payment", "suspend"]


@pytest.fixture
def site(make_user, make_case, make_client):
    return Site(make_user, make_case, make_client)


class _Active(HTMLParser):
    """What on a page a browser would run or follow as script."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "script" and not dict(attrs).get("src"):
            self.found.append("an inline <script>")
        if tag in ("svg", "iframe", "object", "embed"):
            self.found.append(f"a <{tag}>")
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"an {name}= handler on <{tag}>")
            if name in ("href", "src", "action", "formaction") and (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"a javascript: {name}")
        if tag == "b":
            self.found.append("markup from a field (<b>)")


def active_content(page: str) -> list[str]:
    reader = _Active()
    reader.feed(page)
    return reader.found


def text_fields(browser, url: str) -> tuple[str, dict, dict]:
    page = browser.get(url).get_data(as_text=True)
    form = next(f for f in read_page(url, page)[0] if f.method == "post" and "csrf_token" in f.kinds
                and set(f.kinds) - {"csrf_token"})
    return csrf_token(page), form.values, {n: k for n, k in form.kinds.items() if k in TEXT_KINDS and n not in FORMATTED}


def post_everywhere(browser, url: str, valid: dict, payload: str) -> tuple[dict, str]:
    """Post the form at `url` with `payload` in every free-text field that takes it: fields the
    form refuses (a length, a format) are left as `valid` has them and the form posted again.
    Returns the fields typed and where the saved form led."""
    token, values, fields = text_fields(browser, url)
    typed = {name: payload for name in fields}
    for _ in range(3):
        response = browser.post(url, data=values | valid | typed | {"csrf_token": token})
        if response.status_code in (302, 303):
            return typed, response.headers["Location"]
        refused = set(re.findall(r'has-error">\s*<label for="([^"]+)"', response.get_data(as_text=True)))
        assert refused & set(typed), f"{url}: {response.status_code} {refused} {flashed(response)}"
        typed = {n: v for n, v in typed.items() if n not in refused}
    raise AssertionError(f"{url}: not saved")


def flashed(response) -> list[str]:
    return re.findall(r'class="flash[^"]*"[^>]*>([^<]*)<', response.get_data(as_text=True))


def test_script_in_every_text_field_is_shown_as_text_everywhere(app, site):
    officer = site.browsers["officer"]
    cases, typed_fields = [], set()
    for payload in PAYLOADS:
        typed, location = post_everywhere(officer, "/cases/new", new_case_form(site.commune_id), payload)
        typed_fields |= set(typed)
        case_id = int(location.rsplit("/", 1)[-1])
        for trigger in STEPS:
            case = reload_case(case_id)
            typed, _ = post_everywhere(officer, f"/cases/{case_id}/actions/{trigger}", transition_form(case, trigger),
                                       payload)
            typed_fields |= {f"{trigger}.{name}" for name in typed}
        cases.append((case_id, payload))
    assert {"full_name", "notes", "ethnicity", "address_detail", "guardian_name"} <= typed_fields
    assert {"verify_identity.note", "choose_account.holder_name", "confirm_account_payment.reference",
            "suspend.decision_number", "suspend.note"} <= typed_fields
    for case_id, _ in cases:
        assert pending_of(case_id) is not None          # the suspension waits: the proposals list shows it

    shown_on = {f"/cases/{case_id}": payload for case_id, payload in cases}
    shown_on |= {"/cases?state=" + S.PAID_BY_ACCOUNT.value: p for p in PAYLOADS[:1]}
    shown_on |= {"/proposals": p for p in PAYLOADS[:1]}
    problems = []
    for url, who in pages(app, site, [case_id for case_id, _ in cases]):
        response = site.browsers[who].get(url)
        if response.status_code != 200 or "html" not in response.mimetype:
            response.close()
            continue
        page = response.get_data(as_text=True)
        for payload in PAYLOADS:
            if "<" in payload and payload in page:
                problems.append(f"{who} {url}: {payload!r} unescaped")
        problems += [f"{who} {url}: {what}" for what in active_content(page)]
    for url, payload in shown_on.items():
        shown = text_of(site.browsers["supervisor"].get(url))
        for p in PAYLOADS if url.startswith(("/cases?", "/proposals")) else [payload]:
            if p not in shown:
                problems.append(f"{url}: {p!r} not shown as text")
    assert not problems, "\n".join(problems)


def pages(app, site: Site, case_ids: list[int]):
    """Every GET page of the URL map as every role, for each case that holds script, and the
    queue's tab of every state."""
    for rule in every_rule(app):
        if "GET" not in rule.methods or rule.endpoint == "static":
            continue
        names = {name for name, _, _ in rule_arguments(rule)}
        urls = [url for url, _ in site.urls(rule)]
        if "case_id" in names:
            urls = [fill(rule, values | {"case_id": case_id}) for values, _ in site.values(rule) for case_id in case_ids]
        for url in urls:
            for who in Site.ROLES:
                yield url, who
    for state in S:
        for who in Site.ROLES:
            yield f"/cases?state={state.value}", who


def test_a_field_that_reads_as_markup_is_stored_as_typed(site):
    """The database keeps what was typed; escaping is the page's job, not the form's."""
    officer = site.browsers["officer"]
    token = csrf_token(officer.get("/cases/new").get_data(as_text=True))
    response = officer.post("/cases/new", data=new_case_form(site.commune_id, full_name=PAYLOADS[1][:40])
                            | {"csrf_token": token})
    assert response.status_code == 302
    case = db.session.get(Case, int(response.headers["Location"].rsplit("/", 1)[-1]))
    assert case.full_name == PAYLOADS[1][:40].strip()
    assert str(escape(case.full_name)) in officer.get(f"/cases/{case.id}").get_data(as_text=True)
