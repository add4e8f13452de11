"""Pooled connections: pinged only after sitting idle, and a dead one never lingers."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from billing.core import db
from billing.core.db import make_engine

pytestmark = pytest.mark.integration


def backend_pid(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(text("SELECT pg_backend_pid()")).scalar_one()


def terminate(database_url: str, pid: int) -> None:
    killer = make_engine(database_url)
    with killer.connect() as connection:
        connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        connection.commit()
    killer.dispose()


@pytest.fixture
def engine(database_url: str):
    engine = make_engine(database_url, pool_size=1, max_overflow=0)
    yield engine
    engine.dispose()


def test_an_idle_connection_killed_by_the_server_is_replaced_before_use(
    engine, database_url, monkeypatch
):
    monkeypatch.setattr(db, "IDLE_PING_S", 0.0)  # every check-out counts as idle
    first = backend_pid(engine)
    terminate(database_url, first)
    assert backend_pid(engine) != first  # the ping found it dead; the pool reconnected


def test_a_connection_in_steady_use_is_not_pinged_and_a_dead_one_fails_once(
    engine, database_url, monkeypatch
):
    monkeypatch.setattr(db, "IDLE_PING_S", 3600.0)  # never idle long enough to ping
    first = backend_pid(engine)
    terminate(database_url, first)
    with pytest.raises(OperationalError):  # no ping: the statement meets the dead socket
        backend_pid(engine)
    assert backend_pid(engine) != first  # the disconnect recycled the pool
