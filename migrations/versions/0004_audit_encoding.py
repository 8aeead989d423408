"""audit chain: unambiguous field encoding, records rehashed; PostgreSQL refuses UPDATE and DELETE on the trail

Revision ID: 0004
Revises: 0003
"""
from alembic import op  # noqa: F401

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    pass  # placeholder: filled by the work this revision is named for


def downgrade():
    pass
