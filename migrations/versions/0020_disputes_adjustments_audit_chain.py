"""disputes, balance adjustments (maker-checker), the audit trail's hash chains

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 00:30:00

- disputes, dispute_comments, dispute_attachments, dispute_resolutions.
- balance_adjustments: a staff credit or debit of a wallet; the checker is never the maker.
- audit_events gains who and where (role, request id, client address) and its link in a
  hash chain (chain, seq, prev_hash, hash); audit_chain_heads holds each chain's last
  link. Events written before this have no chain (`billing audit verify` counts them).
"""

import sqlalchemy as sa
from alembic import op

revision = '0020'
down_revision = '0019'  # the lead re-chains at merge time
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=20)


def upgrade() -> None:
    op.create_table('disputes',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('tenant_id', sa.String(length=40), nullable=False),
    sa.Column('subject_type', _enum('dispute_subject_type', 'topup', 'usage', 'usage_period', 'invoice', 'invoice_line'), nullable=False),
    sa.Column('subject_id', sa.String(length=60), nullable=False),
    sa.Column('line_position', sa.Integer(), nullable=True),
    sa.Column('period_start', sa.Date(), nullable=True),
    sa.Column('period_end', sa.Date(), nullable=True),
    sa.Column('reason', sa.String(length=2000), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('priority', _enum('dispute_priority', 'low', 'normal', 'high', 'urgent'), nullable=False),
    sa.Column('status', _enum('dispute_status', 'open', 'investigating', 'resolved', 'rejected'), nullable=False),
    sa.Column('owner_id', sa.String(length=40), nullable=True),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('source_ref', sa.String(length=60), nullable=True),
    sa.Column('opened_by', sa.String(length=60), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_disputes_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_disputes')),
    sa.UniqueConstraint('source', 'source_ref', name=op.f('uq_disputes_source_source_ref'))
    )
    op.create_index('ix_disputes_tenant_id_id', 'disputes', ['tenant_id', 'id'], unique=False)
    op.create_index('ix_disputes_status_due_at', 'disputes', ['status', 'due_at'], unique=False)
    op.create_table('dispute_comments',
    sa.Column('id', _ID, autoincrement=True, nullable=False),
    sa.Column('dispute_id', sa.String(length=40), nullable=False),
    sa.Column('author', sa.String(length=60), nullable=False),
    sa.Column('author_role', sa.String(length=20), nullable=False),
    sa.Column('visibility', _enum('comment_visibility', 'tenant', 'internal'), nullable=False),
    sa.Column('body', sa.String(length=4000), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['dispute_id'], ['disputes.id'], name=op.f('fk_dispute_comments_dispute_id_disputes')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dispute_comments'))
    )
    op.create_index(op.f('ix_dispute_comments_dispute_id'), 'dispute_comments', ['dispute_id'], unique=False)
    op.create_table('dispute_attachments',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('dispute_id', sa.String(length=40), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=True),
    sa.Column('stored_path', sa.String(length=300), nullable=True),
    sa.Column('uploaded_by', sa.String(length=60), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['dispute_id'], ['disputes.id'], name=op.f('fk_dispute_attachments_dispute_id_disputes')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dispute_attachments'))
    )
    op.create_index(op.f('ix_dispute_attachments_dispute_id'), 'dispute_attachments', ['dispute_id'], unique=False)
    op.create_table('dispute_resolutions',
    sa.Column('dispute_id', sa.String(length=40), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('note', sa.String(length=1000), nullable=False),
    sa.Column('plan_id', sa.String(length=40), nullable=True),
    sa.Column('request_sha256', sa.String(length=64), nullable=False),
    sa.Column('ledger_transaction_ids', sa.JSON(), nullable=False),
    sa.Column('documents', sa.JSON(), nullable=False),
    sa.Column('resolved_by', sa.String(length=60), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['dispute_id'], ['disputes.id'], name=op.f('fk_dispute_resolutions_dispute_id_disputes')),
    sa.PrimaryKeyConstraint('dispute_id', name=op.f('pk_dispute_resolutions'))
    )
    op.create_table('balance_adjustments',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('tenant_id', sa.String(length=40), nullable=False),
    sa.Column('direction', _enum('adjustment_direction', 'credit', 'debit'), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('reason_code', sa.String(length=40), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.Column('status', _enum('adjustment_status', 'pending', 'applied', 'rejected', 'expired'), nullable=False),
    sa.Column('maker_id', sa.String(length=40), nullable=False),
    sa.Column('checker_id', sa.String(length=40), nullable=True),
    sa.Column('decision_note', sa.String(length=500), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ledger_transaction_id', _ID, nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('checker_id IS NULL OR checker_id <> maker_id', name=op.f('ck_balance_adjustments_checker_not_maker')),
    sa.CheckConstraint('amount_minor > 0', name=op.f('ck_balance_adjustments_positive')),
    sa.ForeignKeyConstraint(['ledger_transaction_id'], ['ledger_transactions.id'], name=op.f('fk_balance_adjustments_ledger_transaction_id_ledger_transactions')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_balance_adjustments_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_balance_adjustments'))
    )
    op.create_index(op.f('ix_balance_adjustments_tenant_id'), 'balance_adjustments', ['tenant_id'], unique=False)
    op.create_index('ix_balance_adjustments_status_expires_at', 'balance_adjustments', ['status', 'expires_at'], unique=False)
    op.create_table('audit_chain_heads',
    sa.Column('chain', sa.String(length=60), nullable=False),
    sa.Column('last_id', sa.BigInteger(), nullable=True),
    sa.Column('last_hash', sa.String(length=64), nullable=True),
    sa.Column('length', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('chain', name=op.f('pk_audit_chain_heads'))
    )
    with op.batch_alter_table('audit_events') as batch:
        batch.add_column(sa.Column('role', sa.String(length=20), nullable=True))
        batch.add_column(sa.Column('request_id', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('client_address', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('chain', sa.String(length=60), nullable=True))
        batch.add_column(sa.Column('seq', sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column('prev_hash', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('hash', sa.String(length=64), nullable=True))
    op.create_index('ix_audit_events_chain_id', 'audit_events', ['chain', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_audit_events_chain_id', table_name='audit_events')
    with op.batch_alter_table('audit_events') as batch:
        for column in ('hash', 'prev_hash', 'seq', 'chain', 'client_address', 'request_id', 'role'):
            batch.drop_column(column)
    op.drop_table('audit_chain_heads')
    op.drop_index('ix_balance_adjustments_status_expires_at', table_name='balance_adjustments')
    op.drop_index(op.f('ix_balance_adjustments_tenant_id'), table_name='balance_adjustments')
    op.drop_table('balance_adjustments')
    op.drop_table('dispute_resolutions')
    op.drop_index(op.f('ix_dispute_attachments_dispute_id'), table_name='dispute_attachments')
    op.drop_table('dispute_attachments')
    op.drop_index(op.f('ix_dispute_comments_dispute_id'), table_name='dispute_comments')
    op.drop_table('dispute_comments')
    op.drop_index('ix_disputes_status_due_at', table_name='disputes')
    op.drop_index('ix_disputes_tenant_id_id', table_name='disputes')
    op.drop_table('disputes')
