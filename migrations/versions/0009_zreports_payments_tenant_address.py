"""daily Z reports, postpaid invoice payments, tenants' postal address and language

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 21:40:00

- vfd_zreports: one signed <ZREPORT> per VFD and day, resent unchanged until ACK 0.
- tenants: street, P.O. Box, city, country (ISO 3166-1 alpha-2, TZ), language (en|sw, en).
- invoice_payments: a customer paying a postpaid invoice (clearing → receivable), and
  on invoices what was paid: payment_status, amount_paid_minor, paid_at.
- audit_events: an index for a tenant's trail, newest first (GET /v1/audit-events).
"""

from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('vfd_zreports',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('efd_serial', sa.String(length=40), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('status', sa.Enum('pending', 'acknowledged', name='zreport_status', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('body', sa.LargeBinary(), nullable=False),
    sa.Column('tickets', sa.Integer(), nullable=False),
    sa.Column('daily_total_minor', sa.BigInteger(), nullable=False),
    sa.Column('gross_minor', sa.BigInteger(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_ack_code', sa.Integer(), nullable=True),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vfd_zreports')),
    sa.UniqueConstraint('efd_serial', 'day', name=op.f('uq_vfd_zreports_efd_serial_day'))
    )

    with op.batch_alter_table('tenants') as batch:
        batch.add_column(sa.Column('street', sa.String(length=200), nullable=True))
        batch.add_column(sa.Column('po_box', sa.String(length=20), nullable=True))
        batch.add_column(sa.Column('city', sa.String(length=100), nullable=True))
        batch.add_column(sa.Column('country', sa.String(length=2), server_default='TZ', nullable=False))
        batch.add_column(sa.Column('language', sa.Enum('en', 'sw', name='document_language', native_enum=False, create_constraint=True, length=20), server_default='en', nullable=False))
    op.create_table('invoice_payments',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('invoice_id', sa.String(length=40), nullable=False),
    sa.Column('tenant_id', sa.String(length=40), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('method', sa.Enum('bank_transfer', 'mobile_money', 'cheque', 'cash', name='payment_method', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('reference', sa.String(length=100), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ledger_transaction_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('recorded_by', sa.String(length=60), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_invoice_payments_invoice_id_invoices')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_invoice_payments_tenant_id_tenants')),
    sa.ForeignKeyConstraint(['ledger_transaction_id'], ['ledger_transactions.id'], name=op.f('fk_invoice_payments_ledger_transaction_id_ledger_transactions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoice_payments')),
    sa.UniqueConstraint('method', 'reference', name=op.f('uq_invoice_payments_method_reference'))
    )
    op.create_index(op.f('ix_invoice_payments_invoice_id'), 'invoice_payments', ['invoice_id'], unique=False)
    with op.batch_alter_table('invoices') as batch:
        batch.add_column(sa.Column('payment_status', sa.Enum('unpaid', 'partly_paid', 'paid', name='payment_status', native_enum=False, create_constraint=True, length=20), nullable=True))
        batch.add_column(sa.Column('amount_paid_minor', sa.BigInteger(), server_default='0', nullable=False))
        batch.add_column(sa.Column('paid_at', sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE invoices SET payment_status = 'unpaid' WHERE source = 'postpaid' AND status IN ('finalised', 'fiscalised', 'sent')")
    op.execute("UPDATE invoices SET payment_status = 'paid', amount_paid_minor = gross_minor, paid_at = issued_at WHERE source = 'topup' AND status IN ('finalised', 'fiscalised', 'sent')")
    op.create_index('ix_audit_events_tenant_id_id', 'audit_events', ['tenant_id', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_audit_events_tenant_id_id', table_name='audit_events')
    with op.batch_alter_table('invoices') as batch:
        for column in ('paid_at', 'amount_paid_minor', 'payment_status'):
            batch.drop_column(column)
    op.drop_index(op.f('ix_invoice_payments_invoice_id'), table_name='invoice_payments')
    op.drop_table('invoice_payments')
    with op.batch_alter_table('tenants') as batch:
        for column in ('language', 'country', 'city', 'po_box', 'street'):
            batch.drop_column(column)
    op.drop_table('vfd_zreports')
