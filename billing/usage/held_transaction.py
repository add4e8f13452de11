"""A held authorisation's transaction on PostgreSQL in two round trips, sent through libpq.

The general path (`reservations.lock_tenant`, the reads, `reservations.hold`, the
caller's COMMIT) takes five waits on the database, and its SQLAlchemy statements were
half of a held answer's CPU. Here the same statements go as two simple queries:

1. `begin`: BEGIN; the session's row-level-security scope; the tenant's advisory lock
   (and synchronous commit off, as `lock_tenant` does); the session's previous hold
   released; the read the budget needs. The server runs them in order, each with its
   own snapshot, so the release and the read see every hold committed before the lock
   was granted, exactly as when each waited for the one before.
2. `hold`: the INSERT and COMMIT (or `commit` alone, when nothing is held).

Values are rendered as SQL literals by psycopg's own adapters (its escaping, with the
connection's encoding), the read from its SQLAlchemy construct compiled once. The
connection is a reading's (autocommit: psycopg sends no BEGIN of its own); statements
run through it meanwhile (a postpaid tenant's reads) join the transaction. Anything
raised before the commit rolls it back (`abort`).
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache
from typing import Any

from psycopg import errors, generators, pq, waiting
from psycopg.adapt import Transformer
from psycopg.types.json import Json
from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ClauseElement

from billing.core.scoping import SET_RAW, Scope
from billing.usage import reservations
from billing.usage.models import ReservationStatus

_OK = (pq.ExecStatus.COMMAND_OK, pq.ExecStatus.TUPLES_OK)
_WAIT_INTERVAL = 0.1  # seconds a poll() sleeps at most before looking again (psycopg's)
_INSERT_COLUMNS = (
    "tenant_id", "currency", "service", "destination", "session_id", "amount_minor",
    "seconds", "messages", "status", "created_at", "expires_at", "bundle_draws",
)  # fmt: skip
_INSERT = (
    f"INSERT INTO reservations ({', '.join(_INSERT_COLUMNS)})"  # noqa: S608 - constants
    f" VALUES ({', '.join(['%s'] * len(_INSERT_COLUMNS))}) RETURNING id"
)


class HeldTransaction:
    """One held answer's transaction: `begin`, then `hold` or `commit`; `abort` on error."""

    def __init__(
        self,
        connection: Connection,
        scope: Scope | None,
        tenant_id: str,
        session_id: str | None,
        now: datetime,
    ) -> None:
        self.connection = connection
        self.raw = connection.connection.driver_connection
        self.scope = scope
        self.tenant_id = tenant_id
        self.session_id = session_id
        self.now = now
        self.open = False
        self._literals = Transformer(self.raw)
        self._escaping = pq.Escaping(self.raw.pgconn)
        self._encoding = self.raw.info.encoding

    def begin(self, read: ClauseElement | None, params: Mapping[str, Any]) -> list[Any]:
        """Open the transaction under the tenant's lock, release the session's previous
        hold, and run `read` (if any) after them: one round trip; the read's rows."""
        lit = self._literal
        parts = ["BEGIN"]
        if self.scope is not None:
            parts.append(SET_RAW % (lit(self.scope.kind), lit(self.scope.tenant_id or "")))
        parts.append(reservations.LOCK % lit(f"malipo-reserve:{self.tenant_id}"))
        if self.session_id:
            released = ReservationStatus.RELEASED.value
            values = (released, self.now, self.tenant_id, self.session_id)
            parts.append(reservations.RELEASE % tuple(lit(v) for v in values))
        if read is not None:
            parts.append(self._rendered(read, params))
        self.open = True  # from here on, a failure rolls back
        results = self._run("; ".join(parts))
        return _rows(self._literals, results[-1]) if read is not None else []

    def hold(self, values: Mapping[str, Any]) -> int:
        """Insert the reservation (`reservations.hold_values`) and commit: its id."""
        draws = values.get("bundle_draws")
        row = [values.get(name) for name in _INSERT_COLUMNS]
        row[-1] = Json(draws) if draws else None  # as the general path: none is SQL NULL
        results = self._run(f"{_INSERT % tuple(self._literal(v) for v in row)}; COMMIT")
        self.open = False
        return int(_rows(self._literals, results[0])[0][0])

    def commit(self) -> None:
        """Commit what `begin` did (the release), when nothing is held."""
        if self.open:
            self._run("COMMIT")
            self.open = False

    def abort(self) -> None:
        """Roll back after a failure; a connection found dead is invalidated (the pool
        then drops it, as for a failure SQLAlchemy sees)."""
        if not self.open:
            return
        self.open = False
        pgconn = self.raw.pgconn
        if pgconn.status == pq.ConnStatus.OK and pgconn.transaction_status in (
            pq.TransactionStatus.INTRANS,
            pq.TransactionStatus.INERROR,
        ):
            pgconn.exec_(b"ROLLBACK")
        if pgconn.status != pq.ConnStatus.OK:
            self.connection.invalidate()

    def _literal(self, value: Any) -> str:
        """`value` as psycopg renders it; text, whole numbers and instants without its
        dumper lookup (a held answer renders some twenty values)."""
        kind = type(value)
        if kind is str:
            if "\x00" in value:  # libpq's escaping would stop there: another text
                raise ValueError("text with NUL (U+0000) cannot be stored")
            return self._escaping.escape_literal(value.encode(self._encoding)).decode(
                self._encoding
            )
        if kind is int:
            return str(value)
        if value is None:
            return "NULL"
        if kind is datetime and value.tzinfo is not None:
            return f"'{value.isoformat()}'::timestamptz"
        return self._literals.as_literal(value).decode(self._encoding)

    def _rendered(self, read: ClauseElement, params: Mapping[str, Any]) -> str:
        sql, constants, processors = _compiled(read, self.connection.dialect)
        given = {
            name: processors[name](value) if name in processors else value
            for name, value in params.items()
        }
        return sql % {name: self._literal(v) for name, v in {**constants, **given}.items()}

    def _run(self, query: str) -> list[pq.abc.PGresult]:
        """One simple query, one wait; its results, or the first error raised.

        The wait sleeps in poll() until the server answers: psycopg's wait functions
        poll with the `interval` given, and their default, 0, spins (a held answer's
        process burnt a core while the server worked, on a 2-core machine the server's
        own). psycopg's connections pass 0.1 s, as here."""
        pgconn = self.raw.pgconn
        pgconn.send_query(query.encode(self._encoding))
        results = waiting.wait(generators.execute(pgconn), pgconn.socket, interval=_WAIT_INTERVAL)
        for result in results:
            if result.status not in _OK:
                raise errors.error_from_result(result, encoding=self._encoding)
        return results


@lru_cache(maxsize=16)
def _compiled(read: ClauseElement, dialect: Dialect) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """A read's SQL (named placeholders), its constants (processed as SQLAlchemy binds
    them) and the bind processors of its parameters."""
    compiled = read.compile(dialect=dialect)
    processors = {}
    constants = {}
    for name, bind in compiled.binds.items():
        if name not in compiled.params:
            continue
        process = bind.type.bind_processor(dialect)
        if process is not None:
            processors[name] = process
        if compiled.params[name] is not None:
            value = compiled.params[name]
            constants[name] = process(value) if process is not None else value
    return compiled.string, constants, processors


@lru_cache(maxsize=16)
def _row_type(names: tuple[str, ...]) -> type:
    return namedtuple("Row", names)  # rows read by attribute, as SQLAlchemy's


def _rows(literals: Transformer, result: pq.abc.PGresult) -> list[Any]:
    names = tuple(result.fname(i).decode() for i in range(result.nfields))
    literals.set_pgresult(result)
    row = _row_type(names)
    return [row(*values) for values in literals.load_rows(0, result.ntuples, tuple)]
