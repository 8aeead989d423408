"""Before → after for the audit trail."""
from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from contextlib import contextmanager
from functools import lru_cache

from babel.dates import format_date
from flask_babel import get_locale, gettext as _

from sqlalchemy import Update, bindparam, inspect, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from cases.errors import DomainError, StaleCase
from cases.models import Case, User

# Bookkeeping the engine and the ORM keep; the trail records them in its own fields.
# Bookkeeping, and the search columns kept from full_name (cases.search): no one edits them.
NOT_DIFFED = {"version", "updated_at", "updated_by_id", "created_at", "created_by_id", "state_entered_at",
              "name_folded", "name_given_first"}
DISPLAY_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def local_today() -> date:
    """Today at the commune office (dates on forms are local dates)."""
    return datetime.now(DISPLAY_TZ).date()


def to_local(moment: datetime) -> datetime:
    return moment.replace(tzinfo=timezone.utc).astimezone(DISPLAY_TZ)


# How a reader writes a day and a month; the one home of these patterns (pages, emails, messages).
DAY_PATTERNS = {"vi": "dd/MM/yyyy", "en": "dd MMM yyyy"}
MONTH_PATTERNS = {"vi": "MM/yyyy", "en": "MMM yyyy"}


@lru_cache(maxsize=4096)
def written(day: date, unit: str, language: str) -> str:
    """`day` as a reader of `language` ("vi", "en") writes a day (unit "day") or its month ("month").
    Kept: a page or a digest writes the same few days hundreds of times, at tens of microseconds
    each through Babel."""
    return format_date(day, (MONTH_PATTERNS if unit == "month" else DAY_PATTERNS)[language], locale=language)


def day_text(day: date) -> str:
    """A date as the reader writes it: `05/03/2026` in Vietnamese, `05 Mar 2026` in English. For
    text built outside a template: messages, emails."""
    return written(day, "day", reader_language())


def month_text(day: date) -> str:
    """A month as the reader writes it: `03/2026` in Vietnamese, `Mar 2026` in English."""
    return written(day, "month", reader_language())


def reader_language() -> str:
    """The language of this request or email: "vi" or "en". Outside any app context (a CLI
    command, a test) flask_babel has no locale: the default, Vietnamese."""
    locale = get_locale()
    return "en" if locale is not None and locale.language == "en" else "vi"


_DIFFED: tuple[str, ...] | None = None


def snapshot(case: Case) -> dict:
    global _DIFFED
    if _DIFFED is None:  # the mapper is configured by the first call, not at import
        _DIFFED = tuple(c.key for c in inspect(Case).column_attrs if c.key not in NOT_DIFFED)
    return {key: getattr(case, key) for key in _DIFFED}


def diff(before: dict, after: dict) -> dict:
    """{field: [before, after]} for every field that changed."""
    return {k: [before[k], after[k]] for k in before if before[k] != after[k]}


def touch(case: Case, user: User | None) -> None:
    case.updated_at = utcnow()
    case.updated_by_id = user.id if user is not None else None


def check_version(case: Case, version: int | None) -> None:
    """The form was rendered from `version`; refuse if the case has moved on since.

    :raise StaleCase: the case was changed by someone else after the form was shown.
    """
    if version is not None and version != case.version:
        raise stale(case)


def stale(case: Case) -> StaleCase:
    who = case.updated_by.full_name if case.updated_by is not None else _("hệ thống")
    local = to_local(case.updated_at)
    return StaleCase(_("Hồ sơ này vừa được %(who)s thay đổi lúc %(time)s ngày %(day)s. Vui lòng tải lại trang "
                       "để xem dữ liệu mới nhất; thay đổi của bạn chưa được lưu.",
                       who=who, time=local.strftime("%H:%M"), day=day_text(local.date())))


@contextmanager
def unique_or(message: str, field: str | None = None):
    """Turn a unique-index refusal (another user got there a moment earlier) into a DomainError.

    The checks before a write catch the usual case; this catches the race between check and write.
    The session must be rolled back afterwards, as after any DomainError.
    """
    try:
        yield
    except IntegrityError as error:
        raise DomainError(message, field) from error


# One UPDATE per set of changed columns, built on first use (transitions change the same few sets).
_CASE_UPDATES: dict[tuple[str, ...], Update] = {}


def write_case(session: Session, case: Case) -> None:
    """Write the case's changed columns now, as the ORM's flush would: one UPDATE guarded by the
    version the case was read at, which moves the version on, then the case marked clean.

    Every transition is written here. The unit of work cost two to three times the statement
    itself on this path (measured: 0.22 ms against 0.09 on SQLite, 0.65 against 0.3 on
    PostgreSQL); edits and new cases still go through it.

    :raise StaleDataError: the case changed since it was read (as the ORM's flush raises it).
    :raise IntegrityError: a unique index refused the change (a live ID number taken meanwhile).
    """
    state, columns = inspect(case), Case.__table__.c
    keys = tuple(sorted(state.committed_state))
    if not keys or not all(key in columns for key in keys):
        session.flush()  # nothing to write, or more than plain columns: the unit of work knows how
        return
    statement = _CASE_UPDATES.get(keys)
    if statement is None:
        statement = _CASE_UPDATES[keys] = (
            update(Case.__table__)
            .where(columns.id == bindparam("case_id"), columns.version == bindparam("read_version"))
            .values({key: bindparam(f"new_{key}") for key in keys} | {"version": bindparam("next_version")}))
    version = case.version
    written = session.connection().execute(statement, {
        **{f"new_{key}": getattr(case, key) for key in keys},
        "case_id": case.id, "read_version": version, "next_version": version + 1}).rowcount
    if written != 1:
        raise StaleDataError(f"case {case.id}: expected version {version}, found another")
    set_committed_value(case, "version", version + 1)
    # What the unit of work does for each row it has written: the values held are now the
    # database's, and the case is no longer pending (else the commit's flush would weigh it again).
    state._commit_all(state.dict, session.identity_map)
