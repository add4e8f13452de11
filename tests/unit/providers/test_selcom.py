"""Selcom for HaloPesa, T-Pesa, Ezypesa: signing, order + push, statuses, signed webhooks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import pytest

from providers.base import CollectionRequest, InvalidCallback, ProviderConfigError, StatusQuery
from providers.selcom import signing, wire
from providers.selcom.adapter import build

EXPECTED_PAYMENT = {
    "COMPLETED": "succeeded",
    "PENDING": "pending",
    "INPROGRESS": "pending",
    "CANCELLED": "cancelled",
    "USERCANCELED": "cancelled",
    "REJECTED": "failed",
}


@pytest.mark.parametrize(("value", "status"), sorted(EXPECTED_PAYMENT.items()))
def test_every_payment_status_is_mapped(value, status):
    mapped = wire.map_payment_status(value)
    assert (mapped.status, mapped.unknown_status) == (status, False)
    assert set(wire.PAYMENT_STATUSES) == set(EXPECTED_PAYMENT)


@pytest.mark.parametrize(
    ("code", "status", "ambiguous"),
    [("000", "succeeded", False), ("111", "pending", False), ("999", "pending", True)],
)
def test_every_result_code_is_mapped(code, status, ambiguous):
    mapped = wire.map_result_code(code)
    assert (mapped.status, mapped.ambiguous) == (status, ambiguous)


def test_unknown_is_pending_flagged():
    for mapped in (
        wire.map_payment_status("PAID?"),
        wire.map_result_code("123"),
        wire.map_any("x"),
    ):
        assert (mapped.status, mapped.unknown_status) == ("pending", True)


def test_digest_matches_the_official_clients_recipe():
    data = {"order_id": "TP1", "amount": 1000}
    message = b"timestamp=2024-05-01T10:00:00+0300&order_id=TP1&amount=1000"
    expected = base64.b64encode(hmac.new(b"sec", message, hashlib.sha256).digest()).decode()
    assert signing.digest("sec", "2024-05-01T10:00:00+0300", data.items()) == expected


SECRET = "api-secret"


@pytest.fixture
def make_adapter(fake_provider):
    def make(code="halopesa", **extra):
        settings = {
            "base_url": fake_provider.url + "/v1",
            "api_key": "KEY",
            "api_secret": SECRET,
            "vendor": "TILL001",
            "read_timeout_s": 0.5,
        }
        return build(code, settings | extra)

    return make


def test_only_the_three_aggregated_codes(make_adapter):
    assert [make_adapter(code).channel for code in ("halopesa", "tpesa", "ezypesa")] == [
        "HALOPESA",
        "TPESA",
        "EZYPESA",
    ]
    with pytest.raises(ProviderConfigError):
        make_adapter("mpesa")


def collection() -> CollectionRequest:
    return CollectionRequest(
        topup_id="tp",
        reference="TP0001",
        msisdn="0621 234 567",
        amount_minor=300_000,
        currency="TZS",
        description="Top-up",
        callback_url="https://m.example/v1/callbacks/halopesa",
    )


def check_signed(seen, fields: dict) -> None:
    headers = seen.headers
    assert headers["Authorization"] == "SELCOM " + base64.b64encode(b"KEY").decode()
    assert headers["Digest-Method"] == "HS256"
    assert headers["Signed-Fields"] == ",".join(fields)
    assert headers["Digest"] == signing.digest(SECRET, headers["Timestamp"], fields.items())


def test_order_then_push_built_and_signed_exactly(make_adapter, fake_provider):
    fake_provider.route(
        "POST",
        "/v1/checkout/create-order-minimal",
        200,
        {"resultcode": "000", "result": "SUCCESS", "data": []},
    )
    fake_provider.route(
        "POST",
        "/v1/checkout/wallet-payment",
        200,
        {
            "resultcode": "111",
            "result": "PENDING",
            "message": "You will receive a callback shortly.",
        },
    )
    result = make_adapter().initiate_collection(collection())
    order = fake_provider.calls("/v1/checkout/create-order-minimal")[0]
    assert order.json() == {
        "vendor": "TILL001",
        "order_id": "TP0001",
        "buyer_email": "payments@example.invalid",
        "buyer_name": "Malipo Wallet",
        "buyer_phone": "255621234567",
        "amount": 3000,
        "currency": "TZS",
        "webhook": base64.b64encode(b"https://m.example/v1/callbacks/halopesa").decode(),
        "no_of_items": 1,
    }
    check_signed(order, order.json())
    push = fake_provider.calls("/v1/checkout/wallet-payment")[0]
    assert push.json() == {"transid": "TP0001", "order_id": "TP0001", "msisdn": "255621234567"}
    check_signed(push, push.json())
    assert (result.status, result.channel, result.ambiguous) == ("pending", "HALOPESA", False)


def test_refused_order_is_a_clean_failure(make_adapter, fake_provider):
    fake_provider.route("POST", "/v1/checkout/create-order-minimal", 200, {"resultcode": "403"})
    result = make_adapter().initiate_collection(collection())
    assert (result.status, result.retryable) == ("failed", True)
    assert fake_provider.calls("/v1/checkout/wallet-payment") == []


def test_push_timeout_is_ambiguous(make_adapter, fake_provider):
    fake_provider.route("POST", "/v1/checkout/create-order-minimal", 200, {"resultcode": "000"})
    fake_provider.route("POST", "/v1/checkout/wallet-payment", 200, {}, delay_s=1.5)
    result = make_adapter().initiate_collection(collection())
    assert (result.status, result.ambiguous) == ("pending", True)


def test_order_status_query_is_signed_and_mapped(make_adapter, fake_provider):
    fake_provider.route(
        "GET",
        "/v1/checkout/order-status",
        200,
        {
            "resultcode": "000",
            "result": "SUCCESS",
            "data": [
                {
                    "order_id": "TP0001",
                    "payment_status": "COMPLETED",
                    "reference": "SEL99",
                    "amount": "3000",
                    "channel": "HALOPESA",
                    "transid": "TP0001",
                }
            ],
        },
    )
    result = make_adapter().query_status(StatusQuery(our_reference="TP0001"))
    call = fake_provider.calls("/v1/checkout/order-status")[0]
    assert call.query == {"order_id": "TP0001"}
    check_signed(call, {"order_id": "TP0001"})
    assert (result.status, result.provider_txn_id, result.amount_minor) == (
        "succeeded",
        "SEL99",
        300_000,
    )


def webhook(adapter_secret: str = SECRET, when: datetime | None = None, **overrides):
    body = {
        "transid": "TP0001",
        "order_id": "TP0001",
        "reference": "SEL99",
        "result": "SUCCESS",
        "resultcode": "000",
        "payment_status": "COMPLETED",
        "amount": "3000",
        "channel": "HALOPESA",
        "msisdn": "255621234567",
    } | overrides
    stamp = (when or datetime.now(UTC)).astimezone().strftime(signing.TIMESTAMP_FORMAT)
    headers = {
        "Authorization": "SELCOM " + base64.b64encode(b"KEY").decode(),
        "Digest-Method": "HS256",
        "Timestamp": stamp,
        "Signed-Fields": ",".join(body),
        "Digest": signing.digest(adapter_secret, stamp, body.items()),
    }
    return headers, json.dumps(body).encode()


def test_signed_webhook_parsed(make_adapter):
    headers, raw = webhook()
    event = make_adapter().parse_callback(headers, raw, "1.2.3.4")
    assert (event.status, event.our_reference, event.provider_txn_id) == (
        "succeeded",
        "TP0001",
        "SEL99",
    )
    assert (event.amount_minor, event.channel, event.msisdn) == (
        300_000,
        "HALOPESA",
        "255621234567",
    )
    assert event.dedupe_key == "selcom:SEL99:succeeded"


def test_webhook_with_wrong_secret_is_rejected(make_adapter):
    headers, raw = webhook(adapter_secret="guess")
    with pytest.raises(InvalidCallback, match="digest"):
        make_adapter().parse_callback(headers, raw, None)


@pytest.mark.parametrize("authorization", [None, "SELCOM " + base64.b64encode(b"GUESS").decode()])
def test_webhook_without_our_api_keys_authorization_is_rejected(make_adapter, authorization):
    headers, raw = webhook()  # the digest is right: only the API key is wrong or absent
    del headers["Authorization"]
    if authorization:
        headers["Authorization"] = authorization
    with pytest.raises(InvalidCallback, match="Authorization"):
        make_adapter().parse_callback(headers, raw, None)


def test_webhook_tampered_after_signing_is_rejected(make_adapter):
    headers, raw = webhook(payment_status="REJECTED")
    forged = raw.replace(b"REJECTED", b"COMPLETED")
    with pytest.raises(InvalidCallback):
        make_adapter().parse_callback(headers, forged, None)


def test_webhook_that_leaves_status_unsigned_is_rejected(make_adapter):
    headers, raw = webhook()
    headers["Signed-Fields"] = "transid,order_id"
    with pytest.raises(InvalidCallback, match="not covered"):
        make_adapter().parse_callback(headers, raw, None)


def test_unsigned_or_stale_webhook_is_rejected(make_adapter):
    _, raw = webhook()
    with pytest.raises(InvalidCallback, match="not signed"):
        make_adapter().parse_callback({}, raw, None)
    headers, raw = webhook(when=datetime.now(UTC) - timedelta(hours=2))
    with pytest.raises(InvalidCallback, match="too far"):
        make_adapter().parse_callback(headers, raw, None)


def test_ack(make_adapter):
    adapter = make_adapter()
    assert adapter.callback_ack(None, ok=True).status_code == 200
    assert adapter.callback_ack(None, ok=False).status_code == 503
