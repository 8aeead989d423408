"""reports: each stay of a case in a state (kept by triggers, backfilled from the audit trail),
targets, bands and the archive of reports

`case_stays` holds one row per stay of a case in a state, with the commune, policy group and
"account on record" it had meanwhile; triggers on `cases` close the open stay and open the next in
the same statement as every INSERT and every UPDATE that changes one of those facts, so no code
path can forget it. The stays of the cases already there are rebuilt from the audit trail.

Revision ID: 0015
Revises: 0014
"""
import json
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

# SQLite stores a DateTime as this text; the sentinel end of an open stay (SQL:2011's end of time).
OPEN_END_TEXT = "9999-12-31 00:00:00.000000"
_COLUMNS = "case_id, status, province_id, commune_id, policy_group, has_account, valid_from, valid_to"
_NEW_STAY = ("NEW.id, NEW.status, NEW.province_id, NEW.commune_id, NEW.policy_group, "
             "NULLIF(NEW.account_number, '') IS NOT NULL, {start}, '" + OPEN_END_TEXT + "'")
# A stay ends when the state changes (at the engine's state_entered_at) or, inside one state, when
# the commune, the policy group or the account on record changes (at the edit's updated_at) — never
# before the open stay began (a script's UPDATE that leaves updated_at behind, clocks that differ
# between servers): a stay may last no time, never less.
_MOMENT = "CASE WHEN OLD.status <> NEW.status THEN NEW.state_entered_at ELSE NEW.updated_at END"
_OPEN_SINCE = "(SELECT max(valid_from) FROM case_stays WHERE case_id = NEW.id)"
# SQLite: the stay just closed ended at max(moment, its start); the next begins there.
_CLOSED_AT = f"(SELECT max(valid_to) FROM case_stays WHERE case_id = NEW.id AND valid_to <> '{OPEN_END_TEXT}')"
_SQLITE_BOUNDARY = f"max({_MOMENT}, coalesce({_CLOSED_AT}, {_MOMENT}))"
_CHANGED = ("OLD.status <> NEW.status OR OLD.commune_id <> NEW.commune_id OR OLD.policy_group <> NEW.policy_group "
            "OR (NULLIF(OLD.account_number, '') IS NULL) <> (NULLIF(NEW.account_number, '') IS NULL)")

_MONTH_COUNTS = ("receiving", "with_account", "paid_by_account", "paid_in_cash", "suspended")

_SQLITE_TRIGGERS = [
    f"""CREATE TRIGGER case_stays_insert AFTER INSERT ON cases BEGIN
        INSERT INTO case_stays ({_COLUMNS}) VALUES ({_NEW_STAY.format(start='NEW.state_entered_at')}); END""",
    f"""CREATE TRIGGER case_stays_update AFTER UPDATE OF status, commune_id, policy_group, account_number ON cases
        WHEN {_CHANGED} BEGIN
        UPDATE case_stays SET valid_to = max({_MOMENT}, valid_from)
            WHERE case_id = NEW.id AND valid_to = '{OPEN_END_TEXT}';
        INSERT INTO case_stays ({_COLUMNS}) VALUES ({_NEW_STAY.format(start=_SQLITE_BOUNDARY)}); END""",
]

_PG_FUNCTION = f"""
CREATE OR REPLACE FUNCTION case_stays_keep() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    boundary timestamp;
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO case_stays ({_COLUMNS}) VALUES ({_NEW_STAY.format(start='NEW.state_entered_at')});
        RETURN NULL;
    END IF;
    IF NOT ({_CHANGED}) THEN
        RETURN NULL;
    END IF;
    boundary := GREATEST({_MOMENT}, {_OPEN_SINCE});
    UPDATE case_stays SET valid_to = boundary WHERE case_id = NEW.id AND valid_to = '{OPEN_END_TEXT}';
    INSERT INTO case_stays ({_COLUMNS}) VALUES ({_NEW_STAY.format(start='boundary')});
    RETURN NULL;
END $$"""
_PG_TRIGGER = """CREATE TRIGGER case_stays_keep AFTER INSERT OR UPDATE OF status, commune_id, policy_group,
    account_number ON cases FOR EACH ROW EXECUTE FUNCTION case_stays_keep()"""


def upgrade():
    dialect = op.get_bind().dialect.name
    stay_id = sa.BigInteger() if dialect == "postgresql" else sa.Integer()
    op.create_table(
        "case_stays",
        sa.Column("id", stay_id, primary_key=True),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("status", sa.String(40), nullable=False),
        sa.Column("province_id", sa.Integer(), nullable=False),
        sa.Column("commune_id", sa.Integer(), nullable=False),
        sa.Column("policy_group", sa.String(10), nullable=False),
        sa.Column("has_account", sa.Boolean(), nullable=False),
        sa.Column("valid_from", sa.DateTime(), nullable=False),
        sa.Column("valid_to", sa.DateTime(), nullable=False),
    )
    _backfill_stays()
    op.create_index("ix_case_stays_case", "case_stays", ["case_id", "valid_to"])
    op.create_index("ix_case_stays_as_of", "case_stays", ["province_id", "valid_to", "valid_from", "commune_id",
                                                          "status", "policy_group", "has_account"])
    if dialect == "postgresql":
        op.execute(_PG_FUNCTION)
        op.execute(_PG_TRIGGER)
    else:
        for statement in _SQLITE_TRIGGERS:
            op.execute(statement)

    op.create_table(
        "report_month_counts",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("commune_id", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("policy_group", sa.String(10), nullable=False),
        sa.Column("province_id", sa.Integer(), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in _MONTH_COUNTS),
        sa.PrimaryKeyConstraint("month", "commune_id", "policy_group"),
    )
    op.create_index("ix_report_month_counts_province", "report_month_counts", ["province_id", "month"])
    op.create_table(
        "report_months",
        sa.Column("month", sa.Date(), primary_key=True),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "report_targets",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("province_id", sa.Integer(), sa.ForeignKey("provinces.id"), nullable=False),
        sa.Column("commune_id", sa.Integer(), sa.ForeignKey("communes.id"), nullable=True),
        sa.Column("policy_group", sa.String(4), nullable=False),
        sa.Column("share_per_mille", sa.Integer(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("set_by_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("set_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("province_id", "commune_id", "policy_group", "due_on"),
    )
    op.create_index("ix_report_targets_province", "report_targets", ["province_id", "due_on"])
    op.create_table(
        "report_bands",
        sa.Column("province_id", sa.Integer(), sa.ForeignKey("provinces.id"), primary_key=True,
                  autoincrement=False),
        sa.Column("high_from_per_mille", sa.Integer(), nullable=False),
        sa.Column("average_from_per_mille", sa.Integer(), nullable=False),
        sa.Column("set_by_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("set_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "reports",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("unit_kind", sa.String(8), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("province_id", sa.Integer(), sa.ForeignKey("provinces.id"), nullable=False),
        sa.Column("produced_at", sa.DateTime(), nullable=False),
        sa.Column("produced_by_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("figures", sa.Text(), nullable=False),
        sa.Column("workbook", sa.LargeBinary(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("signed_by_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("signed_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_reports_province", "reports", ["province_id", "period_end", "id"])
    signed = sa.text("signed_at IS NOT NULL")
    op.create_index("uq_reports_signed", "reports", ["unit_kind", "unit_id", "period"], unique=True,
                    sqlite_where=signed, postgresql_where=signed)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS case_stays_keep ON cases")
        op.execute("DROP FUNCTION IF EXISTS case_stays_keep()")
    else:
        op.execute("DROP TRIGGER IF EXISTS case_stays_insert")
        op.execute("DROP TRIGGER IF EXISTS case_stays_update")
    for table in ("reports", "report_bands", "report_targets", "report_months", "report_month_counts",
                  "case_stays"):
        op.drop_table(table)


# --- Backfill: the stays of the cases already there, replayed from each case's audit records ------

OPEN_END = datetime(9999, 12, 31)
# Typed, so each database gets its datetimes in the form it stores them.
_STAYS = sa.table("case_stays", *(sa.column(name, kind) for name, kind in (
    ("case_id", sa.Integer), ("status", sa.String), ("province_id", sa.Integer), ("commune_id", sa.Integer),
    ("policy_group", sa.String), ("has_account", sa.Boolean), ("valid_from", sa.DateTime),
    ("valid_to", sa.DateTime))))
_FACTS = ("status", "commune_id", "policy_group", "account_number")


def _backfill_stays(batch=5_000):
    """Replay each case's audit records in chain order — `case.create` gives the first facts, a
    transition's `to` the next state, any record's `changes` a new commune, policy group or account
    — and write a stay each time one of the facts changes. The case's row has the last word: where
    the trail ends elsewhere (a record lost, a field written outside it), a last stay starts at the
    case's `state_entered_at`."""
    connection = op.get_bind()
    communes = dict(connection.execute(sa.text("SELECT id, province_id FROM communes")).all())
    after = 0
    while True:
        cases = connection.execute(sa.text(
            "SELECT id, status, commune_id, policy_group, account_number, state_entered_at FROM cases "
            "WHERE id > :after ORDER BY id LIMIT :n"), {"after": after, "n": batch}).all()
        if not cases:
            return
        first, last = cases[0].id, cases[-1].id
        trail: dict[int, list] = {}
        for record in connection.execute(sa.text(
                "SELECT case_id, occurred_at, action, detail FROM audit_records "
                "WHERE case_id BETWEEN :first AND :last ORDER BY case_id, seq"), {"first": first, "last": last}):
            trail.setdefault(record.case_id, []).append(record)
        stays = []
        for case in cases:
            stays += _stays_of(case, trail.get(case.id, []), communes)
        if stays:
            connection.execute(sa.insert(_STAYS), stays)
        after = last


def _stays_of(case, records, communes) -> list[dict]:
    facts: dict | None = None
    stays: list[dict] = []

    def begin(at):
        if stays:
            stays[-1]["valid_to"] = max(at, stays[-1]["valid_from"])
        stays.append({"case_id": case.id, "status": facts["status"], "commune_id": facts["commune_id"],
                      "province_id": communes.get(facts["commune_id"], 0), "policy_group": facts["policy_group"],
                      "has_account": bool(facts["account_number"]), "valid_from": at,
                      "valid_to": OPEN_END})

    def key(values):
        return (values["status"], values["commune_id"], values["policy_group"], bool(values["account_number"]))

    for record in records:
        detail = json.loads(record.detail) if record.detail else {}
        at = _moment(record.occurred_at)
        if record.action == "case.create" and facts is None:
            fields = detail.get("fields") or {}
            facts = {name: fields.get(name) for name in _FACTS}
            facts["status"] = facts["status"] or "identity_verification"
            begin(at)
            continue
        if facts is None:
            continue
        updated = dict(facts)
        for name, change in (detail.get("changes") or {}).items():
            if name in updated and isinstance(change, list) and len(change) == 2:
                updated[name] = change[1]
        if isinstance(detail.get("to"), str):
            updated["status"] = detail["to"]
        if key(updated) != key(facts):
            facts = updated
            begin(at)
    now = {"status": case.status, "commune_id": case.commune_id, "policy_group": case.policy_group,
           "account_number": case.account_number}
    if facts is None or key(now) != key(facts):
        facts = now
        start = _moment(case.state_entered_at)
        begin(max(start, stays[-1]["valid_from"]) if stays else start)
    return stays


def _moment(value):
    # Read through text(): SQLite hands back text, PostgreSQL a datetime.
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
