"""list jobs: the preview's plan, which the import starts from instead of reading the file again

A provider's return of 100,000 rows was read and matched twice, at the preview and at the import
(two seconds). The preview now stores what cannot change before the import (what each row says and
the signed list's line it matched) with the job, compressed; dropped with the file when the job
ends.

Revision ID: 0021
Revises: 0020
"""
import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("list_jobs") as batch:
        batch.add_column(sa.Column("plan", sa.LargeBinary(), nullable=True))


def downgrade():
    with op.batch_alter_table("list_jobs") as batch:
        batch.drop_column("plan")
