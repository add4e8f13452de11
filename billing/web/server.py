"""`billing serve`: the app under gunicorn, configured in code."""

from __future__ import annotations

import gc
from typing import Any

from gunicorn.app.base import BaseApplication

from billing.app import create_app


class _Gunicorn(BaseApplication):
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        return create_app()


def _post_worker_init(worker: Any) -> None:
    # The app's import-time objects live as long as the process: out of the collector's
    # sight they make every full collection (a pause in some unlucky request) shorter.
    gc.freeze()
    _start_inline_ticker(worker)


def _start_inline_ticker(worker: Any) -> None:
    """Without Redis there is no worker process: each web worker relays leftovers."""
    from billing.jobs.ticker import Ticker
    from billing.runtime import EXTENSION
    from billing.schedule import periodic_tasks

    runtime = worker.wsgi.extensions[EXTENSION]
    if runtime.queue.runs_inline:
        Ticker(periodic_tasks(worker.wsgi)).start()


def run(host: str, port: int, workers: int) -> None:
    _Gunicorn(
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            "worker_class": "gthread",
            "threads": 8,
            "accesslog": "-",
            "timeout": 30,
            "post_worker_init": _post_worker_init,
        }
    ).run()
