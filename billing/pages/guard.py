"""Page requests: a live browser session becomes the request's caller (the same
`Principal` the API's keys give), every POST carries a CSRF token, and errors are pages.

Because the caller is bound where `billing.auth.access.principal()` looks for it, a page
view guarded by `requires(...)` finds path objects with the API's finders (ownership
before role) and is refused exactly as the API would refuse it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from billing.auth.access import scope_for
from billing.core import scoping
from billing.core.errors import MalipoError
from billing.pages import browser_sessions
from billing.pages.setup import csrf
from billing.web.session import request_session, request_state

PAGE_HEADERS = {"Cache-Control": "no-store"}


def guard(
    blueprint: Blueprint,
    kind: str,
    sign_in_endpoint: str | None,
    open_endpoints: set[str],
    still_allowed: Callable[[Any], bool] = lambda _row: True,
) -> None:
    """Bind the session's caller before each view of `blueprint`; refuse what lacks one,
    and a session whose owner may no longer come in (`still_allowed`: e.g. a tenant
    suspended since its link was opened)."""

    @blueprint.before_request
    def _bind() -> Response | None:
        if request.method == "POST":
            csrf.protect()
        if request.endpoint in open_endpoints:
            return None
        row = browser_sessions.current(request_session(), kind)
        if row is not None:  # found by its cookie: from now on, the caller's rows (RLS)
            scoping.set_scope(request_session(), scope_for(browser_sessions.principal_of(row)))
        if row is not None and not still_allowed(row):
            browser_sessions.close(request_session(), row)
            row = None
        if row is None:
            if sign_in_endpoint is not None:
                return redirect(url_for(sign_in_endpoint, next=request.full_path))
            return _error_page(
                401,
                _("Your session has ended"),
                _("Open the billing portal again from your platform account."),
            )
        request_state()["principal"] = browser_sessions.principal_of(row)
        request_state()["web_session"] = row
        return None

    @blueprint.after_request
    def _no_store(response: Response) -> Response:
        response.headers.update(PAGE_HEADERS)
        return response

    blueprint.register_error_handler(MalipoError, _domain_error)
    blueprint.register_error_handler(CSRFError, _csrf_error)
    blueprint.register_error_handler(HTTPException, _http_error)


def web_session():
    return request_state()["web_session"]


def _domain_error(error: MalipoError) -> Response:
    return _error_page(error.status, error.title, error.detail)


def _csrf_error(error: CSRFError) -> Response:
    return _error_page(
        400, _("This form has expired"), _("Go back, reload the page and send the form again.")
    )


def _http_error(error: HTTPException) -> Response:
    return _error_page(error.code or 500, error.name, error.description or "")


def _error_page(status: int, title: str, detail: str) -> Response:
    body = render_template("error.html", status=status, title=title, detail=detail)
    return Response(body, status=status, mimetype="text/html")
