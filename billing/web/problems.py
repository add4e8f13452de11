"""Every error leaves as RFC 9457 problem+json, naming the offending field."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from flask import Flask, Response, jsonify
from marshmallow import Schema, fields
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from werkzeug.exceptions import HTTPException

from billing.core.db import DATABASE_UNAVAILABLE
from billing.core.errors import MalipoError

log = logging.getLogger(__name__)
MEDIA_TYPE = "application/problem+json"


class ProblemSchema(Schema):
    """Documentation of the error body (RFC 9457)."""

    type = fields.String()
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))


def problem(
    status: int,
    title: str,
    detail: str = "",
    errors: dict[str, list[str]] | None = None,
    type_slug: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {
        "type": f"/problems/{type_slug}" if type_slug else "about:blank",
        "title": title,
        "status": status,
        "detail": detail or title,
    }
    if errors:
        body["errors"] = errors
    response = jsonify(body)
    response.status_code = status
    response.mimetype = MEDIA_TYPE
    response.headers.update(headers or {})
    return response


def from_domain_error(error: MalipoError) -> Response:
    return problem(error.status, error.title, error.detail, error.errors, error.type_slug)


def from_http_exception(error: HTTPException) -> Response:
    data = getattr(error, "data", None) or {}
    errors = flatten_field_errors(data.get("errors") or data.get("messages") or {})
    detail = data.get("message") or error.description or ""
    if errors and not data.get("message"):
        detail = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in errors.items())
    if errors:
        return problem(
            error.code or 422,
            "Invalid input",
            detail,
            errors,
            "invalid-input",
            headers=_headers(error, data),
        )
    return problem(error.code or 500, error.name, detail, headers=_headers(error, data))


def _headers(error: HTTPException, data: dict[str, Any]) -> dict[str, str]:
    """webargs' headers, and werkzeug's `Allow` on a 405: the methods the path does take."""
    allow = {name: value for name, value in error.get_headers() if name == "Allow"}
    return {**(data.get("headers") or {}), **allow}


def from_unexpected(error: Exception) -> Response:
    log.exception("unhandled error", exc_info=error)
    return problem(500, "Internal Server Error", "an unexpected error; it has been logged")


REDIS_UNAVAILABLE: tuple[type[Exception], ...] = (RedisConnectionError, RedisTimeoutError)
RETRY_AFTER_S = 5  # about a PostgreSQL restart; the pool recovers on the next request
LOG_EVERY_S = 10.0  # an outage is one log line per dependency this often, not per request


def unavailable(dependency: str = "database") -> Response:
    """503 with Retry-After: a dependency is away, the request may be sent again as is."""
    return problem(
        503,
        "Service Unavailable",
        f"the {dependency} is unavailable; retry after {RETRY_AFTER_S} s",
        type_slug="unavailable",
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


def from_unavailable(error: Exception) -> Response:
    dependency = "redis" if isinstance(error, REDIS_UNAVAILABLE) else "database"
    _outage_log.note(dependency, error)
    return unavailable(dependency)


class _OutageLog:
    """One line per dependency per LOG_EVERY_S, with a count of the rest. Only the
    error's class and first line: SQLAlchemy's message carries statement parameters,
    which may be a request's body."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: dict[str, float] = {}
        self._quiet: dict[str, int] = {}

    def note(self, dependency: str, error: Exception) -> None:
        now = time.monotonic()
        with self._lock:
            if now - self._last.get(dependency, -LOG_EVERY_S) < LOG_EVERY_S:
                self._quiet[dependency] = self._quiet.get(dependency, 0) + 1
                return
            self._last[dependency] = now
            quiet = self._quiet.pop(dependency, 0)
        cause = getattr(error, "orig", None) or error
        first_line = (str(cause).splitlines() or [""])[0][:200]
        log.warning(
            "%s unavailable, answering 503 (%s: %s; %d more since the last line)",
            dependency, type(cause).__name__, first_line, quiet,
        )  # fmt: skip


_outage_log = _OutageLog()


def flatten_field_errors(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """Flatten webargs errors: `{"json": {"amount": [...]}}` becomes `{"amount": [...]}`."""
    if isinstance(messages, list):
        return {prefix or "body": [str(m) for m in messages]}
    flat: dict[str, list[str]] = {}
    for key, value in messages.items():
        name = str(key) if not prefix else f"{prefix}.{key}"
        if not prefix and key in ("json", "query", "form", "headers", "files", "view_args"):
            name = ""
        flat.update(flatten_field_errors(value, name))
    return flat


def register(app: Flask) -> None:
    app.register_error_handler(MalipoError, from_domain_error)
    app.register_error_handler(HTTPException, from_http_exception)
    for unavailable_error in (*DATABASE_UNAVAILABLE, *REDIS_UNAVAILABLE):
        app.register_error_handler(unavailable_error, from_unavailable)
    app.register_error_handler(Exception, from_unexpected)
