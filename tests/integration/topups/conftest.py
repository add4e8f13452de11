"""A live Malipo on a loopback port, in sandbox mode, with jobs run in-process.

The adapters reach the simulators over real HTTP, and the simulators post their
callbacks back to this same server, as `billing serve` does in sandbox mode.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests
from flask import Flask

from billing import create_app
from billing.core.config import Settings
from billing.runtime import EXTENSION, Runtime
from tests.serving import serve_on_own_port


@dataclass(frozen=True)
class Live:
    url: str
    app: Flask

    @property
    def runtime(self) -> Runtime:
        return self.app.extensions[EXTENSION]


@pytest.fixture(scope="session")
def live(database_url: str) -> Iterator[Live]:
    def make_app(url: str) -> Flask:
        return create_app(
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

    server, url, app = serve_on_own_port(make_app)
    yield Live(url, app)
    server.shutdown()


def get(live: Live, path: str, caller) -> dict:
    return requests.get(f"{live.url}{path}", headers=caller.headers, timeout=10).json()
