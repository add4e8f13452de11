"""Which tenant's rows a transaction may see: PostgreSQL row-level security's input.

Every tenant-owned table has a forced policy (migration 0029) that reads two settings,
`malipo.scope` and `malipo.tenant_id`. They are set per transaction (`set_config(…,
true)`, i.e. `SET LOCAL`), never per connection, so a pooled connection carries nothing
from one caller to the next. A session says its scope in `session.info`; each time it
begins a transaction the settings are sent first.

- `tenant`: one tenant's rows only (a tenant key's requests).
- `staff`: every tenant's rows (finance and admin keys: their work spans tenants).
- `system`: every row (workers, callbacks, the scheduler, the CLI): no caller to scope by.
- `anonymous`: no tenant's rows; only an API key looked up by its prefix (authentication).

A read outside a transaction (`billing.core.db.reading`) runs in autocommit: no BEGIN and
no ROLLBACK. Its statements each send the settings in the same pipeline, before the
statement and with one Sync after both, so they share the statement's implicit transaction
and one round trip (`_execute_in_scope`).

SQLite has no row-level security: there the application's own scoping is all there is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from psycopg import IsolationLevel, pq
from sqlalchemy import event, text
from sqlalchemy.orm import Session, sessionmaker

from billing.core.db import INFO_SCOPE as INFO_KEY

_SET = text(
    "SELECT set_config('malipo.scope', :kind, true), set_config('malipo.tenant_id', :tenant, true)"
)

# The settings as a driver statement (also sent raw by `billing.usage.held_transaction`).
SET_RAW = "SELECT set_config('malipo.scope', %s, true), set_config('malipo.tenant_id', %s, true)"
# An autocommit connection's execution option: the scope each of its statements sends.
READ_SCOPE = "malipo_read_scope"


@dataclass(frozen=True, slots=True)
class Scope:
    kind: str
    tenant_id: str | None = None

    @classmethod
    def tenant(cls, tenant_id: str) -> Scope:
        return cls("tenant", tenant_id)

    @property
    def params(self) -> dict[str, str]:
        return {"kind": self.kind, "tenant": self.tenant_id or ""}


SYSTEM = Scope("system")
STAFF = Scope("staff")
ANONYMOUS = Scope("anonymous")


def install(factory: sessionmaker[Session]) -> None:
    """Sessions of `factory` send their scope at the start of every transaction; they
    begin in the system scope unless told otherwise (`set_scope`)."""
    factory.kw["info"] = {**factory.kw.get("info", {}), INFO_KEY: SYSTEM}
    event.listen(factory, "after_begin", _send_scope)
    engine = factory.kw.get("bind")
    if engine is not None and not event.contains(engine, "do_execute", _execute_in_scope):
        event.listen(engine, "do_execute", _execute_in_scope)
        event.listen(engine, "do_executemany", _executemany_in_scope)
        event.listen(engine, "do_execute_no_params", _execute_no_params_in_scope)


def is_scoped(session: Session) -> bool:
    return INFO_KEY in session.info


def scope_of(session: Session) -> Scope | None:
    return session.info.get(INFO_KEY)


def set_scope(session: Session, scope: Scope) -> None:
    """From now on (and at once, if a transaction is open) the session sees `scope`."""
    if not is_scoped(session):
        return
    session.info[INFO_KEY] = scope
    if not session.in_transaction():
        return
    connection = session.connection()
    if READ_SCOPE in connection.get_execution_options():  # a reading: its next statements
        connection.execution_options(**{READ_SCOPE: scope})
    else:
        session.execute(_SET, scope.params)


def _send_scope(session: Session, _transaction: Any, connection: Any) -> None:
    """The settings, sent when the transaction begins (PostgreSQL).

    psycopg sends BEGIN before a transaction's first statement and waits for its answer,
    pipelined or not (it syncs after a pipelined BEGIN): sent that way, the BEGIN and the
    settings are two round trips (seen with strace, 7 December). So they go as one simple
    query (`_begin_saying`), the pipeline only where that does not apply. In autocommit (a
    reading) there is no BEGIN, and each statement carries the settings itself."""
    scope = session.info.get(INFO_KEY)
    if scope is None:
        return
    raw = connection.connection.driver_connection
    if getattr(raw, "autocommit", False):  # a reading: each statement says it (see below)
        connection.execution_options(**{READ_SCOPE: scope})
        return
    if not hasattr(raw, "pipeline"):
        connection.execute(_SET, scope.params)
        return
    if _begin_saying(raw, scope):
        return
    with raw.pipeline():
        connection.exec_driver_sql(SET_RAW, (scope.kind, scope.tenant_id or ""))


def _begin_saying(raw: Any, scope: Scope) -> bool:
    """BEGIN and the settings as one simple query, one wait, sent through libpq.

    The pipeline above costs the writer a quarter of its CPU per ledger posting (psycopg
    drives it in Python); this is one blocking call. psycopg then finds the transaction
    open (it reads the server's transaction status), so it sends no BEGIN of its own, and
    COMMIT and ROLLBACK go as usual. The BEGIN says what psycopg's would: the
    connection's isolation level, read-only and deferrable flags (`_begin_of`; SQLAlchemy
    sets the level explicitly on every connection an autocommit read has used, so the
    plain BEGIN alone missed most pooled connections). A connection in autocommit, in a
    pipeline or already in a transaction takes the pipeline."""
    pgconn = raw.pgconn
    if (
        raw.autocommit
        or pgconn.pipeline_status != pq.PipelineStatus.OFF
        or pgconn.transaction_status != pq.TransactionStatus.IDLE
    ):
        return False
    encoding = raw.info.encoding
    escaping = pq.Escaping(pgconn)
    kind = escaping.escape_literal(scope.kind.encode(encoding))
    tenant = escaping.escape_literal((scope.tenant_id or "").encode(encoding))
    result = pgconn.exec_(
        _begin_of(raw) + b"; SELECT set_config('malipo.scope', " + kind + b", true),"
        b" set_config('malipo.tenant_id', " + tenant + b", true)"
    )
    # A failure (the server gone, say) goes the general way: the pipeline meets it again
    # and SQLAlchemy raises it as for any statement, invalidating a dead connection.
    return result.status == pq.ExecStatus.TUPLES_OK


def _begin_of(raw: Any) -> bytes:
    """The BEGIN psycopg would send for this connection (its `_get_tx_start_command`)."""
    parts = [b"BEGIN"]
    if raw.isolation_level is not None:
        level = IsolationLevel(raw.isolation_level).name.replace("_", " ")
        parts.append(b"ISOLATION LEVEL " + level.encode())
    if raw.read_only is not None:
        parts.append(b"READ ONLY" if raw.read_only else b"READ WRITE")
    if raw.deferrable is not None:
        parts.append(b"DEFERRABLE" if raw.deferrable else b"NOT DEFERRABLE")
    return b" ".join(parts)


def _execute_in_scope(cursor: Any, statement: str, parameters: Any, context: Any) -> bool:
    """On an autocommit connection of a scoped session, a statement and its scope's
    settings go out in one pipeline: the settings first, one Sync after both. Statements
    before a Sync run in one implicit transaction, so the settings (local to it) hold for
    the statement and end with it; the driver waits once. False: not ours to run."""
    return _in_scope(cursor, context, lambda: cursor.execute(statement, parameters))


def _executemany_in_scope(cursor: Any, statement: str, parameters: Any, context: Any) -> bool:
    return _in_scope(cursor, context, lambda: cursor.executemany(statement, parameters))


def _execute_no_params_in_scope(cursor: Any, statement: str, context: Any) -> bool:
    return _in_scope(cursor, context, lambda: cursor.execute(statement))


def _in_scope(cursor: Any, context: Any, run: Callable[[], object]) -> bool:
    scope = context.execution_options.get(READ_SCOPE)
    if scope is None:
        return False
    raw = cursor.connection
    with raw.pipeline():
        raw.cursor().execute(SET_RAW, (scope.kind, scope.tenant_id or ""))
        run()
    return True
