"""The worker process: RQ on Malipo's queues, the RQ scheduler, and the ticker.

RQ's default worker forks a work-horse for every job. A process that forks must not
run threads: a lock another thread holds at the fork (SQLAlchemy's mapper lock, a
client cache's lock, the logging lock) stays held for ever in the child, and the job
hangs. So the ticker runs in a process of its own, forked before anything else starts,
and the forking worker is left with one thread. Only `documents` jobs fork, though:
money and event jobs run in the worker process (`MoneyInProcessWorker`).
"""

from __future__ import annotations

import multiprocessing
import os
import signal

from flask import Flask
from rq import Queue, SimpleWorker, Worker
from rq.job import Job
from rq.worker import WorkerStatus
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
# Jobs run in the worker process itself: many, small, and Malipo's own code. A forked
# work-horse costs about 0.1 s a job here (the fork, a new database connection, a
# backend with cold caches), which would cap reconciliation near 150 callbacks/s.
IN_PROCESS_QUEUES = frozenset({"default", "ledger", "events"})


class MoneyInProcessWorker(Worker):
    """RQ's forking worker, except that money and event jobs run in this process.

    PDF rendering and e-mail (`documents`) still get a work-horse each: their memory
    and native code stay out of the long-lived process. Jobs run here keep RQ's
    timeout (SIGALRM, as in SimpleWorker); the process still runs no thread, so forking
    a work-horse stays safe.
    """

    def execute_job(self, job: Job, queue: Queue) -> None:
        if queue.name not in IN_PROCESS_QUEUES:
            super().execute_job(job, queue)
            return
        self.prepare_execution(job)
        self.perform_job(job, queue)
        self.set_state(WorkerStatus.IDLE)


def run(
    app: Flask, *, burst: bool = False, simple: bool = False, queues: tuple[str, ...] = QUEUES
) -> bool:
    """`simple`: run every job in this process (RQ's SimpleWorker), documents included."""
    runtime = app.extensions[EXTENSION]
    load_all()
    configure_mappers()  # once, here, rather than in every work-horse
    served = [Queue(name, connection=runtime.redis) for name in queues]
    worker_class = SimpleWorker if simple else MoneyInProcessWorker
    worker = worker_class(
        served, connection=runtime.redis, maintenance_interval=MAINTENANCE_INTERVAL_S
    )
    if burst:
        relay(runtime.sessions, runtime.queue)
        return worker.work(burst=True, with_scheduler=True)
    ticker = multiprocessing.get_context("fork").Process(
        target=_tick, args=(app,), name="malipo-ticker", daemon=True
    )
    ticker.start()
    try:
        return worker.work(with_scheduler=True)
    finally:
        ticker.terminate()
        ticker.join(TICKER_STOP_S)


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
