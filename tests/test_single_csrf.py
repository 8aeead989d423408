"""Every form that posts carries exactly one CSRF token: two inputs (the field macro drawing the
form's token beside `csrf_field()`) send a list the check may read either way, none is refused.
Walks every GET page of the URL map as an officer, a supervisor and an administrator, with the ids
of real objects."""
from __future__ import annotations

from html.parser import HTMLParser

import pytest

from tests.site import Site, every_rule


class _Forms(HTMLParser):
    """For each <form method="post">: where it posts and how many csrf_token inputs it holds."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[list] = []
        self._current: list | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._current = [a.get("action") or "(this page)", 0]
            if (a.get("method") or "get").lower() == "post":
                self.forms.append(self._current)
        elif tag == "input" and a.get("name") == "csrf_token" and self._current is not None:
            self._current[1] += 1

    def handle_endtag(self, tag):
        if tag == "form":
            self._current = None


def post_forms(html: str) -> list[list]:
    reader = _Forms()
    reader.feed(html)
    return reader.forms


@pytest.fixture
def site(make_user, make_case, make_client):
    return Site(make_user, make_case, make_client)


def test_the_reader_counts_tokens_per_form():
    html = ('<form method="post" action="/a"><input name="csrf_token"><input name="csrf_token"></form>'
            '<form method="get"><input name="csrf_token"></form><form method="POST" action="/b"></form>')
    assert post_forms(html) == [["/a", 2], ["/b", 0]]


@pytest.mark.parametrize("role", ["officer", "supervisor", "admin"])
def test_every_form_on_every_page_has_one_token(role, app, site):
    browser = site.browsers[role]
    wrong, pages, forms = [], 0, 0
    for rule in every_rule(app):
        if "GET" not in rule.methods or rule.endpoint == "static":
            continue
        for url, _ in site.urls(rule):
            response = browser.get(url)
            if response.status_code != 200 or response.mimetype != "text/html":
                continue
            pages += 1
            for action, count in post_forms(response.get_data(as_text=True)):
                forms += 1
                if count != 1:
                    wrong.append(f"{url}: the form posting to {action} has {count} csrf_token inputs")
    assert not wrong, "\n".join(wrong)
    assert pages >= 8 and forms >= 2 * pages     # the frame's language and logout forms, at least
