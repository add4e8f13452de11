"""Periodic work in the worker process: relay the outbox, request scheduled jobs.

Every task is safe to run on several workers at once (SKIP LOCKED, unique keys); the
cluster-wide ones also hold a lease per period (`billing.jobs.leases`), so M workers
do not repeat each sweep M times.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from billing.core.db import DATABASE_UNAVAILABLE
from billing.jobs.hooks import running

log = logging.getLogger(__name__)
UNAVAILABLE = (*DATABASE_UNAVAILABLE, RedisConnectionError, RedisTimeoutError)


def _dependency(error: BaseException) -> str:
    return "redis" if isinstance(error, RedisConnectionError | RedisTimeoutError) else "database"


@dataclass(frozen=True)
class Periodic:
    name: str
    every_s: float
    run: Callable[[], object]


class Ticker(threading.Thread):
    def __init__(self, tasks: list[Periodic], resolution_s: float = 0.5) -> None:
        super().__init__(name="malipo-ticker", daemon=True)
        self.tasks = tasks
        self.resolution_s = resolution_s
        self.stopping = threading.Event()
        self._due = {task.name: 0.0 for task in tasks}

    def run(self) -> None:
        while not self.stopping.is_set():
            self.tick()
            self.stopping.wait(self.resolution_s)

    def tick(self) -> None:
        now = time.monotonic()
        for task in self.tasks:
            if now < self._due[task.name]:
                continue
            self._due[task.name] = now + task.every_s
            try:
                with running(task.name):
                    task.run()
            except UNAVAILABLE as error:  # an outage: one line a task, not a traceback
                log.warning("periodic task %s: %s unavailable (%s); it runs again next time",
                            task.name, _dependency(error), type(error).__name__)  # fmt: skip
            except Exception:
                log.exception("periodic task %s failed; it runs again next time", task.name)

    def stop(self) -> None:
        self.stopping.set()
