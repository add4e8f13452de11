"""A test seam: hold a named job inside its transaction and say so, so a kill lands there.

Off unless the process starts with `MALIPO_TEST_HOLD` (job or periodic task names,
comma-separated) and `MALIPO_TEST_HOOK_DIR` (a folder). Then a unit of work run by one
of those, just before it commits, writes `<folder>/<name>.<pid>.inside` and sleeps
`MALIPO_TEST_HOLD_S` (default 120 s): a test waits for the file and kills the worker
there, knowing the transaction was open. Read once, at import; costs a set lookup.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

_HOLD = frozenset(filter(None, os.environ.get("MALIPO_TEST_HOLD", "").split(",")))
_FOLDER = os.environ.get("MALIPO_TEST_HOOK_DIR", "")
_HOLD_S = float(os.environ.get("MALIPO_TEST_HOLD_S", "120"))
_running: ContextVar[str | None] = ContextVar("malipo_running_job", default=None)


@contextmanager
def running(name: str) -> Iterator[None]:
    """Mark the job (or periodic task) this code runs for."""
    token = _running.set(name)
    try:
        yield
    finally:
        _running.reset(token)


def before_commit() -> None:
    """Hold here, inside the transaction, if this job is to be held (tests only)."""
    if not _HOLD or not _FOLDER:
        return
    name = _running.get()
    if name not in _HOLD:
        return
    Path(_FOLDER, f"{name}.{os.getpid()}.inside").write_text(str(time.time()))
    time.sleep(_HOLD_S)
