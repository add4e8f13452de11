"""Bad input that slipped past validation: a 4xx problem (logged as a bug), never a 500.

The edge (billing.web.validation, billing.web.fields) should refuse what PostgreSQL or
decimal arithmetic cannot take; when something still escapes, the client's request was
at fault, so it is told so, and the log says validation missed it. A database that is
away is not this: `OperationalError` is not caught here (it is a 503 elsewhere).
"""

from __future__ import annotations

import logging
from decimal import InvalidOperation

from flask import Flask, Response, request
from sqlalchemy.exc import DataError, IntegrityError

from billing.web.problems import problem

log = logging.getLogger(__name__)


def _data_error(error: DataError) -> Response:
    log.error("bug: a value the edge should have refused reached the database on %s %s: %s",
              request.method, request.path, error.orig, exc_info=error)  # fmt: skip
    return problem(
        422,
        "Invalid input",
        "a value is out of the range or form the service can store",
        type_slug="invalid-input",
    )


def _integrity_error(error: IntegrityError) -> Response:
    log.error("bug: a constraint refused a write on %s %s: %s",
              request.method, request.path, error.orig, exc_info=error)  # fmt: skip
    return problem(
        409,
        "Conflict",
        "the request conflicts with what is stored (a duplicate or a missing reference)",
        type_slug="conflict",
    )


def _invalid_operation(error: InvalidOperation) -> Response:
    log.error("bug: decimal arithmetic failed on %s %s", request.method, request.path,
              exc_info=error)  # fmt: skip
    return problem(
        422,
        "Invalid input",
        "a number is out of the range the service can compute with",
        type_slug="invalid-input",
    )


def register(app: Flask) -> None:
    app.register_error_handler(DataError, _data_error)
    app.register_error_handler(IntegrityError, _integrity_error)
    app.register_error_handler(InvalidOperation, _invalid_operation)
