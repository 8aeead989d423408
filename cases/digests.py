"""The escalation digests: one email per recipient per run, in their language, listing the cases
escalated to them that day, written to the outbox in the escalations' own transaction.

Tier 1 goes to the active officers of the case's commune (and the province's officers), tier 2
to the commune's supervisors, tier 3 to the province's supervisors. A state whose lateness asks
for a decision (workflow.overdue: a suspension due for review) sends its tier 1 to the commune's
supervisors as well. A line says what an overdue case needs where its state names it. Supervisors
(commune and province) also find the approved decisions that could not take effect and still
stand flagged (cases.scheduled), every day until a new proposal is made on the case. The
Message-ID is fixed at write time from the run's date and the recipient, so a rerun of the same
day writes nothing twice.

The province's officers and supervisors also find the payment cycle's steps not done whose due
date is past or within three working days (cases.payments.cycle): such a reminder alone is worth
a digest that day.
"""
from __future__ import annotations

import heapq
import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from itertools import chain, islice
from typing import NamedTuple
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import force_locale, get_translations, lazy_gettext as _l, lazy_ngettext
from flask_babel.speaklater import LazyString
from sqlalchemy import String, exists, func, insert, select, type_coerce
from sqlalchemy.orm import Session, aliased

from cases.bulk_read import driver_rows
from cases.calendar import working_calendar
from cases.changes import day_text, reader_language, to_local, utcnow, written
from cases.collector import collector_paused
from cases.masking import mask_number
from cases.models import (Case, Escalation, MailStatus, OutboxMessage, Proposal, ProposalStatus, User,
                          user_communes)
from cases.payments.cycle import CycleRow, CycleStage, due_reminders
from cases.roles import Role
from workflow.overdue import OVERDUE_REASONS, SUPERVISORS_REVIEW, OverdueReason, overdue_reason
from workflow.states import CaseState
from workflow.table import PROPOSAL_SLA, STATES, TRANSITIONS

log = logging.getLogger("ansinh.escalation")

KIND = "escalation_digest"
# An email lists this many cases at most; the rest are counted, and the queues show them all.
MAX_LINES = 100
TIER_HEADINGS = {
    3: _l("Mức 3 — quá ba lần thời hạn, chuyển lãnh đạo cấp tỉnh"),
    2: _l("Mức 2 — quá hai lần thời hạn, chuyển lãnh đạo xã"),
    1: _l("Mức 1 — quá thời hạn xử lý"),
}
REFUSED_HEADING = _l("Quyết định không thể áp dụng")
CYCLE_HEADING = _l("Kỳ chi trả: việc đến hạn")
# What a provider's month still needs, by where it stands (its due date: cases.payments.cycle).
CYCLE_REMINDERS = {
    CycleStage.NOT_DRAFTED: _l("Danh sách chi trả tháng %(month)s của %(provider)s cần được lập, ký duyệt và gửi "
                               "trước %(day)s."),
    CycleStage.DRAFTED: _l("Danh sách chi trả tháng %(month)s của %(provider)s cần được ký duyệt và gửi trước "
                           "%(day)s."),
    CycleStage.SIGNED: _l("Danh sách chi trả tháng %(month)s của %(provider)s đã ký duyệt, cần tải về và gửi "
                          "tổ chức chi trả trước %(day)s."),
    CycleStage.SENT: _l("%(provider)s cần gửi lại danh sách đã chi trả, chưa chi trả tháng %(month)s trước "
                        "%(day)s."),
    CycleStage.RETURN_RECEIVED: _l("Tệp trả về tháng %(month)s của %(provider)s đã nhận, cần nhập và đối chiếu "
                                   "xong trước %(day)s."),
}
_IN_CHUNK = 500


class Line(NamedTuple):
    """One escalated case (or proposal) as a digest lists it (a tuple: a first run makes many).
    Its words are lazy: one line goes to recipients of different languages, each reads their own."""
    tier: int
    case_id: int
    commune_id: int
    province_id: int
    full_name: str
    national_id: str | None
    what: str                 # the state's label, or the proposal waiting
    sla_label: str
    working_days: int
    waited: str               # "11 ngày làm việc", or in days where the SLA counts days or months
    reason: OverdueReason | None = None  # what the overdue case needs (workflow.overdue), when its state says


class Refusal(NamedTuple):
    """An approved decision that could not take effect, as a supervisors' digest lists it."""
    case_id: int
    commune_id: int
    province_id: int
    full_name: str
    decision: str             # the transition's label
    takes_effect_on: date
    reason: str


@dataclass(frozen=True)
class Recipient:
    id: int
    username: str
    full_name: str
    email: str | None
    locale: str | None = None


def write_digests(session: Session, escalated_on: date, base_url: str, now: datetime | None = None) -> dict:
    """Write one outbox message per recipient of the escalations recorded on `escalated_on`;
    flushes, never commits. Counts: "digests" written, "already_written" (a rerun),
    "without_email" and their "without_email_usernames" (for the administrator)."""
    with collector_paused():    # a first sweep reads 650,000 escalations and writes 6,600 digests
        return _write_digests(session, escalated_on, base_url, now or utcnow())


def _write_digests(session: Session, escalated_on: date, base_url: str, now: datetime) -> dict:
    escalated = _Escalated(session, escalated_on)
    recipients = _recipients(session, escalated.rows, refused_decisions(session),
                             due_reminders(session, escalated_on))
    missing = sorted(user.username for user in recipients if not user.email)
    if missing:
        log.warning("%d escalation recipient(s) have no email address: %s", len(missing), ", ".join(missing))
    base_url, domain = base_url.rstrip("/"), urlsplit(base_url).hostname or "ansinh.local"
    wanted = {message_id(escalated_on, user.id, domain): (user, found)
              for user, found in recipients.items() if user.email}
    done = _existing(session, list(wanted))
    words: dict[str, _Words] = {}    # one per language for the whole run: its lines are shared
    messages = [_message(user, mid, escalated.lines(units), sum(map(len, units)), escalated_on, base_url, now,
                         refused, reminders, words)
                for mid, (user, (units, refused, reminders)) in wanted.items() if mid not in done]
    if messages:
        session.connection().execute(insert(OutboxMessage.__table__), messages)
    return {"digests": len(messages), "already_written": len(done), "without_email": len(missing),
            "without_email_usernames": missing[:100]}


def message_id(escalated_on: date, user_id: int, domain: str) -> str:
    return f"<digest-{escalated_on.isoformat()}-{user_id}@{domain}>"


# Who hears of a tier: (role, scoped by commune or by province).
_ROUTES = {(Role.OFFICER, "commune"): 1, (Role.OFFICER, "province"): 1,
           (Role.SUPERVISOR, "commune"): 2, (Role.SUPERVISOR, "province"): 3}
# The columns of an escalated row (_Escalated.rows), by position.
TIER, CASE_ID, COMMUNE_ID, PROVINCE_ID, FULL_NAME, NATIONAL_ID, STATE, PROPOSAL_ID, STARTED, STARTED_AT = range(10)
# States whose tier 1 also goes to the commune's supervisors (stored text, as the rows hold it).
_REVIEWED = frozenset(state.value for state in SUPERVISORS_REVIEW)
# States whose overdue line says what the case needs (workflow.overdue); the others are plain late.
_WATCHED = frozenset(state.value for state in OVERDUE_REASONS)


def _recipients(session: Session, rows: list[tuple], refused: list[Refusal], reminders: list[CycleRow] = ()
                ) -> dict[Recipient, tuple[list[list[tuple]], list[Refusal], list[CycleRow]]]:
    """{recipient: (their escalated rows, one list per unit they answer for; their refused
    decisions; their payment cycle's reminders)}: the day's escalations by tier and unit, the
    refusals by unit for supervisors, and the reminders by province for its officers and
    supervisors (who draft and sign the lists), matched to the active officers and supervisors by
    their scope (two queries for the people, none per case). A unit's list is shared by everyone
    who answers for it, never copied."""
    if not rows and not refused and not reminders:
        return {}
    by_unit: dict[tuple[int, str, int], list[tuple]] = defaultdict(list)
    for row in rows:
        by_unit[row[TIER], "commune", row[COMMUNE_ID]].append(row)
        by_unit[row[TIER], "province", row[PROVINCE_ID]].append(row)
        if row[TIER] == 1 and row[PROPOSAL_ID] is None and row[STATE] in _REVIEWED:
            by_unit[_ROUTES[Role.SUPERVISOR, "commune"], "commune", row[COMMUNE_ID]].append(row)
    refused_in: dict[tuple[str, int], list[Refusal]] = defaultdict(list)
    for refusal in refused:
        refused_in["commune", refusal.commune_id].append(refusal)
        refused_in["province", refusal.province_id].append(refusal)
    reminded_in: dict[tuple[str, int], list[CycleRow]] = defaultdict(list)
    for reminder in reminders:
        reminded_in["province", reminder.province_id].append(reminder)
    staff = (Role.OFFICER, Role.SUPERVISOR)
    people = select(User.id, User.username, User.full_name, User.email, User.role, User.locale)
    scoped = [("commune", people.add_columns(user_communes.c.commune_id)
               .join(user_communes, user_communes.c.user_id == User.id)),
              ("province", people.add_columns(User.province_id).where(User.province_id.is_not(None)))]
    found: dict[Recipient, tuple[list[list[tuple]], list[Refusal], list[CycleRow]]] = defaultdict(
        lambda: ([], [], []))
    for level, query in scoped:
        for r in session.execute(query.where(User.active.is_(True), User.role.in_(staff))):
            unit = r[-1]
            unit_rows = by_unit.get((_ROUTES[r.role, level], level, unit), [])
            unit_refused = refused_in.get((level, unit), []) if r.role is Role.SUPERVISOR else []
            unit_reminders = reminded_in.get((level, unit), [])
            if unit_rows or unit_refused or unit_reminders:
                mine = found[Recipient(r.id, r.username, r.full_name, r.email, r.locale)]
                if unit_rows:
                    mine[0].append(unit_rows)
                mine[1].extend(unit_refused)
                mine[2].extend(unit_reminders)
    return found


def refused_decisions(session: Session) -> list[Refusal]:
    """Every decision that could not take effect and still stands flagged (no proposal made on
    its case since: cases.scheduled), the earliest effective date first. A handful: one query."""
    later = aliased(Proposal)
    superseded = exists().where(later.case_id == Proposal.case_id, later.id > Proposal.id)
    rows = session.execute(
        select(Case.id, Case.commune_id, Case.province_id, Case.full_name, Proposal.trigger,
               Proposal.takes_effect_on, Proposal.not_applied_reason)
        .join(Case, Case.id == Proposal.case_id)
        .where(Proposal.status == ProposalStatus.NOT_APPLIED, ~superseded)
        .order_by(Proposal.takes_effect_on, Proposal.id))
    return [Refusal(case_id, commune_id, province_id, full_name,
                    TRANSITIONS[trigger].label if trigger in TRANSITIONS else trigger, effective, reason or "")
            for case_id, commune_id, province_id, full_name, trigger, effective, reason in rows]


class _Escalated:
    """The day's escalations as plain rows (a first run after a long pause brings hundreds of
    thousands), and the few a digest shows turned into `Line`s."""

    def __init__(self, session: Session, escalated_on: date):
        self.on, self.calendar = escalated_on, working_calendar(session)
        connection = session.connection()
        # Stored text, not enums and datetimes: converting each row was half the digests' time. And
        # the driver's own tuples, not SQLAlchemy's rows, for the 650,000 rows of a first sweep
        # (with the SLA labels found once a state: 12.1 → 11.7 s on SQLite, 14.0 → 13.6 s on
        # PostgreSQL, measured in turn). The one value is the run's date, written into the statement.
        escalated = (
            select(Escalation.tier, Escalation.case_id, Escalation.commune_id, Escalation.province_id,
                   Case.full_name, Case.national_id, type_coerce(Escalation.state, String), Escalation.proposal_id,
                   type_coerce(func.date(Escalation.stay_started_at), String),
                   type_coerce(Escalation.stay_started_at, String))
            .join(Case, Case.id == Escalation.case_id)
            .where(Escalation.escalated_on == escalated_on))
        self.rows = driver_rows(session, escalated)
        self.triggers = dict(connection.execute(
            select(Escalation.proposal_id, Proposal.trigger).join(Proposal, Proposal.id == Escalation.proposal_id)
            .where(Escalation.escalated_on == escalated_on)).tuples().all())
        self.sla_labels: dict[object, LazyString] = {}
        # Each state's label, SLA and the SLA's shared label, found once (not hashed again a line).
        self.states = {state.value: (spec.label, spec.sla, self.sla_label(spec.sla))
                       for state, spec in STATES.items() if spec.sla}
        self.proposal_sla_label = self.sla_label(PROPOSAL_SLA)
        self.days: dict[object, int] = {}
        # By the row's identity: a row shown to a commune's officer is shown to the province's too.
        self.made: dict[int, Line] = {}
        self.tops: dict[int, list[tuple]] = {}   # by the unit list's identity (the lists live all run)
        self.shared: dict[tuple, LazyString] = {}

    # The words a line is made of come from a few values; each is made once and shared by its lines,
    # so a digest reads it once (`_Words.text`): hundreds of thousands of lines, a few hundred words.
    def proposal_waiting(self, trigger: str | None) -> LazyString:
        found = self.shared.get(("proposal", trigger))
        if found is None:
            found = self.shared[("proposal", trigger)] = _l(
                "Đề xuất «%(action)s» chờ phê duyệt", action=TRANSITIONS[trigger].label if trigger in TRANSITIONS else trigger)
        return found

    def waited(self, working: bool, n: int) -> LazyString:
        found = self.shared.get((working, n))
        if found is None:
            found = self.shared[(working, n)] = (lazy_ngettext("%(num)d ngày làm việc", "%(num)d ngày làm việc", n)
                                                 if working else lazy_ngettext("%(num)d ngày", "%(num)d ngày", n))
        return found

    def sla_label(self, sla) -> LazyString:
        """One lazy label per SLA, shared by its lines (a digest reads each once: `_Words.text`)."""
        found = self.sla_labels.get(sla)
        if found is None:
            found = self.sla_labels[sla] = LazyString(lambda: sla.label)
        return found

    def working_days(self, started) -> int:
        """Working days in state since `started` (a date, or its ISO text on SQLite)."""
        found = self.days.get(started)
        if found is None:
            day = started if isinstance(started, date) else date.fromisoformat(started)
            found = self.days[started] = self.calendar.working_days_between(day, self.on)
        return found

    def lines(self, units: list[list[tuple]]) -> list[Line]:
        """The first MAX_LINES of the rows of `units`: highest tier, then longest waiting, first.
        Each unit's own first MAX_LINES are found once, for all who answer for it (a province's
        list is read once, not once per officer), and a recipient's are the first of theirs."""
        tops = [self._top(unit) for unit in units]
        shown = tops[0] if len(tops) == 1 else heapq.nsmallest(MAX_LINES, chain.from_iterable(tops), key=self._order)
        made = self.made
        return [made.get(id(row)) or self._line(row) for row in shown]

    def _top(self, unit: list[tuple]) -> list[tuple]:
        found = self.tops.get(id(unit))
        if found is None:
            found = self.tops[id(unit)] = heapq.nsmallest(MAX_LINES, unit, key=self._order)
        return found

    def _order(self, row: tuple) -> tuple:
        return -row[TIER], -self.working_days(row[STARTED]), row[CASE_ID]

    def _line(self, row: tuple) -> Line:
        if row[PROPOSAL_ID] is None:
            what, sla, sla_label = self.states[row[STATE]]
        else:
            what, sla = self.proposal_waiting(self.triggers.get(row[PROPOSAL_ID])), PROPOSAL_SLA
            sla_label = self.proposal_sla_label
        started = row[STARTED] if isinstance(row[STARTED], date) else date.fromisoformat(row[STARTED])
        days = self.working_days(row[STARTED])
        waited = self.waited(sla.unit == "working_days", days if sla.unit == "working_days" else (self.on - started).days)
        reason = None
        if row[PROPOSAL_ID] is None and row[STATE] in _WATCHED:
            # The reason names the local day: a decision taking effect at 00:05 on the first began
            # its stay on the month's last day in UTC.
            at = row[STARTED_AT] if isinstance(row[STARTED_AT], datetime) else datetime.fromisoformat(row[STARTED_AT])
            reason = overdue_reason(CaseState(row[STATE]), to_local(at).date())
        line = self.made[id(row)] = Line(row[TIER], row[CASE_ID], row[COMMUNE_ID], row[PROVINCE_ID], row[FULL_NAME],
                                         row[NATIONAL_ID], what, sla_label, days, waited, reason)
        return line


def _existing(session: Session, message_ids: list[str]) -> set[str]:
    return {found for chunk in _chunks(message_ids)
            for found in session.scalars(select(OutboxMessage.message_id).where(OutboxMessage.message_id.in_(chunk)))}


def _chunks(items: list) -> list[list]:
    it = iter(items)
    return list(iter(lambda: list(islice(it, _IN_CHUNK)), []))


def _message(user: Recipient, mid: str, lines: list[Line], total: int, escalated_on: date, base_url: str,
             now: datetime, refused: list[Refusal], reminders: list[CycleRow], words: dict[str, _Words]) -> dict:
    language = _language(user.locale)
    with force_locale(language):
        if language not in words:
            words[language] = _Words()
        subject, body = render_digest(user.full_name, lines, escalated_on, base_url, total, refused=refused,
                                      reminders=reminders, words=words[language])
    return {"kind": KIND, "recipient_id": user.id, "to_address": one_line(user.email), "subject": subject,
            "body_text": body, "message_id": mid, "created_at": now, "status": MailStatus.PENDING,
            "attempts": 0, "next_attempt_at": now}


def _language(locale: str | None) -> str:
    """The recipient's language, if the app offers it; else the app's default."""
    config = current_app.config
    return locale if locale in config["LANGUAGES"] else config["BABEL_DEFAULT_LOCALE"]


def one_line(text: str) -> str:
    """`text` with no line break or other control character (no header injection)."""
    if text.isprintable():
        return text.strip()
    return "".join(ch if ch.isprintable() else " " for ch in text).strip()


class _Words:
    """The recipient's catalogue, looked up once per digest. Flask-Babel finds the context, the
    locale and the catalogue again on every call; a first sweep after a pause renders hundreds of
    thousands of lines, and those lookups were three quarters of its time (measured: 9 million)."""

    def __init__(self):
        self.catalogue, self.language = get_translations(), reader_language()
        self.written: dict[tuple[str, date], str] = {}
        self.lines: dict[tuple[int, int, int], str] = {}
        # id → (the lazy string, its text): holding the object keeps its id from being reused.
        self.read: dict[int, tuple[LazyString, str]] = {}

    def __call__(self, msgid: str, **values) -> str:
        text = self.catalogue.ugettext(msgid)
        return text % self._read(values) if values else text

    def plural(self, singular: str, plural: str, num: int, **values) -> str:
        values.setdefault("num", num)
        return self.catalogue.ungettext(singular, plural, num) % self._read(values)

    def _read(self, values: dict) -> dict:
        for key, value in values.items():
            if isinstance(value, LazyString):
                values[key] = self.text(value)
        return values

    def reason(self, reason: OverdueReason) -> str:
        """An overdue reason in this catalogue, its day or month written as views/present writes them."""
        key = (reason.unit, reason.since)
        since = self.written.get(key)
        if since is None:
            since = self.written[key] = written(reason.since, reason.unit, self.language)
        return self.text(reason.text) % {"since": since}

    def text(self, value):
        """A lazy string in this catalogue (read once per object), anything else as it is."""
        if not isinstance(value, LazyString):
            return value
        found = self.read.get(id(value))
        if found is None:
            name = getattr(value._func, "__name__", "")
            text = (self(*value._args, **value._kwargs) if name == "gettext"
                    else self.plural(*value._args, **value._kwargs) if name == "ngettext" else str(value))
            found = self.read[id(value)] = (value, text)
        return found[1]


def render_digest(full_name: str, lines: list[Line], escalated_on: date, base_url: str,
                  total: int | None = None, *, refused: list[Refusal] = (), reminders: list[CycleRow] = (),
                  words: _Words | None = None) -> tuple[str, str]:
    """(subject, plain-text body) of a digest of `total` escalations (default: len(lines)), of
    which `lines`, in the order shown, at most MAX_LINES, of the `refused` decisions (a
    supervisor's; at most MAX_LINES shown) and of the payment cycle's `reminders` (a province
    user's; a few, shown first: their dates are near). ID numbers masked. In the current locale:
    the caller sets the recipient's (`force_locale`); `words`, that locale's catalogue when the
    caller renders many digests."""
    # Local names the message extractor knows (`make translations` finds these calls).
    words = words or _Words()
    _, ngettext = words, words.plural
    total = len(lines) if total is None else total
    shown = lines[:MAX_LINES]
    day = day_text(escalated_on)
    counted = [ngettext("%(num)d hồ sơ quá hạn", "%(num)d hồ sơ quá hạn", total)] if total else []
    counted += [ngettext("%(num)d quyết định không thể áp dụng", "%(num)d quyết định không thể áp dụng",
                         len(refused))] if refused else []
    counted += [ngettext("%(num)d việc của kỳ chi trả đến hạn", "%(num)d việc của kỳ chi trả đến hạn",
                         len(reminders))] if reminders else []
    subject = one_line(_("[AnSinh] %(what)s cần xử lý — ngày %(day)s", what=", ".join(counted), day=day))[:200]
    out = [_("Kính gửi %(name)s,", name=one_line(full_name))]
    out += _cycle_section(words, reminders, base_url)
    if total:
        out += ["", ngettext("Ngày %(day)s, %(num)d hồ sơ trong phạm vi phụ trách của ông/bà đã quá thời hạn xử lý:",
                             "Ngày %(day)s, %(num)d hồ sơ trong phạm vi phụ trách của ông/bà đã quá thời hạn xử lý:",
                             total, day=day)]
    tier = None
    for line in shown:
        if line.tier != tier:
            tier = line.tier
            out += ["", words.text(TIER_HEADINGS[tier])]
        out += _line_block(words, line, base_url)
    if total > len(shown):
        out += ["", ngettext("… và %(num)d hồ sơ khác: xem hàng đợi hồ sơ tại %(url)s",
                             "… và %(num)d hồ sơ khác: xem hàng đợi hồ sơ tại %(url)s",
                             total - len(shown), url=f"{base_url}/cases")]
    out += _refused_section(words, refused, base_url)
    out += ["", _("Thư này do hệ thống AnSinh gửi tự động; vui lòng không trả lời thư này.")]
    return subject, "\n".join(out) + "\n"


def _line_block(words: _Words, line: Line, base_url: str) -> list[str]:
    _ = words
    # The second line comes from shared words (kept alive by the run, so their ids stay theirs):
    # written once per language for all the lines that share them.
    shared = (id(line.what), id(line.waited), id(line.sla_label))
    waiting = words.lines.get(shared)
    if waiting is None:
        waiting = words.lines[shared] = "  " + _("%(what)s: %(waited)s (thời hạn %(sla)s)", what=line.what,
                                                 waited=line.waited, sla=line.sla_label)
    out = [_("- Hồ sơ số %(case)s — %(name)s — CCCD %(number)s", case=line.case_id,
             name=one_line(line.full_name), number=mask_number(line.national_id)), waiting]
    out += ["  " + _("Cần làm: %(reason)s", reason=words.reason(line.reason))] if line.reason else []
    return out + [f"  {base_url}/cases/{line.case_id}"]


def _cycle_section(words: _Words, reminders: list[CycleRow], base_url: str) -> list[str]:
    if not reminders:
        return []
    _ = words
    out = ["", words.text(CYCLE_HEADING)]
    for row in reminders:
        said = words.text(CYCLE_REMINDERS[row.stage]) % {
            "month": written(row.month, "month", words.language), "provider": one_line(row.provider_name),
            "day": written(row.due_before, "day", words.language)}
        link = (f"{base_url}/payments/{row.list_id}" if row.list_id is not None
                else f"{base_url}/payments?month={row.month:%Y-%m}")
        out += ["- " + (_("QUÁ HẠN: %(reminder)s", reminder=said) if row.overdue else said), f"  {link}"]
    return out


def _refused_section(words: _Words, refused: list[Refusal], base_url: str) -> list[str]:
    if not refused:
        return []
    _, ngettext = words, words.plural
    out = ["", words.text(REFUSED_HEADING)]
    for refusal in refused[:MAX_LINES]:
        # The reason is stored in Vietnamese (cases.scheduled); a fixed one reads in the recipient's.
        reason = _(refusal.reason) if refusal.reason else ""
        out += [_("- Hồ sơ số %(case)s — %(name)s — «%(decision)s» có hiệu lực từ %(day)s", case=refusal.case_id,
                  name=one_line(refusal.full_name), decision=refusal.decision, day=day_text(refusal.takes_effect_on)),
                f"  {one_line(reason)}",
                f"  {base_url}/cases/{refusal.case_id}"]
    if len(refused) > MAX_LINES:
        out += [ngettext("… và %(num)d quyết định khác: xem tại %(url)s", "… và %(num)d quyết định khác: xem tại %(url)s",
                         len(refused) - MAX_LINES, url=f"{base_url}/proposals/scheduled")]
    return out
