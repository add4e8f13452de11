"""Whether this process was asked to stop: jobs that loop over batches ask between them.

Set by the worker's SIGTERM handler (`billing.worker`); a job that sees it hands the
rest of its work back (a new outbox row) and returns, so the worker can leave.
"""

from __future__ import annotations

import threading

_requested = threading.Event()


def request() -> None:
    _requested.set()


def requested() -> bool:
    return _requested.is_set()


def reset() -> None:
    """For tests: this process is not stopping after all."""
    _requested.clear()
