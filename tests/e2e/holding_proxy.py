"""A pass-through HTTP proxy in front of `billing serve` that can hold one path.

A worker pointed at it (MALIPO_PUBLIC_URL) reaches the sandbox operators through it.
A held request is forwarded first (the operator acts on it), then its answer is kept
back and `inside` is set: the worker sits inside the provider call, at a known point,
for the test to kill it there.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

HOP_BY_HOP = {"connection", "transfer-encoding", "content-length", "host", "keep-alive"}


@dataclass
class Hold:
    path: str  # held when the request path starts with this
    inside: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    seen: int = 0


def _handler(upstream: str, hold: Hold) -> type[BaseHTTPRequestHandler]:
    class Forward(BaseHTTPRequestHandler):
        def _forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            reply = requests.request(
                self.command, upstream + self.path, headers=headers, data=body, timeout=30
            )
            if self.path.startswith(hold.path):
                hold.seen += 1
                hold.inside.set()
                hold.release.wait(60)
                return  # the caller is dead by now: no answer
            self.send_response(reply.status_code)
            for name, value in reply.headers.items():
                if name.lower() not in HOP_BY_HOP and name.lower() != "content-encoding":
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.content)))
            self.end_headers()
            self.wfile.write(reply.content)

        do_GET = do_POST = do_PUT = _forward

        def log_message(self, *args: object) -> None:
            pass

    return Forward


@contextmanager
def holding_proxy(upstream: str, hold: Hold) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(upstream, hold))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        hold.release.set()
        server.shutdown()
        server.server_close()
