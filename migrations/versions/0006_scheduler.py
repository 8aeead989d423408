"""the scheduler: one active process (lease), job runs unique per slot

`scheduler_lease` holds the one row naming the scheduler that may act and until when;
`job_runs` records every run, unique per (job, slot), and the runs administrators ask for.

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "scheduler_lease",
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("holder", sa.String(200), nullable=True),
        sa.Column("expires_at", sa.DateTime(), nullable=True),
        sa.Column("taken_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("name", name="pk_scheduler_lease"),
    )
    op.create_table(
        "job_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job", sa.String(60), nullable=False),
        sa.Column("slot", sa.String(60), nullable=False),
        sa.Column("outcome", sa.String(9), nullable=False),
        sa.Column("requested_at", sa.DateTime(), nullable=False),
        sa.Column("requested_by", sa.String(80), nullable=True),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.Column("holder", sa.String(200), nullable=True),
        sa.Column("counts", sa.Text(), nullable=True),
        sa.Column("error", sa.String(500), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_job_runs"),
        sa.UniqueConstraint("job", "slot", name="uq_job_runs_job_slot"),
    )
    op.create_index("ix_job_runs_outcome", "job_runs", ["outcome"])


def downgrade():
    op.drop_index("ix_job_runs_outcome", table_name="job_runs")
    op.drop_table("job_runs")
    op.drop_table("scheduler_lease")
