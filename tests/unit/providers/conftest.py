"""A real HTTP server on 127.0.0.1 for client tests, and RSA keys made at test time."""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Route:
    status: int
    body: Any
    delay_s: float = 0.0


@dataclass
class FakeProvider:
    url: str = ""
    routes: dict[tuple[str, str], list[Route]] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)

    def route(self, method: str, path: str, status: int, body: Any, delay_s: float = 0.0) -> None:
        """Queue an answer; the last one for a route repeats."""
        self.routes.setdefault((method, path), []).append(Route(status, body, delay_s))

    def answer(self, method: str, path: str) -> Route:
        queue = self.routes.get((method, path))
        if not queue:
            return Route(404, {"error": "no route"})
        return queue.pop(0) if len(queue) > 1 else queue[0]

    def calls(self, path: str) -> list[Seen]:
        return [seen for seen in self.seen if seen.path == path]


def _handler(fake: FakeProvider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            fake.seen.append(
                Seen(
                    self.command, parts.path, dict(parse_qsl(parts.query)), dict(self.headers), body
                )
            )
            route = fake.answer(self.command, parts.path)
            if route.delay_s:
                time.sleep(route.delay_s)
            payload = (
                route.body if isinstance(route.body, bytes) else json.dumps(route.body).encode()
            )
            try:
                self.send_response(route.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up first, which is what the timeout tests want

        do_GET = do_POST = do_PUT = do_DELETE = _serve

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def fake_provider():
    fake = FakeProvider()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    server.daemon_threads = True
    server.block_on_close = False  # do not wait out the deliberately slow handlers
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield fake
    server.shutdown()
    server.server_close()


@pytest.fixture
def refused_url() -> str:
    """A local port with nothing listening: the connection is refused before sending."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture(scope="session")
def rsa_private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def public_key_b64(rsa_private_key) -> str:
    der = rsa_private_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode()
