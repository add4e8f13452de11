"""refunds as their own entity; retry counts for pushes and callbacks

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 21:40:00

- refunds: one row per refund of a top-up (several partial ones where the provider
  allows), with its own state, provider ids, ledger transactions and status checks.
  The refund_* columns of topups move here (each top-up had at most one refund).
- topups.initiate_attempts: pushes that never reached the provider, re-sent later.
- callback_inbox.attempts, next_attempt_at: sweeps that tried a stuck callback, and when
  the next may; a poisoned one backs off and is parked.
"""

from alembic import op
import sqlalchemy as sa


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

STATUSES = ("requested", "sending", "succeeded", "failed", "unknown")
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _status() -> sa.Enum:
    return sa.Enum(*STATUSES, name="refund_status", native_enum=False, create_constraint=True, length=20)


def upgrade() -> None:
    op.create_table('refunds',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('topup_id', sa.String(length=40), nullable=False),
    sa.Column('tenant_id', sa.String(length=40), nullable=False),
    sa.Column('reference', sa.String(length=20), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('reason', sa.String(length=300), nullable=False),
    sa.Column('status', _status(), nullable=False),
    sa.Column('provider_ref', sa.String(length=100), nullable=True),
    sa.Column('provider_txn_id', sa.String(length=100), nullable=True),
    sa.Column('failure_reason', sa.String(length=300), nullable=True),
    sa.Column('debit_transaction_id', _ID, nullable=False),
    sa.Column('reversal_transaction_id', _ID, nullable=True),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('next_check_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['debit_transaction_id'], ['ledger_transactions.id'], name=op.f('fk_refunds_debit_transaction_id_ledger_transactions')),
    sa.ForeignKeyConstraint(['reversal_transaction_id'], ['ledger_transactions.id'], name=op.f('fk_refunds_reversal_transaction_id_ledger_transactions')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_refunds_tenant_id_tenants')),
    sa.ForeignKeyConstraint(['topup_id'], ['topups.id'], name=op.f('fk_refunds_topup_id_topups')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_refunds')),
    sa.UniqueConstraint('reference', name=op.f('uq_refunds_reference'))
    )
    op.create_index('ix_refunds_status_updated', 'refunds', ['status', 'updated_at'], unique=False)
    op.create_index(op.f('ix_refunds_tenant_id'), 'refunds', ['tenant_id'], unique=False)
    op.create_index(op.f('ix_refunds_topup_id'), 'refunds', ['topup_id'], unique=False)
    # Each top-up had at most one refund: it keeps its reference, so the provider's
    # record of it still matches; its id is derived from the top-up's.
    op.execute(
        "INSERT INTO refunds (id, topup_id, tenant_id, reference, amount_minor, currency, reason,"
        " status, debit_transaction_id, attempts, created_at, updated_at)"
        " SELECT 'rfd_' || substr(id, 5), id, tenant_id, refund_reference, refund_amount_minor,"
        " currency, coalesce(refund_reason, ''), refund_status, refund_transaction_id, 0,"
        " updated_at, updated_at"
        " FROM topups WHERE refund_status IS NOT NULL AND refund_transaction_id IS NOT NULL"
    )
    with op.batch_alter_table('topups') as batch:
        batch.add_column(sa.Column('initiate_attempts', sa.Integer(), server_default='0', nullable=False))
        batch.drop_constraint(op.f("fk_topups_refund_transaction_id_ledger_transactions"), type_="foreignkey")
        batch.drop_constraint(op.f("uq_topups_refund_reference"), type_="unique")
        batch.drop_constraint(op.f("ck_topups_refund_status"), type_="check")
        for column in ("refund_transaction_id", "refund_reason", "refund_amount_minor", "refund_reference", "refund_status"):
            batch.drop_column(column)
    with op.batch_alter_table('callback_inbox') as batch:
        batch.add_column(sa.Column('attempts', sa.Integer(), server_default='0', nullable=False))
        batch.add_column(sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('callback_inbox') as batch:
        batch.drop_column('next_attempt_at')
        batch.drop_column('attempts')
    with op.batch_alter_table("topups") as batch:
        batch.drop_column('initiate_attempts')
        batch.add_column(sa.Column("refund_status", _status(), nullable=True))
        batch.add_column(sa.Column("refund_reference", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("refund_amount_minor", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("refund_reason", sa.String(length=300), nullable=True))
        batch.add_column(sa.Column("refund_transaction_id", _ID, nullable=True))
        batch.create_unique_constraint(op.f("uq_topups_refund_reference"), ["refund_reference"])
        batch.create_foreign_key(op.f("fk_topups_refund_transaction_id_ledger_transactions"), "ledger_transactions", ["refund_transaction_id"], ["id"])
    # Only the newest refund of each top-up fits back on it.
    op.execute(
        "UPDATE topups SET refund_status = r.status, refund_reference = r.reference,"
        " refund_amount_minor = r.amount_minor, refund_reason = r.reason,"
        " refund_transaction_id = r.debit_transaction_id"
        " FROM (SELECT DISTINCT ON (topup_id) * FROM refunds ORDER BY topup_id, created_at DESC) r"
        " WHERE r.topup_id = topups.id"
    )
    op.drop_table('refunds')
