"""Job names → functions. Only registered functions can be run from an outbox row."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

JobFunction = Callable[..., Any]
_JOBS: dict[str, JobFunction] = {}


def job(name: str) -> Callable[[JobFunction], JobFunction]:
    def register(function: JobFunction) -> JobFunction:
        if _JOBS.get(name, function) is not function:
            raise ValueError(f"job {name!r} is registered twice")
        _JOBS[name] = function
        return function

    return register


def lookup(name: str) -> JobFunction:
    try:
        return _JOBS[name]
    except KeyError:
        raise LookupError(f"no job named {name!r}") from None
