"""Group commit for the callback inbox on PostgreSQL.

Each verified callback is one inbox row and, on its first delivery, one outbox row. A
statement of its own a callback pays PostgreSQL's per-statement and per-commit cost
(executor start, WAL flush) and the driver's round trip every time. Under load a
server process has several request threads waiting on the database at once, so the
callbacks that arrive while one statement runs are written together by the next:
the first thread to find no write in flight becomes the leader, takes everything
queued, writes it in one autocommit statement, and wakes the others with their
results. Alone, a callback is written at once by its own thread, as before.

Repeats of one fact inside a group are folded into one row with their count of
deliveries (an upsert may touch a row once per statement), and rows go in key order,
so two processes' groups take the unique index's locks in the same order.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Json
from sqlalchemy import Engine

from billing.core.db import CONNECT_TIMEOUT_S

log = logging.getLogger(__name__)
RECONCILE_JOB = "topups.reconcile"

MAX_GROUP = 32  # callbacks one statement writes at most (a statement text per size)

# `deliveries` is what each key brings; a row whose stored count equals it was inserted
# by this statement, and only such a first delivery queues a reconciliation. Rows come
# as VALUES with a statement text per group size (psycopg prepares each once): scalar
# parameters cost the driver and the server a third of what arrays to unnest did.
_ROW = (
    "(%s::varchar, %s::varchar, %s::json, %s::bytea, %s::timestamptz, %s::varchar,"
    " %s::json, %s::int)"
)
_STORE = """
WITH incoming (provider, remote_addr, headers, body, received_at, dedupe_key, event,
               deliveries) AS (
    VALUES {rows}
), stored AS (
    INSERT INTO callback_inbox
        (provider, remote_addr, headers, body, received_at, dedupe_key, status, event,
         deliveries)
    SELECT provider, remote_addr, headers, body, received_at, dedupe_key, 'received', event,
           deliveries
      FROM incoming
    ON CONFLICT (provider, dedupe_key)
        DO UPDATE SET deliveries = callback_inbox.deliveries + excluded.deliveries
    RETURNING id, provider, dedupe_key, deliveries
), queued AS (
    INSERT INTO outbox (job, args, queue, dedupe_key, created_at, attempts)
    SELECT %s::varchar, json_build_array(stored.id), 'default',
           %s::varchar || ':' || stored.id, incoming.received_at, 0
      FROM stored JOIN incoming USING (provider, dedupe_key)
     WHERE stored.deliveries = incoming.deliveries
    ON CONFLICT DO NOTHING
    RETURNING id
)
SELECT id FROM queued
"""


@functools.cache
def _statement(size: int) -> str:
    return _STORE.format(rows=", ".join([_ROW] * size))  # placeholders only


@dataclass(frozen=True, slots=True)
class Callback:
    """A verified callback as the inbox keeps it."""

    provider: str
    dedupe_key: str
    remote_addr: str | None
    headers: dict[str, str]
    body: bytes
    received_at: datetime
    event: dict[str, Any]


@dataclass(slots=True)
class _Slot:
    callback: Callback
    done: bool = False
    error: BaseException | None = None


@dataclass(slots=True)
class _Group:
    """One statement's worth: the first delivery of each key, and how many came."""

    first: dict[tuple[str, str], Callback] = field(default_factory=dict)
    count: dict[tuple[str, str], int] = field(default_factory=dict)

    def add(self, callback: Callback) -> None:
        key = (callback.provider, callback.dedupe_key)
        self.first.setdefault(key, callback)
        self.count[key] = self.count.get(key, 0) + 1

    def statement(self) -> tuple[str, list[Any]]:
        """The group's statement and its parameters, rows in key order."""
        params: list[Any] = []
        for key in sorted(self.first):
            row = self.first[key]
            params += (
                row.provider, row.remote_addr, Json(row.headers), row.body, row.received_at,
                row.dedupe_key, Json(row.event), self.count[key],
            )  # fmt: skip
        return _statement(len(self.first)), [*params, RECONCILE_JOB, RECONCILE_JOB]


class InboxWriter:
    """Writes verified callbacks to the inbox, concurrent ones in one statement.

    `connect` gives a new psycopg connection; the writer keeps one, in autocommit, used
    by one leader at a time. `written` is handed the outbox ids each group queued, once
    they are committed (the relay to Redis).
    """

    def __init__(
        self,
        connect: Callable[[], psycopg.Connection],
        written: Callable[[list[int]], None],
    ) -> None:
        self._connect = connect
        self._written = written
        self._reset()
        os.register_at_fork(after_in_child=self._reset)

    @classmethod
    def for_engine(cls, engine: Engine, written: Callable[[list[int]], None]) -> InboxWriter:
        """A writer with a connection of its own to the engine's database."""
        url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        return cls(lambda: psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT_S), written)

    def _reset(self) -> None:
        """Fresh state, also in a forked child: the parent's connection is not ours."""
        self._connection: psycopg.Connection | None = None
        self._queue: list[_Slot] = []
        self._writing = False
        self._changed = threading.Condition()

    def store(self, callback: Callback) -> None:
        """Return once the callback is committed; raise what its group's write raised."""
        slot = _Slot(callback)
        with self._changed:
            self._queue.append(slot)
            self._changed.wait_for(lambda: slot.done or not self._writing)
            if not slot.done:
                self._writing = True
                group, self._queue = self._queue[:MAX_GROUP], self._queue[MAX_GROUP:]
        if not slot.done:
            self._lead(group)
        if slot.error is not None:
            raise slot.error

    def _lead(self, group: list[_Slot]) -> None:
        queued: list[int] = []
        try:
            queued = self._write([slot.callback for slot in group])
        except psycopg.OperationalError as failure:  # the database is away: all fail
            for slot in group:
                slot.error = failure
        except psycopg.Error as failure:
            if len(group) == 1:
                group[0].error = failure
            else:  # a row the database refuses must not fail those grouped with it
                queued = self._write_each(group)
        except BaseException as failure:
            for slot in group:
                slot.error = failure
        finally:
            with self._changed:
                for slot in group:
                    slot.done = True
                self._writing = False
                self._changed.notify_all()
        if queued:
            self._written(queued)

    def _write_each(self, group: list[_Slot]) -> list[int]:
        """Each callback in a statement of its own: only a refused one fails."""
        queued: list[int] = []
        for slot in group:
            try:
                queued += self._write([slot.callback])
            except psycopg.Error as failure:
                slot.error = failure
        return queued

    def _write(self, callbacks: Sequence[Callback]) -> list[int]:
        batch = _Group()
        for callback in callbacks:
            batch.add(callback)
        statement = batch.statement()
        try:
            return self._execute(*statement)
        except psycopg.OperationalError:
            # A connection the server closed (a restart, an idle timeout) or a deadlock:
            # once more, on a new connection. Were the first write committed after all,
            # the retry only counts the callbacks again as deliveries; nothing is queued
            # twice.
            log.warning("inbox write failed; writing %d callbacks again", len(callbacks))
            self._close()
            return self._execute(*statement)

    def _execute(self, sql: str, params: list[Any]) -> list[int]:
        if self._connection is None:
            self._connection = self._connect()
            self._connection.autocommit = True
        try:
            return [row[0] for row in self._connection.execute(sql, params)]
        except psycopg.Error:
            if self._connection.broken:
                self._close()
            raise

    def close(self) -> None:
        """Close the writer's connection (a later write opens another)."""
        with self._changed:
            self._changed.wait_for(lambda: not self._writing)
            self._close()

    def _close(self) -> None:
        if self._connection is not None:
            self._connection.close()
        self._connection = None
