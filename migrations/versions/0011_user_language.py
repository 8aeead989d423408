"""each user's language

The screens and emails are drawn in Vietnamese unless the user chose English (issue 15).

Revision ID: 0011
Revises: 0010
"""
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("users", sa.Column("locale", sa.String(length=5), nullable=False, server_default="vi"))


def downgrade():
    with op.batch_alter_table("users") as batch:
        batch.drop_column("locale")
