"""top-up refunds

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 19:57:30.850671
"""

from alembic import op
import sqlalchemy as sa

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Batch mode: SQLite cannot ALTER constraints, so it rebuilds the table.
    with op.batch_alter_table("topups") as batch:
        batch.add_column(sa.Column("refund_status", sa.Enum("requested", "sending", "succeeded", "failed", "unknown", name="refund_status", native_enum=False, create_constraint=True, length=20), nullable=True))
        batch.add_column(sa.Column("refund_reference", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("refund_amount_minor", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("refund_reason", sa.String(length=300), nullable=True))
        batch.add_column(sa.Column("refund_transaction_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True))
        batch.create_unique_constraint(op.f("uq_topups_refund_reference"), ["refund_reference"])
        batch.create_foreign_key(op.f("fk_topups_refund_transaction_id_ledger_transactions"), "ledger_transactions", ["refund_transaction_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("topups") as batch:
        batch.drop_constraint(op.f("fk_topups_refund_transaction_id_ledger_transactions"), type_="foreignkey")
        batch.drop_constraint(op.f("uq_topups_refund_reference"), type_="unique")
        for column in ("refund_transaction_id", "refund_reason", "refund_amount_minor", "refund_reference", "refund_status"):
            batch.drop_column(column)
