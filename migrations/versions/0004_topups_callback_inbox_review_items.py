"""topups, callback inbox, review items

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 19:40:27.872294
"""

from alembic import op
import sqlalchemy as sa

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('topups',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('tenant_id', sa.String(length=40), nullable=False),
    sa.Column('reference', sa.String(length=20), nullable=False),
    sa.Column('provider', sa.String(length=20), nullable=False),
    sa.Column('msisdn', sa.String(length=20), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('status', sa.Enum('pending', 'succeeded', 'failed', 'cancelled', 'expired', 'refunded', name='topup_status', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('initiation', sa.Enum('not_sent', 'sending', 'sent', 'unknown', name='initiation', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('provider_ref', sa.String(length=100), nullable=True),
    sa.Column('provider_txn_id', sa.String(length=100), nullable=True),
    sa.Column('failure_code', sa.String(length=60), nullable=True),
    sa.Column('failure_reason', sa.String(length=300), nullable=True),
    sa.Column('ledger_transaction_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('checks', sa.Integer(), nullable=False),
    sa.Column('next_check_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['ledger_transaction_id'], ['ledger_transactions.id'], name=op.f('fk_topups_ledger_transaction_id_ledger_transactions')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_topups_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_topups')),
    sa.UniqueConstraint('provider', 'provider_txn_id', name=op.f('uq_topups_provider_provider_txn_id')),
    sa.UniqueConstraint('reference', name=op.f('uq_topups_reference'))
    )
    op.create_index('ix_topups_due', 'topups', ['next_check_at'], unique=False)
    op.create_index(op.f('ix_topups_tenant_id'), 'topups', ['tenant_id'], unique=False)
    op.create_table('callback_inbox',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('provider', sa.String(length=20), nullable=False),
    sa.Column('dedupe_key', sa.String(length=200), nullable=True),
    sa.Column('status', sa.Enum('received', 'applying', 'applied', 'rejected', 'needs_review', name='inbox_status', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('remote_addr', sa.String(length=64), nullable=True),
    sa.Column('headers', sa.JSON(), nullable=False),
    sa.Column('body', sa.LargeBinary(), nullable=False),
    sa.Column('event', sa.JSON(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('topup_id', sa.String(length=40), nullable=True),
    sa.Column('deliveries', sa.Integer(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('applied_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['topup_id'], ['topups.id'], name=op.f('fk_callback_inbox_topup_id_topups')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_callback_inbox')),
    sa.UniqueConstraint('provider', 'dedupe_key', name=op.f('uq_callback_inbox_provider_dedupe_key'))
    )
    op.create_index('ix_callback_inbox_status', 'callback_inbox', ['status', 'received_at'], unique=False)
    op.create_table('review_items',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('tenant_id', sa.String(length=40), nullable=True),
    sa.Column('topup_id', sa.String(length=40), nullable=True),
    sa.Column('inbox_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('summary', sa.String(length=300), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('status', sa.Enum('open', 'resolved', name='review_status', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolution', sa.String(length=500), nullable=True),
    sa.ForeignKeyConstraint(['inbox_id'], ['callback_inbox.id'], name=op.f('fk_review_items_inbox_id_callback_inbox')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_review_items_tenant_id_tenants')),
    sa.ForeignKeyConstraint(['topup_id'], ['topups.id'], name=op.f('fk_review_items_topup_id_topups')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_items')),
    sa.UniqueConstraint('kind', 'topup_id', 'inbox_id', name=op.f('uq_review_items_kind_topup_id_inbox_id'))
    )
    op.create_index(op.f('ix_review_items_tenant_id'), 'review_items', ['tenant_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_review_items_tenant_id'), table_name='review_items')
    op.drop_table('review_items')
    op.drop_index('ix_callback_inbox_status', table_name='callback_inbox')
    op.drop_table('callback_inbox')
    op.drop_index(op.f('ix_topups_tenant_id'), table_name='topups')
    op.drop_index('ix_topups_due', table_name='topups')
    op.drop_table('topups')
