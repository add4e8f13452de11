"""A session's BEGIN and its scope go as one simple query through libpq
(billing.core.scoping._begin_saying): the settings arrive exactly as said, psycopg's own
transaction handling carries on, and a connection that asks for more than a plain BEGIN
takes the general path."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from billing.core import scoping
from billing.core.db import make_engine, make_session_factory

pytestmark = pytest.mark.integration

SETTINGS = "SELECT current_setting('malipo.scope', true), current_setting('malipo.tenant_id', true)"


@pytest.fixture
def scoped(database_url):
    engine = make_engine(database_url, pool_size=1, max_overflow=0)
    factory = make_session_factory(engine)
    scoping.install(factory)
    yield factory
    engine.dispose()


@pytest.mark.parametrize(
    "tenant_id", ["ten_plain", "ten_o'quote", "ten_back\\slash", "ten_'); SELECT 1; --"]
)
def test_the_scope_arrives_exactly_as_said(scoped, tenant_id):
    with scoped() as session:
        scoping.set_scope(session, scoping.Scope.tenant(tenant_id))
        with session.begin():
            assert tuple(session.execute(text(SETTINGS)).one()) == ("tenant", tenant_id)


def test_psycopg_sends_no_begin_of_its_own_and_rollback_still_undoes(scoped):
    notices = []
    with scoped() as session:
        with scoped.kw["bind"].connect() as connection:  # the pool's one connection, idle
            raw = connection.connection.driver_connection
            raw.add_notice_handler(lambda notice: notices.append(notice.message_primary))
        raw = session.connection().connection.driver_connection
        session.execute(text("CREATE TEMP TABLE scope_probe (n int) ON COMMIT DROP"))
        session.execute(text("INSERT INTO scope_probe VALUES (1)"))
        assert raw.info.transaction_status.name == "INTRANS"
        # A second BEGIN would have drawn "there is already a transaction in progress".
        assert notices == []
        session.rollback()
        assert raw.info.transaction_status.name == "IDLE"
        with session.begin():
            missing = session.execute(text("SELECT to_regclass('pg_temp.scope_probe')"))
            assert missing.scalar() is None
            # The settings were local to the transaction that said them.
            assert tuple(session.execute(text(SETTINGS)).one()) == ("system", "")


def test_a_connection_asking_for_an_isolation_level_keeps_it(scoped):
    with scoped() as session:
        session.connection(execution_options={"isolation_level": "SERIALIZABLE"})
        level = session.execute(text("SHOW transaction_isolation")).scalar()
        assert (level, session.execute(text(SETTINGS)).one()[0]) == ("serializable", "system")
        session.rollback()


def test_after_an_autocommit_read_the_begin_still_carries_the_scope(scoped, monkeypatch):
    """SQLAlchemy sets the isolation level explicitly on a pooled connection an autocommit
    read has used (resetting it): the BEGIN then names the level, and still goes with the
    scope in one simple query (it fell back to two round trips before)."""
    said = []
    begin_saying = scoping._begin_saying

    def spied(raw, scope):
        said.append(begin_saying(raw, scope))
        return said[-1]

    monkeypatch.setattr(scoping, "_begin_saying", spied)
    with scoped() as session:
        session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        session.execute(text("SELECT 1"))
        session.rollback()  # the connection back to the pool, its level reset
    with scoped() as session:
        scoping.set_scope(session, scoping.Scope.tenant("ten_after_read"))
        with session.begin():
            raw = session.connection().connection.driver_connection
            assert raw.isolation_level is not None  # what made the plain BEGIN decline
            assert tuple(session.execute(text(SETTINGS)).one()) == ("tenant", "ten_after_read")
            level = session.execute(text("SHOW transaction_isolation")).scalar()
    assert said == [True] and level == "read committed"


@pytest.mark.parametrize(
    ("options", "level", "read_only"),
    [
        ({"isolation_level": "SERIALIZABLE"}, "serializable", "off"),
        ({"isolation_level": "REPEATABLE READ"}, "repeatable read", "off"),
        ({"postgresql_readonly": True}, "read committed", "on"),
    ],
)
def test_the_begin_says_what_the_connection_asks(scoped, options, level, read_only):
    with scoped() as session:
        scoping.set_scope(session, scoping.Scope.tenant("ten_levels"))
        session.connection(execution_options=options)
        said = session.execute(
            text(
                "SELECT current_setting('transaction_isolation'),"
                " current_setting('transaction_read_only'),"
                " current_setting('malipo.tenant_id', true)"
            )
        ).one()
        assert tuple(said) == (level, read_only, "ten_levels")
        session.rollback()
