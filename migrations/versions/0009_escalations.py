"""escalations: one per case (or proposal), tier and stay

Revision ID: 0009
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

CASE_ROWS = sa.text("proposal_id IS NULL")
PROPOSAL_ROWS = sa.text("proposal_id IS NOT NULL")


def upgrade():
    # No foreign keys: every row is copied by INSERT ... SELECT from the case (or proposal) it
    # names, and cases are never deleted. Checking them cost PostgreSQL three quarters of a
    # first sweep over a million cases (a trigger call per row, ~15 µs).
    op.create_table(
        "escalations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("proposal_id", sa.Integer(), nullable=True),
        sa.Column("tier", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=21), nullable=True),
        sa.Column("stay_started_at", sa.DateTime(), nullable=False),
        sa.Column("commune_id", sa.Integer(), nullable=False),
        sa.Column("province_id", sa.Integer(), nullable=False),
        sa.Column("escalated_on", sa.Date(), nullable=False),
        sa.Column("escalated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalations")),
    )
    op.create_index("uq_escalations_case_tier_stay", "escalations", ["case_id", "tier", "stay_started_at"],
                    unique=True, sqlite_where=CASE_ROWS, postgresql_where=CASE_ROWS)
    op.create_index("uq_escalations_proposal_tier", "escalations", ["proposal_id", "tier"],
                    unique=True, sqlite_where=PROPOSAL_ROWS, postgresql_where=PROPOSAL_ROWS)
    op.create_index("ix_escalations_escalated_on", "escalations", ["escalated_on", "tier"])


def downgrade():
    op.drop_index("ix_escalations_escalated_on", table_name="escalations")
    op.drop_index("uq_escalations_proposal_tier", table_name="escalations")
    op.drop_index("uq_escalations_case_tier_stay", table_name="escalations")
    op.drop_table("escalations")
