"""Stripe payouts reconciled against the ledger, and their lines

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-07 04:00:00

- stripe_payouts: one row per reconciled Stripe payout (its id is Stripe's), so the
  same payout twice is one reconciliation.
- stripe_payout_lines: each balance transaction of the payout with its outcome and the
  ledger transactions it matched, plus the booked charges the payout lacks. No foreign
  keys, as settlement_lines. It has a tenant_id: row-level security as 0029 sets it.
"""

from alembic import op
import sqlalchemy as sa


revision = '0030'
down_revision = '0029'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_OWN = (
    "(current_setting('malipo.scope', true) IN ('system', 'staff') OR"
    " (current_setting('malipo.scope', true) = 'tenant'"
    " AND tenant_id = current_setting('malipo.tenant_id', true)))"
)


def upgrade() -> None:
    op.create_table('stripe_payouts',
    sa.Column('id', sa.String(length=100), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('automatic', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('arrival_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('totals', sa.JSON(), nullable=False),
    sa.Column('reconciled_by', sa.String(length=60), nullable=False),
    sa.Column('reconciled_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stripe_payouts'))
    )
    op.create_table('stripe_payout_lines',
    sa.Column('id', _ID, autoincrement=True, nullable=False),
    sa.Column('payout_id', sa.String(length=100), nullable=False),
    sa.Column('balance_transaction_id', sa.String(length=100), nullable=True),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('source_id', sa.String(length=100), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('gross_minor', sa.BigInteger(), nullable=False),
    sa.Column('fee_minor', sa.BigInteger(), nullable=False),
    sa.Column('net_minor', sa.BigInteger(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('topup_id', sa.String(length=40), nullable=True),
    sa.Column('tenant_id', sa.String(length=40), nullable=True),
    sa.Column('ledger_transaction_id', sa.BigInteger(), nullable=True),
    sa.Column('fee_transaction_id', sa.BigInteger(), nullable=True),
    sa.Column('expected_gross_minor', sa.BigInteger(), nullable=True),
    sa.Column('expected_fee_minor', sa.BigInteger(), nullable=True),
    sa.Column('note', sa.String(length=200), nullable=True),
    sa.Column('review_item_id', sa.String(length=40), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stripe_payout_lines'))
    )
    op.create_index('ix_stripe_payout_lines_payout_id', 'stripe_payout_lines', ['payout_id'], unique=False)
    op.create_index('ix_stripe_payout_lines_source_id', 'stripe_payout_lines', ['source_id'], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute('ALTER TABLE stripe_payout_lines ENABLE ROW LEVEL SECURITY')
        op.execute('ALTER TABLE stripe_payout_lines FORCE ROW LEVEL SECURITY')
        op.execute(f'CREATE POLICY tenant_isolation ON stripe_payout_lines USING {_OWN} WITH CHECK {_OWN}')


def downgrade() -> None:
    op.drop_index('ix_stripe_payout_lines_source_id', table_name='stripe_payout_lines')
    op.drop_index('ix_stripe_payout_lines_payout_id', table_name='stripe_payout_lines')
    op.drop_table('stripe_payout_lines')
    op.drop_table('stripe_payouts')
