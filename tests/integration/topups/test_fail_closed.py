"""Issue 13, finding 4: a database or Redis outage fails closed and loses nothing.

The outage is real: the app reaches PostgreSQL through a TCP proxy the test cuts
(`tests.fault_proxy`), which closes every pooled connection and refuses new ones, as a
restart does. Redis is "down" by pointing the app at a port nobody listens on.
"""

from __future__ import annotations

import dataclasses
import socket
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from werkzeug.serving import make_server

from billing import create_app
from billing.core.config import SANDBOX_VFD_DEVICE, Settings
from billing.jobs.models import OutboxMessage
from billing.jobs.outbox import relay
from billing.ledger.models import Transaction
from billing.runtime import EXTENSION, Runtime
from billing.topups.models import CallbackDelivery, Topup
from billing.topups.spool import drain_into_inbox, spool_for
from tests.fault_proxy import FaultProxy
from tests.integration.topups.test_topups import payer
from tests.polling import eventually

pytestmark = pytest.mark.integration
DEAD_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:1/none"  # nothing listens on port 1


@dataclasses.dataclass(frozen=True)
class Outage:
    url: str
    app: Flask
    proxy: FaultProxy

    @property
    def runtime(self) -> Runtime:
        return self.app.extensions[EXTENSION]


def serve(app: Flask, port: int):
    server = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def outage(database_url: str, live, tmp_path) -> Iterator[Outage]:
    """A live sandbox Malipo whose database connection the test can cut. Its top-ups'
    fiscal receipts are numbered on a VFD of its own and go to its own simulated TRA: a
    receipt TRA took while the database was cut (its answer never recorded, so it is
    resent and refused as a duplicate until a person looks) stops only this device's
    queue, not the receipts of the tests after it."""
    real = make_url(database_url)
    proxy = FaultProxy(real.host or "127.0.0.1", real.port or 5432)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = Settings(
        database_url=real.set(port=proxy.port).render_as_string(hide_password=False),
        public_url=url,
        provider_mode="sandbox",
        sandbox_delay_s=0.3,
        secret_key="test",
        testing=True,
        spool_dir=str(tmp_path / "spool"),
        vfd_device={**SANDBOX_VFD_DEVICE, "efd_serial": f"10TZ{uuid.uuid4().hex[:6].upper()}"},
    )
    app = create_app(settings)
    server = serve(app, port)
    yield Outage(url, app, proxy)
    server.shutdown()
    proxy.close()
    app.extensions[EXTENSION].engine.dispose()


def credits(sessions, topup_id: str) -> int:
    """Counted on the test's own connection, not through the proxy the test cuts."""
    with sessions() as session:
        return session.scalar(
            select(func.count()).select_from(Transaction).where(Transaction.reference == topup_id)
        )


def dead_database_app(spool_dir: Path | str, redis_url: str | None = None) -> Flask:
    return create_app(
        Settings(
            database_url=DEAD_DATABASE,
            redis_url=redis_url,
            secret_key="test",
            testing=True,
            spool_dir=str(spool_dir),
        )
    )


def post_topup(url: str, tenant, provider: str, ending: str = "9999") -> requests.Response:
    return requests.post(
        f"{url}/v1/topups",
        json={"amount": 5_000_00, "currency": "TZS", "msisdn": payer(provider, ending),
              "provider": provider},
        headers=tenant.headers,
        timeout=30,
    )  # fmt: skip


def assert_unavailable(response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    assert int(response.headers["Retry-After"]) > 0
    body = response.json() if callable(response.json) else response.json  # requests | Flask
    assert body["status"] == 503


def test_a_database_outage_answers_503_with_retry_after_and_recovers_by_itself(outage, tenant):
    assert post_topup(outage.url, tenant, "mpesa").status_code == 202  # pool is warm
    outage.proxy.cut()
    try:
        assert_unavailable(post_topup(outage.url, tenant, "mpesa"))
        assert_unavailable(requests.get(f"{outage.url}/v1/wallet", headers=tenant.headers))
        assert_unavailable(requests.get(f"{outage.url}/v1/topups", headers=tenant.headers))
    finally:
        outage.proxy.restore()
    # The dead pooled connections are not handed out again: the next request succeeds.
    assert post_topup(outage.url, tenant, "mpesa").status_code == 202


def test_a_verified_callback_during_an_outage_is_spooled_acknowledged_and_credited_once(
    outage, tenant, sessions
):
    spool = spool_for(outage.runtime.settings)
    created = post_topup(outage.url, tenant, "tigopesa")  # Tigo: no retry, no status query
    assert created.status_code == 202, created.text
    topup_id = created.json()["id"]
    outage.proxy.cut()  # the simulator's callback comes 0.3 s later, into the outage
    try:
        assert eventually(lambda: spool.count() == 1, timeout_s=10), "callback not spooled"
        ready = requests.get(f"{outage.url}/readyz", timeout=10)
        assert ready.status_code == 503 and ready.json()["checks"]["database"] != "ok"
        assert ready.json()["spool"] == 1  # the backlog an operator watches
    finally:
        outage.proxy.restore()
    assert credits(sessions, topup_id) == 0
    drained = drain_into_inbox(outage.runtime)
    assert (drained.stored, drained.waiting, drained.parked) == (1, 0, 0)
    # The drain's relay may meet a pooled connection the outage killed; the worker's
    # ticker relays what is left a second later, as here.
    relay(outage.runtime.sessions, outage.runtime.queue)
    assert eventually(lambda: credits(sessions, topup_id) == 1, timeout_s=10)
    assert drain_into_inbox(outage.runtime).stored == 0  # nothing left to drain twice
    with sessions() as session:
        assert session.get(Topup, topup_id).status == "succeeded"
        deliveries = session.scalars(
            select(CallbackDelivery.deliveries).where(CallbackDelivery.topup_id == topup_id)
        ).all()
    assert deliveries == [1]
    assert credits(sessions, topup_id) == 1


def genuine_mpesa_callback(outage, tenant, sessions) -> CallbackDelivery:
    created = post_topup(outage.url, tenant, "mpesa").json()
    assert eventually(lambda: credits(sessions, created["id"]) == 1, timeout_s=10)
    with sessions() as session:
        return session.execute(
            select(CallbackDelivery).where(CallbackDelivery.topup_id == created["id"])
        ).scalar_one()


def replay_headers(delivery: CallbackDelivery) -> dict[str, str]:
    dropped = ("host", "content-length", "connection")
    return {k: v for k, v in delivery.headers.items() if k.lower() not in dropped}


def test_a_callback_that_cannot_even_be_spooled_gets_the_operators_retry_answer(
    outage, tenant, sessions, tmp_path
):
    delivery = genuine_mpesa_callback(outage, tenant, sessions)
    not_a_directory = tmp_path / "file"
    not_a_directory.write_text("")
    app = dead_database_app(not_a_directory / "spool")
    response = app.test_client().post(
        "/v1/callbacks/mpesa", data=delivery.body, headers=replay_headers(delivery)
    )
    assert response.status_code == 503  # M-Pesa retries a 5xx
    assert response.json["output_ResponseCode"] == "1"  # its own format, not problem+json
    spooled = (
        dead_database_app(tmp_path / "spool")
        .test_client()
        .post("/v1/callbacks/mpesa", data=delivery.body, headers=replay_headers(delivery))
    )
    assert spooled.status_code == 200 and spooled.json["output_ResponseCode"] == "0"
    assert spool_for(Settings(spool_dir=str(tmp_path / "spool"))).count() == 1


def test_an_unverifiable_callback_that_cannot_be_kept_as_evidence_answers_503(tmp_path):
    response = (
        dead_database_app(tmp_path)
        .test_client()
        .post("/v1/callbacks/mpesa", data=b"not json", headers={"Content-Type": "application/json"})
    )
    assert_unavailable(response)


def test_with_redis_down_a_top_up_is_accepted_and_its_job_waits_in_the_outbox(
    database_url, tenant, tmp_path
):
    app = create_app(
        Settings(
            database_url=database_url,
            redis_url="redis://127.0.0.1:1/0",  # nothing listens
            secret_key="test",
            testing=True,
            spool_dir=str(tmp_path),
        )
    )
    runtime = app.extensions[EXTENSION]
    response = app.test_client().post(
        "/v1/topups",
        json={"amount": 5_000_00, "currency": "TZS", "msisdn": payer("mpesa"), "provider": "mpesa"},
        headers=tenant.headers,
    )
    assert response.status_code == 202, response.json
    runtime.relayer.flush()  # the background relay tried Redis, and failed
    with runtime.sessions() as session:
        waiting = session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.relayed_at.is_(None),
                OutboxMessage.dedupe_key == f"topups.initiate:{response.json['id']}",
            )
        ).all()
    assert waiting, "the top-up's job was lost with Redis down"
    ready = app.test_client().get("/readyz")
    assert ready.status_code == 503 and ready.json["checks"]["redis"].startswith("failed")
    assert ready.json["spool"] == 0
    runtime.engine.dispose()
