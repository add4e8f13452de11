"""Relaying what a transaction wrote to the outbox, once it has committed, in batches.

Three ways, by where the commit happened:
- in-process jobs (no Redis): at once, in the caller's thread, as before a laptop user
  expects (`make run`, the demo, most tests);
- inside a job run by a worker (`collecting`): gathered and relayed when the job ends,
  so a batch of reconciliations relays its notifications in one go;
- anywhere else with Redis (a web request): handed to a background thread, so the
  request answers without waiting for Redis, and rows committed by concurrent requests
  travel together, which is what lets batchable jobs share an RQ job.

All are best effort: a row not relayed (a crash, Redis down) is relayed by the worker's
ticker a second later, and a row relayed twice runs an idempotent job twice.
"""

from __future__ import annotations

import contextvars
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.orm import Session, sessionmaker

from billing.core.db import DATABASE_UNAVAILABLE
from billing.jobs.outbox import relay
from billing.jobs.queues import JobQueue

log = logging.getLogger(__name__)
UNAVAILABLE = (*DATABASE_UNAVAILABLE, RedisConnectionError, RedisTimeoutError)
_collected: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar(
    "malipo_outbox_collected", default=None
)
BATCH_LIMIT = 500  # ids one background relay takes at most (relay's own limit)
# Once woken, the background relay waits this long for more rows (or GATHER of them),
# so that a burst's rows share RQ jobs. The request has answered already: only the
# job's start is delayed, never the response.
LINGER_S = 0.1
GATHER = 100


class Relayer:
    def __init__(self, sessions: sessionmaker[Session], queue: JobQueue) -> None:
        self.sessions = sessions
        self.queue = queue
        self._reset()
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        """Fresh state, also in a forked child: the parent's thread and lock stay behind."""
        self._pending: list[int] = []
        self._busy = False
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None

    def written(self, ids: list[int]) -> None:
        if not ids:
            return
        collected = _collected.get()
        if collected is not None:
            collected.extend(ids)
        elif self.queue.runs_inline:
            self._relay_now(ids)
        else:
            self._hand_over(ids)

    @contextmanager
    def collecting(self) -> Iterator[None]:
        """Hold back what the block's transactions write; relay it all when the block ends."""
        ids: list[int] = []
        token = _collected.set(ids)
        try:
            yield
        finally:
            _collected.reset(token)
            self._relay_now(ids)

    def relay_collected(self) -> None:
        """Relay what the current `collecting` block has gathered so far: a long job (a
        stream of parts) need not hold its notifications back until it ends."""
        collected = _collected.get()
        if collected:
            ids = collected[:]
            collected.clear()
            self._relay_now(ids)

    def flush(self, timeout_s: float = 5.0) -> bool:
        """Wait until the background thread has relayed everything handed to it."""
        with self._changed:
            return self._changed.wait_for(
                lambda: not self._pending and not self._busy, timeout=timeout_s
            )

    def _relay_now(self, ids: list[int]) -> None:
        if not ids:
            return
        try:
            relay(self.sessions, self.queue, ids)
        except UNAVAILABLE as error:  # an outage: one line, no statement or parameters
            log.warning("outbox relay after commit failed (%s); the ticker will retry",
                        type(error).__name__)  # fmt: skip
        except Exception:
            log.warning("outbox relay after commit failed; the ticker will retry", exc_info=True)

    def _hand_over(self, ids: list[int]) -> None:
        with self._changed:
            self._pending.extend(ids)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="malipo-outbox-relay", daemon=True
                )
                self._thread.start()
            self._changed.notify_all()

    def _run(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._pending)
                self._changed.wait_for(lambda: len(self._pending) >= GATHER, timeout=LINGER_S)
                ids, self._pending = self._pending[:BATCH_LIMIT], self._pending[BATCH_LIMIT:]
                self._busy = True
            try:
                self._relay_now(ids)
            finally:
                with self._changed:
                    self._busy = False
                    self._changed.notify_all()
