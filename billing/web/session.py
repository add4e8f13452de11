"""One database transaction per request: committed when the response is a success.

Like pyramid_tm: a view that returns 2xx/3xx has its work committed; an error
rolls it back. After the commit, the jobs the request deferred are relayed.
"""

from __future__ import annotations

import contextlib
import logging

from flask import Flask, Response, request
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from billing.core import scoping
from billing.runtime import current
from billing.web.problems import unavailable

log = logging.getLogger(__name__)


def request_state() -> dict:
    """State of this request alone. Not `g`: a test or CLI that holds an app context open
    would share `g` across the requests it makes."""
    return request.environ.setdefault("malipo.request", {})


def request_session() -> Session:
    state = request_state()
    if "db" not in state:
        session = state["db"] = current().sessions()
        # No tenant's rows until the caller is known (see billing.auth.access.principal).
        scoping.set_scope(session, scoping.ANONYMOUS)
    return state["db"]


def _finish(response: Response) -> Response:
    session: Session | None = request_state().pop("db", None)
    if session is None:
        return response
    try:
        if response.status_code < 400:
            if session.in_transaction():  # reads alone (autocommit) leave none to commit
                session.commit()
            current().relay_written(session)
        else:
            session.rollback()
    except DBAPIError as error:  # only its class: the message may carry request data
        log.warning("commit failed; answering 503 (%s)", type(error.orig).__name__)
        with contextlib.suppress(DBAPIError):  # a dead connection cannot roll back either
            session.rollback()
        return unavailable()
    finally:
        session.close()
    return response


def _close(_exc: BaseException | None) -> None:
    session: Session | None = request_state().pop("db", None)
    if session is not None:
        session.close()


def register(app: Flask) -> None:
    app.after_request(_finish)
    app.teardown_request(_close)
