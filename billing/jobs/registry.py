"""Job names → functions. Only registered functions can be run from an outbox row.

A job registered with `batch=N` may be handed up to N outbox rows in one RQ job
(`billing.processes.jobs.run_batch`): RQ costs a few milliseconds a job whatever the job
does, so work that arrives in bursts (callbacks to reconcile) shares that cost. Only
idempotent jobs that take ids qualify, which every job here must be anyway: a batch
that fails is retried whole, and the items it had done are no-ops the second time.

Such a job may also register a `batch_handler`: one function that does a whole batch
at once (one transaction instead of one per item) and returns the argument lists it
left for the one-at-a-time function. Whatever it raises, the runner falls back to
running every item alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

JobFunction = Callable[..., Any]
BatchFunction = Callable[[list[list[Any]]], list[list[Any]]]
_JOBS: dict[str, JobFunction] = {}
_BATCH: dict[str, int] = {}
_HANDLERS: dict[str, BatchFunction] = {}


def job(name: str, *, batch: int = 1) -> Callable[[JobFunction], JobFunction]:
    if batch < 1:
        raise ValueError("a batch holds at least one job")

    def register(function: JobFunction) -> JobFunction:
        if _JOBS.get(name, function) is not function:
            raise ValueError(f"job {name!r} is registered twice")
        _JOBS[name] = function
        _BATCH[name] = batch
        return function

    return register


def lookup(name: str) -> JobFunction:
    try:
        return _JOBS[name]
    except KeyError:
        raise LookupError(f"no job named {name!r}") from None


def batch_size(name: str) -> int:
    """How many outbox rows of this job one RQ job may carry (1: each its own)."""
    lookup(name)
    return _BATCH[name]


def batch_handler(name: str) -> Callable[[BatchFunction], BatchFunction]:
    """Register the whole-batch form of the batchable job `name`."""

    def register(function: BatchFunction) -> BatchFunction:
        if batch_size(name) == 1:
            raise ValueError(f"job {name!r} is not batchable")
        if _HANDLERS.get(name, function) is not function:
            raise ValueError(f"job {name!r} has a batch handler already")
        _HANDLERS[name] = function
        return function

    return register


def handler_for(name: str) -> BatchFunction | None:
    return _HANDLERS.get(name)
