"""decisions that take effect in their month

A suspension, resumption or termination approved for a month not yet begun waits as a scheduled
proposal (`takes_effect_on`) until the scheduler applies it or, the case having changed meanwhile,
refuses it (`not_applied_reason`). A case keeps one open proposal at most: pending or scheduled.

Revision ID: 0010
Revises: 0009
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

PENDING = "status = 'pending'"
OPEN = "status IN ('pending', 'scheduled')"


def upgrade():
    op.add_column("proposals", sa.Column("takes_effect_on", sa.Date(), nullable=True))
    op.add_column("proposals", sa.Column("settled_at", sa.DateTime(), nullable=True))
    op.add_column("proposals", sa.Column("not_applied_reason", sa.String(length=500), nullable=True))
    if op.get_bind().dialect.name != "sqlite":  # SQLite keeps no length; a table copy would buy nothing
        op.alter_column("proposals", "status", type_=sa.String(length=11), existing_type=sa.String(length=8),
                        existing_nullable=False)
    op.drop_index("uq_proposals_pending_case", table_name="proposals")
    op.create_index("uq_proposals_open_case", "proposals", ["case_id"], unique=True,
                    sqlite_where=sa.text(OPEN), postgresql_where=sa.text(OPEN))


def downgrade():
    op.drop_index("uq_proposals_open_case", table_name="proposals")
    op.create_index("uq_proposals_pending_case", "proposals", ["case_id"], unique=True,
                    sqlite_where=sa.text(PENDING), postgresql_where=sa.text(PENDING))
    with op.batch_alter_table("proposals") as batch:
        for column in ("not_applied_reason", "settled_at", "takes_effect_on"):
            batch.drop_column(column)
