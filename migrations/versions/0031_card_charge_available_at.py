"""Card charges: when Stripe made the charge's money available (its balance
transaction's `available_on`)

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-07 04:30:00

- card_charges.available_at: the payout report's `not_in_payout` rule asks whether an
  automatic payout made after this time lacks the charge; charges booked before this
  column existed keep NULL and are never flagged. Indexed: each payout asks for a range.
"""

from alembic import op
import sqlalchemy as sa


revision = '0031'
down_revision = '0030'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('card_charges', sa.Column('available_at', sa.DateTime(timezone=True), nullable=True))
    op.create_index('ix_card_charges_available_at', 'card_charges', ['available_at'])


def downgrade():
    op.drop_index('ix_card_charges_available_at', table_name='card_charges')
    op.drop_column('card_charges', 'available_at')
