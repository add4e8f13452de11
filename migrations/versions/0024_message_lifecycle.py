"""message status lifecycles: the statuses a message has shown

Revision ID: 0024
Revises: 0018
Create Date: 2026-12-07 00:45:00

- usage_records.delivery_status holds every status a message has reported so far
  (sorted, comma-separated), not the last one: 20 characters become 200.
"""

from alembic import op
import sqlalchemy as sa


revision = '0024'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('usage_records') as batch:
        batch.alter_column(
            'delivery_status', existing_type=sa.String(length=20), type_=sa.String(length=200),
            existing_nullable=False,
        )


def downgrade() -> None:
    with op.batch_alter_table('usage_records') as batch:
        batch.alter_column(
            'delivery_status', existing_type=sa.String(length=200), type_=sa.String(length=20),
            existing_nullable=False,
        )
