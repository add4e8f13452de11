"""What RQ calls in a worker: the registered job, run in Malipo's app.

A worker started by `billing worker` has the app already; one started another way
(`rq worker` on Malipo's queues) gets the same composition root here, once a process.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import Flask, has_app_context

from billing.app import create_app
from billing.jobs import runner

_app: Flask | None = None


def run(job: str, *args: Any) -> Any:
    if has_app_context():
        return runner.run(job, *args)
    with _process_app().app_context():
        return runner.run(job, *args)


def run_batch(job: str, arg_lists: Sequence[Sequence[Any]]) -> int:
    if has_app_context():
        return runner.run_batch(job, arg_lists)
    with _process_app().app_context():
        return runner.run_batch(job, arg_lists)


def _process_app() -> Flask:
    global _app
    if _app is None:
        _app = create_app()
    return _app
