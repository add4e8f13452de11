"""A Stripe webhook that meets a database outage is spooled, acknowledged, and credited
once PostgreSQL is back, like every provider's callback (issue 14)."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select
from sqlalchemy.pool import NullPool

from billing import create_app
from billing.core.config import Settings, normalise_database_url
from billing.core.db import make_engine, make_session_factory
from billing.core.money import Currency
from billing.ledger.models import Transaction
from billing.runtime import EXTENSION
from billing.tenants.models import BillingMode
from billing.tenants.service import NewTenant, create_tenant
from billing.topups.models import Topup, TopupStatus
from tests.e2e.conftest import BILLING, _stop, billing, start_worker, stop_worker
from tests.e2e.own_services import OwnPostgres, OwnRedis, free_port, postgres_bindir
from tests.polling import eventually
from tests.stripe_fake import StripeFake, signed

pytestmark = pytest.mark.e2e


def test_a_webhook_during_a_postgres_outage_is_spooled_then_credited_once(tmp_path):
    bindir = postgres_bindir()
    if bindir is None or not Path("/usr/bin/redis-server").exists():
        pytest.skip("needs Debian's PostgreSQL (/usr/lib/postgresql/*/bin) and redis-server")
    pg, own_redis = OwnPostgres(bindir), OwnRedis()
    fake = serve = worker = None
    try:
        pg.start()
        own_redis.start()
        fake = StripeFake(free_port(), tmp_path / "stripe.log")
        database_url = normalise_database_url(pg.create_database("malipo"))
        port = free_port()
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "REDIS_URL": own_redis.url,
            "SECRET_KEY": "e2e",
            "MALIPO_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "MALIPO_PROVIDER_MODE": "sandbox",
            "MALIPO_REDRIVE_AFTER_S": "3",
            "MALIPO_SPOOL_DIR": str(tmp_path / "spool"),
            "MALIPO_PROVIDER_SETTINGS": json.dumps({"card": fake.settings()}),
        }
        billing(env, "db", "upgrade")
        serve = subprocess.Popen(
            [BILLING, "serve", "--port", str(port)],
            env=env, stdout=(tmp_path / "serve.log").open("w"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        assert eventually(lambda: _healthy(url), timeout_s=30), "billing serve did not start"
        worker = start_worker(env, tmp_path / "worker.log")
        sessions = make_session_factory(make_engine(database_url, poolclass=NullPool))
        headers = _tenant(database_url)
        created = requests.post(
            f"{url}/v1/topups",
            json={"amount": 7_000_00, "currency": "TZS", "provider": "card"},
            headers=headers,
            timeout=30,
        ).json()
        intent = fake.pay(created["client_secret"])  # the fake sends no webhook here
        assert intent["status"] == "succeeded"
        event = {
            "id": f"evt_outage_{created['id']}",
            "object": "event",
            "type": "payment_intent.succeeded",
            "created": int(time.time()),
            "data": {"object": intent},
        }
        pg.stop()
        body, signature = signed(event)
        during = requests.post(
            f"{url}/v1/callbacks/stripe", data=body, headers=signature, timeout=30
        )
        assert during.status_code == 200, during.text  # kept on disk: Stripe need not retry
        assert list((tmp_path / "spool").iterdir())
        pg.start()
        assert eventually(
            lambda: _status(sessions, created["id"]) is TopupStatus.SUCCEEDED, timeout_s=60
        )
        assert eventually(lambda: not list((tmp_path / "spool").iterdir()), timeout_s=20)
        again = requests.post(
            f"{url}/v1/callbacks/stripe", data=body, headers=signed(event)[1], timeout=30
        )
        assert again.status_code == 200
        time.sleep(2)
        with sessions() as session:
            credits = session.execute(
                select(func.count())
                .select_from(Transaction)
                .where(Transaction.idempotency_key == f"topup:{created['id']}")
            ).scalar_one()
        assert credits == 1
    finally:
        if worker is not None:
            stop_worker(worker)
        if serve is not None:
            _stop(serve)
        if fake is not None:
            fake.stop()
        own_redis.destroy()
        pg.destroy()


def _healthy(url: str) -> bool:
    try:
        return requests.get(f"{url}/healthz", timeout=1).ok
    except requests.ConnectionError:
        return False


def _status(sessions, topup_id: str):
    try:
        with sessions() as session:
            return session.get(Topup, topup_id).status
    except Exception:  # the database is still coming back
        return None


def _tenant(database_url: str) -> dict[str, str]:
    app = create_app(Settings(database_url=database_url, secret_key="e2e"))
    with app.extensions[EXTENSION].unit_of_work() as session:
        created = create_tenant(
            session,
            NewTenant(
                name="Duka",
                email="b@duka.co.tz",
                msisdn="255712345678",
                billing_mode=BillingMode.PREPAID,
                currency=Currency.TZS,
            ),
        )
    app.extensions[EXTENSION].engine.dispose()
    return {"Authorization": f"Bearer {created.api_key}"}
