"""the tenant portal and the back office: portal links, browser sessions, staff sign-in

Revision ID: 0023
Revises: 0021
Create Date: 2026-12-07 00:20:00

- portal_links: one-time links into the tenant portal (token kept as SHA-256).
- web_sessions: server-side browser sessions of the portal and the back office.
- staff_credentials, staff_recovery_codes, staff_signin_attempts: password (argon2id),
  sealed TOTP secret, hashed recovery codes, lockout and the rate limit by address.
"""

from alembic import op
import sqlalchemy as sa


revision = '0023'
down_revision = '0021'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _role() -> sa.Enum:
    return sa.Enum('admin', 'finance', 'tenant_admin', 'tenant_user', name='role', native_enum=False, create_constraint=True, length=20)


def _when(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table('portal_links',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('token_sha256', sa.String(length=64), nullable=False),
    sa.Column('tenant_id', sa.String(length=40), nullable=False),
    sa.Column('user_email', sa.String(length=254), nullable=False),
    sa.Column('role', _role(), nullable=False),
    sa.Column('return_url', sa.String(length=500), nullable=True),
    sa.Column('created_by', sa.String(length=40), nullable=False),
    _when('created_at', False), _when('expires_at', False), _when('used_at'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_portal_links_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_portal_links')),
    sa.UniqueConstraint('token_sha256', name=op.f('uq_portal_links_token_sha256'))
    )
    op.create_index(op.f('ix_portal_links_tenant_id'), 'portal_links', ['tenant_id'], unique=False)
    op.create_table('web_sessions',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('token_sha256', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('role', _role(), nullable=False),
    sa.Column('tenant_id', sa.String(length=40), nullable=True),
    sa.Column('staff_user_id', sa.String(length=40), nullable=True),
    sa.Column('user_email', sa.String(length=254), nullable=False),
    sa.Column('return_url', sa.String(length=500), nullable=True),
    _when('created_at', False), _when('last_seen_at', False), _when('expires_at', False),
    _when('reauth_at'), _when('revoked_at'),
    sa.CheckConstraint("(kind = 'portal' AND tenant_id IS NOT NULL AND staff_user_id IS NULL) OR (kind = 'staff' AND staff_user_id IS NOT NULL AND tenant_id IS NULL)", name=op.f('ck_web_sessions_one_owner_per_kind')),
    sa.ForeignKeyConstraint(['staff_user_id'], ['staff_users.id'], name=op.f('fk_web_sessions_staff_user_id_staff_users')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_web_sessions_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_web_sessions')),
    sa.UniqueConstraint('token_sha256', name=op.f('uq_web_sessions_token_sha256'))
    )
    op.create_index(op.f('ix_web_sessions_tenant_id'), 'web_sessions', ['tenant_id'], unique=False)
    op.create_index(op.f('ix_web_sessions_staff_user_id'), 'web_sessions', ['staff_user_id'], unique=False)
    op.create_table('staff_credentials',
    sa.Column('staff_user_id', sa.String(length=40), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('totp_sealed', sa.Text(), nullable=False),
    sa.Column('last_totp_step', sa.BigInteger(), nullable=False),
    sa.Column('failed_attempts', sa.Integer(), nullable=False),
    _when('locked_until'), _when('updated_at', False),
    sa.ForeignKeyConstraint(['staff_user_id'], ['staff_users.id'], name=op.f('fk_staff_credentials_staff_user_id_staff_users')),
    sa.PrimaryKeyConstraint('staff_user_id', name=op.f('pk_staff_credentials'))
    )
    op.create_table('staff_recovery_codes',
    sa.Column('id', _ID, autoincrement=True, nullable=False),
    sa.Column('staff_user_id', sa.String(length=40), nullable=False),
    sa.Column('code_sha256', sa.String(length=64), nullable=False),
    _when('used_at'),
    sa.ForeignKeyConstraint(['staff_user_id'], ['staff_users.id'], name=op.f('fk_staff_recovery_codes_staff_user_id_staff_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_recovery_codes')),
    sa.UniqueConstraint('code_sha256', name=op.f('uq_staff_recovery_codes_code_sha256'))
    )
    op.create_index(op.f('ix_staff_recovery_codes_staff_user_id'), 'staff_recovery_codes', ['staff_user_id'], unique=False)
    op.create_table('staff_signin_attempts',
    sa.Column('id', _ID, autoincrement=True, nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('client_address', sa.String(length=64), nullable=False),
    sa.Column('succeeded', sa.Boolean(), nullable=False),
    _when('at', False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_signin_attempts'))
    )
    op.create_index('ix_staff_signin_attempts_address_at', 'staff_signin_attempts', ['client_address', 'at'], unique=False)


def downgrade() -> None:
    op.drop_table('staff_signin_attempts')
    op.drop_table('staff_recovery_codes')
    op.drop_table('staff_credentials')
    op.drop_table('web_sessions')
    op.drop_table('portal_links')
