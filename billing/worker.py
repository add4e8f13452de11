"""The worker process: RQ on Malipo's queues, the RQ scheduler, and the ticker.

RQ's default worker forks a work-horse for every job. A process that forks must not
run threads: a lock another thread holds at the fork (SQLAlchemy's mapper lock, a
client cache's lock, the logging lock) stays held for ever in the child, and the job
hangs. So the ticker runs in a process of its own, forked before anything else starts,
and the forking worker is left with one thread.

By default, though, jobs run in the worker process itself (RQ's SimpleWorker): a
work-horse costs about 0.1 s a job here (the fork, a new database connection, a
backend with cold caches, and for a PDF a cold renderer), which capped reconciliation
near 150 callbacks/s. `--fork` gives each job a work-horse, for isolation over speed.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import time
from collections.abc import Callable

from flask import Flask
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq import Queue, SimpleWorker, Worker
from rq.exceptions import StopRequested
from sqlalchemy.orm import configure_mappers

from billing.jobs.outbox import relay
from billing.jobs.queues import QUEUES
from billing.jobs.ticker import Periodic, Ticker
from billing.models import load_all
from billing.runtime import EXTENSION
from billing.schedule import periodic_tasks

# RQ re-queues a job whose worker died only when maintenance notices; check often.
MAINTENANCE_INTERVAL_S = 15
TICKER_STOP_S = 10
REDIS_WAIT_S = 0.5
REDIS_UNAVAILABLE = (RedisConnectionError, RedisTimeoutError)
log = logging.getLogger(__name__)


def run(
    app: Flask, *, burst: bool = False, fork: bool = False, queues: tuple[str, ...] = QUEUES
) -> bool:
    """Jobs run in this process (RQ's SimpleWorker); `fork`: each in a forked work-horse."""
    runtime = app.extensions[EXTENSION]
    load_all()
    configure_mappers()  # once, here, rather than in every work-horse
    served = [Queue(name, connection=runtime.redis) for name in queues]
    worker_class = Worker if fork else SimpleWorker

    def new_worker() -> Worker:
        return worker_class(
            served, connection=runtime.redis, maintenance_interval=MAINTENANCE_INTERVAL_S
        )

    if burst:
        _warm_up(queues, fork)
        relay(runtime.sessions, runtime.queue)
        return new_worker().work(burst=True, with_scheduler=True)
    ticker = multiprocessing.get_context("fork").Process(
        target=_tick, args=(app,), name="malipo-ticker", daemon=True
    )
    ticker.start()
    _warm_up(queues, fork)  # after the ticker's fork: the ticker renders nothing
    try:
        return _work_until_stopped(new_worker, runtime.redis)
    finally:
        ticker.terminate()
        ticker.join(TICKER_STOP_S)


def _work_until_stopped(new_worker: Callable[[], Worker], redis: Redis) -> bool:
    """RQ's loop quits for good when Redis goes away under it (a restart mid-job); the
    job's effect is committed, and RQ's maintenance re-queues it. So wait for Redis and
    work on with a new worker, until a shutdown is asked for (SIGTERM, Ctrl-C)."""
    while True:
        worker = new_worker()
        try:
            worked = worker.work(with_scheduler=True)
        except REDIS_UNAVAILABLE:  # its goodbye to Redis failed too
            worked = False
        if worker._shutdown_requested_date is not None:  # RQ's mark of a shutdown asked for
            return worked
        log.warning("the RQ worker quit (Redis unavailable?); working again once Redis answers")
        try:
            _wait_for(redis)
        except StopRequested:  # a shutdown asked for while we waited
            return worked


def _wait_for(redis: Redis) -> None:
    while True:
        try:
            redis.ping()
            return
        except REDIS_UNAVAILABLE:
            time.sleep(REDIS_WAIT_S)


def _warm_up(queues: tuple[str, ...], fork: bool) -> None:
    """A worker that renders PDFs in this process renders one first: a cold render costs
    about 0.5 s, a warm one about 0.1 s (`invoices.pdf.renderer.warm_up`)."""
    if "documents" in queues and not fork:
        from invoices.pdf.renderer import warm_up

        warm_up()


def _tick(app: Flask) -> None:
    """The ticker process: periodic tasks until the worker stops it (SIGTERM) or dies."""
    worker_pid = os.getppid()

    def orphaned() -> None:  # a worker killed outright cannot stop us: notice it
        if os.getppid() != worker_pid:
            ticker.stop()

    ticker = Ticker([Periodic("worker.alive", 1.0, orphaned), *periodic_tasks(app)])
    signal.signal(signal.SIGTERM, lambda *_: ticker.stop())
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the worker's to handle
    ticker.run()
