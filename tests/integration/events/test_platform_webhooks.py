"""Platform events leave Malipo as signed webhooks, once delivered, retried until then.

A real HTTP receiver on loopback checks every request with `signing.verify`, as the
platform would; the app runs jobs in-process, so delivery happens right after commit.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from flask import Flask
from sqlalchemy import func, select

from billing import create_app
from billing.core.config import Settings
from billing.events.jobs import MAX_ATTEMPTS, DeliveryFailed, deliver
from billing.events.models import EventStatus, PlatformEvent
from billing.events.service import emit
from billing.events.signing import WebhookVerificationError, verify
from billing.jobs.models import OutboxMessage
from billing.runtime import EXTENSION, Runtime

pytestmark = pytest.mark.integration

SECRET = "whsec_" + base64.b64encode(b"platform-webhook-test-secret-32b").decode()
TOPUP = {"topup_id": "top_TEST", "amount_minor": 150_000, "currency": "TZS", "provider": "mpesa"}


@dataclass
class Delivery:
    headers: dict[str, str]
    body: bytes
    verification_error: str | None
    connections_held_by_malipo: int


@dataclass
class Receiver:
    """The platform's end: verifies each request, then answers with the next status."""

    url: str = ""
    statuses: list[int] = field(default_factory=list)
    default_status: int = 204
    deliveries: list[Delivery] = field(default_factory=list)
    connections_in_use: Callable[[], int] = lambda: -1

    def next_status(self) -> int:
        return self.statuses.pop(0) if self.statuses else self.default_status


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            headers = {name.lower(): value for name, value in self.headers.items()}
            try:
                verify(headers, body, SECRET)
                error = None
            except WebhookVerificationError as exc:
                error = str(exc)
            receiver.deliveries.append(
                Delivery(headers, body, error, receiver.connections_in_use())
            )
            self.send_response(400 if error else receiver.next_status())
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    receiver.url = f"http://127.0.0.1:{server.server_port}/malipo/events"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield receiver
    server.shutdown()
    server.server_close()


@pytest.fixture
def make_platform_app(database_url: str) -> Iterator[Callable[..., Flask]]:
    """An app whose settings point at a platform endpoint, inside its app context."""
    built: list[tuple[Flask, object]] = []

    def make(url: str | None, secret: str | None = SECRET) -> Flask:
        settings = Settings(
            database_url=database_url,
            platform_webhook_url=url,
            platform_webhook_secret=secret,
            testing=True,
            secret_key="t",
        )
        app = create_app(settings)
        context = app.app_context()
        context.push()
        built.append((app, context))
        return app

    yield make
    for app, context in reversed(built):
        context.pop()
        app.extensions[EXTENSION].engine.dispose()


@pytest.fixture
def platform(make_platform_app, receiver: Receiver) -> Runtime:
    runtime = make_platform_app(receiver.url).extensions[EXTENSION]
    receiver.connections_in_use = runtime.engine.pool.checkedout
    return runtime


def _emit(runtime: Runtime, tenant_id: str, type: str = "topup.succeeded") -> str:
    with runtime.unit_of_work() as session:
        return emit(session, tenant_id=tenant_id, type=type, data=TOPUP)


def _event(runtime: Runtime, event_id: str) -> PlatformEvent:
    with runtime.sessions() as session:
        return session.get(PlatformEvent, event_id)


def test_an_event_is_delivered_once_after_commit_with_a_valid_signature(
    platform, receiver, make_tenant
):
    tenant = make_tenant()
    event_id = _emit(platform, tenant.tenant_id)

    [delivery] = receiver.deliveries
    assert delivery.verification_error is None
    assert delivery.headers["webhook-id"] == event_id
    assert delivery.headers["content-type"] == "application/json"
    assert delivery.connections_held_by_malipo == 0  # no transaction open during the call
    event = _event(platform, event_id)
    assert json.loads(delivery.body) == {
        "id": event_id,
        "type": "topup.succeeded",
        "created_at": event.created_at.isoformat().replace("+00:00", "Z"),
        "tenant_id": tenant.tenant_id,
        "data": TOPUP,
    }
    assert event.status == EventStatus.DELIVERED
    assert (event.attempts, event.last_error) == (1, None)
    assert event.delivered_at is not None


def test_a_failing_platform_leaves_the_event_pending_until_a_later_run_delivers_it(
    platform, receiver, make_tenant
):
    receiver.statuses = [500]
    event_id = _emit(platform, make_tenant().tenant_id, "topup.failed")

    event = _event(platform, event_id)
    assert (event.status, event.attempts) == (EventStatus.PENDING, 1)
    assert event.last_error.startswith("HTTP 500")

    deliver(event_id)

    first, second = receiver.deliveries
    assert first.body == second.body
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == event_id
    assert second.verification_error is None
    event = _event(platform, event_id)
    assert (event.status, event.attempts, event.last_error) == (EventStatus.DELIVERED, 2, None)


def test_running_deliver_again_after_delivery_sends_nothing(platform, receiver, make_tenant):
    event_id = _emit(platform, make_tenant().tenant_id)

    deliver(event_id)
    deliver(event_id)

    assert len(receiver.deliveries) == 1
    assert _event(platform, event_id).attempts == 1


def test_the_last_allowed_attempt_marks_the_event_failed(platform, receiver, make_tenant):
    receiver.default_status = 503
    event_id = _emit(platform, make_tenant().tenant_id)

    for _retry in range(2, MAX_ATTEMPTS):
        with pytest.raises(DeliveryFailed):
            deliver(event_id)
        assert _event(platform, event_id).status == EventStatus.PENDING
    deliver(event_id)  # the last: recorded as failed, not raised for another retry

    event = _event(platform, event_id)
    assert (event.status, event.attempts) == (EventStatus.FAILED, MAX_ATTEMPTS)
    assert len(receiver.deliveries) == MAX_ATTEMPTS


def test_without_an_endpoint_the_event_is_kept_as_no_endpoint(make_platform_app, make_tenant):
    runtime = make_platform_app(None).extensions[EXTENSION]
    event_id = _emit(runtime, make_tenant().tenant_id)

    event = _event(runtime, event_id)
    assert (event.status, event.attempts) == (EventStatus.NO_ENDPOINT, 0)


def test_an_unreachable_platform_is_a_failed_attempt(make_platform_app, make_tenant):
    runtime = make_platform_app("http://127.0.0.1:9/closed").extensions[EXTENSION]
    event_id = _emit(runtime, make_tenant().tenant_id)

    event = _event(runtime, event_id)
    assert (event.status, event.attempts) == (EventStatus.PENDING, 1)
    assert event.last_error.startswith("ConnectionError")


def test_without_a_secret_nothing_is_sent_unsigned(make_platform_app, receiver, make_tenant):
    runtime = make_platform_app(receiver.url, secret=None).extensions[EXTENSION]
    event_id = _emit(runtime, make_tenant().tenant_id)

    assert receiver.deliveries == []
    event = _event(runtime, event_id)
    assert (event.status, event.attempts) == (EventStatus.PENDING, 1)
    assert "secret" in event.last_error


def test_an_event_emitted_in_a_rolled_back_transaction_is_never_sent(
    platform, receiver, make_tenant
):
    tenant_id = make_tenant().tenant_id
    with pytest.raises(RuntimeError), platform.unit_of_work() as session:
        emit(session, tenant_id=tenant_id, type="topup.succeeded", data=TOPUP)
        raise RuntimeError("the top-up's own change failed")

    assert receiver.deliveries == []
    with platform.sessions() as session:
        count = select(func.count()).select_from(PlatformEvent).filter_by(tenant_id=tenant_id)
        assert session.scalar(count) == 0


def test_emit_writes_the_delivery_job_in_the_same_transaction(platform, make_tenant):
    tenant_id = make_tenant().tenant_id
    with platform.sessions() as session, session.begin():
        event_id = emit(session, tenant_id=tenant_id, type="topup.succeeded", data=TOPUP)
        jobs = session.scalars(select(OutboxMessage).filter_by(job="events.deliver")).all()
        assert [event_id] in [job.args for job in jobs]
        session.rollback()


def test_a_float_in_the_data_is_refused(platform, make_tenant):
    tenant_id = make_tenant().tenant_id
    with pytest.raises(TypeError, match=r"data\.amount"), platform.unit_of_work() as session:
        emit(session, tenant_id=tenant_id, type="topup.succeeded", data={"amount": 1500.0})
