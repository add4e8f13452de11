"""usage adjustments: increases found by re-rating an invoiced period

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 07:10:00

Re-rating usage that a finalised postpaid invoice billed cannot change that invoice: a
decrease is credited by a credit note, an increase waits here (pending while
`invoice_id` is NULL) for the tenant's next postpaid draft, which bills it as a line.
"""

from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('usage_adjustments',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('tenant_id', sa.String(length=40), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('service', sa.String(length=30), nullable=False),
    sa.Column('zone', sa.String(length=60), nullable=False),
    sa.Column('description', sa.String(length=300), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('source_invoice_id', sa.String(length=40), nullable=False),
    sa.Column('invoice_id', sa.String(length=40), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount_minor > 0', name=op.f('ck_usage_adjustments_positive')),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_usage_adjustments_invoice_id_invoices')),
    sa.ForeignKeyConstraint(['source_invoice_id'], ['invoices.id'], name=op.f('fk_usage_adjustments_source_invoice_id_invoices')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_usage_adjustments_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_usage_adjustments'))
    )
    op.create_index('ix_usage_adjustments_invoice_id', 'usage_adjustments', ['invoice_id'], unique=False)
    op.create_index('ix_usage_adjustments_pending', 'usage_adjustments', ['tenant_id', 'currency'], unique=False, postgresql_where=sa.text('invoice_id IS NULL'), sqlite_where=sa.text('invoice_id IS NULL'))


def downgrade() -> None:
    op.drop_index('ix_usage_adjustments_pending', table_name='usage_adjustments', postgresql_where=sa.text('invoice_id IS NULL'), sqlite_where=sa.text('invoice_id IS NULL'))
    op.drop_index('ix_usage_adjustments_invoice_id', table_name='usage_adjustments')
    op.drop_table('usage_adjustments')
