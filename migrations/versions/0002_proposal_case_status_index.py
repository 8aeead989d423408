"""proposals: index (case_id, status, proposed_at) replaces (case_id, proposed_at)

At a million cases SQLite chose the (status, commune_id, ...) index for "which of these 50 cases
have a pending proposal" and walked every pending proposal (45 ms a queue page). With status in
the case index the lookup is 50 index probes.

Revision ID: 0002
Revises: 0001
"""
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("proposals", schema=None) as batch_op:
        batch_op.drop_index("ix_proposals_case")
        batch_op.create_index("ix_proposals_case_status", ["case_id", "status", "proposed_at"], unique=False)


def downgrade():
    with op.batch_alter_table("proposals", schema=None) as batch_op:
        batch_op.drop_index("ix_proposals_case_status")
        batch_op.create_index("ix_proposals_case", ["case_id", "proposed_at"], unique=False)
