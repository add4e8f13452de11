"""tariffs: destination prefixes, versioned rate plans, plan assignment, daily FX

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 18:39:48.530244
"""

from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('destination_prefixes',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('prefix', sa.String(length=15), nullable=False),
    sa.Column('zone', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('operator', sa.String(length=40), nullable=False),
    sa.Column('market', sa.String(length=40), nullable=False),
    sa.Column('valid_from', sa.DateTime(timezone=True), nullable=True),
    sa.Column('valid_to', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('valid_to IS NULL OR valid_from IS NULL OR valid_to > valid_from', name=op.f('ck_destination_prefixes_valid_span')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_destination_prefixes'))
    )
    op.create_index('ix_destination_prefixes_prefix', 'destination_prefixes', ['prefix'], unique=False)
    op.create_table('fx_rates',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('base_currency', sa.String(length=3), nullable=False),
    sa.Column('quote_currency', sa.String(length=3), nullable=False),
    sa.Column('rate', sa.Numeric(precision=20, scale=8), nullable=False),
    sa.Column('source', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('base_currency <> quote_currency', name=op.f('ck_fx_rates_distinct_currencies')),
    sa.CheckConstraint('rate > 0', name=op.f('ck_fx_rates_rate_positive')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fx_rates')),
    sa.UniqueConstraint('day', 'base_currency', 'quote_currency', name=op.f('uq_fx_rates_day_base_currency_quote_currency'))
    )
    op.create_table('rate_plans',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('code', sa.String(length=60), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('latest_version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rate_plans')),
    sa.UniqueConstraint('code', name=op.f('uq_rate_plans_code'))
    )
    op.create_table('tariff_generations',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('generation', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_tariff_generations'))
    )
    op.create_table('rate_plan_versions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('plan_id', sa.String(length=40), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('valid_from', sa.DateTime(timezone=True), nullable=False),
    sa.Column('valid_to', sa.DateTime(timezone=True), nullable=True),
    sa.Column('definition', sa.JSON(), nullable=False),
    sa.Column('definition_sha256', sa.String(length=64), nullable=False),
    sa.Column('created_by', sa.String(length=40), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("currency IN ('TZS', 'USD')", name=op.f('ck_rate_plan_versions_currency')),
    sa.CheckConstraint('valid_to IS NULL OR valid_to > valid_from', name=op.f('ck_rate_plan_versions_valid_span')),
    sa.CheckConstraint('version >= 1', name=op.f('ck_rate_plan_versions_version_positive')),
    sa.ForeignKeyConstraint(['plan_id'], ['rate_plans.id'], name=op.f('fk_rate_plan_versions_plan_id_rate_plans')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rate_plan_versions')),
    sa.UniqueConstraint('plan_id', 'version', name=op.f('uq_rate_plan_versions_plan_id_version'))
    )
    op.create_table('tenant_rate_plans',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('tenant_id', sa.String(length=40), nullable=False),
    sa.Column('plan_id', sa.String(length=40), nullable=False),
    sa.Column('valid_from', sa.DateTime(timezone=True), nullable=False),
    sa.Column('valid_to', sa.DateTime(timezone=True), nullable=True),
    sa.Column('overrides', sa.JSON(), nullable=False),
    sa.Column('credit_limit_minor', sa.BigInteger(), nullable=True),
    sa.Column('created_by', sa.String(length=40), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('credit_limit_minor IS NULL OR credit_limit_minor >= 0', name=op.f('ck_tenant_rate_plans_credit_limit')),
    sa.CheckConstraint('valid_to IS NULL OR valid_to > valid_from', name=op.f('ck_tenant_rate_plans_valid_span')),
    sa.ForeignKeyConstraint(['plan_id'], ['rate_plans.id'], name=op.f('fk_tenant_rate_plans_plan_id_rate_plans')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_tenant_rate_plans_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tenant_rate_plans'))
    )
    op.create_index('ix_tenant_rate_plans_plan_id', 'tenant_rate_plans', ['plan_id'], unique=False)
    op.create_index('ix_tenant_rate_plans_tenant_id_valid_from', 'tenant_rate_plans', ['tenant_id', 'valid_from'], unique=False)
    # The loaders bump these with UPDATE, so the rows exist from the start.
    generations = sa.table('tariff_generations', sa.column('name', sa.String), sa.column('generation', sa.BigInteger))
    op.bulk_insert(generations, [{'name': 'destinations', 'generation': 0}, {'name': 'fx', 'generation': 0}])


def downgrade() -> None:
    op.drop_index('ix_tenant_rate_plans_tenant_id_valid_from', table_name='tenant_rate_plans')
    op.drop_index('ix_tenant_rate_plans_plan_id', table_name='tenant_rate_plans')
    op.drop_table('tenant_rate_plans')
    op.drop_table('rate_plan_versions')
    op.drop_table('tariff_generations')
    op.drop_table('rate_plans')
    op.drop_table('fx_rates')
    op.drop_index('ix_destination_prefixes_prefix', table_name='destination_prefixes')
    op.drop_table('destination_prefixes')
