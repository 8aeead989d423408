"""A commune's own beneficiary list becomes cases (issue 16): previewed, then imported in bulk.

Each row is read and checked in memory (cases.lists.beneficiary_rows); then, over the whole file:
rows sharing an ID number are all held back; an ID number on a live case of another commune is
refused; a row whose person already has a live case here (by ID number, or by name and birth date
where neither has a number) updates it — a changed field becomes an edit, audited, and a change
that needs four eyes a proposal (`cases.registration.edit_case`) — or changes nothing. New cases
are written a chunk at a time, around the ORM (cases.bulk_write), each with its `case.create`
record chained as registration chains it (cases.audit_chain): re-importing the same file, or an
overlapping one, creates nothing twice.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import force_locale, gettext as _, lazy_gettext as _l
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from cases import audit
from cases.access import may_see_commune
from cases.audit_chain import ActorRow, AuditChain, unsealed
from cases.bulk_read import key_batches
from cases.bulk_write import BulkSink, allocate_ids, bulk_cache
from cases.case_rows import BLANK_CASE, CASE_COLUMNS, CASE_TABLE, creation_detail_over_blank
from cases.collector import collector_paused, heap_frozen
from cases.changes import utcnow
from cases.entry import DuplicateNationalId
from cases.errors import DomainError
from cases.lists.beneficiary_rows import Place, ReadRow, read_row, village_key
from cases.lists.kinds import Checkpoint, Preview, Progress, Rejected, Scope
from cases.models import Case, Commune, PaymentProvider, Village
from cases.models.lists import ListKind
from cases.registration import PERSON_FIELDS, edit_case, may_register
from cases.search import fold_name, given_name_first
from cases.sheets import Table
from cases.sheets.reader import read_table
from cases.sheets.writer import rejected_workbook, template_workbook
from workflow.states import CaseState

CREATED, UPDATED, UNCHANGED, REJECTED = "created", "updated", "unchanged", "rejected"
REQUIRED = frozenset({"full_name", "birth_date"})
# Rows written per commit: big enough that a chunk's fixed costs vanish, small enough that a
# stopped import loses little and a web request waits little for SQLite's write lock.
CHUNK = 10_000
# After this many new cases PostgreSQL's statistics of the table are refreshed with the import:
# planned from the old ones (a commune's first list into an empty table), the next lookups by ID
# number were sequential scans until autovacuum came by (a re-import 6 times slower, measured).
RESTATE_AFTER = 10_000


def refresh_statistics(session: Session) -> None:
    """ANALYZE the cases on PostgreSQL (a sample: about a second at a million cases), in the
    caller's transaction; SQLite plans these lookups by their index anyway."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("ANALYZE cases"))


@dataclass
class Verdict:
    """What importing one row does."""
    row: ReadRow
    outcome: str
    case_id: int | None = None       # the live case it updates or leaves unchanged
    changes: dict | None = None      # {field: new value} for an update


class BeneficiaryList:
    kind = ListKind.BENEFICIARIES
    label = _l("Danh sách đối tượng của xã")
    outcomes = {CREATED: _l("Tạo hồ sơ mới"), UPDATED: _l("Cập nhật hồ sơ đã có"),
                UNCHANGED: _l("Không thay đổi"), REJECTED: _l("Bị từ chối")}

    def preview(self, session: Session, scope: Scope, data: bytes, filename: str, progress: Progress) -> Preview:
        table, verdicts = self._plan(session, scope, data, filename, progress)
        return _preview(table, verdicts)

    def apply(self, session: Session, scope: Scope, data: bytes, filename: str, start_row: int,
              checkpoint: Checkpoint, plan: bytes | None = None) -> None:
        """The file read again (this kind's preview makes no plan)."""
        table, verdicts = self._plan(session, scope, data, filename, lambda done, total: None)
        writer = _Writer(session, scope, filename)
        # The plan's objects stay out of the collector's passes; SQLite keeps its indexes' pages
        # from chunk to chunk.
        with heap_frozen(), bulk_cache(session):
            for start in range(start_row, len(verdicts), CHUNK):
                chunk = verdicts[start:start + CHUNK]
                counts = writer.write(chunk)
                session.flush()
                checkpoint(start + len(chunk), counts)
        if start_row >= len(verdicts):
            checkpoint(len(verdicts), {})
        if writer.created >= RESTATE_AFTER:
            refresh_statistics(session)

    def template(self) -> bytes:
        """A blank list with the columns this import knows best, and a sheet of instructions. In
        Vietnamese whoever downloads it: the commune fills it in, and its headers come back to be
        read by the synonym table."""
        with force_locale("vi"):
            return template_workbook(str(_("DANH SÁCH ĐỐI TƯỢNG HƯỞNG TRỢ CẤP HÀNG THÁNG")),
                                     [str(h) for h in TEMPLATE_HEADER], TEMPLATE_EXAMPLES,
                                     [str(line) for line in TEMPLATE_INSTRUCTIONS])

    def _plan(self, session: Session, scope: Scope, data: bytes, filename: str,
              progress: Progress) -> tuple[Table, list[Verdict]]:
        # The rows, their checks and verdicts: hundreds of thousands of objects, none of them
        # cyclic, that would set off the collector's full passes over the whole heap again and again.
        with collector_paused():
            return self._planned(session, scope, data, filename, progress)

    def _planned(self, session: Session, scope: Scope, data: bytes, filename: str,
                 progress: Progress) -> tuple[Table, list[Verdict]]:
        commune = _commune_in_scope(session, scope)
        table = read_table(data, filename, "beneficiaries", REQUIRED)
        place = _place(session, commune)
        total = len(table.rows)
        rows = []
        for done, sheet_row in enumerate(table.rows, 1):
            rows.append(read_row(sheet_row, place, scope.today))
            if done % 5_000 == 0:
                progress(done, total)
        verdicts = _match(session, scope, commune, rows)
        progress(total, total)
        return table, verdicts


BENEFICIARY_LIST = BeneficiaryList()


def _commune_in_scope(session: Session, scope: Scope) -> Commune:
    commune = session.get(Commune, scope.commune_id) if scope.commune_id else None
    if commune is None:
        raise DomainError(_("Danh sách đối tượng phải thuộc một xã/phường: hãy chọn xã/phường."))
    if not may_register(scope.user) or not may_see_commune(scope.user, commune):
        raise DomainError(_("Xã/phường không thuộc phạm vi bạn quản lý."))
    return commune


def _place(session: Session, commune: Commune) -> Place:
    villages = {village_key(name): vid for vid, name in
                session.execute(select(Village.id, Village.name).where(Village.commune_id == commune.id))}
    providers = {}
    for name, short in session.execute(select(PaymentProvider.name, PaymentProvider.short_name)
                                       .where(PaymentProvider.province_id == commune.province_id)):
        providers[fold_name(name)] = providers[fold_name(short)] = name
    return Place(commune.id, commune.province_id, villages, providers)


def _match(session: Session, scope: Scope, commune: Commune, rows: list[ReadRow]) -> list[Verdict]:
    """Each row's verdict, over the whole file: duplicates inside it, then against the live cases."""
    _hold_back_duplicates(rows)
    numbers = [r.values["national_id"] for r in rows if not r.reasons and r.values.get("national_id")]
    by_number = _live_by_number(session, numbers)
    unnumbered = _live_unnumbered(session, commune.id)
    verdicts = []
    for row in rows:
        if row.reasons:
            verdicts.append(Verdict(row, REJECTED))
            continue
        number = row.values.get("national_id")
        found = by_number.get(number) if number else None
        if found is not None and found["commune_id"] != commune.id:
            other = session.get(Commune, found["commune_id"])
            refusal = DuplicateNationalId(number, found["id"], CaseState(found["status"]), other).told_to(scope.user)
            row.reasons.append(refusal.message)
            verdicts.append(Verdict(row, REJECTED))
            continue
        if found is None and unnumbered:
            found = unnumbered.pop((fold_name(row.values["full_name"]), row.values["birth_date"]), None)
        if found is None:
            verdicts.append(Verdict(row, CREATED))
            continue
        changes = _changes(row, found)
        verdicts.append(Verdict(row, UPDATED if changes else UNCHANGED, found["id"], changes))
    return verdicts


def _hold_back_duplicates(rows: list[ReadRow]) -> None:
    """Rows sharing an ID number (or, without one, a name and birth date) are all held back:
    which of them is right is for the commune to say, not for the import to guess."""
    first: dict = {}          # an ID number (text), or (folded name, birth date) → its first row
    keys, shared = [], set()
    for row in rows:
        values = row.values
        if values.get("national_id"):
            key = values["national_id"]
        elif values.get("full_name") and values.get("birth_date"):
            key = fold_name(values["full_name"]), values["birth_date"]
        else:
            key = None
        keys.append(key)
        if key is not None and first.setdefault(key, row) is not row:
            shared.add(key)
    if not shared:
        return
    groups: dict = defaultdict(list)
    for row, key in zip(rows, keys):
        if key in shared:
            groups[key].append(row)
    for key, group in groups.items():
        for row in group:
            others = ", ".join(str(o.source.number) for o in group if o is not row)
            row.reasons.append(_("Số CCCD trùng với dòng %(rows)s trong tệp.", rows=others) if isinstance(key, str)
                               else _("Trùng họ tên và ngày sinh với dòng %(rows)s trong tệp.", rows=others))


_COMPARED = tuple(f for f in PERSON_FIELDS if f != "commune_id")
_LIVE = (select(Case.id, Case.commune_id, Case.status, *(getattr(Case, f) for f in _COMPARED))
         .where(Case.status != CaseState.TERMINATED))


def _live_by_number(session: Session, numbers: list[str]) -> dict[str, dict]:
    """The live cases carrying these ID numbers, anywhere (the unique index of live numbers)."""
    found = {}
    for _batch, among in key_batches(session, Case.national_id, numbers):
        for row in session.execute(_LIVE.where(among)).mappings():
            found[row["national_id"]] = dict(row)
    return found


def _live_unnumbered(session: Session, commune_id: int) -> dict[tuple, dict]:
    """The commune's live cases without an ID number, by (folded name, birth date)."""
    rows = session.execute(_LIVE.add_columns(Case.name_folded)
                           .where(Case.commune_id == commune_id, Case.national_id.is_(None))).mappings()
    return {(row["name_folded"], row["birth_date"]): dict(row) for row in rows}


def _changes(row: ReadRow, case: dict) -> dict:
    """The fields the row gives that differ from the case's; an empty cell never erases a value."""
    changes = {}
    for name in row.given:
        if name in ("commune_id", "province_id") or name not in case:
            continue
        value = row.values.get(name)
        current = case[name]
        if name == "notes":   # the list's notes are added to the case's, not put in their place
            if value and value not in (current or ""):
                changes[name] = f"{current}\n{value}" if current else value
            continue
        if value is not None and getattr(current, "value", current) != getattr(value, "value", value):
            changes[name] = value
    return changes


class _Writer:
    """Writes a chunk of verdicts: new cases in bulk with their records, updates one by one."""

    def __init__(self, session: Session, scope: Scope, filename: str):
        self.session, self.scope, self.filename = session, scope, filename
        actor = scope.actor
        self.actor_row = ActorRow(actor.user_id, actor.username, actor.role, actor.unit)
        self.actor_text = self.actor_row.hashed_text()
        # Translated once: each record's reason names the list and its row.
        self.reason = _("Nhập từ danh sách «%(file)s», dòng %(row)s")
        self.created = 0
        self.file = filename[:120]

    def write(self, chunk: list[Verdict]) -> dict:
        counts = dict.fromkeys((CREATED, UPDATED, UNCHANGED, REJECTED), 0)
        new = [v for v in chunk if v.outcome == CREATED]
        if new:
            self._create(new)
        counts[CREATED] = len(new)
        self.created += len(new)
        for verdict in chunk:
            if verdict.outcome == UPDATED:
                counts[self._update(verdict)] += 1
            elif verdict.outcome != CREATED:
                counts[verdict.outcome] += 1
        return counts

    def _create(self, verdicts: list[Verdict]) -> None:
        session, scope = self.session, self.scope
        now = _stored(utcnow())
        user_id = scope.user.id
        records = []
        ids = allocate_ids(session, CASE_TABLE, len(verdicts))

        def rows():
            """Each case's row, made as the writer takes it (PostgreSQL inserts the ones sent
            meanwhile), and its `case.create` record kept for the chain."""
            for case_id, verdict in zip(ids, verdicts):
                given = {k: _jsonable(v) for k, v in verdict.row.values.items()}
                folded = fold_name(given["full_name"])
                given.update(id=case_id, name_folded=folded, name_given_first=given_name_first(folded),
                             state_entered_at=now, created_at=now, updated_at=now,
                             created_by_id=user_id, updated_by_id=user_id)
                records.append(unsealed(now, self.actor_row, self.actor_text, "case.create", case_id, None,
                                        creation_detail_over_blank(given), self._reason(verdict)))
                case = BLANK_CASE | given
                yield tuple(map(case.__getitem__, CASE_COLUMNS))

        sink = BulkSink(session)
        with sink.tuned():     # SQLite: the indexes' pages stay in memory for the chunk's inserts
            sink.write(CASE_TABLE, CASE_COLUMNS, rows())
            chain = AuditChain(session, sink)
            chain.seal(records)
            chain.close()

    def _update(self, verdict: Verdict) -> str:
        """An edit through the engine's own path (four eyes included); refused → the row's reason."""
        session = self.session
        case = session.get(Case, verdict.case_id)
        try:
            with audit.savepoint(session):
                edit_case(session, self.scope.actor, self.scope.user, case, verdict.changes, case.version,
                          self.scope.today, reason=self._reason(verdict))
        except DomainError as refused:
            verdict.row.reasons.append(refused.message)
            verdict.outcome = REJECTED
            return REJECTED
        return UPDATED

    def _reason(self, verdict: Verdict) -> str:
        return self.reason % {"file": self.file, "row": verdict.row.source.number}


def _jsonable(value):
    """A value as the case row stores it around the ORM (cases.case_rows)."""
    if isinstance(value, date):
        return value.isoformat()
    return getattr(value, "value", value)


def _stored(moment: datetime) -> str:
    return moment.isoformat(sep=" ", timespec="microseconds")


def _preview(table: Table, verdicts: list[Verdict]) -> Preview:
    counts = dict.fromkeys((CREATED, UPDATED, UNCHANGED, REJECTED), 0)
    for verdict in verdicts:
        counts[verdict.outcome] += 1
    rejected = [v for v in verdicts if v.outcome == REJECTED]
    header = {i: text for i, text in enumerate(table.header)}
    return Preview(
        total=len(verdicts), counts=counts,
        rejected=[Rejected(v.row.source.number, v.row.name or _name_cell(v, table), tuple(v.row.reasons))
                  for v in rejected],
        columns=[(header.get(i, ""), field) for field, i in table.columns.items()],
        ignored=list(table.ignored),
        rejected_workbook=rejected_workbook(table, [(v.row.source, v.row.reasons) for v in rejected],
                                            str(_("Lý do không nhập được"))) if rejected else None)


def _name_cell(verdict: Verdict, table: Table) -> str | None:
    raw = verdict.row.source.values.get("full_name")
    return str(raw)[:120] if raw not in (None, "") else None


# The template's columns: the canonical header the synonym table knows first.
TEMPLATE_HEADER = [_l("STT"), _l("Họ và tên"), _l("Ngày sinh"), _l("Giới tính"), _l("Số CCCD"), _l("Số điện thoại"),
                   _l("Dân tộc"), _l("Thôn/bản"), _l("Địa chỉ"), _l("Diện đối tượng"), _l("Mức trợ cấp"),
                   _l("Số quyết định"), _l("Hưởng từ tháng"), _l("Người giám hộ"), _l("CCCD người giám hộ"),
                   _l("Quan hệ"), _l("SĐT người giám hộ"), _l("Tình trạng tài khoản"), _l("Ngân hàng"),
                   _l("Số tài khoản"), _l("Đối tượng đặc thù"), _l("Ghi chú")]
TEMPLATE_EXAMPLES = [
    (1, "Hoàng Văn Pình", date(1941, 3, 12), "Nam", "020041000123", "0912345678", "Tày", "Nà Pàn", "",
     "D5.K5c", None, "125/QĐ-UBND", "01/2025", "", "", "", "", "Chưa có tài khoản", "", "", "Già yếu", ""),
    (2, "Lương Thị Hoa", date(2016, 9, 2), "Nữ", "", "", "Nùng", "Khuổi Khe", "", "D5.K1.2", None,
     "126/QĐ-UBND", "01/2025", "Lương Văn Tâm", "020085000456", "cha", "0968123456", "Có tài khoản",
     "BIDV", "3100456789123", "", ""),
]
TEMPLATE_INSTRUCTIONS = [
    _l("Mỗi dòng là một đối tượng. Giữ nguyên dòng tiêu đề; có thể thêm dòng tên danh sách phía trên."),
    _l("Họ và tên, ngày sinh, giới tính và diện đối tượng là bắt buộc. Ngày sinh ghi dd/mm/yyyy, hoặc chỉ năm sinh."),
    _l("Số CCCD gồm 12 chữ số; nên định dạng cột là Văn bản để giữ số 0 đầu."),
    _l("Diện đối tượng: mã diện (ví dụ D5.K5c, PL02.D3.g) hoặc tên diện theo Nghị định 20/2021 và Pháp lệnh 02/2020."),
    _l("Mức trợ cấp: chỉ cần ghi với người có công; trợ cấp xã hội được tính theo mức chuẩn và hệ số."),
    _l("Tình trạng tài khoản, ngân hàng, số tài khoản: ghi nếu đã biết; tài khoản được ghi vào hồ sơ khi cán bộ "
       "đăng ký phương thức chi trả với đối tượng."),
    _l("Nhập lại cùng danh sách không tạo hồ sơ trùng: người đã có hồ sơ (theo số CCCD) được cập nhật."),
]
