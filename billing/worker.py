"""The worker process: RQ on Malipo's queues, the RQ scheduler, and the ticker."""

from __future__ import annotations

from flask import Flask
from rq import Queue, SimpleWorker, Worker
from sqlalchemy.orm import configure_mappers

from billing.jobs.outbox import relay
from billing.jobs.queues import QUEUES
from billing.jobs.ticker import Ticker
from billing.models import load_all
from billing.runtime import EXTENSION
from billing.schedule import periodic_tasks

# RQ re-queues a job whose worker died only when maintenance notices; check often.
MAINTENANCE_INTERVAL_S = 15


def run(app: Flask, *, burst: bool = False, simple: bool = False) -> bool:
    """`simple`: run each job in this process (RQ's SimpleWorker), not in a forked work-horse."""
    runtime = app.extensions[EXTENSION]
    # Configure the ORM mappers now, before the ticker thread starts: a work-horse forked
    # while that thread held SQLAlchemy's configure lock would wait for it for ever.
    load_all()
    configure_mappers()
    queues = [Queue(name, connection=runtime.redis) for name in QUEUES]
    worker_class = SimpleWorker if simple else Worker
    worker = worker_class(
        queues, connection=runtime.redis, maintenance_interval=MAINTENANCE_INTERVAL_S
    )
    if burst:
        relay(runtime.sessions, runtime.queue)
        return worker.work(burst=True, with_scheduler=True)
    ticker = Ticker(periodic_tasks(app))
    ticker.start()
    try:
        return worker.work(with_scheduler=True)
    finally:
        ticker.stop()
