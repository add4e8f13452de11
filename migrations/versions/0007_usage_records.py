"""usage records: every CDR and message, rated or rejected, and prepaid tenants flagged

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 18:40:06.844095
"""

from alembic import op
import sqlalchemy as sa

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('tenant_usage_flags',
    sa.Column('tenant_id', sa.String(length=40), nullable=False),
    sa.Column('reason', sa.String(length=60), nullable=False),
    sa.Column('flagged_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('unbilled_records', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_tenant_usage_flags_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', name=op.f('pk_tenant_usage_flags'))
    )
    # (source_system, source_id, revision): a resend collides; a re-rating adds revision + 1.
    op.create_table('usage_records',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('source_system', sa.String(length=40), nullable=False),
    sa.Column('source_id', sa.String(length=200), nullable=True),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.String(length=40), nullable=True),
    sa.Column('service', sa.String(length=30), nullable=False),
    sa.Column('from_number', sa.String(length=40), nullable=False),
    sa.Column('to_number', sa.String(length=40), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('duration_s', sa.Integer(), nullable=False),
    sa.Column('billable_s', sa.Integer(), nullable=False),
    sa.Column('units', sa.Integer(), nullable=False),
    sa.Column('disposition', sa.String(length=20), nullable=False),
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.Column('pricing_type', sa.String(length=40), nullable=False),
    sa.Column('delivery_status', sa.String(length=20), nullable=False),
    sa.Column('account', sa.String(length=80), nullable=False),
    sa.Column('linked_id', sa.String(length=200), nullable=False),
    sa.Column('raw', sa.JSON(), nullable=True),
    sa.Column('status', sa.Enum('pending', 'billed', 'accrued', 'unbilled', 'rejected', 'superseded', name='usage_status', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('reason', sa.String(length=300), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('rated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('plan_id', sa.String(length=40), nullable=True),
    sa.Column('plan_version', sa.Integer(), nullable=True),
    sa.Column('zone', sa.String(length=60), nullable=True),
    sa.Column('band', sa.String(length=30), nullable=True),
    sa.Column('unit', sa.String(length=20), nullable=True),
    sa.Column('billed_units', sa.BigInteger(), nullable=True),
    sa.Column('bundle_units', sa.BigInteger(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('net_minor', sa.BigInteger(), nullable=True),
    sa.Column('vat_minor', sa.BigInteger(), nullable=True),
    sa.Column('raw_amount', sa.String(length=60), nullable=True),
    sa.Column('fx_rate', sa.Numeric(precision=20, scale=10), nullable=True),
    sa.Column('breakdown', sa.JSON(), nullable=True),
    sa.Column('ledger_transaction_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('ledger_entry_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('superseded_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['ledger_entry_id'], ['ledger_entries.id'], name=op.f('fk_usage_records_ledger_entry_id_ledger_entries')),
    sa.ForeignKeyConstraint(['ledger_transaction_id'], ['ledger_transactions.id'], name=op.f('fk_usage_records_ledger_transaction_id_ledger_transactions')),
    sa.ForeignKeyConstraint(['superseded_by_id'], ['usage_records.id'], name=op.f('fk_usage_records_superseded_by_id_usage_records')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_usage_records')),
    sa.UniqueConstraint('source_system', 'source_id', 'revision', name=op.f('uq_usage_records_source_system_source_id_revision'))
    )
    op.create_index('ix_usage_records_tenant_occurred', 'usage_records', ['tenant_id', 'occurred_at'], unique=False)
    # The rating job and the retries read only the rows still waiting.
    op.create_index('ix_usage_records_waiting', 'usage_records', ['status', 'id'], unique=False, postgresql_where=sa.text("status IN ('pending', 'unbilled', 'rejected')"))


def downgrade() -> None:
    op.drop_index('ix_usage_records_waiting', table_name='usage_records', postgresql_where=sa.text("status IN ('pending', 'unbilled', 'rejected')"))
    op.drop_index('ix_usage_records_tenant_occurred', table_name='usage_records')
    op.drop_table('usage_records')
    op.drop_table('tenant_usage_flags')
