"""payment watch: a list's first download (sent to its provider), the runs of unpaid months already
proposed for suspension, proposals the system raises (no proposing user), a list's returns indexed

Revision ID: 0017
Revises: 0016
"""
import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("payment_lists") as batch:
        batch.add_column(sa.Column("sent_at", sa.DateTime(), nullable=True))
    with op.batch_alter_table("proposals") as batch:
        batch.alter_column("proposed_by_id", existing_type=sa.Integer(), nullable=True)
        batch.add_column(sa.Column("raised_by", sa.String(40), nullable=True))
    op.create_table(
        "unpaid_runs",
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("cases.id"), primary_key=True),
        sa.Column("first_month", sa.Date(), primary_key=True),
        sa.Column("proposal_id", sa.Integer(), sa.ForeignKey("proposals.id"), nullable=False),
        sa.Column("raised_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_list_jobs_payment_list", "list_jobs", ["payment_list_id", "state"])


def downgrade():
    op.drop_index("ix_list_jobs_payment_list", "list_jobs")
    op.drop_table("unpaid_runs")
    with op.batch_alter_table("proposals") as batch:
        batch.drop_column("raised_by")
        batch.alter_column("proposed_by_id", existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table("payment_lists") as batch:
        batch.drop_column("sent_at")
