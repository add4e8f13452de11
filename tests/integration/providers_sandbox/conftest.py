"""Each simulator on a real threaded loopback server, a callback receiver beside them,
and the real adapter built from `sandbox_settings` (no database, no Redis); and, for the
tests that need it, the real service in sandbox mode (`malipo`, with PostgreSQL)."""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest
from flask import Blueprint, Flask, request
from werkzeug.serving import make_server

from providers.base import CollectionRequest, ProviderAdapter, ProviderResult, build_adapter
from providers.callback_path import PATH_DIGEST_HEADER, path_digest
from providers.sandbox import AGGREGATED, sandbox_blueprint, sandbox_settings
from tests.serving import serve_on_own_port

if TYPE_CHECKING:
    from providers.sandbox.delivery import Redelivery

DELAY_S = 0.05
AMOUNT_MINOR = 150_000  # 1,500 TZS
# A number on each operator's own prefix, to which a test appends the 4-digit ending.
NUMBER_STEMS = {
    "mpesa": "25575412",
    "tigopesa": "25571412",
    "airtelmoney": "25568412",
    "halopesa": "25562412",
    "tpesa": "25573412",
    "ezypesa": "25577412",
}


@contextmanager
def serving(app: Flask) -> Iterator[str]:
    """The app on 127.0.0.1, one thread per request, at a free port."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


@dataclass(frozen=True)
class Delivery:
    provider: str
    headers: dict[str, str]
    body: bytes
    remote_addr: str | None


# Malipo's acknowledgement in each operator's terms (what providers/*/callbacks.py send).
ACKS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {  # (received, failure ack)
    "mpesa": ({"output_ResponseCode": "0"}, {"output_ResponseCode": "1"}),
    "tigopesa": (
        {"ResponseCode": "BILLER-18-0000-S", "ResponseStatus": True},
        {"ResponseCode": "BILLER-18-3020-E", "ResponseStatus": False},
    ),
    "airtelmoney": ({"status": "received"}, {"status": "error"}),
    "selcom": ({"result": "SUCCESS", "resultcode": "000"}, {"result": "FAIL"}),
}


@dataclass(frozen=True)
class Refusal:
    """How Malipo answers the next deliveries about one reference, before it accepts."""

    times: int
    status: int = 503  # 200 with `failure_ack`: the operator's own "not accepted"
    failure_ack: bool = False
    stall_s: float = 0.0  # answer only after this long (past the courier's read timeout)


@dataclass
class Receiver:
    """Malipo's callback endpoint, reduced to recording what arrives and answering as
    Malipo would: the operator's ack, or a planned refusal (`refuse`)."""

    url: str = ""
    deliveries: list[Delivery] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)
    refusals: dict[str, list[Refusal]] = field(default_factory=dict)

    def refuse(self, reference: str, refusal: Refusal) -> None:
        with self.arrived:
            self.refusals[reference] = [refusal] * refusal.times

    def record(self, delivery: Delivery) -> Refusal | None:
        """Keep the delivery; the refusal planned for it, if any."""
        with self.arrived:
            self.deliveries.append(delivery)
            self.arrived.notify_all()
            for reference, planned in self.refusals.items():
                if planned and reference.encode() in delivery.body:
                    return planned.pop()
            return None

    def about(self, reference: str) -> list[Delivery]:
        with self.arrived:
            return [d for d in self.deliveries if reference.encode() in d.body]

    def wait_for(self, reference: str, count: int = 1, timeout_s: float = 3.0) -> list[Delivery]:
        deadline = time.monotonic() + timeout_s
        with self.arrived:
            while len(self.about(reference)) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{count} callback(s) for {reference} did not arrive")
                self.arrived.wait(left)
            return self.about(reference)

    def quiet_for(self, reference: str, settle_s: float) -> list[Delivery]:
        """What arrives for `reference` within `settle_s`, for scenarios that expect none."""
        time.sleep(settle_s)
        return self.about(reference)


def _receiver_app(receiver: Receiver) -> Flask:
    app = Flask("callback-receiver")

    @app.post("/v1/callbacks/<provider>")
    @app.post("/v1/callbacks/<provider>/<token>")
    def callback(provider: str, token: str | None = None) -> tuple[str, int]:
        headers = dict(request.headers.items())
        if token is not None:  # as Malipo's callback route passes the secret path on
            headers[PATH_DIGEST_HEADER] = path_digest(token)
        delivery = Delivery(provider, headers, request.get_data(), request.remote_addr)
        refusal = receiver.record(delivery)
        received, failure_ack = ACKS[AGGREGATED.get(provider, provider)]
        if refusal is None:
            return json.dumps(received), 200
        time.sleep(refusal.stall_s)
        return json.dumps(failure_ack), 200 if refusal.failure_ack else refusal.status

    return app


@pytest.fixture(scope="session")
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    with serving(_receiver_app(receiver)) as url:
        receiver.url = url
        yield receiver


@dataclass
class Rig:
    """One provider code wired end to end: real adapter -> simulator -> receiver."""

    code: str
    adapter: ProviderAdapter
    blueprint: Blueprint
    receiver: Receiver
    base_url: str
    amount_minor: int = AMOUNT_MINOR

    @property
    def simulator(self) -> Any:
        return self.blueprint.simulator  # type: ignore[attr-defined]

    def number(self, ending: str) -> str:
        return NUMBER_STEMS[self.code] + ending

    def request(self, ending: str, amount_minor: int | None = None) -> CollectionRequest:
        return CollectionRequest(
            topup_id=f"top_{secrets.token_hex(4)}",
            reference=f"T{secrets.token_hex(6).upper()}",
            msisdn=self.number(ending),
            amount_minor=amount_minor or self.amount_minor,
            currency="TZS",
            description="Malipo wallet top-up",
            callback_url=f"{self.receiver.url}/v1/callbacks/{self.code}",
        )

    def initiate(self, ending: str) -> tuple[CollectionRequest, ProviderResult]:
        collection = self.request(ending)
        return collection, self.adapter.initiate_collection(collection)

    def paid_shillings(self, collection: CollectionRequest, result: ProviderResult) -> int:
        """What the simulator's books say moved (Tigo books the prefixed ReferenceID)."""
        payment = self.simulator.payer.book.find(result.provider_ref or collection.reference)
        return payment.paid

    def build(self, **overrides: Any) -> ProviderAdapter:
        """Another adapter for this simulator, e.g. with wrong credentials."""
        return build_adapter(self.code, {**sandbox_settings(self.code, self.base_url), **overrides})

    def parse(self, delivery: Delivery) -> Any:
        return self.adapter.parse_callback(delivery.headers, delivery.body, delivery.remote_addr)


def _start_simulator(stack: ExitStack, simulator: str, receiver: Receiver, delay_s: float):
    callback_url = f"{receiver.url}/v1/callbacks/{simulator}"
    token = sandbox_settings(simulator, "").get("callback_token")
    callback_url += f"/{token}" if token else ""
    blueprint = sandbox_blueprint(simulator, callback_url=callback_url, delay_s=delay_s)
    app = Flask(f"sandbox-{simulator}")
    app.register_blueprint(blueprint)
    url = stack.enter_context(serving(app))
    return blueprint, f"{url}/sandbox/{simulator}"


@pytest.fixture(scope="session")
def rigs(receiver: Receiver) -> Iterator[dict[str, Rig]]:
    """One server per simulator, shared by the session; tests use unique references."""
    with ExitStack() as stack:
        servers = {
            simulator: _start_simulator(stack, simulator, receiver, DELAY_S)
            for simulator in ("mpesa", "tigopesa", "airtelmoney", "selcom")
        }
        yield {
            code: _rig(code, receiver, *servers[AGGREGATED.get(code, code)])
            for code in NUMBER_STEMS
        }


@pytest.fixture
def slow_rig(receiver: Receiver) -> Iterator[Callable[[str], Rig]]:
    """A fresh simulator whose payer takes 30 s: for looking at a push still pending."""
    with ExitStack() as stack:

        def make(code: str) -> Rig:
            simulator = AGGREGATED.get(code, code)
            return _rig(code, receiver, *_start_simulator(stack, simulator, receiver, 30.0))

        yield make


def _rig(code: str, receiver: Receiver, blueprint: Blueprint, base_url: str) -> Rig:
    adapter = build_adapter(code, sandbox_settings(code, base_url))
    return Rig(code, adapter, blueprint, receiver, base_url)


@pytest.fixture(params=["mpesa", "tigopesa", "airtelmoney", "halopesa"])
def rig(request: pytest.FixtureRequest, rigs: dict[str, Rig]) -> Rig:
    return rigs[request.param]


@pytest.fixture
def courier_policy() -> Iterator[Callable[[Rig, Redelivery], None]]:
    """Give a (shared) simulator's courier another redelivery policy for one test."""
    saved: list[tuple[Any, Redelivery]] = []

    def apply(rig: Rig, policy: Redelivery) -> None:
        courier = rig.simulator.courier
        saved.append((courier, courier.policy))
        courier.policy = policy

    yield apply
    for courier, policy in reversed(saved):
        courier.policy = policy


@dataclass
class Gate:
    """Stands in front of Malipo's callback endpoint and, while armed, answers the next
    callbacks of one provider the way Malipo does when it cannot take them (its
    adapter's `callback_ack(ok=False)`: a 503, or Tigo's own failure ack)."""

    provider: str = ""
    left: int = 0
    refused: list[bytes] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def arm(self, provider: str, times: int) -> None:
        with self.lock:
            self.provider, self.left, self.refused = provider, times, []

    def take(self, provider: str, body: bytes) -> bool:
        """True if this callback is to be refused."""
        with self.lock:
            if self.left <= 0 or provider != self.provider:
                return False
            self.left -= 1
            self.refused.append(body)
            return True


@dataclass(frozen=True)
class Malipo:
    """The real service in sandbox mode on a loopback port, jobs run in-process."""

    url: str
    app: Flask
    gate: Gate

    @property
    def runtime(self) -> Any:
        from billing.runtime import EXTENSION

        return self.app.extensions[EXTENSION]

    @property
    def simulators(self) -> dict[str, Any]:
        return {
            name: bp.simulator for name, bp in self.app.blueprints.items() if "sandbox_" in name
        }


def _gated(app: Flask, gate: Gate) -> None:
    from billing.runtime import EXTENSION

    @app.before_request
    def refuse_while_armed() -> Any:
        parts = request.path.split("/")
        if request.method != "POST" or parts[1:3] != ["v1", "callbacks"]:
            return None
        if not gate.take(parts[3], request.get_data()):
            return None
        adapter = app.extensions[EXTENSION].gateways.adapter(parts[3])
        ack = adapter.callback_ack(None, ok=False)
        return app.response_class(ack.body, status=ack.status_code, content_type=ack.content_type)


@pytest.fixture(scope="session")
def malipo(database_url: str) -> Iterator[Malipo]:
    from billing import create_app
    from billing.core.config import Settings

    gate = Gate()

    def make_app(url: str) -> Flask:
        settings = Settings(
            database_url=database_url,
            public_url=url,
            provider_mode="sandbox",
            sandbox_delay_s=0.05,
            redrive_after_s=1.0,
            secret_key="t",
            testing=True,
        )
        app = create_app(settings)
        _gated(app, gate)
        return app

    server, url, app = serve_on_own_port(make_app)
    yield Malipo(url, app, gate)
    server.shutdown()
