"""invoices: a voided postpaid draft no longer holds its (tenant, period)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 07:20:00

The unique index that makes invoice runs idempotent counted voided drafts too, so once
finance voided a period's draft that period could never be drafted again. It now covers
live invoices only (status other than 'void').
"""

from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

NAME = 'uq_invoices_postpaid_period'
COLUMNS = ['tenant_id', 'period_start', 'period_end']
LIVE = "source = 'postpaid' AND status <> 'void'"
ANY = "source = 'postpaid'"


def _index(where: str) -> None:
    op.create_index(NAME, 'invoices', COLUMNS, unique=True,
                    postgresql_where=sa.text(where), sqlite_where=sa.text(where))


def upgrade() -> None:
    op.drop_index(NAME, table_name='invoices')
    _index(LIVE)


def downgrade() -> None:
    op.drop_index(NAME, table_name='invoices')
    _index(ANY)
