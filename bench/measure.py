"""Measurements run inside one app process (`flask bench pages` / `flask bench writes`).

Each request goes through the Flask test client as a logged-in user: routing, login, scoping,
queries, templates — everything but the socket. Times are server times per request, read at the
WSGI boundary (`ServerClock`): from the moment the application is called to the last byte of its
answer, as a WSGI server would see it; the test client's own work of building the request and
reading the cookies is not the server's.
"""
from __future__ import annotations

import re
import resource
import statistics
import time
from contextlib import contextmanager

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, func, select

from cases.audit import Actor
from cases.models import Case, Commune, PaymentProvider, Proposal, ProposalStatus, Province, ProviderKind, User
from cases.organisation import ensure_provider
from cases.roles import Role
from cases.users import create_user
from extensions import db, write_intent
from workflow.states import CaseState

BENCH_PASSWORD = "bench-password-not-secret"
_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
_NEXT = re.compile(r'href="([^"]*after=[^"]+)"')


class ServerClock:
    """WSGI middleware: how long the application took for the last request, body included."""

    def __init__(self, wsgi_app):
        self.wsgi_app, self.last = wsgi_app, 0.0

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        try:
            body = self.wsgi_app(environ, start_response)
            try:
                chunks = list(body)
            finally:
                if hasattr(body, "close"):
                    body.close()
        finally:
            self.last = time.perf_counter() - started
        return chunks


def _clocked(app: Flask) -> ServerClock:
    if not isinstance(app.wsgi_app, ServerClock):
        app.wsgi_app = ServerClock(app.wsgi_app)
    return app.wsgi_app


class _Client(FlaskClient):
    """Each request in an app context of its own, as under a real server.

    The `flask` command pushes an app context before running any command, and Flask reuses a
    pushed context for requests: `g` (the logged-in user) and the session would carry over.
    """

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


def _percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def _bench_user(username: str, role: Role, *, commune: Commune | None = None, province_id: int | None = None) -> str:
    """The username of a benchmark user with a known password, created on first use."""
    if db.session.scalar(select(User.id).where(User.username == username)) is None:
        with write_intent():
            create_user(db.session, Actor.system("bench"), username=username, full_name=f"Benchmark {role.value}",
                        password=BENCH_PASSWORD, role=role,
                        province=db.session.get(Province, province_id) if province_id else None,
                        communes=[commune] if commune is not None else [])
            db.session.commit()
    return username


def _login(app: Flask, username: str):
    client = _Client(app, app.response_class, use_cookies=True)
    page = client.get("/login")
    assert page.status_code == 200, f"login page answered {page.status_code} {page.headers.get('Location')}"
    page = page.get_data(as_text=True)
    answer = client.post("/login", data={"username": username, "password": BENCH_PASSWORD,
                                         "csrf_token": _CSRF.search(page).group(1)})
    assert answer.status_code == 302, f"bench login of {username} failed: {answer.status_code}"
    return client


@contextmanager
def statement_counter():
    """Counts the SQL statements run inside the block (the benchmark's and the tests' one counter)."""
    counter = {"n": 0}

    def count(*_args, **_kwargs):
        counter["n"] += 1
    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield counter
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def _busiest_commune() -> tuple[Commune, CaseState]:
    commune_id, _ = db.session.execute(
        select(Case.commune_id, func.count()).group_by(Case.commune_id).order_by(func.count().desc()).limit(1)).one()
    state, _ = db.session.execute(
        select(Case.status, func.count()).where(Case.commune_id == commune_id)
        .group_by(Case.status).order_by(func.count().desc()).limit(1)).one()
    return db.session.get(Commune, commune_id), state


def measure_pages(app: Flask, requests: int = 200) -> dict:
    """Queue pages (first and deep) and case pages of the busiest commune, as its officer."""
    with app.app_context():
        commune, state = _busiest_commune()
        officer = _bench_user(f"bench.officer.{commune.code}", Role.OFFICER, commune=commune)
        case_ids = list(db.session.scalars(select(Case.id).where(Case.commune_id == commune.id).limit(requests)))
        db.session.remove()
    clock = _clocked(app)
    client = _login(app, officer)
    first = f"/cases?state={state.value}"
    deep = _deepest_page(client, first)
    times = []
    for i in range(requests):
        answer = client.get(first if i % 2 == 0 else deep)
        times.append(clock.last * 1000)
        assert answer.status_code == 200
    with app.app_context(), statement_counter() as counter:
        client.get(deep)
    case_times = []
    for case_id in case_ids:
        answer = client.get(f"/cases/{case_id}")
        case_times.append(clock.last * 1000)
        assert answer.status_code == 200
    search = _measure_search(app, commune.province_id, requests)
    return search | {
        "queue_p50_ms": round(statistics.median(times), 2),
        "queue_p95_ms": round(_percentile(times, 95), 2),
        "queue_sql_statements": counter["n"],
        "case_page_p95_ms": round(_percentile(case_times, 95), 2),
        "worker_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "queue_commune": commune.code, "queue_state": state.value,
    }


def _measure_search(app: Flask, province_id: int, requests: int) -> dict:
    """Names typed without diacritics (whole folded names, and their first two words) in the
    search box, as the province's supervisor: the whole province is searched, in every state."""
    with app.app_context():
        supervisor = _bench_user(f"bench.supervisor.p{province_id}", Role.SUPERVISOR, province_id=province_id)
        names = list(db.session.scalars(
            select(Case.name_folded).where(Case.province_id == province_id).order_by(Case.id)
            .limit(max(1, requests // 2))))
        db.session.remove()
    typed = [n if i % 2 == 0 else " ".join(n.split()[:2]) for i, n in enumerate(names * 2)][:requests]
    clock = _clocked(app)
    client = _login(app, supervisor)
    times = []
    for query in typed:
        answer = client.get("/cases", query_string={"q": query})
        times.append(clock.last * 1000)
        assert answer.status_code == 200
    with app.app_context(), statement_counter() as counter:
        client.get("/cases", query_string={"q": typed[0]})
    return {"search_p95_ms": round(_percentile(times, 95), 2), "search_sql_statements": counter["n"]}


def _deepest_page(client, url: str, max_pages: int = 50) -> str:
    """Follow "next page" links and return the last page's address (a keyset cursor deep in)."""
    deepest = url
    for _ in range(max_pages):
        found = _NEXT.search(client.get(deepest).get_data(as_text=True))
        if not found:
            break
        deepest = found.group(1).replace("&amp;", "&")
    return deepest


def measure_writes(app: Flask, transitions: int = 2000, approvals: int = 1000) -> dict:
    """Transitions and approvals fired through their forms, one request after another (one core)."""
    _clocked(app)
    with app.app_context():
        province_id = _province_with_most(CaseState.IDENTITY_VERIFICATION)
        officer = _bench_user(f"bench.officer.p{province_id}", Role.OFFICER, province_id=province_id)
        supervisor = _bench_user(f"bench.supervisor.p{province_id}", Role.SUPERVISOR, province_id=province_id)
        to_verify = db.session.execute(
            select(Case.id, Case.version, Case.national_id)
            .where(Case.province_id == province_id, Case.status == CaseState.IDENTITY_VERIFICATION,
                   Case.national_id.is_not(None))
            .limit(transitions // 2)).all()
        db.session.remove()
    officer_client = _login(app, officer)
    token = _token(officer_client, "/cases")  # the session's token, valid for every form
    today = time.strftime("%Y-%m-%d")
    spent = 0.0
    for case in to_verify:
        spent += _timed_post(officer_client, f"/cases/{case.id}/actions/verify_identity", {
            "csrf_token": token, "version": case.version, "national_id": case.national_id,
            "source": "police_list", "verified_on": today})
    with app.app_context():
        provider = _provider_of(province_id)
        versions = dict(db.session.execute(select(Case.id, Case.version).where(Case.id.in_([c.id for c in to_verify]))).all())
        db.session.remove()
    for case in to_verify:
        spent += _timed_post(officer_client, f"/cases/{case.id}/actions/choose_account", {
            "csrf_token": token, "version": versions[case.id], "holder": "self", "provider_id": provider,
            "account_number": f"99{case.id:010d}", "consent_date": today})
    fired = 2 * len(to_verify)

    proposals = _propose_suspensions(app, officer_client, token, province_id, approvals)
    supervisor_client = _login(app, supervisor)
    decision_token = _token(supervisor_client, "/proposals")
    approvals_s = sum(_timed_post(supervisor_client, f"/proposals/{proposal_id}/approve", {
        "csrf_token": decision_token, "reason": "Đồng ý (benchmark)"}) for proposal_id in proposals)
    with app.app_context():
        approved = db.session.scalar(select(func.count()).select_from(Proposal).where(
            Proposal.id.in_(proposals), Proposal.status == ProposalStatus.APPROVED))
    assert approved == len(proposals), f"only {approved} of {len(proposals)} approvals took effect"
    return {
        "transitions_per_s": round(fired / spent, 1) if fired else None, "transitions_fired": fired,
        "approvals_per_s": round(len(proposals) / approvals_s, 1) if proposals else None,
        "approvals_done": len(proposals),
    }


def _timed_post(client, url: str, data: dict) -> float:
    """Seconds the server took to answer one form POST (which must redirect: accepted).

    A user follows the redirect and reads the flashed message; the benchmark drops the message
    instead (untimed), or the session cookie would grow with every request.
    """
    answer = client.post(url, data=data)
    spent = _clocked(client.application).last
    assert answer.status_code == 302, f"{url}: {answer.status_code} {answer.get_data(as_text=True)[:1500]}"
    with client.session_transaction() as session:
        session.pop("_flashes", None)
    return spent


def _province_with_most(state: CaseState) -> int:
    """Where a previous run left the most cases to move (runs reuse the dataset)."""
    return db.session.execute(
        select(Case.province_id).where(Case.status == state, Case.national_id.is_not(None))
        .group_by(Case.province_id).order_by(func.count().desc()).limit(1)).scalar_one()


def _token(client, url: str) -> str:
    return _CSRF.search(client.get(url).get_data(as_text=True)).group(1)


def _provider_of(province_id: int) -> int:
    provider = db.session.scalar(select(PaymentProvider.id).where(PaymentProvider.province_id == province_id))
    if provider is None:
        with write_intent():
            provider = ensure_provider(db.session, db.session.get(Province, province_id), "BENCH-BANK",
                                       "Ngân hàng (benchmark)", ProviderKind.BANK).id
            db.session.commit()
    return provider


def _propose_suspensions(app: Flask, client, token: str, province_id: int, count: int) -> list[int]:
    """Suspension proposals on paid cases, by the officer (not timed: the approvals are)."""
    with app.app_context():
        pending = select(Proposal.case_id).where(Proposal.status == ProposalStatus.PENDING)
        cases = db.session.execute(
            select(Case.id, Case.version, Case.policy_group)
            .where(Case.province_id == province_id, Case.status == CaseState.PAID_BY_ACCOUNT, Case.id.not_in(pending))
            .limit(count)).all()
        db.session.remove()
    month = time.strftime("%Y-%m")
    for case in cases:
        code = "TT02.D2.K3.a" if case.policy_group.value == "btxh" else "PL02.D54.K1"
        answer = client.post(f"/cases/{case.id}/actions/suspend", data={
            "csrf_token": token, "version": case.version, "reason_code": code, "effective_month": month,
            "decision_number": "BENCH/QĐ"})
        assert answer.status_code == 302, answer.get_data(as_text=True)[:2000]
    with app.app_context():
        return list(db.session.scalars(select(Proposal.id).where(
            Proposal.case_id.in_([c.id for c in cases]), Proposal.status == ProposalStatus.PENDING)))
