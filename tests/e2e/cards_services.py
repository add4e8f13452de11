"""The services of the card e2e tests, one set per test module: the Stripe fake,
`billing serve` configured for cards (webhooks from the fake come to it), and a worker."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import requests

from tests.e2e.conftest import BILLING, _stop, free_port, start_worker, stop_worker
from tests.polling import eventually
from tests.stripe_fake import StripeFake


@pytest.fixture(scope="module")
def logs(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cards-logs")


@pytest.fixture(scope="module")
def fake(logs) -> StripeFake:
    stripe_fake = StripeFake(free_port(), logs / "stripe.log")
    yield stripe_fake
    stripe_fake.stop()


@pytest.fixture(scope="module")
def card_env(database_url, redis_url, fake, logs) -> dict[str, str]:
    port = free_port()
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": "e2e-cards",
        "MALIPO_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "MALIPO_PROVIDER_MODE": "sandbox",
        "MALIPO_SANDBOX_DELAY_S": "0.2",
        "MALIPO_REDRIVE_AFTER_S": "3",
        "MALIPO_PROVIDER_SETTINGS": json.dumps({"card": fake.settings()}),
        "MALIPO_SPOOL_DIR": str(logs / "spool"),
        "CARDS_PORT": str(port),
    }


@pytest.fixture(scope="module")
def card_url(card_env, fake, logs):

    port = card_env["CARDS_PORT"]
    process = subprocess.Popen(
        [BILLING, "serve", "--port", port],
        env=card_env,
        stdout=(logs / "serve.log").open("w"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    if not eventually(lambda: _up(url), timeout_s=30):
        _stop(process)
        pytest.fail("billing serve did not start")
    fake.send_webhooks_to(f"{url}/v1/callbacks/stripe")
    yield url
    _stop(process)


def _up(url: str) -> bool:
    try:
        return requests.get(f"{url}/healthz", timeout=1).ok
    except requests.ConnectionError:
        return False


@pytest.fixture(scope="module")
def card_worker(card_env, logs):
    process = start_worker(card_env, logs / "worker.log")
    yield process
    stop_worker(process)


@pytest.fixture
def service(card_url, card_worker) -> str:
    return card_url
