"""row-level security on every tenant-owned table, enabled and forced

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-07 00:35:00

The tables are found when this runs, not listed: every table of the schema with a
`tenant_id` column (other migrations add such tables), plus the tables owned by a
tenant another way (`tenants` itself; ledger entries through their account, invoice
lines through their invoice). FORCE makes the policies bind the owner too. The policy
reads the transaction's settings `malipo.scope` and `malipo.tenant_id`
(billing.core.scoping):

- system and staff scopes see every row; a tenant scope its own tenant's rows only,
  and writes only rows of its own tenant (WITH CHECK);
- rows without a tenant (platform ledger accounts, staff keys, staff audit events) are
  seen by the system and staff scopes only;
- the credentials a caller presents (api_keys by prefix; the portal's one-time links and
  browser sessions by their token's hash) also answer the anonymous scope, so they can
  be found before anyone is known; once found, the caller's own scope is set.

SQLite has no row-level security: there the application's scoping is all there is.
Keep this migration last in the chain: tables created after it are not covered (the
test `test_every_table_with_a_tenant_id_has_a_forced_policy` says which).
"""

from alembic import op
import sqlalchemy as sa


revision = '0029'
down_revision = '0028'
branch_labels = None
depends_on = None

SCOPE = "current_setting('malipo.scope', true)"
TENANT = "current_setting('malipo.tenant_id', true)"
EVERY_ROW = f"{SCOPE} IN ('system', 'staff')"
POLICY = "tenant_isolation"
# Looked up by what the caller presents, before the caller is known.
FOUND_BEFORE_CALLER = ("api_keys", "portal_links", "web_sessions")


def _own(column: str) -> str:
    return f"({EVERY_ROW} OR ({SCOPE} = 'tenant' AND {column} = {TENANT}))"


def tenant_tables(bind) -> list[str]:
    """Tables (plain or partitioned, not partitions) of the schema with a tenant_id."""
    return list(bind.execute(sa.text(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped"
        " WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT c.relispartition"
        " ORDER BY 1"
    )).scalars())


def _protect(table: str, using: str) -> None:
    op.execute(f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY')
    op.execute(f'ALTER TABLE "{table}" FORCE ROW LEVEL SECURITY')
    op.execute(f'DROP POLICY IF EXISTS {POLICY} ON "{table}"')
    op.execute(f'CREATE POLICY {POLICY} ON "{table}" USING {using} WITH CHECK {using}')


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    for table in tenant_tables(bind):
        using = _own("tenant_id")
        if table in FOUND_BEFORE_CALLER:
            using = f"({using} OR {SCOPE} = 'anonymous')"
        _protect(table, using)
        for partition in _partitions(bind, table):
            _protect(partition, using)
    _protect("tenants", _own("id"))
    # Owned through another row: visible when that row is (its own policy decides).
    for table, parent, key in (
        ("ledger_entries", "ledger_accounts", "account_id"),
        ("invoice_lines", "invoices", "invoice_id"),
    ):
        _protect(table, f"({EVERY_ROW} OR EXISTS (SELECT 1 FROM {parent} p WHERE p.id = {key}))")


def _partitions(bind, table: str) -> list[str]:
    return list(bind.execute(sa.text(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
        " JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = :t"
    ), {"t": table}).scalars())


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    tables = bind.execute(sa.text(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = current_schema() AND c.relrowsecurity"
    )).scalars()
    for table in list(tables):
        op.execute(f'DROP POLICY IF EXISTS {POLICY} ON "{table}"')
        op.execute(f'ALTER TABLE "{table}" NO FORCE ROW LEVEL SECURITY')
        op.execute(f'ALTER TABLE "{table}" DISABLE ROW LEVEL SECURITY')
