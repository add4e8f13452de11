"""usage records: the key columns compare bytewise (COLLATE "C")

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 17:30:00

`source_system`, `source_id` and `tenant_id` are identifiers, never text for people to
sort, and every query compares them for equality (or a tenant's rows by time). Under
the database's default collation (C.UTF-8 here, a locale elsewhere) each btree
comparison of the unique key and of the tenant index goes through the C library's
strcoll; under "C" it is a memcmp. Measured on 100,000 imported rows: the unique key
cost 0.62 s of backend CPU to maintain, 0.19 s in "C". Equality is the same in both (both
are deterministic), so uniqueness and every lookup keep their meaning, and the order of
"C" is that of code points, as C.UTF-8's. PostgreSQL only: SQLite compares bytes already.
"""

from alembic import op


revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

COLUMNS = (("source_system", 40), ("source_id", 200), ("tenant_id", 40))


def _alter(collation: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for column, length in COLUMNS:
        op.execute(
            f"ALTER TABLE usage_records ALTER COLUMN {column} TYPE varchar({length})"
            f' COLLATE "{collation}"'
        )


def upgrade() -> None:
    _alter("C")


def downgrade() -> None:
    _alter("default")
