"""Every error leaves as RFC 9457 problem+json, naming the offending field."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify
from marshmallow import Schema, fields
from werkzeug.exceptions import HTTPException

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
    app.register_error_handler(Exception, from_unexpected)
