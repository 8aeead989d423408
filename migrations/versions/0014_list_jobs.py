"""lists in: the jobs that carry an uploaded list through preview and import

Revision ID: 0014
Revises: 0013
"""
import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "list_jobs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(length=14), nullable=False),
        sa.Column("state", sa.String(length=14), nullable=False),
        sa.Column("owner_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("province_id", sa.Integer(), sa.ForeignKey("provinces.id"), nullable=False),
        sa.Column("commune_id", sa.Integer(), sa.ForeignKey("communes.id"), nullable=True),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=True),
        sa.Column("rows_total", sa.Integer(), nullable=True),
        sa.Column("rows_done", sa.Integer(), nullable=False),
        sa.Column("counts", sa.Text(), nullable=True),
        sa.Column("preview", sa.Text(), nullable=True),
        sa.Column("rejected_workbook", sa.LargeBinary(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("worker", sa.String(length=80), nullable=True),
    )
    op.create_index("ix_list_jobs_state", "list_jobs", ["state", "created_at", "id"])
    op.create_index("ix_list_jobs_owner", "list_jobs", ["owner_id", "created_at"])
    op.create_index("ix_list_jobs_province", "list_jobs", ["province_id", "created_at"])


def downgrade():
    op.drop_table("list_jobs")
