"""usage records: drop the foreign keys to the ledger

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 22:50:00

`usage_records.ledger_transaction_id` and `ledger_entry_id` lose their foreign keys. On
the import path they cost as much as the row itself (two referential checks a billed
row: 0.16 s of a 0.34 s insert of 10,000 rows) and protect nothing: the ids are those of
the transaction `settle` has just posted in the same database transaction, and the
ledger is append-only (triggers refuse UPDATE, DELETE and TRUNCATE), so a referenced row
can never go away. `superseded_by_id` keeps its key: usage rows are not append-only.
"""

from alembic import op


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

KEYS = (
    ("fk_usage_records_ledger_entry_id_ledger_entries", "ledger_entry_id", "ledger_entries"),
    ("fk_usage_records_ledger_transaction_id_ledger_transactions", "ledger_transaction_id",
     "ledger_transactions"),
)


def upgrade() -> None:
    with op.batch_alter_table("usage_records") as batch:
        for name, _column, _table in KEYS:
            batch.drop_constraint(name, type_="foreignkey")


def downgrade() -> None:
    with op.batch_alter_table("usage_records") as batch:
        for name, column, table in KEYS:
            batch.create_foreign_key(name, table, [column], ["id"])
