"""A live Malipo on a loopback port, in sandbox mode, with jobs run in-process.

The adapters reach the simulators over real HTTP, and the simulators post their
callbacks back to this same server, as `billing serve` does in sandbox mode.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests
from flask import Flask
from werkzeug.serving import make_server

from billing import create_app
from billing.core.config import Settings
from billing.runtime import EXTENSION, Runtime


@dataclass(frozen=True)
class Live:
    url: str
    app: Flask

    @property
    def runtime(self) -> Runtime:
        return self.app.extensions[EXTENSION]


@pytest.fixture(scope="session")
def live(database_url: str) -> Iterator[Live]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    app = create_app(
        Settings(
            database_url=database_url,
            public_url=url,
            provider_mode="sandbox",
            sandbox_delay_s=0.05,
            redrive_after_s=1.0,
            secret_key="t",
            testing=True,
        )
    )
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Live(url, app)
    server.shutdown()


def get(live: Live, path: str, caller) -> dict:
    return requests.get(f"{live.url}{path}", headers=caller.headers, timeout=10).json()
