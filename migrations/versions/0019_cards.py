"""card top-ups through Stripe: charges (gross/fee/net), chargebacks, saved cards

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 00:30:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table('card_charges',
    sa.Column('id', sa.String(length=100), nullable=False),
    sa.Column('topup_id', sa.String(length=40), nullable=False),
    sa.Column('tenant_id', sa.String(length=40), nullable=False),
    sa.Column('payment_intent_id', sa.String(length=100), nullable=False),
    sa.Column('balance_transaction_id', sa.String(length=100), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('gross_minor', sa.BigInteger(), nullable=False),
    sa.Column('fee_minor', sa.BigInteger(), nullable=False),
    sa.Column('net_minor', sa.BigInteger(), nullable=False),
    sa.Column('fee_transaction_id', _ID, nullable=True),
    sa.Column('created_at', _WHEN, nullable=False),
    sa.ForeignKeyConstraint(['topup_id'], ['topups.id'], name=op.f('fk_card_charges_topup_id_topups')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_card_charges_tenant_id_tenants')),
    sa.ForeignKeyConstraint(['fee_transaction_id'], ['ledger_transactions.id'], name=op.f('fk_card_charges_fee_transaction_id_ledger_transactions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_card_charges')),
    sa.UniqueConstraint('topup_id', name=op.f('uq_card_charges_topup_id')),
    )
    op.create_index(op.f('ix_card_charges_tenant_id'), 'card_charges', ['tenant_id'])
    op.create_table('card_chargebacks',
    sa.Column('id', sa.String(length=100), nullable=False),
    sa.Column('topup_id', sa.String(length=40), nullable=False),
    sa.Column('tenant_id', sa.String(length=40), nullable=False),
    sa.Column('charge_id', sa.String(length=100), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('reason', sa.String(length=100), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('held_minor', sa.BigInteger(), nullable=False),
    sa.Column('owed_minor', sa.BigInteger(), nullable=False),
    sa.Column('fee_minor', sa.BigInteger(), nullable=False),
    sa.Column('hold_transaction_id', _ID, nullable=True),
    sa.Column('close_transaction_id', _ID, nullable=True),
    sa.Column('dispute_id', sa.String(length=40), nullable=True),
    sa.Column('created_at', _WHEN, nullable=False),
    sa.Column('updated_at', _WHEN, nullable=False),
    sa.ForeignKeyConstraint(['topup_id'], ['topups.id'], name=op.f('fk_card_chargebacks_topup_id_topups')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_card_chargebacks_tenant_id_tenants')),
    sa.ForeignKeyConstraint(['hold_transaction_id'], ['ledger_transactions.id'], name=op.f('fk_card_chargebacks_hold_transaction_id_ledger_transactions')),
    sa.ForeignKeyConstraint(['close_transaction_id'], ['ledger_transactions.id'], name=op.f('fk_card_chargebacks_close_transaction_id_ledger_transactions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_card_chargebacks')),
    sa.CheckConstraint("status IN ('open', 'won', 'lost')", name=op.f('ck_card_chargebacks_status')),
    )
    op.create_index(op.f('ix_card_chargebacks_topup_id'), 'card_chargebacks', ['topup_id'])
    op.create_index(op.f('ix_card_chargebacks_tenant_id'), 'card_chargebacks', ['tenant_id'])
    op.create_table('card_saved',
    sa.Column('tenant_id', sa.String(length=40), nullable=False),
    sa.Column('customer_id', sa.String(length=100), nullable=False),
    sa.Column('setup_intent_id', sa.String(length=100), nullable=True),
    sa.Column('payment_method_id', sa.String(length=100), nullable=True),
    sa.Column('brand', sa.String(length=20), nullable=True),
    sa.Column('last4', sa.String(length=4), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('threshold_minor', sa.BigInteger(), nullable=True),
    sa.Column('recharge_minor', sa.BigInteger(), nullable=True),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('pending_topup_id', sa.String(length=40), nullable=True),
    sa.Column('last_failure', sa.String(length=300), nullable=True),
    sa.Column('updated_at', _WHEN, nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_card_saved_tenant_id_tenants')),
    sa.ForeignKeyConstraint(['pending_topup_id'], ['topups.id'], name=op.f('fk_card_saved_pending_topup_id_topups')),
    sa.PrimaryKeyConstraint('tenant_id', name=op.f('pk_card_saved')),
    )


def downgrade() -> None:
    op.drop_table('card_saved')
    op.drop_index(op.f('ix_card_chargebacks_tenant_id'), table_name='card_chargebacks')
    op.drop_index(op.f('ix_card_chargebacks_topup_id'), table_name='card_chargebacks')
    op.drop_table('card_chargebacks')
    op.drop_index(op.f('ix_card_charges_tenant_id'), table_name='card_charges')
    op.drop_table('card_charges')
