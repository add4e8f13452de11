"""late usage: adjustment kinds, and the periods finalised postpaid invoices billed

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 07:40:00

- usage_adjustments.kind: `rerate` (what re-rating found a finalised invoice under-billed,
  every existing row) or `late` (usage of a finalised invoice's period rated after it
  was issued). The draft that bills it names it by kind.
- invoiced_periods: per finalised postpaid invoice, the tenant's period it billed, so
  rating (which knows nothing of invoices) finds late usage in one indexed query.
  Filled from the invoices finalised so far.
"""

from alembic import op
import sqlalchemy as sa


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('usage_adjustments') as batch:
        batch.add_column(sa.Column('kind', sa.String(length=20), server_default='rerate', nullable=False))
        batch.create_check_constraint(op.f('ck_usage_adjustments_adjustment_kind'), "kind IN ('rerate', 'late')")
    op.create_table('invoiced_periods',
    sa.Column('invoice_id', sa.String(length=40), nullable=False),
    sa.Column('tenant_id', sa.String(length=40), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_invoiced_periods_invoice_id_invoices')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_invoiced_periods_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('invoice_id', name=op.f('pk_invoiced_periods'))
    )
    op.create_index('ix_invoiced_periods_tenant_id_period_end', 'invoiced_periods', ['tenant_id', 'period_end'], unique=False)
    op.execute(
        "INSERT INTO invoiced_periods (invoice_id, tenant_id, currency, period_start, period_end) "
        "SELECT id, tenant_id, currency, period_start, period_end FROM invoices "
        "WHERE source = 'postpaid' AND status IN ('finalised', 'fiscalised', 'sent')"
    )


def downgrade() -> None:
    op.drop_index('ix_invoiced_periods_tenant_id_period_end', table_name='invoiced_periods')
    op.drop_table('invoiced_periods')
    with op.batch_alter_table('usage_adjustments') as batch:
        batch.drop_constraint(op.f('ck_usage_adjustments_adjustment_kind'), type_='check')
        batch.drop_column('kind')
