"""Every request: a request id (echoed as `X-Request-Id`, carried into logs and jobs),
and its count and latency by route template for /metrics.

A WSGI middleware rather than Flask hooks, so an error page and a 404 are timed and
counted too. The route is the URL rule's template (`/v1/topups/<topup_id>`), never the
path itself, so a caller cannot grow the label set; a path no rule matches is
`unmatched`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, request

from billing.core.context import accept_request_id, bind_request_id, unbind_request_id
from billing.core.metrics import REQUEST_SECONDS, REQUESTS

HEADER = "X-Request-Id"
_ROUTE = "malipo.route"
_UNMATCHED = "unmatched"

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict, StartResponse], Iterable[bytes]]


class Observed:
    def __init__(self, wsgi_app: WsgiApp) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        began = time.perf_counter()
        rid = accept_request_id(environ.get("HTTP_X_REQUEST_ID"))
        token = bind_request_id(rid)
        method = environ.get("REQUEST_METHOD", "GET")

        def observed_start(status: str, headers: list, exc_info: Any = None) -> Any:
            headers.append((HEADER, rid))
            route = environ.get(_ROUTE, _UNMATCHED)
            REQUESTS.labels(route, method, status[:3]).inc()
            REQUEST_SECONDS.labels(route, method).observe(time.perf_counter() - began)
            return start_response(status, headers, exc_info)

        try:
            return self.wsgi_app(environ, observed_start)
        finally:
            unbind_request_id(token)


def _note_route() -> None:
    rule = request.url_rule
    request.environ[_ROUTE] = rule.rule if rule is not None else _UNMATCHED


def register(app: Flask) -> None:
    app.before_request_funcs.setdefault(None, []).insert(0, _note_route)  # before any refusal
    app.wsgi_app = Observed(app.wsgi_app)  # type: ignore[method-assign]
