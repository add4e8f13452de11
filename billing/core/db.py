"""Database plumbing: metadata, engines, sessions and the few dialect differences.

PostgreSQL is the production and test database; SQLite is the zero-install local
default. Invariants that PostgreSQL enforces in SQL (balanced transactions,
append-only ledger) are written in the migrations for PostgreSQL only; the Python
code checks them on every dialect.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import psycopg
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    DateTime,
    Engine,
    Enum,
    Integer,
    MetaData,
    TypeDecorator,
    create_engine,
    event,
    literal_column,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

# billing.core.scoping keeps a session's scope under this key of session.info.
INFO_SCOPE = "malipo.scope"

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-increments an INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if "poolclass" not in kwargs:
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 20)
        kwargs.setdefault("pool_timeout", POOL_TIMEOUT_S)
    connect_args = kwargs.setdefault("connect_args", {})
    connect_args.setdefault("connect_timeout", CONNECT_TIMEOUT_S)
    engine = create_engine(url, **kwargs)
    if "poolclass" not in kwargs and not kwargs.get("pool_pre_ping"):
        event.listen(engine, "checkout", _ping_if_idle)
        event.listen(engine, "checkin", _note_checkin)
    return engine


# The database is away: a request answers 503 with Retry-After rather than wait on it.
# A server that does not answer (a host down, not a port refused) fails a connect after
# CONNECT_TIMEOUT_S; a request waits at most POOL_TIMEOUT_S for a pooled connection.
CONNECT_TIMEOUT_S = 5
POOL_TIMEOUT_S = 10.0

# What the database (or the pool in front of it) raises when it cannot be reached, from
# SQLAlchemy and from the group-commit writer's raw psycopg connection. Deadlocks and
# serialisation failures are OperationalErrors too: a retry is the answer to those also.
DATABASE_UNAVAILABLE: tuple[type[Exception], ...] = (
    OperationalError,
    InterfaceError,
    DisconnectionError,
    PoolTimeoutError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
)


# A pooled connection is pinged before use only when it has sat idle this long. A ping
# on every check-out (`pool_pre_ping`) is a round trip as dear as a callback's whole
# write; a connection in steady use proves itself alive. If the server restarted under
# load, the first statement on a dead connection fails, SQLAlchemy sees the disconnect
# and recycles the whole pool, and that one request is answered 503 or 500.
IDLE_PING_S = 2.0


def _note_checkin(_dbapi_connection: Any, record: Any) -> None:
    record.info["checked_in_at"] = time.monotonic()


def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    if time.monotonic() - record.info.get("checked_in_at", 0.0) < IDLE_PING_S:
        return
    try:
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        dbapi_connection.rollback()  # the ping opened a transaction
    except Exception as error:
        raise DisconnectionError("pooled connection is dead") from error  # pool retries


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA busy_timeout = 5000")
    cursor.close()


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit if the block succeeds, roll back if it raises."""
    with factory() as session, session.begin():
        yield session


def insert_for(session: Session, table: Any) -> Any:
    """An INSERT that supports ON CONFLICT on the session's dialect."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def string_enum(cls: type[StrEnum], name: str) -> Enum:
    """A StrEnum stored as its value in a VARCHAR with a CHECK, on every dialect."""
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=20,
        values_callable=lambda members: [m.value for m in members],
    )


def written(value: str) -> ColumnElement[Any]:
    """A constant written into the SQL, not bound: how a query states a partial index's
    predicate (`status = 'open'`). PostgreSQL matches a query to a partial index only by
    the constants it sees; psycopg prepares a statement on its fifth run on a
    connection, and the server may then plan it once for every value (a generic plan),
    which cannot assume a bound `status` is 'open' and reads the whole table instead:
    an authorisation read every reservation ever held (bench/authorize_trips.py
    `--history`)."""
    return literal_column("'" + value.replace("'", "''") + "'")


class UtcDateTime(TypeDecorator):
    """Timestamps are stored and returned in UTC, aware, on every dialect (SQLite drops tz)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime: use billing.core.clock.utcnow()")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


@contextmanager
def reading(session: Session) -> Iterator[Session]:
    """Reads that need no transaction: inside the session's transaction they join it;
    outside one they run in autocommit and the session is left as it was found.

    A read alone needs no BEGIN and no ROLLBACK, and under load those two round trips
    to the database are the dearest part of a short answer (an API key's lookup, an
    authorisation). Row-level security's settings live in a transaction: a scoped
    session's statements each carry them, in the statement's own round trip
    (`billing.core.scoping`)."""
    if session.in_transaction():
        yield session
        return
    if not _SESSION_OPTIONS:
        session.connection(execution_options=_AUTOCOMMIT)
        try:
            yield session
        finally:
            session.rollback()
        return
    given = session.execution_options  # the connection is taken only if a statement runs
    session.execution_options = given.union(_AUTOCOMMIT)
    try:
        yield session
    finally:
        session.execution_options = given
        session.rollback()  # hands the connection back: nothing to roll back, no round trip


_AUTOCOMMIT = {"isolation_level": "AUTOCOMMIT"}
# SQLAlchemy 2.1 applies a session's own execution options to each connection it takes.
_SESSION_OPTIONS = "execution_options" in vars(Session)
