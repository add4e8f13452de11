"""The request id: set at the edge for each request, carried into the jobs it causes.

A context variable, so each server thread (and each job a worker runs) has its own.
"""

from __future__ import annotations

import re
import secrets
from contextvars import ContextVar

_request_id: ContextVar[str | None] = ContextVar("malipo_request_id", default=None)
# A caller's own id is kept when it is short and plain (a proxy's X-Request-Id);
# anything else could inject into a log line, so a new one is made instead.
_ACCEPTABLE = re.compile(r"[A-Za-z0-9._:-]{8,64}")


def request_id() -> str | None:
    return _request_id.get()


def new_request_id() -> str:
    return secrets.token_hex(8)


def accept_request_id(offered: str | None) -> str:
    """The caller's id if it is acceptable, otherwise a new one."""
    if offered and _ACCEPTABLE.fullmatch(offered):
        return offered
    return new_request_id()


def bind_request_id(value: str | None) -> object:
    """Set the id for this context; returns the token `unbind_request_id` takes."""
    return _request_id.set(value)


def unbind_request_id(token: object) -> None:
    _request_id.reset(token)  # type: ignore[arg-type]
