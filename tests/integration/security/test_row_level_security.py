"""Row-level security: every tenant-owned table has a forced policy, the service's role
cannot step around it, and a transaction's scope is its own (never the connection's)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from billing.core import scoping
from billing.core.db import make_engine
from tests.conftest import OWNER_ROLE, SERVICE_ROLE

pytestmark = pytest.mark.integration

UNPROTECTED = """
SELECT c.relname FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
WHERE c.relkind IN ('r', 'p')
  AND NOT (c.relrowsecurity AND c.relforcerowsecurity
           AND EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid))
ORDER BY 1
"""


def unprotected(connection) -> list[str]:
    return list(connection.execute(text(UNPROTECTED)).scalars())


@pytest.fixture
def owner(owner_database_url):
    engine = make_engine(owner_database_url)
    yield engine
    engine.dispose()


def test_every_table_with_a_tenant_id_has_a_forced_policy(owner):
    with owner.connect() as connection:
        assert unprotected(connection) == []
        count = connection.execute(
            text("SELECT count(*) FROM pg_class WHERE relforcerowsecurity")
        ).scalar_one()
    assert count >= 20  # the tables are really there (and tenants, ledger_entries)


def test_the_checker_names_a_table_added_without_a_policy(owner):
    with owner.connect() as connection, connection.begin() as transaction:
        connection.execute(text("CREATE TABLE planted_notes (id int, tenant_id text)"))
        assert unprotected(connection) == ["planted_notes"]
        transaction.rollback()


def test_the_service_role_owns_nothing_and_cannot_bypass(owner, database_url):
    with owner.connect() as connection:
        roles = connection.execute(
            text("SELECT rolname, rolsuper, rolbypassrls FROM pg_roles WHERE rolname IN (:o, :s)"),
            {"o": OWNER_ROLE, "s": SERVICE_ROLE},
        ).all()
        owned = connection.execute(
            text("SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tableowner = :s"),
            {"s": SERVICE_ROLE},
        ).scalar_one()
    assert sorted(roles) == sorted([(OWNER_ROLE, False, False), (SERVICE_ROLE, False, False)])
    assert owned == 0
    service = make_engine(database_url)
    try:
        with service.connect() as connection:
            assert connection.execute(text("SELECT current_user")).scalar_one() == SERVICE_ROLE
    finally:
        service.dispose()


def test_a_scope_binds_one_transaction_and_a_tenant_writes_only_its_own(
    sessions, make_tenant, database_url
):
    mine, theirs = make_tenant(), make_tenant()
    with sessions() as session:
        scoping.set_scope(session, scoping.Scope.tenant(mine.tenant_id))
        with session.begin():
            seen = set(session.execute(text("SELECT id FROM tenants")).scalars())
            assert seen == {mine.tenant_id}
            with pytest.raises(Exception, match="row-level security"), session.begin_nested():
                session.execute(
                    text("UPDATE api_keys SET label = 'x' WHERE tenant_id = :t RETURNING id"),
                    {"t": mine.tenant_id},
                )
                session.execute(
                    text(
                        "INSERT INTO audit_events (at, actor, action, subject_type, subject_id,"
                        " tenant_id, detail) VALUES (now(), 'x', 'x', 'x', 'x', :t, '{}')"
                    ),
                    {"t": theirs.tenant_id},
                )
        # the next transaction on the same connection starts from the session's scope
        # again, and a bare connection (no scope sent) sees no tenant at all
    service = make_engine(database_url, pool_size=1, max_overflow=0)
    try:
        with service.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM tenants")).scalar_one() == 0
            assert connection.execute(text("SELECT count(*) FROM topups")).scalar_one() == 0
    finally:
        service.dispose()
    with sessions() as session:  # the system scope, as workers and the CLI run
        count = session.execute(
            text("SELECT count(*) FROM tenants WHERE id IN (:a, :b)"),
            {"a": mine.tenant_id, "b": theirs.tenant_id},
        ).scalar_one()
    assert count == 2
