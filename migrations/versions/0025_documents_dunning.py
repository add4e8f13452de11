"""documents an accountant accepts, and dunning

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07 00:40:00

- invoice_lines.service, zone, adjustment, adjusts_month: what a usage line bills, so
  each document names it in its own language; vat_minor: a credit note line's VAT,
  capped at what the invoice charged.
- invoices.original_released_at/_via, pdf_is_copy, copies_issued: VAT Act s.86(4), one
  original, every later rendering or download a COPY.
- invoices.due_on, reminders_sent; tenants.payment_terms_days, overdue_since; and
  dunning_steps, each reminder, restriction and lifting taken once.
"""

from alembic import op
import sqlalchemy as sa


revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
STEPS = ("reminder", "restricted", "lifted")


def upgrade() -> None:
    with op.batch_alter_table('invoice_lines') as batch:
        batch.add_column(sa.Column('vat_minor', sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column('service', sa.String(length=40), nullable=True))
        batch.add_column(sa.Column('zone', sa.String(length=40), nullable=True))
        batch.add_column(sa.Column('adjustment', sa.String(length=10), nullable=True))
        batch.add_column(sa.Column('adjusts_month', sa.String(length=7), nullable=True))
    with op.batch_alter_table('invoices') as batch:
        batch.add_column(sa.Column('original_released_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('original_released_via', sa.String(length=10), nullable=True))
        batch.add_column(sa.Column('pdf_is_copy', sa.Boolean(), server_default='false', nullable=False))
        batch.add_column(sa.Column('copies_issued', sa.Integer(), server_default='0', nullable=False))
        batch.add_column(sa.Column('due_on', sa.Date(), nullable=True))
        batch.add_column(sa.Column('reminders_sent', sa.Integer(), server_default='0', nullable=False))
    # Documents e-mailed before this migration: their original has left already.
    op.execute("UPDATE invoices SET original_released_at = delivered_at, "
               "original_released_via = 'email' WHERE delivered_at IS NOT NULL")
    with op.batch_alter_table('tenants') as batch:
        batch.add_column(sa.Column('payment_terms_days', sa.Integer(), server_default='30', nullable=False))
        batch.add_column(sa.Column('overdue_since', sa.DateTime(timezone=True), nullable=True))
    op.create_table('dunning_steps',
    sa.Column('id', _ID, autoincrement=True, nullable=False),
    sa.Column('tenant_id', sa.String(length=40), nullable=False),
    sa.Column('invoice_id', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.Enum(*STEPS, name='dunning_step', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_dunning_steps_invoice_id_invoices')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_dunning_steps_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dunning_steps')),
    sa.UniqueConstraint('invoice_id', 'kind', 'level', name=op.f('uq_dunning_steps_invoice_id_kind_level')),
    )
    op.create_index(op.f('ix_dunning_steps_invoice_id'), 'dunning_steps', ['invoice_id'], unique=False)
    op.create_index(op.f('ix_dunning_steps_tenant_id'), 'dunning_steps', ['tenant_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_dunning_steps_tenant_id'), table_name='dunning_steps')
    op.drop_index(op.f('ix_dunning_steps_invoice_id'), table_name='dunning_steps')
    op.drop_table('dunning_steps')
    with op.batch_alter_table('tenants') as batch:
        batch.drop_column('overdue_since')
        batch.drop_column('payment_terms_days')
    with op.batch_alter_table('invoices') as batch:
        for name in ('reminders_sent', 'due_on', 'copies_issued', 'pdf_is_copy',
                     'original_released_via', 'original_released_at'):
            batch.drop_column(name)
    with op.batch_alter_table('invoice_lines') as batch:
        for name in ('adjusts_month', 'adjustment', 'zone', 'service', 'vat_minor'):
            batch.drop_column(name)
