"""settlement statements and their lines (reconciliation against top-ups and the ledger)

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 00:30:00

- settlement_statements: one row per imported statement file, unique on (provider,
  sha256) so the same file twice is one import.
- settlement_lines: each statement line with its outcome (matched, a mismatch, missing
  in Malipo or at the provider, a fee, a payout), the top-up it matched and the review
  item an exception opened. No foreign keys (to the statement, to topups): a
  million-line statement is written in one INSERT … SELECT, where a per-row foreign key
  trigger cost more than the matching; the ids come from that same statement's joins.
"""

from alembic import op
import sqlalchemy as sa


revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table('settlement_statements',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('provider', sa.String(length=20), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('period_start', sa.DateTime(timezone=True), nullable=True),
    sa.Column('period_end', sa.DateTime(timezone=True), nullable=True),
    sa.Column('line_count', sa.Integer(), nullable=False),
    sa.Column('totals', sa.JSON(), nullable=False),
    sa.Column('imported_by', sa.String(length=60), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_settlement_statements')),
    sa.UniqueConstraint('provider', 'sha256', name=op.f('uq_settlement_statements_provider_sha256'))
    )
    op.create_table('settlement_lines',
    sa.Column('id', _ID, autoincrement=True, nullable=False),
    sa.Column('statement_id', sa.String(length=40), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('provider', sa.String(length=20), nullable=False),
    sa.Column('provider_txn_id', sa.String(length=200), nullable=True),
    sa.Column('reference', sa.String(length=200), nullable=True),
    sa.Column('msisdn', sa.String(length=200), nullable=True),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('fee_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('day', sa.String(length=10), nullable=False),
    sa.Column('linked_txn_id', sa.String(length=200), nullable=True),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('topup_id', sa.String(length=40), nullable=True),
    sa.Column('tenant_id', sa.String(length=40), nullable=True),
    sa.Column('expected_amount_minor', sa.BigInteger(), nullable=True),
    sa.Column('expected_currency', sa.String(length=3), nullable=True),
    sa.Column('review_item_id', sa.String(length=40), nullable=True),
    sa.Column('ledger_transaction_id', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_settlement_lines'))
    )
    op.create_index('ix_settlement_lines_statement_id_outcome', 'settlement_lines', ['statement_id', 'outcome'], unique=False)
    op.create_index('ix_settlement_lines_topup_id', 'settlement_lines', ['topup_id'], unique=False)
    op.create_index('ix_settlement_lines_day_provider', 'settlement_lines', ['day', 'provider'], unique=False)


def downgrade() -> None:
    op.drop_table('settlement_lines')
    op.drop_table('settlement_statements')
