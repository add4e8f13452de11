"""The one function RQ runs: it finds the registered job and runs it in Malipo's app."""

from __future__ import annotations

from typing import Any

from flask import Flask, has_app_context

from billing.jobs.registry import lookup

_app: Flask | None = None


def run(job: str, *args: Any) -> Any:
    if has_app_context():
        return lookup(job)(*args)
    with _process_app().app_context():
        return lookup(job)(*args)


def _process_app() -> Flask:
    """A worker started without Malipo's CLI still gets the one composition root."""
    global _app
    if _app is None:
        from billing.app import create_app

        _app = create_app()
    return _app
