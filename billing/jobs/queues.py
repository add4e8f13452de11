"""Where relayed jobs go: RQ when Redis is configured, in-process otherwise."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from typing import Any, Protocol

from flask import Flask, current_app, has_app_context
from redis import Redis
from rq import Queue, Retry

from billing.core.context import request_id

# In priority order: a worker takes money work first, then the platform's notifications;
# PDFs and e-mail wait their turn.
QUEUES = ("default", "ledger", "events", "documents")
RUNNER = "billing.processes.jobs.run"
BATCH_RUNNER = "billing.processes.jobs.run_batch"
RETRY_INTERVALS = [10, 30, 60, 300, 900]
JOB_TIMEOUT_S = 300
BATCH_ITEM_TIMEOUT_S = 30  # a batch may take this long an item, on top of JOB_TIMEOUT_S


class JobQueue(Protocol):
    runs_inline: bool

    def enqueue(self, message_id: int, job: str, args: list[Any], queue: str) -> None: ...

    def enqueue_batch(
        self, message_ids: list[int], job: str, arg_lists: list[list[Any]], queue: str
    ) -> None: ...


class RQJobQueue:
    """Redis is a doorbell: the outbox row in PostgreSQL is the truth."""

    runs_inline = False

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._queues = {name: Queue(name, connection=redis) for name in QUEUES}

    def enqueue(self, message_id: int, job: str, args: list[Any], queue: str) -> None:
        self._queues[queue].enqueue(
            RUNNER,
            job,
            *args,
            job_id=f"outbox-{message_id}",
            retry=Retry(max=len(RETRY_INTERVALS), interval=RETRY_INTERVALS),
            job_timeout=JOB_TIMEOUT_S,
            description=f"{job}{tuple(args)!r}",
            meta=_caused_by(),
        )

    def enqueue_batch(
        self, message_ids: list[int], job: str, arg_lists: list[list[Any]], queue: str
    ) -> None:
        """One RQ job for several outbox rows of one batchable job (see the registry)."""
        self._queues[queue].enqueue(
            BATCH_RUNNER,
            job,
            arg_lists,
            job_id=f"outbox-{message_ids[0]}-{message_ids[-1]}",
            retry=Retry(max=len(RETRY_INTERVALS), interval=RETRY_INTERVALS),
            job_timeout=JOB_TIMEOUT_S + BATCH_ITEM_TIMEOUT_S * len(arg_lists),
            description=f"{job} x{len(arg_lists)} (outbox {message_ids[0]}..{message_ids[-1]})",
            meta=_caused_by(),
        )


def _caused_by() -> dict[str, str]:
    """The request that caused the job (relayed after its commit), for the job's logs."""
    rid = request_id()
    return {"request_id": rid} if rid else {}


class InlineJobQueue:
    """Runs each job at once in this process: the local default without Redis.

    A job runs in the app this queue belongs to (`bind`), whatever app context the
    relaying thread has or lacks: a thread of its own would otherwise run it in a fresh
    app built from the environment, on another database."""

    runs_inline = True

    def __init__(self) -> None:
        self._app: Flask | None = None

    def bind(self, app: Flask) -> None:
        self._app = app

    def enqueue(self, message_id: int, job: str, args: list[Any], queue: str) -> None:
        from billing.jobs.runner import run

        with self._in_app():
            run(job, *args)

    def enqueue_batch(
        self, message_ids: list[int], job: str, arg_lists: list[list[Any]], queue: str
    ) -> None:
        from billing.jobs.runner import run_batch

        with self._in_app():
            run_batch(job, arg_lists)

    def _in_app(self) -> AbstractContextManager:
        if self._app is None:
            return nullcontext()
        if has_app_context() and current_app._get_current_object() is self._app:
            return nullcontext()
        return self._app.app_context()
