"""`billing serve`: the app under Granian, configured in code.

Granian parses HTTP in Rust and runs the WSGI app on a few Python threads a process.
Measured here (2 cores, wrk, 16 connections, 2 processes), it costs a sixth less CPU
a callback than gunicorn's threaded worker, whose HTTP parsing is Python: 1.0 to 1.1 ms
against 1.3 ms, 971 and 995 callbacks/s against 792 and 865 in alternating runs.
"""

from __future__ import annotations

import gc
import os

from flask import Flask
from granian import Granian
from granian.constants import Interfaces

from billing.app import create_app
from billing.core.metrics import prepare_directory
from billing.jobs.ticker import Ticker
from billing.runtime import EXTENSION
from billing.schedule import periodic_tasks

# WSGI threads a process: enough for requests waiting on the database to overlap, few
# enough that they do not queue on the GIL (8 gave a worse p99 than 4 here).
THREADS = 4
GC_YOUNG = 20_000  # allocations between young collections (CPython's default: 700)


def app() -> Flask:
    """What each server process runs: the app, and without Redis (so no `billing worker`)
    a ticker thread of its own to relay leftovers and run the periodic tasks."""
    flask_app = create_app()
    if flask_app.extensions[EXTENSION].queue.runs_inline:
        Ticker(periodic_tasks(flask_app)).start()
    # The app's import-time objects live as long as the process: out of the collector's
    # sight, they make each full collection (a pause in some unlucky request) shorter.
    gc.freeze()
    # A request's garbage is freed by reference counting when it ends; the collector only
    # finds cycles. At the default threshold (700) a 1,000-record usage batch set off ~14
    # young and one or two middle collections, each walking the batch's live rows: ~2.5 ms
    # a batch. At 20,000 a batch sets off none, and cycles are still collected, later.
    gc.set_threshold(GC_YOUNG, *gc.get_threshold()[1:])
    return flask_app


def run(host: str, port: int, workers: int) -> None:
    # A line a request through Python's logging (one lock for every thread) was a fifth of
    # the callback path's time. Off unless asked: callbacks are kept whole in the inbox,
    # with their headers and source address, and every change is in the audit trail.
    access_log = os.environ.get("MALIPO_ACCESS_LOG", "") not in ("", "0")
    prepare_directory()  # /metrics sums every server process's counters (multi-process mode)
    Granian(
        f"{__name__}:app",
        factory=True,
        interface=Interfaces.WSGI,
        address=host,
        port=port,
        workers=workers,
        blocking_threads=THREADS,
        log_access=access_log,
        workers_kill_timeout=30,
    ).serve()
