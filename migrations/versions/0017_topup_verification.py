"""top-ups: what proved each credit

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 21:40:00

- topups.verification: what proved a credit (`initiate`, `status_query`,
  `callback:signature`, `callback:source`) and, for each of amount, currency and payer,
  whether the provider itself reported it (`matched`) or not (`not_reported`), so a check
  the operator made impossible is on record. NULL for top-ups credited before it.
"""

from alembic import op
import sqlalchemy as sa


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('topups', sa.Column('verification', sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column('topups', 'verification')
