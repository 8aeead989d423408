"""the working calendar: the administrator's swaps of working days and days off

The public holidays come from the `holidays` package, computed for any year; this table holds
only what the government announces on top of them each year (a weekday off, a Saturday worked).

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "working_day_swaps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=11), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"],
                                name=op.f("fk_working_day_swaps_created_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_working_day_swaps")),
        sa.UniqueConstraint("day", name=op.f("uq_working_day_swaps_day")),
    )


def downgrade():
    op.drop_table("working_day_swaps")
