"""message status lifecycles; reservations held by authorisations

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07 00:45:00

- usage_records.delivery_status holds every status a message has reported so far
  (sorted, comma-separated), not the last one: 20 characters become 200.
- reservations: what an authorisation answered, held against the wallet, the credit
  limit and the bundles until the usage is rated (settled) or it expires.
"""

from alembic import op
import sqlalchemy as sa


revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
STATUSES = ("open", "settled", "released", "expired")
OPEN = sa.text("status = 'open'")
OPEN_SESSION = sa.text("status = 'open' AND session_id IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table('usage_records') as batch:
        batch.alter_column(
            'delivery_status', existing_type=sa.String(length=20), type_=sa.String(length=200),
            existing_nullable=False,
        )
    op.create_table('reservations',
    sa.Column('id', _ID, autoincrement=True, nullable=False),
    sa.Column('tenant_id', sa.String(length=40), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('service', sa.String(length=30), nullable=False),
    sa.Column('destination', sa.String(length=40), nullable=False),
    sa.Column('session_id', sa.String(length=200), nullable=True),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('seconds', sa.Integer(), nullable=True),
    sa.Column('messages', sa.Integer(), nullable=True),
    sa.Column('bundle_draws', sa.JSON(), nullable=True),
    sa.Column('status', sa.Enum(*STATUSES, name='reservation_status', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('usage_id', _ID, nullable=True),
    sa.CheckConstraint('amount_minor >= 0', name=op.f('ck_reservations_not_negative')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_reservations_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reservations'))
    )
    op.create_index('ix_reservations_open', 'reservations', ['tenant_id', 'expires_at'], unique=False, postgresql_where=OPEN, sqlite_where=OPEN)
    op.create_index('uq_reservations_open_session', 'reservations', ['tenant_id', 'session_id'], unique=True, postgresql_where=OPEN_SESSION, sqlite_where=OPEN_SESSION)


def downgrade() -> None:
    op.drop_index('uq_reservations_open_session', table_name='reservations')
    op.drop_index('ix_reservations_open', table_name='reservations')
    op.drop_table('reservations')
    with op.batch_alter_table('usage_records') as batch:
        batch.alter_column(
            'delivery_status', existing_type=sa.String(length=200), type_=sa.String(length=20),
            existing_nullable=False,
        )
