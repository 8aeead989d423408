"""the scheduler: one active process (lease), job runs unique per slot

Revision ID: 0006
Revises: 0005
"""
from alembic import op  # noqa: F401

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    pass  # placeholder: filled by the work this revision is named for


def downgrade():
    pass
