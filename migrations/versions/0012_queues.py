"""queues: folded names for search, assignment, per-commune counts kept by triggers

`cases.name_folded` (the name as typed in a search box) and `name_given_first` (the same, given name
first) with their scope indexes; `cases.assigned_to_id`;
indexes for the village and "assigned to me" filters; `case_counts`, one row per commune, state
and policy group, kept exact by triggers on `cases` (INSERT, DELETE, UPDATE of status, commune or
policy group), so the queues' tabs and totals never count the cases themselves.

Revision ID: 0012
Revises: 0011
"""
import unicodedata
import re

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_SPACES = re.compile(r"\s+")


def _fold(name):
    # A copy of cases.search.fold_name as it stood: a migration does not import the app's code.
    if not name:
        return ""
    decomposed = unicodedata.normalize("NFD", name.replace("đ", "d").replace("Đ", "d"))
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACES.sub(" ", plain).strip().lower()[:120]


def _given_first(folded):
    family, _, given = folded.rpartition(" ")
    return f"{given} {family}" if family else given


# SQLite: one trigger per event; the UPSERT adds the row on a commune's first case.
_SQLITE_ADD = """INSERT INTO case_counts (commune_id, status, policy_group, province_id, n)
    VALUES ({p}.commune_id, {p}.status, {p}.policy_group, {p}.province_id, 1)
    ON CONFLICT (commune_id, status, policy_group) DO UPDATE SET n = n + 1;"""
_SQLITE_REMOVE = """UPDATE case_counts SET n = n - 1
    WHERE commune_id = OLD.commune_id AND status = OLD.status AND policy_group = OLD.policy_group;"""
_SQLITE_TRIGGERS = [
    f"CREATE TRIGGER case_counts_insert AFTER INSERT ON cases BEGIN {_SQLITE_ADD.format(p='NEW')} END",
    f"CREATE TRIGGER case_counts_delete AFTER DELETE ON cases BEGIN {_SQLITE_REMOVE} END",
    f"""CREATE TRIGGER case_counts_update AFTER UPDATE OF status, commune_id, policy_group ON cases
        WHEN OLD.status != NEW.status OR OLD.commune_id != NEW.commune_id OR OLD.policy_group != NEW.policy_group
        BEGIN {_SQLITE_REMOVE} {_SQLITE_ADD.format(p='NEW')} END""",
]

# PostgreSQL: one function. On an update the two rows are touched in a fixed order (by key), so
# two transactions moving cases in opposite directions between the same two states cannot
# deadlock on the counters.
_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION case_counts_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.status = NEW.status AND OLD.commune_id = NEW.commune_id
            AND OLD.policy_group = NEW.policy_group THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'UPDATE' AND (OLD.commune_id, OLD.status::text, OLD.policy_group::text)
            > (NEW.commune_id, NEW.status::text, NEW.policy_group::text) THEN
        INSERT INTO case_counts (commune_id, status, policy_group, province_id, n)
            VALUES (NEW.commune_id, NEW.status, NEW.policy_group, NEW.province_id, 1)
            ON CONFLICT (commune_id, status, policy_group) DO UPDATE SET n = case_counts.n + 1;
        UPDATE case_counts SET n = n - 1
            WHERE commune_id = OLD.commune_id AND status = OLD.status AND policy_group = OLD.policy_group;
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE case_counts SET n = n - 1
            WHERE commune_id = OLD.commune_id AND status = OLD.status AND policy_group = OLD.policy_group;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        INSERT INTO case_counts (commune_id, status, policy_group, province_id, n)
            VALUES (NEW.commune_id, NEW.status, NEW.policy_group, NEW.province_id, 1)
            ON CONFLICT (commune_id, status, policy_group) DO UPDATE SET n = case_counts.n + 1;
    END IF;
    RETURN NULL;
END $$"""
_PG_TRIGGER = """CREATE TRIGGER case_counts_keep AFTER INSERT OR DELETE OR UPDATE OF status, commune_id, policy_group
    ON cases FOR EACH ROW EXECUTE FUNCTION case_counts_keep()"""


def upgrade():
    dialect = op.get_bind().dialect.name
    folded = sa.String(120, collation="C") if dialect == "postgresql" else sa.String(120)
    op.add_column("cases", sa.Column("name_folded", folded, nullable=False, server_default=""))
    op.add_column("cases", sa.Column("name_given_first", folded, nullable=False, server_default=""))
    if dialect == "postgresql":
        op.add_column("cases", sa.Column("assigned_to_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True))
    else:
        # SQLite adds a column with its reference in place; Alembic would copy the whole table.
        op.execute("ALTER TABLE cases ADD COLUMN assigned_to_id INTEGER REFERENCES users (id)")
    _backfill_names()
    op.create_index("ix_cases_queue_village", "cases", ["village_id", "status", "state_entered_at", "id"])
    op.create_index("ix_cases_queue_assignee", "cases", ["assigned_to_id", "status", "state_entered_at", "id"])
    op.create_index("ix_cases_name_commune", "cases", ["commune_id", "name_folded", "id"])
    op.create_index("ix_cases_name_province", "cases", ["province_id", "name_folded", "id"])
    op.create_index("ix_cases_given_name_commune", "cases", ["commune_id", "name_given_first"])
    op.create_index("ix_cases_given_name_province", "cases", ["province_id", "name_given_first"])
    terminated = sa.text("status = 'terminated'")
    op.create_index("ix_cases_national_id_terminated", "cases", ["national_id"],
                    sqlite_where=terminated, postgresql_where=terminated)
    op.create_table(
        "case_counts",
        sa.Column("commune_id", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("status", sa.String(40), nullable=False),
        sa.Column("policy_group", sa.String(10), nullable=False),
        sa.Column("province_id", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("commune_id", "status", "policy_group"),
    )
    op.create_index("ix_case_counts_province", "case_counts", ["province_id", "status"])
    op.execute("""INSERT INTO case_counts (commune_id, status, policy_group, province_id, n)
        SELECT commune_id, status, policy_group, min(province_id), count(*) FROM cases
        GROUP BY commune_id, status, policy_group""")
    if dialect == "postgresql":
        op.execute(_PG_FUNCTION)
        op.execute(_PG_TRIGGER)
    else:
        for statement in _SQLITE_TRIGGERS:
            op.execute(statement)


def _backfill_names(batch=20_000):
    """Fold the names already there, a batch of cases at a time (a province's server holds a
    million): the fold is Python's, not SQL's."""
    connection = op.get_bind()
    cases = sa.table("cases", sa.column("id", sa.Integer), sa.column("full_name", sa.String),
                     sa.column("name_folded", sa.String), sa.column("name_given_first", sa.String))
    write = (sa.update(cases).where(cases.c.id == sa.bindparam("case_id"))
             .values(name_folded=sa.bindparam("folded"), name_given_first=sa.bindparam("given_first")))
    after = 0
    while True:
        rows = connection.execute(sa.select(cases.c.id, cases.c.full_name).where(cases.c.id > after)
                                  .order_by(cases.c.id).limit(batch)).all()
        if not rows:
            return
        folded = [(r.id, _fold(r.full_name)) for r in rows]
        connection.execute(write, [{"case_id": i, "folded": f, "given_first": _given_first(f)} for i, f in folded])
        after = rows[-1].id


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS case_counts_keep ON cases")
        op.execute("DROP FUNCTION IF EXISTS case_counts_keep()")
    else:
        for name in ("case_counts_insert", "case_counts_delete", "case_counts_update"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table("case_counts")
    for name in ("ix_cases_given_name_province", "ix_cases_given_name_commune",
                 "ix_cases_national_id_terminated", "ix_cases_name_province", "ix_cases_name_commune", "ix_cases_queue_assignee", "ix_cases_queue_village"):
        op.drop_index(name, table_name="cases")
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("assigned_to_id")
        batch.drop_column("name_given_first")
        batch.drop_column("name_folded")
