"""bundle balances and accrued usage

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 21:29:50.914819

Bundle balances: units granted and drawn per tenant, bundle and period (local days of
Africa/Dar_es_Salaam), never drawn past the grant. Accrued usage: a postpaid tenant's
rated usage not yet invoiced, as one running total per currency, started here from the
accrued rows less the postpaid invoices already finalised.
"""

from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


BACKFILL_ACCRUED = """
INSERT INTO accrued_usage (tenant_id, currency, net_minor, updated_at)
SELECT u.tenant_id, u.currency,
       SUM(u.net_minor) - COALESCE((
           SELECT SUM(i.net_minor) FROM invoices i
           WHERE i.tenant_id = u.tenant_id AND i.currency = u.currency
             AND i.source = 'postpaid' AND i.status NOT IN ('draft', 'void')
       ), 0),
       CURRENT_TIMESTAMP
FROM usage_records u JOIN tenants t ON t.id = u.tenant_id
WHERE u.status = 'accrued' AND u.net_minor IS NOT NULL AND u.currency IS NOT NULL
GROUP BY u.tenant_id, u.currency
"""


def upgrade() -> None:
    op.create_table('accrued_usage',
    sa.Column('tenant_id', sa.String(length=40), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('net_minor', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_accrued_usage_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'currency', name=op.f('pk_accrued_usage'))
    )
    op.create_table('bundle_balances',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('tenant_id', sa.String(length=40), nullable=False),
    sa.Column('bundle', sa.String(length=60), nullable=False),
    sa.Column('service', sa.String(length=30), nullable=False),
    sa.Column('period', sa.String(length=10), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('units_granted', sa.BigInteger(), nullable=False),
    sa.Column('units_used', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('period_end > period_start', name=op.f('ck_bundle_balances_period_span')),
    sa.CheckConstraint('units_used >= 0 AND units_used <= units_granted', name=op.f('ck_bundle_balances_within_grant')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_bundle_balances_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bundle_balances')),
    sa.UniqueConstraint('tenant_id', 'bundle', 'period', 'period_start', name=op.f('uq_bundle_balances_tenant_id_bundle_period_period_start'))
    )
    op.create_index('ix_bundle_balances_tenant_id_period_end', 'bundle_balances', ['tenant_id', 'period_end'], unique=False)
    op.execute(BACKFILL_ACCRUED)


def downgrade() -> None:
    op.drop_index('ix_bundle_balances_tenant_id_period_end', table_name='bundle_balances')
    op.drop_table('bundle_balances')
    op.drop_table('accrued_usage')
