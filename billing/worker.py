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

Shutdown (SIGTERM or Ctrl-C) is prompt: the ticker abandons the sweep it is in (its
transaction rolls back; the next worker sweeps again), and a job still running
`HAND_BACK_S` later is interrupted and handed back to RQ (`HandedBack`: its transaction
rolls back and RQ retries it, as after any failure), so the worker is gone in seconds,
not after the job's timeout. Jobs that loop over batches (`usage.rate`) check
`billing.jobs.shutdown.requested()` between batches and hand back the rest themselves.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from types import FrameType

from flask import Flask
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq import Queue, SimpleWorker, Worker
from rq.exceptions import StopRequested
from rq.worker import WorkerStatus
from sqlalchemy.orm import configure_mappers

from billing.jobs import shutdown
from billing.jobs.outbox import relay
from billing.jobs.queues import QUEUES
from billing.jobs.ticker import Periodic, Ticker
from billing.models import load_all
from billing.runtime import EXTENSION
from billing.schedule import periodic_tasks

log = logging.getLogger(__name__)
# RQ re-queues a job whose worker died only when maintenance notices; check often.
MAINTENANCE_INTERVAL_S = 15
TICKER_STOP_S = 3  # then the ticker is killed: its sweeps are idempotent
HAND_BACK_S = 3.0  # how long a running job may take to finish after SIGTERM
EXIT_DEADLINE_S = 10.0  # after SIGTERM, the process is gone by then whatever still waits
REDIS_WAIT_S = 0.5
REDIS_UNAVAILABLE = (RedisConnectionError, RedisTimeoutError)


class HandedBack(BaseException):
    """Raised into a job still running `HAND_BACK_S` after SIGTERM: a BaseException, so
    no `except Exception` in the job keeps it; RQ records the failure and retries."""


class _Graceful:
    """A worker mixin: on SIGTERM, jobs are told to stop and a running one is handed
    back after `HAND_BACK_S`."""

    def request_stop(self, signum: int, frame: FrameType | None) -> None:
        if not shutdown.requested():
            _exit_later(EXIT_DEADLINE_S)
        shutdown.request()
        if self.get_state() == WorkerStatus.BUSY:
            if self.horse_pid:  # --fork: the work-horse is told by its own signal
                _signal_later(self.horse_pid, HAND_BACK_S)
            else:
                signal.signal(signal.SIGUSR2, _hand_back)
                _signal_later(os.getpid(), HAND_BACK_S)
        super().request_stop(signum, frame)

    def setup_work_horse_signals(self) -> None:
        super().setup_work_horse_signals()
        signal.signal(signal.SIGUSR2, _hand_back)


class GracefulSimpleWorker(_Graceful, SimpleWorker):
    pass


class GracefulWorker(_Graceful, Worker):
    pass


def _hand_back(_signum: int, _frame: FrameType | None) -> None:
    raise HandedBack("the worker is shutting down; the job is handed back to be retried")


def _exit_later(delay_s: float) -> None:
    """A last resort: whatever still holds the process `delay_s` after SIGTERM (a child
    that will not die, a socket that will not close), it exits. A job running then was
    handed back already, and its transaction dies with the connection."""

    def leave() -> None:
        log.error("worker still alive %s s after SIGTERM; exiting now", delay_s)
        logging.shutdown()
        os._exit(1)

    timer = threading.Timer(delay_s, leave)
    timer.daemon = True
    timer.start()


def _signal_later(pid: int, delay_s: float) -> None:
    """SIGUSR2 to `pid` after `delay_s`, unless it is gone by then (a daemon timer: the
    worker forks no work-horse once it is stopping)."""

    def send() -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGUSR2)

    timer = threading.Timer(delay_s, send)
    timer.daemon = True
    timer.start()


def run(
    app: Flask, *, burst: bool = False, fork: bool = False, queues: tuple[str, ...] = QUEUES
) -> bool:
    """Jobs run in this process (RQ's SimpleWorker); `fork`: each in a forked work-horse."""
    runtime = app.extensions[EXTENSION]
    load_all()
    configure_mappers()  # once, here, rather than in every work-horse
    served = [Queue(name, connection=runtime.redis) for name in queues]
    worker_class = GracefulWorker if fork else GracefulSimpleWorker

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
        if ticker.is_alive():
            log.warning("the ticker did not stop within %s s; killed", TICKER_STOP_S)
            ticker.kill()
            ticker.join()
        log.info("worker stopped")


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
        if worker._shutdown_requested_date is not None or shutdown.requested():
            return worked
        log.warning("the RQ worker quit (Redis unavailable?); working again once Redis answers")
        try:
            _wait_for(redis)
        except StopRequested:  # a shutdown asked for while we waited
            return worked
        if shutdown.requested():
            return worked


def _wait_for(redis: Redis) -> None:
    while not shutdown.requested():
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

    def stop(_signum: int, _frame: FrameType | None) -> None:
        # Abandon the sweep in progress (its transaction rolls back) rather than finish
        # it: a sweep waiting on a lock or a provider would hold the worker up.
        ticker.stop()
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the worker's to handle
    ticker.run()
