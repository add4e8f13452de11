"""A WSGI app served on a loopback port the server bound itself (port 0).

Picking a free port, closing it and binding it again later races every other process
on the machine for it. The app needs its own URL before it is built (its public URL is
in the callbacks the sandbox posts back), so the server binds first and the app is made
from the URL of the port it got.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any, Generic, TypeVar

from werkzeug.serving import BaseWSGIServer, make_server

App = TypeVar("App", bound=Callable[..., Iterable[bytes]])


class _Later(Generic[App]):
    """Forwards to the app once it is made; nothing is served before that."""

    app: App

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        return self.app(environ, start_response)


def serve_on_own_port(make_app: Callable[[str], App]) -> tuple[BaseWSGIServer, str, App]:
    """The running server, its URL and the app `make_app(url)` made for it."""
    later: _Later[App] = _Later()
    server = make_server("127.0.0.1", 0, later, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    later.app = make_app(url)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, url, later.app
