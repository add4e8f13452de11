"""invoices, credit notes, fiscal receipts, numbering counters, audit events

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 18:44:01.905406

On PostgreSQL, triggers keep what is final final: a finalised document's number,
parties, figures and signed receipt cannot change, its lines cannot be touched, it
cannot go back to draft or be deleted; audit events are append-only.
"""

from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'  # the lead re-chains at merge time
branch_labels = None
depends_on = None


POSTGRES_GUARDS = """
CREATE FUNCTION invoices_final() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status IN ('draft', 'void') THEN
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    END IF;
    IF TG_OP = 'DELETE' OR NEW.status IN ('draft', 'void')
       OR (NEW.number, NEW.number_text, NEW.series, NEW.tenant_id, NEW.kind, NEW.currency,
           NEW.issued_at, NEW.parties::text, NEW.net_minor, NEW.vat_minor, NEW.gross_minor,
           NEW.exchange_rate, NEW.original_invoice_id, NEW.reason, NEW.gc, NEW.rctvnum,
           NEW.receipt_body)
          IS DISTINCT FROM
          (OLD.number, OLD.number_text, OLD.series, OLD.tenant_id, OLD.kind, OLD.currency,
           OLD.issued_at, OLD.parties::text, OLD.net_minor, OLD.vat_minor, OLD.gross_minor,
           OLD.exchange_rate, OLD.original_invoice_id, OLD.reason, OLD.gc, OLD.rctvnum,
           OLD.receipt_body)
    THEN
        RAISE EXCEPTION 'invoice % is final: issue a credit note instead', OLD.number_text
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END $$;

CREATE FUNCTION invoice_lines_final() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM invoices
               WHERE id IN (OLD.invoice_id, NEW.invoice_id) AND status NOT IN ('draft', 'void'))
    THEN
        RAISE EXCEPTION 'the lines of a final invoice cannot change'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END $$;

CREATE TRIGGER invoices_final BEFORE UPDATE OR DELETE ON invoices
    FOR EACH ROW EXECUTE FUNCTION invoices_final();
CREATE TRIGGER invoice_lines_final BEFORE INSERT OR UPDATE OR DELETE ON invoice_lines
    FOR EACH ROW EXECUTE FUNCTION invoice_lines_final();
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
"""


def upgrade() -> None:
    op.create_table('audit_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=60), nullable=False),
    sa.Column('action', sa.String(length=60), nullable=False),
    sa.Column('subject_type', sa.String(length=40), nullable=False),
    sa.Column('subject_id', sa.String(length=60), nullable=False),
    sa.Column('tenant_id', sa.String(length=40), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events'))
    )
    op.create_index('ix_audit_events_subject', 'audit_events', ['subject_type', 'subject_id'], unique=False)
    op.create_table('invoice_series',
    sa.Column('code', sa.String(length=10), nullable=False),
    sa.Column('last_number', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_invoice_series'))
    )
    op.create_table('vfd_counters',
    sa.Column('efd_serial', sa.String(length=40), nullable=False),
    sa.Column('last_gc', sa.BigInteger(), nullable=False),
    sa.Column('last_day', sa.String(length=10), nullable=False),
    sa.Column('last_dc', sa.Integer(), nullable=False),
    sa.Column('drain_token', sa.String(length=16), nullable=True),
    sa.Column('drain_until', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('efd_serial', name=op.f('pk_vfd_counters'))
    )
    op.create_table('invoices',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('tenant_id', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.Enum('invoice', 'credit_note', name='document_kind', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('source', sa.Enum('postpaid', 'topup', 'credit', name='invoice_source', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('status', sa.Enum('draft', 'void', 'finalised', 'fiscalised', 'sent', name='invoice_status', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=True),
    sa.Column('period_end', sa.Date(), nullable=True),
    sa.Column('topup_id', sa.String(length=40), nullable=True),
    sa.Column('original_invoice_id', sa.String(length=40), nullable=True),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('prices_include_vat', sa.Boolean(), nullable=False),
    sa.Column('exchange_rate', sa.Numeric(precision=18, scale=6), nullable=True),
    sa.Column('rate_source', sa.String(length=100), nullable=True),
    sa.Column('rate_on', sa.Date(), nullable=True),
    sa.Column('series', sa.String(length=10), nullable=True),
    sa.Column('number', sa.BigInteger(), nullable=True),
    sa.Column('number_text', sa.String(length=30), nullable=True),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('parties', sa.JSON(), nullable=True),
    sa.Column('net_minor', sa.BigInteger(), nullable=False),
    sa.Column('vat_minor', sa.BigInteger(), nullable=False),
    sa.Column('gross_minor', sa.BigInteger(), nullable=False),
    sa.Column('fiscal_status', sa.Enum('not_due', 'pending', 'acknowledged', 'not_fiscalised', name='fiscal_status', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('efd_serial', sa.String(length=40), nullable=True),
    sa.Column('gc', sa.BigInteger(), nullable=True),
    sa.Column('dc', sa.Integer(), nullable=True),
    sa.Column('znum', sa.String(length=8), nullable=True),
    sa.Column('rctvnum', sa.String(length=40), nullable=True),
    sa.Column('receipt_time', sa.String(length=8), nullable=True),
    sa.Column('receipt_body', sa.LargeBinary(), nullable=True),
    sa.Column('fiscal_attempts', sa.Integer(), nullable=False),
    sa.Column('last_ack_code', sa.Integer(), nullable=True),
    sa.Column('last_fiscal_error', sa.String(length=500), nullable=True),
    sa.Column('fiscalised_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('pdf', sa.LargeBinary(), nullable=True),
    sa.Column('pdf_version', sa.Integer(), nullable=False),
    sa.Column('pdf_has_ack', sa.Boolean(), nullable=False),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('delivered_to', sa.String(length=254), nullable=True),
    sa.Column('delivery_attempts', sa.Integer(), nullable=False),
    sa.Column('last_delivery_error', sa.String(length=500), nullable=True),
    sa.Column('created_by', sa.String(length=60), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['original_invoice_id'], ['invoices.id'], name=op.f('fk_invoices_original_invoice_id_invoices')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_invoices_tenant_id_tenants')),
    sa.ForeignKeyConstraint(['topup_id'], ['topups.id'], name=op.f('fk_invoices_topup_id_topups')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoices')),
    sa.UniqueConstraint('efd_serial', 'gc', name=op.f('uq_invoices_efd_serial_gc')),
    sa.UniqueConstraint('series', 'number', name=op.f('uq_invoices_series_number')),
    sa.UniqueConstraint('topup_id', name=op.f('uq_invoices_topup_id'))
    )
    op.create_index('ix_invoices_fiscal_queue', 'invoices', ['efd_serial', 'gc'], unique=False, postgresql_where=sa.text("fiscal_status = 'pending'"), sqlite_where=sa.text("fiscal_status = 'pending'"))
    op.create_index(op.f('ix_invoices_tenant_id'), 'invoices', ['tenant_id'], unique=False)
    op.create_index('uq_invoices_postpaid_period', 'invoices', ['tenant_id', 'period_start', 'period_end'], unique=True, postgresql_where=sa.text("source = 'postpaid'"), sqlite_where=sa.text("source = 'postpaid'"))
    op.create_table('invoice_lines',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('invoice_id', sa.String(length=40), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.String(length=60), nullable=False),
    sa.Column('description', sa.String(length=300), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=20, scale=6), nullable=False),
    sa.Column('unit', sa.String(length=20), nullable=False),
    sa.Column('unit_price', sa.Numeric(precision=28, scale=10), nullable=False),
    sa.Column('vat_code', sa.String(length=1), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_invoice_lines_invoice_id_invoices')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoice_lines'))
    )
    op.create_index(op.f('ix_invoice_lines_invoice_id'), 'invoice_lines', ['invoice_id'], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRES_GUARDS)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS invoices_final ON invoices")
        op.execute("DROP TRIGGER IF EXISTS invoice_lines_final ON invoice_lines")
        op.execute("DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events")
        op.execute("DROP FUNCTION IF EXISTS invoices_final, invoice_lines_final")
    op.drop_index(op.f('ix_invoice_lines_invoice_id'), table_name='invoice_lines')
    op.drop_table('invoice_lines')
    op.drop_index('uq_invoices_postpaid_period', table_name='invoices', postgresql_where=sa.text("source = 'postpaid'"), sqlite_where=sa.text("source = 'postpaid'"))
    op.drop_index(op.f('ix_invoices_tenant_id'), table_name='invoices')
    op.drop_index('ix_invoices_fiscal_queue', table_name='invoices', postgresql_where=sa.text("fiscal_status = 'pending'"), sqlite_where=sa.text("fiscal_status = 'pending'"))
    op.drop_table('invoices')
    op.drop_table('vfd_counters')
    op.drop_table('invoice_series')
    op.drop_index('ix_audit_events_subject', table_name='audit_events')
    op.drop_table('audit_events')
