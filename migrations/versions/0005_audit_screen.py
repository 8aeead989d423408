"""the auditor's screen: indexes for its filters

The screen lists the trail newest first (by seq) in the reader's scope, filtered by actor,
action or day. With millions of records each needs its own index, the first two ending in seq
so a page is read in order; the records with no case (logins, user administration) get a
partial index of their own, as the scope reads them apart from the cases' records. The case
filter has ix_audit_records_case (case_id, seq) already.

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_audit_records_actor": ["actor_id", "seq"],
    "ix_audit_records_action": ["action", "seq"],
    "ix_audit_records_occurred_at": ["occurred_at"],
}
CASELESS = sa.text("case_id IS NULL")


def upgrade():
    for name, columns in INDEXES.items():
        op.create_index(name, "audit_records", columns)
    op.create_index("ix_audit_records_caseless", "audit_records", ["seq"],
                    sqlite_where=CASELESS, postgresql_where=CASELESS)


def downgrade():
    op.drop_index("ix_audit_records_caseless", table_name="audit_records")
    for name in INDEXES:
        op.drop_index(name, table_name="audit_records")
