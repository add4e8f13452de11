"""periodic leases: each cluster-wide periodic task runs once a period, not once a worker

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07 00:40:00

- periodic_leases: one row per periodic task; a worker's ticker runs the task only if it
  moves `due_at` forward itself (a conditional UPDATE), so with M workers the sweeper,
  the fiscal sweep, the Z report and the usage retry still run once a period. `runs`
  counts the periods claimed, `last_run_by` says which process took the last one.
"""

from alembic import op
import sqlalchemy as sa


revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'periodic_leases',
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('runs', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('last_run_by', sa.String(length=200), nullable=True),
        sa.Column('last_run_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_periodic_leases')),
    )


def downgrade() -> None:
    op.drop_table('periodic_leases')
