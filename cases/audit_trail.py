"""The auditor's screen: the audit trail in a reader's scope, filtered, newest first.

Who sees which record:
- a record about a case is seen by whoever may see that case (`cases.access.case_scope`); a
  refused attempt on another unit's case is therefore seen by that case's readers, who are the
  ones it concerns;
- a record with no case (logins, logouts, user administration), or naming a case id that does
  not exist (an attempt on /cases/999999), belongs to the units of the user who acted: a
  province-wide reader sees those of the users of their province (province-wide, or of one of
  its communes), a commune-scoped reader those of the users sharing one of their communes;
- a record with no known actor and no case (a failed login under an unknown name) belongs to no
  unit and is listed to no one here; `flask audit verify` and the database still hold it.

Pages walk `seq` downwards by keyset (`before=<seq>`), never by OFFSET: a page costs the records
it reads, never the pages before it. (The last page of a province-wide reader's unfiltered walk
reads on to the start of the trail to find nothing older: seconds at four million records.)
"""
from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

from flask_babel import gettext as _, lazy_gettext as _l

from sqlalchemy import ColumnElement, Select, String, cast, exists, false, null, select, union_all
from sqlalchemy.orm import Session

from cases import audit
from cases.access import case_scope, commune_ids
from cases.audit import Actor, canonical_json
from cases.changes import DISPLAY_TZ, to_local
from cases.errors import NotPermitted
from cases.ids import parse_id
from cases.masking import mask_detail
from cases.models import AuditCheck, AuditRecord, Case, Commune, User, user_communes
from cases.roles import Role

AUDIT_READERS = frozenset({Role.AUDITOR, Role.ADMIN})
PAGE_SIZE = 50
EXPORT_LIMIT = 10_000
OUTCOME_LABELS = {"ok": _l("Thành công"), "denied": _l("Bị từ chối")}
DAY_FORMATS = ("%d/%m/%Y", "%Y-%m-%d")
SEQ_DIGITS = re.compile(r"[0-9]{1,19}")
MAX_SEQ = 2**63 - 1  # a 64-bit seq on PostgreSQL; SQLite's integers are as wide


def may_read_trail(user: User) -> bool:
    return user.is_authenticated and user.role in AUDIT_READERS


def require_trail_reader(user: User) -> None:
    """:raise NotPermitted: (403) the user is neither an auditor nor an administrator."""
    if not may_read_trail(user):
        raise NotPermitted(_("Chỉ cán bộ kiểm tra, thanh tra và quản trị hệ thống được xem nhật ký."))


@dataclass(frozen=True)
class TrailFilter:
    case_id: int | None = None
    username: str | None = None
    commune_id: int | None = None
    action: str | None = None
    since: date | None = None   # local dates, both ends included
    until: date | None = None

    def as_query(self) -> dict[str, str]:
        """The filter as the screen's query string (and the export's form) carries it."""
        values = {"case": self.case_id, "user": self.username, "commune": self.commune_id,
                  "action": self.action, "from": self.since, "to": self.until}
        return {k: v.isoformat() if isinstance(v, date) else str(v) for k, v in values.items() if v is not None}


def read_filter(args: Mapping[str, str]) -> tuple[TrailFilter, list[str]]:
    """The filter typed on the screen, and what was wrong with it (Vietnamese). Ids are checked
    as every id from outside is (`cases.ids`); dates are dd/mm/yyyy or yyyy-mm-dd, local."""
    errors: list[str] = []

    def text(name: str, label: str, longest: int) -> str | None:
        value = (args.get(name) or "").strip()
        if not value.isprintable():  # a control character (PostgreSQL refuses NUL outright)
            errors.append(_("%(field)s: có ký tự không hợp lệ.", field=label))
            return None
        return value[:longest] or None

    def number(name: str, label: str) -> int | None:
        value = text(name, label, 20)
        if value is not None and parse_id(value) is None:
            errors.append(_("%(field)s phải là một số hợp lệ.", field=label))
        return parse_id(value)

    def day(name: str, label: str) -> date | None:
        value = text(name, label, 10)
        for pattern in DAY_FORMATS if value else ():
            try:
                return datetime.strptime(value, pattern).date()
            except ValueError:
                pass
        if value:
            errors.append(_("%(field)s không hợp lệ: «%(value)s» (nhập dd/mm/yyyy).", field=label, value=value))
        return None

    found = TrailFilter(case_id=number("case", _("Số hồ sơ")), username=text("user", _("Người thực hiện"), 64),
                        commune_id=number("commune", _("Xã/phường")), action=text("action", _("Việc"), 40),
                        since=day("from", _("Từ ngày")), until=day("to", _("Đến ngày")))
    if found.since and found.until and found.since > found.until:
        errors.append(_("«%(since)s» phải trước hoặc bằng «%(until)s».", since=_("Từ ngày"), until=_("Đến ngày")))
    return found, errors


def read_cursor(value: str | None) -> int | None:
    """The `before=<seq>` cursor; anything that is no seq reads as the first page."""
    if not value or not SEQ_DIGITS.fullmatch(value):
        return None
    return int(value) if int(value) <= MAX_SEQ else None


@dataclass(frozen=True)
class TrailRow:
    """One record as the screen and the export show it; personal numbers masked."""
    seq: int
    occurred_at: datetime   # local
    actor_username: str | None
    actor_role: str         # label
    action: str
    case_id: int | None
    case_name: str | None
    commune_name: str | None
    reason: str | None
    outcome: str            # label
    detail: list[str] = field(default_factory=list)   # `key: before → after`, as the export writes it
    facts: dict = field(default_factory=dict)          # the masked detail itself: the screen labels it


@dataclass(frozen=True)
class TrailPage:
    rows: list[TrailRow]
    next_before: int | None  # the cursor of the next (older) page; None on the last


def trail_page(session: Session, user: User, wanted: TrailFilter, *, before: int | None = None,
               size: int = PAGE_SIZE) -> TrailPage:
    """The records in `user`'s scope that match `wanted`, newest first, older than `before`."""
    found = session.execute(_trail(user, wanted, before, size + 1)).all() if may_read_trail(user) else []
    rows = [_row(r) for r in found[:size]]
    return TrailPage(rows, rows[-1].seq if len(found) > size else None)


def export_trail(session: Session, actor: Actor, user: User, wanted: TrailFilter,
                 limit: int = EXPORT_LIMIT) -> TrailPage:
    """What the screen shows for `wanted`, from the newest, up to `limit` records; the export is
    audited with its filter. `next_before` is set when more records matched than were exported.

    :raise NotPermitted: (403) the user may not read the trail.
    """
    require_trail_reader(user)
    page = trail_page(session, user, wanted, size=limit)
    audit.record(session, actor, "audit.export", detail={
        "filters": wanted.as_query(), "rows": len(page.rows), "truncated": page.next_before is not None})
    return page


def latest_checks(session: Session) -> dict[str, AuditCheck | None]:
    """The last verification of the chain and the last anchor written outside the database."""
    return {kind: session.scalar(select(AuditCheck).where(AuditCheck.kind == kind)
                                 .order_by(AuditCheck.at.desc(), AuditCheck.id.desc()).limit(1))
            for kind in ("verify", "anchor")}


# Actions that never name a case, and actions that always do: filtered on one of them, the screen
# reads only the part of the trail that can hold it (a part with nothing to show walks its index
# to the end to prove it: 1.7 s over a million logins, measured).
NEVER_ON_A_CASE = ("auth.", "user.", "audit.")
ALWAYS_ON_A_CASE = ("case.", "proposal.")
# What a row of the screen reads off the record itself.
_RECORD = (AuditRecord.seq, AuditRecord.occurred_at, AuditRecord.actor_username, AuditRecord.actor_role,
           AuditRecord.action, AuditRecord.case_id, AuditRecord.reason, AuditRecord.outcome, AuditRecord.detail)
_NO_CASE = (cast(null(), String).label("case_name"), cast(null(), String).label("commune_name"))


def _trail(user: User, wanted: TrailFilter, before: int | None, limit: int) -> Select:
    """The scope's three parts, each read newest first and cut at `limit`, then merged: the
    records of the cases in scope, the records with no case by users of the reader's units, and
    those users' refusals naming a case that does not exist. As one query with an OR, PostgreSQL
    walked the whole trail by seq for a reader whose records are sparse (a commune auditor: 1.9 s
    a page over 4 million records); as parts, each takes the index that suits it."""
    on_record, parts = _record_conditions(wanted, before), []
    action = wanted.action or ""
    if not action.startswith(NEVER_ON_A_CASE):
        parts.append(select(*_RECORD, Case.full_name.label("case_name"), Commune.name.label("commune_name"))
                     .join(Case, Case.id == AuditRecord.case_id).join(Commune, Commune.id == Case.commune_id)
                     .where(case_scope(user), *on_record,
                            *([Case.commune_id == wanted.commune_id] if wanted.commune_id is not None else [])))
    if wanted.commune_id is None:  # records outside any case have no commune
        members = AuditRecord.actor_id.in_(_members_of_units(user))
        if wanted.case_id is None and not action.startswith(ALWAYS_ON_A_CASE):
            parts.append(select(*_RECORD, *_NO_CASE).where(AuditRecord.case_id.is_(None), members, *on_record))
        if action in ("", "access.denied"):
            parts.append(select(*_RECORD, *_NO_CASE).where(
                AuditRecord.action == "access.denied", AuditRecord.case_id.is_not(None),
                ~exists().where(Case.id == AuditRecord.case_id), members, *on_record))
    if not parts:
        return select(*_RECORD, *_NO_CASE).where(false())
    pieces = [part.order_by(AuditRecord.seq.desc()).limit(limit).subquery() for part in parts]
    merged = union_all(*(select(piece) for piece in pieces)).subquery()
    return select(merged).order_by(merged.c.seq.desc()).limit(limit)


def _members_of_units(user: User) -> Select:
    """The users of the reader's units: of their province (province-wide or of one of its
    communes), or sharing one of their communes."""
    if user.province_id is not None:
        communes = select(Commune.id).where(Commune.province_id == user.province_id)
        return select(User.id).where(User.province_id == user.province_id).union(
            select(user_communes.c.user_id).where(user_communes.c.commune_id.in_(communes)))
    return select(user_communes.c.user_id).where(user_communes.c.commune_id.in_(commune_ids(user) or []))


def _record_conditions(wanted: TrailFilter, before: int | None) -> list[ColumnElement[bool]]:
    conditions = []
    if before is not None:
        conditions.append(AuditRecord.seq < before)
    if wanted.case_id is not None:
        conditions.append(AuditRecord.case_id == wanted.case_id)
    if wanted.username:
        # By the user's id (indexed with seq); a name no user has matches nothing.
        conditions.append(AuditRecord.actor_id == select(User.id).where(User.username == wanted.username)
                          .scalar_subquery())
    if wanted.action:
        conditions.append(AuditRecord.action == wanted.action)
    if wanted.since:
        conditions.append(AuditRecord.occurred_at >= _utc_start_of(wanted.since))
    if wanted.until:
        conditions.append(AuditRecord.occurred_at < _utc_start_of(wanted.until + timedelta(days=1)))
    return conditions


def _utc_start_of(day: date) -> datetime:
    """Midnight at the office on `day`, as the trail stores times (naive UTC)."""
    return datetime.combine(day, time(), tzinfo=DISPLAY_TZ).astimezone(timezone.utc).replace(tzinfo=None)


def _row(r) -> TrailRow:
    detail = mask_detail(json.loads(r.detail)) if r.detail else {}
    return TrailRow(r.seq, to_local(r.occurred_at), r.actor_username, role_label(r.actor_role), r.action,
                    r.case_id, r.case_name, r.commune_name, r.reason, str(OUTCOME_LABELS.get(r.outcome, r.outcome)),
                    describe(detail), detail)


def role_label(role: str | None) -> str:
    try:
        return str(Role(role).label)
    except ValueError:
        return _("Hệ thống") if role in (None, "system") else role


def describe(detail: dict) -> list[str]:
    """A record's (masked) detail as lines of text: `field: before → after` for each change."""
    lines = []
    for key, value in detail.items():
        if key == "changes" and isinstance(value, dict):
            lines += [f"{name}: {_text(pair[0])} → {_text(pair[1])}" if isinstance(pair, list) and len(pair) == 2
                      else f"{name}: {_text(pair)}" for name, pair in value.items()]
        else:
            lines.append(f"{key}: {_text(value)}")
    return lines


def _text(value) -> str:
    if value is None:
        return "—"
    return canonical_json(value) if isinstance(value, (dict, list)) else str(value)
