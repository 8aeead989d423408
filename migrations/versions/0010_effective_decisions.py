"""decisions that take effect in their month

Revision ID: 0010
Revises: 0009
"""
from alembic import op  # noqa: F401

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    pass  # placeholder: filled by the work this revision is named for


def downgrade():
    pass
