"""invoice credits: customer credit from credit notes after payment, applied or refunded

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 07:30:00

- invoice_credits: what became of the excess of a postpaid invoice credited below what
  was paid on it: applied to another of the tenant's invoices, or refunded.
- invoices: credit_applied_minor (brought in from other invoices) and credit_used_minor
  (taken out of this one), so what is due stays one expression over the row.
"""

from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('invoice_credits',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('tenant_id', sa.String(length=40), nullable=False),
    sa.Column('from_invoice_id', sa.String(length=40), nullable=False),
    sa.Column('use', sa.Enum('applied', 'refunded', name='credit_use', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('to_invoice_id', sa.String(length=40), nullable=True),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('method', sa.Enum('bank_transfer', 'mobile_money', 'cheque', 'cash', name='payment_method', native_enum=False, create_constraint=True, length=20), nullable=True),
    sa.Column('reference', sa.String(length=100), nullable=True),
    sa.Column('ledger_transaction_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('recorded_by', sa.String(length=60), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_invoice_credits_tenant_id_tenants')),
    sa.ForeignKeyConstraint(['from_invoice_id'], ['invoices.id'], name=op.f('fk_invoice_credits_from_invoice_id_invoices')),
    sa.ForeignKeyConstraint(['to_invoice_id'], ['invoices.id'], name=op.f('fk_invoice_credits_to_invoice_id_invoices')),
    sa.ForeignKeyConstraint(['ledger_transaction_id'], ['ledger_transactions.id'], name=op.f('fk_invoice_credits_ledger_transaction_id_ledger_transactions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoice_credits')),
    sa.UniqueConstraint('use', 'method', 'reference', name=op.f('uq_invoice_credits_use_method_reference'))
    )
    op.create_index(op.f('ix_invoice_credits_tenant_id'), 'invoice_credits', ['tenant_id'], unique=False)
    op.create_index(op.f('ix_invoice_credits_from_invoice_id'), 'invoice_credits', ['from_invoice_id'], unique=False)
    op.create_index(op.f('ix_invoice_credits_to_invoice_id'), 'invoice_credits', ['to_invoice_id'], unique=False)
    with op.batch_alter_table('invoices') as batch:
        batch.add_column(sa.Column('credit_applied_minor', sa.BigInteger(), server_default='0', nullable=False))
        batch.add_column(sa.Column('credit_used_minor', sa.BigInteger(), server_default='0', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('invoices') as batch:
        batch.drop_column('credit_used_minor')
        batch.drop_column('credit_applied_minor')
    op.drop_index(op.f('ix_invoice_credits_to_invoice_id'), table_name='invoice_credits')
    op.drop_index(op.f('ix_invoice_credits_from_invoice_id'), table_name='invoice_credits')
    op.drop_index(op.f('ix_invoice_credits_tenant_id'), table_name='invoice_credits')
    op.drop_table('invoice_credits')
