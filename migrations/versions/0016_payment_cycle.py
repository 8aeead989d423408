"""payment cycle: whom each provider pays, and each provider's payment list for a month with its lines

Revision ID: 0016
Revises: 0015
"""
import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("payment_providers") as batch:
        batch.add_column(sa.Column("policy_groups", sa.String(4), nullable=False, server_default="all"))
        batch.add_column(sa.Column("pays_in_cash", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("file_layout", sa.Text(), nullable=True))
    op.execute("UPDATE payment_providers SET pays_in_cash = (kind = 'post_office')")
    op.create_table(
        "provider_communes",
        sa.Column("provider_id", sa.Integer(), sa.ForeignKey("payment_providers.id"), primary_key=True),
        sa.Column("commune_id", sa.Integer(), sa.ForeignKey("communes.id"), primary_key=True),
    )
    op.create_table(
        "payment_lists",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("provider_id", sa.Integer(), sa.ForeignKey("payment_providers.id"), nullable=False),
        sa.Column("province_id", sa.Integer(), sa.ForeignKey("provinces.id"), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("state", sa.String(6), nullable=False),
        sa.Column("cut_off_at", sa.DateTime(), nullable=False),
        sa.Column("drafted_by_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("drafted_at", sa.DateTime(), nullable=False),
        sa.Column("totals", sa.Text(), nullable=False),
        sa.Column("line_count", sa.Integer(), nullable=False),
        sa.Column("total_amount", sa.BigInteger(), nullable=False),
        sa.Column("previous_id", sa.Integer(), sa.ForeignKey("payment_lists.id"), nullable=True),
        sa.Column("signed_by_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("signed_at", sa.DateTime(), nullable=True),
        sa.Column("workbook", sa.LargeBinary(), nullable=True),
        sa.Column("sha256", sa.String(64), nullable=True),
    )
    op.create_index("ix_payment_lists_provider_month", "payment_lists", ["provider_id", "month"])
    op.create_index("ix_payment_lists_province_month", "payment_lists", ["province_id", "month"])
    signed = sa.text("state = 'signed'")
    op.create_index("uq_payment_lists_signed", "payment_lists", ["provider_id", "month"], unique=True,
                    sqlite_where=signed, postgresql_where=signed)
    line_id = sa.BigInteger() if op.get_bind().dialect.name == "postgresql" else sa.Integer()
    op.create_table(
        "payment_lines",
        sa.Column("id", line_id, primary_key=True),
        sa.Column("list_id", sa.Integer(), sa.ForeignKey("payment_lists.id"), nullable=False),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("commune_id", sa.Integer(), nullable=False),
        sa.Column("policy_group", sa.String(10), nullable=False),
        sa.Column("full_name", sa.String(120), nullable=False),
        sa.Column("national_id", sa.String(12), nullable=True),
        sa.Column("in_cash", sa.Boolean(), nullable=False),
        sa.Column("account_holder_name", sa.String(120), nullable=True),
        sa.Column("account_number", sa.String(30), nullable=True),
        sa.Column("monthly_amount", sa.BigInteger(), nullable=False),
        sa.Column("arrears_amount", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("change", sa.String(15), nullable=False),
        sa.Column("reason", sa.String(200), nullable=True),
        sa.Column("outcome", sa.String(6), nullable=True),
        sa.Column("outcome_reason", sa.String(200), nullable=True),
        sa.Column("outcome_reference", sa.String(60), nullable=True),
        sa.Column("outcome_at", sa.DateTime(), nullable=True),
        sa.Column("outcome_job_id", sa.Integer(), sa.ForeignKey("list_jobs.id"), nullable=True),
    )
    op.create_index("uq_payment_lines_list_case", "payment_lines", ["list_id", "case_id"], unique=True)
    op.create_index("ix_payment_lines_case", "payment_lines", ["case_id", "list_id"])
    op.create_table(
        "payment_return_exceptions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("list_id", sa.Integer(), sa.ForeignKey("payment_lists.id"), nullable=False),
        sa.Column("job_id", sa.Integer(), sa.ForeignKey("list_jobs.id"), nullable=False),
        sa.Column("row", sa.Integer(), nullable=False),
        sa.Column("full_name", sa.String(120), nullable=True),
        sa.Column("national_id", sa.String(12), nullable=True),
        sa.Column("account_number", sa.String(30), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=True),
        sa.Column("outcome", sa.String(20), nullable=True),
        sa.Column("problem", sa.String(300), nullable=False),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
        sa.Column("resolved_by_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("resolution", sa.String(300), nullable=True),
    )
    op.create_index("ix_payment_return_exceptions_list", "payment_return_exceptions", ["list_id", "resolved_at"])
    with op.batch_alter_table("list_jobs") as batch:
        batch.add_column(sa.Column("payment_list_id", sa.Integer(), sa.ForeignKey("payment_lists.id"), nullable=True))


def downgrade():
    with op.batch_alter_table("list_jobs") as batch:
        batch.drop_column("payment_list_id")
    for table in ("payment_return_exceptions", "payment_lines", "payment_lists", "provider_communes"):
        op.drop_table(table)
    with op.batch_alter_table("payment_providers") as batch:
        batch.drop_column("file_layout")
        batch.drop_column("pays_in_cash")
        batch.drop_column("policy_groups")
