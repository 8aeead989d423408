"""The approvals inbox at scale (`measure_inbox`): a province supervisor's pages of pending
proposals — the first, the following ones by keyset, and one commune's — timed at the server, and
the SQL statements one page runs."""
from __future__ import annotations

import re
import statistics

from flask import Flask
from sqlalchemy import func, select

from bench.measure import _bench_user, _clocked, _login, _percentile, statement_counter
from cases.models import Commune, Proposal, ProposalStatus
from cases.roles import Role
from extensions import db

_NEXT = re.compile(r'<a rel="next" href="([^"]+)"')


def _province_with_most_pending() -> tuple[int, int, int]:
    """(province id, its pending proposals, its busiest commune's id)."""
    province_id, pending = db.session.execute(
        select(Commune.province_id, func.count()).join(Proposal, Proposal.commune_id == Commune.id)
        .where(Proposal.status == ProposalStatus.PENDING)
        .group_by(Commune.province_id).order_by(func.count().desc()).limit(1)).one()
    commune_id = db.session.scalar(
        select(Proposal.commune_id).join(Commune, Commune.id == Proposal.commune_id)
        .where(Proposal.status == ProposalStatus.PENDING, Commune.province_id == province_id)
        .group_by(Proposal.commune_id).order_by(func.count().desc()).limit(1))
    return province_id, pending, commune_id


def _pages(client, first: str, max_pages: int = 10) -> list[str]:
    """The inbox's URLs from `first` on, following "Trang sau" up to `max_pages`."""
    urls, url = [first], first
    while len(urls) < max_pages:
        found = _NEXT.search(client.get(url).get_data(as_text=True))
        if not found:
            break
        url = found.group(1).replace("&amp;", "&")
        urls.append(url)
    return urls


def measure_inbox(app: Flask, requests: int = 200) -> dict:
    """The inbox of the province with the most pending proposals, as its province supervisor."""
    with app.app_context():
        province_id, pending, commune_id = _province_with_most_pending()
        supervisor = _bench_user(f"bench.supervisor.province.{province_id}", Role.SUPERVISOR,
                                 province_id=province_id)
        db.session.remove()
    clock = _clocked(app)
    client = _login(app, supervisor)
    urls = _pages(client, "/proposals") + [f"/proposals?commune={commune_id}", "/proposals?kind=suspend"]
    times = []
    for i in range(requests):
        answer = client.get(urls[i % len(urls)])
        times.append(clock.last * 1000)
        assert answer.status_code == 200, answer.status_code
    with app.app_context(), statement_counter() as counter:
        client.get(urls[-3] if len(urls) > 3 else urls[0])
    return {
        "inbox_pending_in_province": pending,
        "inbox_p50_ms": round(statistics.median(times), 2),
        "inbox_p95_ms": round(_percentile(times, 95), 2),
        "inbox_sql_statements": counter["n"],
    }
