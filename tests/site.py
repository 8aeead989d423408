"""The site as a crawler sees it: every rule of the URL map with real arguments, the forms on its
pages and the query parameters it reads. The header, odd-input and XSS tests walk it, so a route,
a form or a filter is covered as soon as it exists.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qsl, quote, urljoin, urlsplit

from flask import Flask
from werkzeug.routing import Rule

from cases.actions import start_transition
from cases.organisation import commune_by_code
from cases.roles import Role
from cases.users import actor_of
from extensions import db, write_intent
from tests.conftest import BINH_GIA, LANG_SON, PASSWORD
from tests.helpers import new_case_form, transition_form
from tests.paths import ROUTES, payload_for
from workflow.states import CaseState as S
from workflow.table import TRANSITIONS

ROOT = Path(__file__).resolve().parent.parent
ARGUMENT = re.compile(r"<(?:(?P<converter>\w+)(?:\((?P<args>[^)]*)\))?:)?(?P<name>\w+)>")
# Query parameters a view reads by name; the crawl adds those its pages' links and GET forms carry.
READS_ARG = re.compile(r"request\.args\.get(?:list)?\(\s*[\"'](\w+)[\"']")
# The triggers that have a screen of their own (the others start from another screen).
TRIGGERS_WITH_FORM = sorted(t for t, spec in TRANSITIONS.items() if spec.form)


def rule_arguments(rule: Rule) -> list[tuple[str, str, list[str]]]:
    """(name, converter, the choices of an `any(...)`) for each argument of the rule."""
    return [(m["name"], m["converter"] or "default", [a.strip() for a in (m["args"] or "").split(",") if a.strip()])
            for m in ARGUMENT.finditer(rule.rule)]


def fill(rule: Rule, values: dict) -> str:
    """The rule's path with `values` put in as they are (not through the converters, which would
    refuse odd ones): strings and bytes percent-encoded, as a browser sends them."""
    def value(match):
        raw = values[match["name"]]
        return quote(raw if isinstance(raw, bytes) else str(raw), safe="")
    return ARGUMENT.sub(value, rule.rule)


def every_rule(app: Flask) -> list[Rule]:
    return sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint))


def named_query_parameters() -> set[str]:
    """The query parameters the views read by a literal name."""
    names: set[str] = set()
    for path in (ROOT / "views").glob("*.py"):
        names |= set(READS_ARG.findall(path.read_text()))
    return names


# --- pages -----------------------------------------------------------------------------------

@dataclass
class PageForm:
    """One <form> of a page: where it posts, its fields as a browser would post them untouched,
    and the kind of each field (input type, `select` or `textarea`)."""
    method: str
    actions: list[str]
    values: dict[str, str] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)


class _PageReader(HTMLParser):
    def __init__(self, url: str):
        super().__init__(convert_charrefs=True)
        self.url = url
        self.forms: list[PageForm] = []
        self.links: list[str] = []
        self._form: PageForm | None = None
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if tag == "a" and "href" in a:
            self.links.append(urljoin(self.url, a["href"]))
        if tag == "form":
            action = urljoin(self.url, a["action"]) if a.get("action") else self.url
            self._form = PageForm((a.get("method") or "get").lower(), [action])
            self.forms.append(self._form)
        form = self._form
        if form is None:
            return
        if tag == "button" and a.get("formaction"):
            form.actions.append(urljoin(self.url, a["formaction"]))
        name = a.get("name")
        if not name:
            return
        if tag == "input":
            kind = (a.get("type") or "text").lower()
            if kind in ("radio", "checkbox"):
                form.kinds[name] = kind
                if "checked" in a or (kind == "radio" and name not in form.values):
                    form.values[name] = a.get("value", "y")
            elif kind not in ("submit", "button", "reset"):
                form.kinds[name], form.values[name] = kind, a.get("value", "")
        elif tag == "select":
            self._select = name
            form.kinds[name] = "select"
        elif tag == "option" and self._select:
            value = a.get("value", "")
            # The first real choice, unless the page marked one: a baseline the form accepts.
            if "selected" in a or (value and not form.values.get(self._select)):
                form.values[self._select] = value
        elif tag == "textarea":
            self._textarea = name
            form.kinds[name], form.values[name] = "textarea", ""

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea and self._form is not None:
            self._form.values[self._textarea] += data.removeprefix("\n")


def read_page(url: str, html: str) -> tuple[list[PageForm], list[str]]:
    reader = _PageReader(url)
    reader.feed(html)
    return reader.forms, reader.links


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def query_names(urls) -> set[str]:
    return {name for url in urls for name, _ in parse_qsl(urlsplit(url).query, keep_blank_values=True)}


# --- the people and the data the pages need ---------------------------------------------------

class Site:
    """Users of every role, each with a browser, and the cases and proposals the routes need.

    `values(rule)` gives the arguments for each URL of a rule (one per trigger of the action
    route); `forget(key)` drops an object a successful post used up, so the next URL gets a new one.
    """

    ROLES = ("supervisor", "officer", "admin", "auditor")

    def __init__(self, make_user, make_case, make_client):
        self.make_case = make_case
        self.users = {
            "officer": make_user(Role.OFFICER),
            "supervisor": make_user(Role.SUPERVISOR),
            "admin": make_user(Role.ADMIN, province=LANG_SON),
            "auditor": make_user(Role.AUDITOR, province=LANG_SON),
            "someone": make_user(Role.OFFICER),   # the user the user-admin routes act on
        }
        self.browsers = {role: make_client(self.users[role]) for role in self.ROLES}
        self.browsers["anonymous"] = make_client()
        self.commune_id = commune_by_code(db.session, BINH_GIA).id
        self._objects: dict[str, object] = {}

    # objects, made on first use and again after `forget`
    def _get(self, key: str, make):
        if key not in self._objects:
            self._objects[key] = make()
        return self._objects[key]

    def forget(self, key: str | None) -> None:
        self._objects.pop(key, None)

    def case_for(self, trigger: str):
        """A case in the first state `trigger` starts from."""
        def make():
            source = TRANSITIONS[trigger].sources[0]
            return self.make_case(state=source if source in ROUTES else S.PAYMENT_METHOD)
        return self._get(f"act:{trigger}", make)

    def proposed(self):
        """A case with a suspension proposed by the officer: its page offers the decision form."""
        def make():
            case = self.make_case(state=S.PAYMENT_METHOD)
            officer = self.users["officer"]
            with write_intent():
                proposal = start_transition(db.session, actor_of(officer), officer, case, "suspend",
                                            payload_for(db.session, case, "suspend"), case.version)
                db.session.commit()
            return case, proposal
        return self._get("proposed", make)

    def edited(self):
        return self._get("edit", lambda: self.make_case(state=S.PAYMENT_METHOD))

    def values(self, rule: Rule) -> list[tuple[dict, str | None]]:
        """For each URL of the rule: its argument values, and the key of the object it uses."""
        arguments = rule_arguments(rule)
        names = {name for name, _, _ in arguments}
        if "trigger" in names:
            return [({"case_id": self.case_for(t).id, "trigger": t}, f"act:{t}") for t in TRIGGERS_WITH_FORM]
        if "proposal_id" in names:
            case, proposal = self.proposed()
            base, key = {"proposal_id": proposal.id}, "proposed"
        elif rule.endpoint.endswith(".edit") and "case_id" in names:
            base, key = {"case_id": self.edited().id}, "edit"
        elif "case_id" in names:
            base, key = {"case_id": self.proposed()[0].id}, "proposed"
        else:
            base, key = {}, None
        choices = [[]]
        for name, converter, items in arguments:
            if name in base:
                continue
            if items:
                choices = [c + [(name, item)] for c in choices for item in items]
            else:
                choices = [c + [(name, self._plain(name, converter))] for c in choices]
        return [(base | dict(c), key) for c in choices]

    def _plain(self, name: str, converter: str):
        if name == "user_id":
            return self.users["someone"].id
        if name == "filename":
            return "app.css"
        if converter == "int":
            return self.proposed()[0].id
        return "x"

    def urls(self, rule: Rule) -> list[tuple[str, str | None]]:
        return [(fill(rule, values), key) for values, key in self.values(rule)]

    def valid_data(self, endpoint: str, url: str, role: str) -> dict:
        """What a person fills in a form a test posts to, where the page alone is not enough."""
        if endpoint == "cases.new":
            return new_case_form(self.commune_id)
        if endpoint == "cases.act":
            case_id, trigger = re.search(r"/cases/(\d+)/actions/(\w+)", url).groups()
            case = self._objects[f"act:{trigger}"]
            return transition_form(case, trigger) if case.id == int(case_id) else {}
        if endpoint == "auth.login":
            return {"username": self.users["someone"].username, "password": PASSWORD}
        if endpoint == "proposals.decide":
            return {"reason": "Đồng ý"}
        return {}
