"""What the workflow, approval, audit and scoping tests share: reading the database afresh,
counting audit records, reading a page as text, and posting a transition's form."""
from __future__ import annotations

import html
import re
from datetime import date
from html.parser import HTMLParser

from sqlalchemy import func, select

from cases.models import AuditRecord, Case, Proposal, ProposalStatus
from extensions import db
from bench.measure import statement_counter as statements  # noqa: F401 - one counter, shared with the benchmark
from tests.paths import payload_for

ACTION_LINK = re.compile(r'href="/cases/(\d+)/actions/([a-z_]+)"')
# Fields of the transition forms that are a MonthField (posted as yyyy-mm, as a browser does).
MONTH_FIELDS = {"effective_month", "month_paid"}


def fresh() -> None:
    """End the test's own transaction so the next read sees what requests and threads committed."""
    db.session.rollback()


def case_row(case_id: int) -> dict:
    """The case's row as the database holds it now (every column, version included)."""
    fresh()
    return dict(db.session.execute(select(Case.__table__).where(Case.id == case_id)).one()._mapping)


def reload_case(case_id: int) -> Case:
    fresh()
    return db.session.get(Case, case_id)


def audit_count(action: str | None = None) -> int:
    fresh()
    statement = select(func.count()).select_from(AuditRecord)
    if action is not None:
        statement = statement.where(AuditRecord.action == action)
    return db.session.scalar(statement)


def change_record_count() -> int:
    """Audit records that say something changed or was proposed: all but the reveals a form
    writes when it shows a full number (a refused change must leave none of these)."""
    fresh()
    return db.session.scalar(select(func.count()).select_from(AuditRecord)
                             .where(AuditRecord.action != "case.reveal"))


def audit_records(since_seq: int = 0) -> list[AuditRecord]:
    fresh()
    return list(db.session.scalars(select(AuditRecord).where(AuditRecord.seq > since_seq).order_by(AuditRecord.seq)))


def last_seq() -> int:
    fresh()
    return db.session.scalar(select(func.coalesce(func.max(AuditRecord.seq), 0)))


def proposals_of(case_id: int) -> list[Proposal]:
    fresh()
    return list(db.session.scalars(select(Proposal).where(Proposal.case_id == case_id).order_by(Proposal.id)))


def pending_of(case_id: int) -> Proposal | None:
    return next((p for p in proposals_of(case_id) if p.status is ProposalStatus.PENDING), None)


def text_of(response) -> str:
    """The page as a user reads it: entities decoded (quotes in messages arrive escaped)."""
    return html.unescape(response.get_data(as_text=True))


def action_links(page: str, case_id: int) -> set[str]:
    """The triggers the case page offers as buttons."""
    return {trigger for cid, trigger in ACTION_LINK.findall(page) if int(cid) == case_id}


def form_data(payload: dict) -> dict:
    """A service payload as a browser posts the form: strings, months as yyyy-mm, empty left out."""
    data = {}
    for name, value in payload.items():
        if value is None:
            continue
        if name in MONTH_FIELDS and value:
            value = date.fromisoformat(value).strftime("%Y-%m")
        data[name] = str(value)
    return data


def transition_form(case: Case, trigger: str, **overrides) -> dict:
    """Valid form data for `trigger` on `case`."""
    return form_data(payload_for(db.session, case, trigger)) | overrides


def page_token(browser) -> str:
    """A CSRF token from a page the user has open (the logout form on every page carries one)."""
    from tests.conftest import csrf_token
    return csrf_token(browser.get("/cases").get_data(as_text=True))


def new_case_form(commune_id: int, **overrides) -> dict:
    """The new-case form filled for a valid beneficiary (tests.conftest.person), as a browser posts it."""
    data = {
        "full_name": "Hoàng Văn Thụ", "birth_date": "1950-03-02", "sex": "male", "national_id": "",
        "phone": "0912345678", "ethnicity": "Tày", "commune_id": str(commune_id), "village_id": "",
        "policy_group": "btxh", "category_code": "D5.K5a.1", "benefit_decision_number": "12/QĐ-UBND",
        "benefit_start_month": "2025-07",
    }
    return data | overrides


class _FormReader(HTMLParser):
    """The values a browser would post from the first <form method="post"> of a page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.values: dict[str, str] = {}
        self._in_form = self._done = False
        self._select = self._textarea = None
        self._first_option: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if self._done:
            return
        if tag == "form" and (a.get("method") or "").lower() == "post" and "action" not in a:
            self._in_form = True
        if not self._in_form:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = (a.get("type") or "text").lower()
            if kind in ("radio", "checkbox"):
                if "checked" in a:
                    self.values[name] = a.get("value", "y")
            elif kind != "submit":
                self.values[name] = a.get("value") or ""
        elif tag == "select" and name:
            self._select, self._first_option = name, None
        elif tag == "option" and self._select:
            value = a.get("value") or ""
            if self._first_option is None:
                self._first_option = value
            if "selected" in a:
                self.values[self._select] = value
        elif tag == "textarea" and name:
            self._textarea = name
            self.values[name] = ""

    def handle_endtag(self, tag):
        if tag == "form" and self._in_form:
            self._in_form, self._done = False, True
        elif tag == "select" and self._select:
            self.values.setdefault(self._select, self._first_option or "")
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            if not self.values[self._textarea]:     # browsers drop the newline that opens a textarea
                data = data.removeprefix("\r\n") if data.startswith("\r\n") else data.removeprefix("\n")
            self.values[self._textarea] += data


def form_on_page(html_text: str) -> dict[str, str]:
    reader = _FormReader()
    reader.feed(html_text)
    return reader.values


def open_form(browser, url: str) -> dict[str, str]:
    """GET `url` and return every field of its form as a browser would post it untouched."""
    page = browser.get(url)
    assert page.status_code == 200, page.status_code
    return form_on_page(page.get_data(as_text=True))


def fill_and_submit(browser, url: str, typed: dict):
    """Open the form at `url`, type `typed` over what it shows, and post the whole form."""
    return browser.post(url, data=open_form(browser, url) | typed)

