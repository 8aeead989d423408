"""Access matrix (issue 14): every route of the app's URL map × every role, in a commune scope and
in a province scope, against objects of another commune or province (a case, its pending
proposal, a user, their audit records) → 403 or 404, nothing of them in the body, nothing changed.
A route missing from MATRIX fails the test, so a new screen cannot skip this check."""
from __future__ import annotations

import io
import zipfile

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from cases.actions import start_transition
from cases.models import Case, PaymentProvider, Proposal, User
from cases.organisation import commune_by_code
from cases.roles import Role
from extensions import db, write_intent
from tests.conftest import BINH_GIA, OTHER_PROVINCE, SYSTEM, TAN_VAN, csrf_token, national_id_for
from tests.paths import payload_for
from workflow.states import CaseState as S
from workflow.table import TRANSITIONS

# How each endpoint must answer for an object it may not see.
OBJECT = "object"      # takes the foreign object's id: 403 or 404
LISTING = "listing"    # takes no object: may answer 200, but shows nothing of the foreign objects
PUBLIC = "public"      # before login, or static files

MATRIX = {
    "auth.login": PUBLIC,
    "static": PUBLIC,
    "auth.logout": LISTING,
    "cases.home": LISTING,
    "cases.queue": LISTING,
    "cases.search": LISTING,        # POST: an ID number, answered from the user's scope only
    "cases.bulk_action": LISTING,   # POST: ticked case ids, each looked up in the user's scope
    "cases.new": LISTING,
    "cases.show": OBJECT,
    "cases.edit": OBJECT,
    "cases.act": OBJECT,
    "reveal.reveal": OBJECT,
    "proposals.pending": LISTING,
    "proposals.scheduled": LISTING,
    "proposals.decide": OBJECT,
    "proposals.decide_many": LISTING,   # POST: ticked proposal ids, each looked up in the user's scope
    "proposals.withdraw": OBJECT,
    "workflow.index": LISTING,
    "workflow.diagram": LISTING,
    "preferences.language": LISTING,
    "audit.trail": LISTING,
    "audit.export": LISTING,
    "users.index": LISTING,
    "users.new": LISTING,
    "users.show": OBJECT,
    "users.reset": OBJECT,
    "users.role": OBJECT,
    "users.scope": OBJECT,
    "users.set_active": OBJECT,
    "users.change_password": LISTING,
    "jobs.index": LISTING,
    "jobs.run_now": LISTING,
    "calendar.index": LISTING,
    "calendar.remove": LISTING,     # a swap is national: no one's scope holds it
    "mail.index": LISTING,
    "mail.show": OBJECT,
    "lists.index": LISTING,         # POST: an upload, for a commune checked against the user's scope
    "lists.show": OBJECT,
    "lists.progress": OBJECT,
    "lists.confirm": OBJECT,
    "lists.cancel": OBJECT,
    "lists.rejected": OBJECT,
    "lists.template": LISTING,
    "lists.police_list": LISTING,   # ?commune=: looked up in the user's scope
    "reports.show": LISTING,        # ?unit=: looked up in the user's scope; counts, never a person
    "reports.print_view": LISTING,
    "reports.workbook": LISTING,
    "reports.csv": LISTING,
    "reports.archive_now": LISTING,
    "reports.archive_list": LISTING,
    "reports.archived": OBJECT,
    "reports.archived_workbook": OBJECT,
    "reports.sign": OBJECT,
    "payments.index": LISTING,         # the user's own province only
    "payments.draft": LISTING,         # POST: a provider looked up in the user's province
    "payments.show": OBJECT,
    "payments.sign": OBJECT,
    "payments.workbook": OBJECT,
    "payment_returns.index": OBJECT,    # POST: a provider's return for a list of the user's province
    "payment_returns.resolve": OBJECT,
    "report_settings.index": LISTING,   # ?province=: the admin's own province only
    "report_settings.bands": LISTING,
    "report_settings.remove": OBJECT,
    "providers.index": LISTING,         # ?province=: the admin's own province only
    "providers.new": LISTING,
    "providers.edit": OBJECT,
}

SECRET_NAME, SECRET_USER_NAME = "Lục Thị Bí Mật", "Vi Văn Riêng Tư"
SECRET_PHONE, SECRET_ACCOUNT = "0987654321", "88886666777"
SCOPES = {"commune": dict(communes=(TAN_VAN,)), "province": dict(province=OTHER_PROVINCE)}


def test_every_route_is_in_the_matrix(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    missing = endpoints - set(MATRIX)
    assert not missing, f"routes missing from the access matrix: {sorted(missing)}"
    assert not set(MATRIX) - endpoints, "the matrix names routes that no longer exist"


@pytest.fixture
def foreign(make_user, make_case):
    """A case in Bình Gia with personal data, a pending proposal on it, and a Bình Gia user."""
    from datetime import date
    from cases.models import Sex
    owner = make_user(Role.OFFICER, communes=(BINH_GIA,), full_name=SECRET_USER_NAME, username="rieng.tu")
    born = date(1948, 5, 6)
    national_id = national_id_for(born, Sex.FEMALE)
    case = make_case(state=S.PAID_BY_ACCOUNT, by=owner, full_name=SECRET_NAME, birth_date=born, sex=Sex.FEMALE,
                     national_id=national_id, phone=SECRET_PHONE)
    with write_intent():
        case = db.session.get(Case, case.id)
        start_transition(db.session, SYSTEM, owner, case, "suspend", payload_for(db.session, case, "suspend"),
                         case.version, reason="kiểm tra")
        db.session.commit()
    proposal = db.session.scalars(select(Proposal).where(Proposal.case_id == case.id)).one()
    secrets = [SECRET_NAME, SECRET_USER_NAME, national_id, SECRET_PHONE]
    if case.account_number:
        secrets.append(case.account_number)
    message = outbox_message(owner, f"Hồ sơ của {SECRET_NAME} quá hạn")      # an email to the Bình Gia user
    return {"case": case.id, "proposal": proposal.id, "user": owner.id, "secrets": secrets,
            "commune": commune_by_code(db.session, BINH_GIA).id, "message": message,
            "job": list_job(owner, commune_by_code(db.session, BINH_GIA)),
            "report": archived_report(commune_by_code(db.session, BINH_GIA)),
            "target": report_target(commune_by_code(db.session, BINH_GIA)),
            "provider": db.session.scalar(select(PaymentProvider.id).where(PaymentProvider.short_name == "AGRIBANK-LS")),
            "list": payment_list()}


def payment_list() -> int:
    """Lạng Sơn's Agribank list for January, drafted: it names the secret person and her account."""
    from datetime import date
    from cases.payments.lists import draft_list
    with write_intent():
        bank = db.session.scalars(select(PaymentProvider).where(PaymentProvider.short_name == "AGRIBANK-LS")).one()
        plist = draft_list(db.session, SYSTEM, None, bank, date(2027, 1, 1))
        db.session.commit()
        return plist.id


def report_target(commune) -> int:
    """Bình Gia's own target (Lạng Sơn's province): 70 % by the end of 2026."""
    from datetime import date
    from cases.changes import utcnow
    from cases.models import ReportTarget, TargetGroup
    with write_intent():
        target = ReportTarget(province_id=commune.province_id, commune_id=commune.id, policy_group=TargetGroup.ALL,
                              share_per_mille=700, due_on=date(2026, 12, 31), set_at=utcnow())
        db.session.add(target)
        db.session.commit()
        return target.id


def archived_report(commune) -> int:
    """Bình Gia's report for last month, archived unsigned."""
    from cases.changes import local_today
    from cases.reports.archive import archive_report
    from cases.reports.periods import Period, add_months
    from cases.reports.produce import find_unit, produce_report
    from cases.reports.workbook import report_workbook
    with write_intent():
        report = produce_report(db.session, Period.month_of(add_months(local_today().replace(day=1), -1)),
                                find_unit(db.session, commune.code))
        archived = archive_report(db.session, report, report_workbook(report), None)
        db.session.commit()
        return archived.id


def list_job(owner, commune) -> int:
    """A Bình Gia officer's list, previewed and waiting for confirmation, naming the secret person."""
    import json
    from cases.changes import utcnow
    from cases.models import ListJob
    from cases.models.lists import ListJobState, ListKind
    from openpyxl import Workbook
    book = Workbook()
    book.active.append([SECRET_NAME, SECRET_PHONE])
    out = io.BytesIO()
    book.save(out)
    with write_intent():
        job = ListJob(kind=ListKind.BENEFICIARIES, state=ListJobState.PREVIEWED, owner_id=owner.id,
                      province_id=commune.province_id, commune_id=commune.id, filename=f"{SECRET_NAME}.xlsx",
                      size_bytes=1, content_sha256="0" * 64, content=out.getvalue(), rows_done=1, rows_total=1,
                      counts=json.dumps({"rejected": 1}), rejected_workbook=out.getvalue(), created_at=utcnow(),
                      preview=json.dumps({"total": 1, "counts": {"rejected": 1}, "rejected_count": 1, "columns": [],
                                          "ignored": [], "rejected": [{"row": 2, "name": SECRET_NAME,
                                                                       "reasons": [SECRET_PHONE]}]}))
        db.session.add(job)
        db.session.commit()
        return job.id


def outbox_message(user, subject: str) -> int:
    from cases.changes import utcnow
    from cases.models.mail import MailStatus, OutboxMessage
    with write_intent():
        message = OutboxMessage(kind="escalation_digest", recipient_id=user.id, to_address="rieng.tu@example.vn",
                                subject=subject, body_text=subject, message_id="matrix-1@ansinh.test",
                                created_at=utcnow(), status=MailStatus.PENDING, attempts=0, next_attempt_at=utcnow())
        db.session.add(message)
        db.session.commit()
        return message.id


def state_of(ids: dict) -> tuple:
    db.session.rollback()
    case = db.session.execute(select(Case.__table__).where(Case.id == ids["case"])).one()
    proposal = db.session.execute(select(Proposal.__table__).where(Proposal.id == ids["proposal"])).one()
    user = db.session.execute(select(User.__table__).where(User.id == ids["user"])).one()
    cases_in_commune = db.session.scalars(select(Case.id).where(Case.commune_id == ids["commune"])).all()
    from cases.models import ListJob
    job = db.session.execute(select(ListJob.state, ListJob.rows_done).where(ListJob.id == ids["job"])).one()
    return tuple(case), tuple(proposal), tuple(user), tuple(sorted(cases_in_commune)), tuple(job)


def urls_for(app, rule, ids: dict) -> list[str]:
    values = {"case_id": [ids["case"]], "proposal_id": [ids["proposal"]], "user_id": [ids["user"]],
              "trigger": list(TRANSITIONS), "decision": ["approve", "reject"], "action": ["disable", "enable"],
              "swap_id": [1], "message_id": [ids.get("message", 1)], "job_id": [ids.get("job", 1)],
              "report_id": [ids.get("report", 1)], "target_id": [ids.get("target", 1)],
              "provider_id": [ids.get("provider", 1)], "list_id": [ids.get("list", 1)],
              "exception_id": [ids.get("exception", 1)]}
    unknown = set(rule.arguments) - set(values)
    assert not unknown, f"{rule.endpoint}: teach the matrix the argument(s) {unknown}"
    combos = [{}]
    for name in sorted(rule.arguments):
        combos = [dict(c, **{name: v}) for c in combos for v in values[name]]
    from flask import url_for
    with app.test_request_context():
        return [url_for(rule.endpoint, **combo) for combo in combos]


def body_text(response) -> str:
    data = response.get_data()
    if data[:2] == b"PK":  # a workbook: read every cell
        with zipfile.ZipFile(io.BytesIO(data)):
            pass
        book = load_workbook(io.BytesIO(data), read_only=True)
        return "\n".join(str(c) for sheet in book for row in sheet.iter_rows(values_only=True) for c in row
                         if c is not None)
    return response.get_data(as_text=True)


@pytest.mark.parametrize("scope", list(SCOPES))
@pytest.mark.parametrize("role", list(Role))
def test_no_route_shows_or_changes_what_is_outside_the_scope(role, scope, app, foreign, make_user, make_client):
    user = make_user(role, **SCOPES[scope])
    browser = make_client(user)
    token = csrf_token(browser.get("/cases").get_data(as_text=True)) if role else None
    before = state_of(foreign)
    query = {"commune": foreign["commune"], "case": foreign["case"], "case_id": foreign["case"],
             "user": "rieng.tu", "q": SECRET_NAME}
    form = {"csrf_token": token, "version": "1", "reason": "thử", "note": "thử", "field": "national_id",
            "commune_id": str(foreign["commune"]), "role": "admin", "password": "mat-khau-moi-rat-dai-2026",
            "full_name": "X", "birth_date": "1950-01-01", "sex": "male", "policy_group": "btxh",
            "category_code": "D5.K5a.1", "username": "moi.nguoi.dung",
            # The batch screens and the ID search, aimed at the foreign case and proposal.
            "case": str(foreign["case"]), "proposal": str(foreign["proposal"]), "action": "verify",
            "source": "police_list", "verified_on": "2026-01-05", "decision": "approve"}
    # The ID search gets the foreign person's number (other forms would echo it back, as typed).
    id_search = dict(form, national_id=foreign["secrets"][2])
    for rule in app.url_map.iter_rules():
        kind = MATRIX[rule.endpoint]
        if kind == PUBLIC or rule.endpoint == "auth.logout":
            continue
        for url in urls_for(app, rule, foreign):
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                if method == "GET":
                    response = browser.get(url, query_string=query)
                else:
                    response = browser.post(url, data=id_search if rule.endpoint == "cases.search" else form)
                where = f"{role.value}/{scope} {method} {url}"
                assert response.status_code != 500, where
                if kind == OBJECT:
                    assert response.status_code in (403, 404), (where, response.status_code)
                text = body_text(response)
                for secret in foreign["secrets"]:
                    assert secret not in text, (where, secret)
    assert state_of(foreign) == before
