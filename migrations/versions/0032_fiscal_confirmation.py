"""Fiscal receipts a person confirmed against TRA: who, when, and TRA's code they read

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-07 06:40:00

- invoices.fiscal_confirmed_by, fiscal_confirmed_at: the staff user who confirmed that
  TRA holds a receipt whose answer we never recorded (its resend refused as a duplicate),
  and when. NULL for every receipt TRA acknowledged itself (ACK 0).
- invoices.tra_verification: the verification code (RCTVNUM, with the receipt time when
  given) the person read on TRA's verification page for it.
"""

from alembic import op
import sqlalchemy as sa


revision = '0032'
down_revision = '0031'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('invoices', sa.Column('fiscal_confirmed_by', sa.String(length=60), nullable=True))
    op.add_column('invoices', sa.Column('fiscal_confirmed_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('invoices', sa.Column('tra_verification', sa.String(length=60), nullable=True))


def downgrade():
    op.drop_column('invoices', 'tra_verification')
    op.drop_column('invoices', 'fiscal_confirmed_at')
    op.drop_column('invoices', 'fiscal_confirmed_by')
