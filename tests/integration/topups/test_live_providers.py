"""Live mode: only the configured providers are enabled, and /readyz says when one of
them cannot authenticate."""

from __future__ import annotations

import socket
import threading

import pytest
from flask import Flask
from werkzeug.serving import make_server

from billing import create_app
from billing.core.config import Settings

pytestmark = pytest.mark.integration


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def tigo_settings(token_url: str) -> dict:
    return {
        "token_url": token_url,
        "pay_url": "https://tigo.invalid/pay",
        "username": "malipo",
        "password": "tigo-secret",
        "biller_msisdn": "255650000000",
        "biller_code": "BC01",
        "callback_ips": ["41.222.176.0/24"],
        "callback_token": "a-long-random-callback-token",
        "connect_timeout_s": 1.0,
    }


@pytest.fixture
def live_app(database_url: str):
    unreachable = f"http://127.0.0.1:{closed_port()}/token"
    return create_app(
        Settings(
            database_url=database_url,
            provider_mode="live",
            provider_settings={"tigopesa": tigo_settings(unreachable)},
            secret_key="t",
            testing=True,
        )
    )


def test_readyz_reports_a_provider_that_cannot_authenticate(live_app):
    response = live_app.test_client().get("/readyz")
    assert response.status_code == 503
    checks = response.get_json()["checks"]
    assert checks["database"] == "ok"
    assert checks["provider:tigopesa"].startswith("failed")
    assert "tigo-secret" not in response.get_data(as_text=True)


def test_a_top_up_naming_a_provider_that_is_not_enabled_is_a_422_naming_provider(live_app, tenant):
    response = live_app.test_client().post(
        "/v1/topups",
        json={"amount": 1_000_00, "currency": "TZS", "msisdn": "0754 321 999", "provider": "mpesa"},
        headers={**tenant.headers, "Idempotency-Key": "live-disabled-1"},
    )
    assert response.status_code == 422, response.get_data(as_text=True)
    assert "provider" in response.get_data(as_text=True)


def test_readyz_reports_a_provider_that_authenticates_as_ok(database_url):
    token_server = Flask("tigo-token")
    token_server.post("/token")(lambda: {"access_token": "TOK", "expires_in": 3600})
    server = make_server("127.0.0.1", 0, token_server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        app = create_app(
            Settings(
                database_url=database_url,
                provider_mode="live",
                provider_settings={
                    "tigopesa": tigo_settings(f"http://127.0.0.1:{server.server_port}/token")
                },
                secret_key="t",
                testing=True,
            )
        )
        response = app.test_client().get("/readyz")
    finally:
        server.shutdown()
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["checks"]["provider:tigopesa"] == "ok"
