"""The stripe library's HTTP on a shared urllib3 pool: the library's error and retry rules
still hold, and the environment's proxy is honoured (read once)."""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import stripe

from providers.stripe.client import StripeApi, StripeConfig
from providers.stripe.transport import Urllib3Client


def _dead_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _Stripe(BaseHTTPRequestHandler):
    """Answers a PaymentIntent by id, 404 for anything else; counts connections."""

    connections: set[int] = set()
    requests: list[tuple[str, dict[str, str]]] = []

    def do_GET(self) -> None:
        _Stripe.connections.add(self.client_address[1])
        _Stripe.requests.append((self.path, dict(self.headers)))
        if self.path.startswith("/v1/payment_intents/pi_1"):
            body = b'{"id": "pi_1", "object": "payment_intent", "status": "succeeded",'
            body += b' "latest_charge": {"id": "ch_1", "balance_transaction": {"fee": 30}}}'
            self.send_response(200)
        else:
            body = b'{"error": {"type": "invalid_request_error", "message": "No such"}}'
            self.send_response(404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def fake_stripe():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Stripe)
    server.protocol_version = "HTTP/1.1"
    _Stripe.protocol_version = "HTTP/1.1"  # keep-alive
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Stripe.connections = set()
    _Stripe.requests = []
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def _api(base: str, retries: int = 0) -> StripeApi:
    return StripeApi(
        StripeConfig(secret_key="sk_test_unit", api_base=base, max_network_retries=retries)
    )


def test_a_get_is_the_object_as_sent_on_one_kept_alive_connection(fake_stripe):
    api = _api(fake_stripe)
    for _ in range(5):
        intent = api.retrieve_payment_intent("pi_1", expand=["latest_charge.balance_transaction"])
        assert intent["latest_charge"]["balance_transaction"] == {"fee": 30}
    assert len(_Stripe.connections) == 1


def test_stripe_errors_are_the_librarys_own(fake_stripe):
    with pytest.raises(stripe.InvalidRequestError) as error:
        _api(fake_stripe).retrieve_payment_intent("pi_missing")
    assert error.value.http_status == 404


def test_a_get_sent_straight_is_the_librarys_own_request_and_answer(fake_stripe):
    """`_get` sends the GET itself on the library's pool: the same path, key, API version
    and agent as the library's call, and the same object back."""
    api = _api(fake_stripe)
    direct = api.retrieve_payment_intent("pi_1", expand=["latest_charge.balance_transaction"])
    path = "/v1/payment_intents/pi_1"
    by_library = api.client.raw_request("get", path, expand=["latest_charge.balance_transaction"])
    assert direct == by_library.data
    (ours, our_headers), (theirs, their_headers) = _Stripe.requests
    assert ours == theirs
    wanted = ("Authorization", "Stripe-Version", "User-Agent")
    assert {k: our_headers[k] for k in wanted} == {k: their_headers[k] for k in wanted}


def test_an_error_answer_is_asked_again_by_the_library_and_raised_as_its_own(fake_stripe):
    with pytest.raises(stripe.InvalidRequestError):
        _api(fake_stripe).retrieve_payment_intent("pi_missing")
    assert len(_Stripe.requests) == 2  # once straight (a 404 is no object), once by it


def test_no_answer_is_a_retryable_connection_error():
    with pytest.raises(stripe.APIConnectionError) as error:
        _api(f"http://127.0.0.1:{_dead_port()}").retrieve_payment_intent("pi_1")
    assert error.value.should_retry


def test_the_environments_proxy_is_used_unless_the_host_is_excluded(monkeypatch):
    monkeypatch.setenv("https_proxy", "http://proxy.internal:3128")
    monkeypatch.setenv("no_proxy", "localhost")
    assert Urllib3Client.from_environment(5, None)._proxy == {
        "http": "http://proxy.internal:3128",
        "https": "http://proxy.internal:3128",
    }
    assert Urllib3Client.from_environment(5, "http://localhost:8420")._proxy is None
