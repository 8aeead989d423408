"""the approvals inbox: a partial index of the pending proposals by commune and kind

A province supervisor's inbox asks for the proposals waiting in some 150 communes, oldest first,
perhaps of one kind. With only (status, commune_id, proposed_at) PostgreSQL read every open
proposal of the country through uq_proposals_open_case and hashed them against the province's
communes (28,000 rows, 15-50 ms per statement at a million cases). This index holds only what
waits, with the kind in the key, and is probed once per commune, index-only (under 1 ms). Queries
compare status with the literal 'pending' so that the planner may use it.

Revision ID: 0013
Revises: 0012
"""
import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

PENDING_ONLY = "status = 'pending'"


def upgrade():
    op.create_index("ix_proposals_pending_commune", "proposals", ["commune_id", "trigger", "proposed_at", "id"],
                    sqlite_where=sa.text(PENDING_ONLY), postgresql_where=sa.text(PENDING_ONLY))


def downgrade():
    op.drop_index("ix_proposals_pending_commune", table_name="proposals")
