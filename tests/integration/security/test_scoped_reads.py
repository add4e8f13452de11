"""Reads outside a transaction (`billing.core.db.reading`) run in autocommit, and each of
their statements carries row-level security's scope in its own round trip: the scope
holds for that statement, the one said last, and nothing after it."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from billing.core import scoping
from billing.core.db import reading

pytestmark = pytest.mark.integration

TENANTS = text("SELECT id FROM tenants WHERE id IN (:a, :b)")


def test_each_statement_of_a_reading_sees_its_scope(sessions, make_tenant):
    mine, theirs = make_tenant(), make_tenant()
    both = {"a": mine.tenant_id, "b": theirs.tenant_id}
    with sessions() as session:
        scoping.set_scope(session, scoping.Scope.tenant(mine.tenant_id))
        with reading(session):
            raw = session.connection().connection.dbapi_connection
            assert raw.autocommit  # no BEGIN, no ROLLBACK
            assert set(session.execute(TENANTS, both).scalars()) == {mine.tenant_id}
            assert set(session.execute(TENANTS, both).scalars()) == {mine.tenant_id}
            # the settings ended with the statement: the connection itself carries none
            with raw.cursor() as cursor:
                cursor.execute("SELECT current_setting('malipo.scope', true)")
                assert cursor.fetchone()[0] in ("", None)
                cursor.execute("SELECT count(*) FROM tenants")
                assert cursor.fetchone()[0] == 0
            scoping.set_scope(session, scoping.STAFF)  # mid-reading: from the next statement
            assert set(session.execute(TENANTS, both).scalars()) == set(both.values())
            scoping.set_scope(session, scoping.ANONYMOUS)
            assert session.execute(TENANTS, both).all() == []
        assert not session.in_transaction()
        # a transaction afterwards says the session's scope itself, as before
        with session.begin():
            assert not session.connection().connection.dbapi_connection.autocommit
            assert session.execute(TENANTS, both).all() == []
            scoping.set_scope(session, scoping.Scope.tenant(theirs.tenant_id))
            assert set(session.execute(TENANTS, both).scalars()) == {theirs.tenant_id}


def test_a_failed_statement_leaves_the_next_one_its_scope(sessions, make_tenant):
    mine = make_tenant()
    with sessions() as session:
        scoping.set_scope(session, scoping.Scope.tenant(mine.tenant_id))
        with reading(session), pytest.raises(Exception, match="division by zero"):
            session.execute(text("SELECT 1 / 0"))
        with reading(session):
            seen = session.execute(TENANTS, {"a": mine.tenant_id, "b": "x"}).scalars().all()
    assert seen == [mine.tenant_id]
