"""escalations: one per case (or proposal), tier and stay

Revision ID: 0009
Revises: 0008
"""
from alembic import op  # noqa: F401

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    pass  # placeholder: filled by the work this revision is named for


def downgrade():
    pass
