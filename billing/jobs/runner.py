"""Running a registered job, in the app whose context is current.

RQ calls `billing.processes.jobs` (the composition root's entry points), which
provides the app and calls these; the inline queue calls them directly. What a job's
transactions write to the outbox is relayed when the job ends, together
(`Relayer.collecting`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from rq import get_current_job

from billing.core.context import bind_request_id, request_id, unbind_request_id
from billing.core.metrics import JOB_SECONDS, JOBS
from billing.jobs.hooks import running
from billing.jobs.registry import handler_for, lookup

log = logging.getLogger(__name__)


class BatchFailed(RuntimeError):
    """Some items of a batch failed: RQ retries the batch, and the done items are no-ops."""


def run(job: str, *args: Any) -> Any:
    from billing.runtime import current

    with observed(job), running(job), current().relayer.collecting():
        return lookup(job)(*args)


def run_batch(job: str, arg_lists: Sequence[Sequence[Any]]) -> int:
    """Run `job` once for each argument list; every item runs even when one fails."""
    from billing.runtime import current

    function = lookup(job)
    failed = []
    with observed(job), running(job), current().relayer.collecting():
        for args in _batch_leftovers(job, arg_lists):
            try:
                function(*args)
            except Exception:
                log.exception("%s%r failed in a batch of %d", job, tuple(args), len(arg_lists))
                failed.append(args)
    if failed:
        raise BatchFailed(f"{len(failed)} of {len(arg_lists)} {job} jobs failed: {failed[:5]}")
    return len(arg_lists)


@contextmanager
def observed(job: str) -> Iterator[None]:
    """The job's count and time for /metrics, and the request id of the request that
    caused it (RQ carries it in the job's meta) on its log lines."""
    queued = get_current_job()
    caused_by = queued.meta.get("request_id") if queued is not None else None
    token = bind_request_id(caused_by or request_id())
    began = time.perf_counter()
    outcome = "failed"
    try:
        yield
        outcome = "ok"
    finally:
        JOBS.labels(job, outcome).inc()
        JOB_SECONDS.labels(job).observe(time.perf_counter() - began)
        unbind_request_id(token)


def _batch_leftovers(job: str, arg_lists: Sequence[Sequence[Any]]) -> Sequence[Sequence[Any]]:
    """What the job's batch handler, if it has one, left to run one at a time."""
    handler = handler_for(job)
    if handler is None:
        return arg_lists
    try:
        return handler([list(args) for args in arg_lists])
    except Exception:
        log.warning("%s batch of %d failed; running each alone", job, len(arg_lists), exc_info=True)
        return arg_lists
