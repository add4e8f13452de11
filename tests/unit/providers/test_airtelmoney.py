"""Airtel Money: TS/TF/TIP/TA and DP/ESB codes mapped, OAuth2 + payment built exactly."""

from __future__ import annotations

import json

import pytest

from providers.airtelmoney import wire
from providers.airtelmoney.adapter import build
from providers.base import CollectionRequest, InvalidCallback, RefundRequest, StatusQuery

EXPECTED = {
    "TS": ("succeeded", False),
    "TF": ("failed", False),
    "TIP": ("pending", False),
    "TA": ("pending", True),
    "DP00800001000": ("pending", True),
    "DP00800001001": ("succeeded", False),
    "DP00800001002": ("failed", False),
    "DP00800001003": ("failed", False),
    "DP00800001005": ("expired", False),
    "DP00800001006": ("pending", False),
    "DP00800001007": ("failed", False),
    "DP00800001008": ("cancelled", False),
    "DP00800001024": ("expired", False),
    "DP00800001025": ("pending", True),
    "DP00800001029": ("expired", False),
    "ESB000010": ("pending", False),
    "ESB000008": ("failed", False),
    "ESB000041": ("pending", True),
    "ESB000045": ("pending", True),
}


@pytest.mark.parametrize(("code", "expected"), sorted(EXPECTED.items()))
def test_every_code_is_mapped(code, expected):
    mapped = wire.map_any(code)
    assert (mapped.status, mapped.ambiguous, mapped.unknown_status) == (*expected, False)


def test_tables_hold_exactly_the_reference_codes():
    tables = wire.TRANSACTION_STATUSES | wire.RESPONSE_CODES | wire.RESULT_CODES
    assert set(tables) == set(EXPECTED)


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("DP00800001005", "expired"),
        ("DP00800001024", "expired"),
        ("DP00800001029", "expired"),
        ("DP00800001008", "cancelled"),
        ("DP00800001002", "failed"),
        (None, "failed"),
    ],
)
def test_tf_is_refined_by_its_response_code(code, status):
    assert wire.map_transaction("TF", code).status == status


@pytest.mark.parametrize("raw", ["TX", "SUCCESS", "DP00800009999", ""])
def test_unknown_is_pending_flagged(raw):
    mapped = wire.map_any(raw)
    assert (mapped.status, mapped.unknown_status) == ("pending", True)


@pytest.fixture
def adapter(fake_provider):
    fake_provider.route(
        "POST",
        "/auth/oauth2/token",
        200,
        {"access_token": "AT1", "expires_in": "180", "token_type": "bearer"},
    )
    return build(
        "airtelmoney",
        {
            "base_url": fake_provider.url,
            "client_id": "cid",
            "client_secret": "csec",
            "read_timeout_s": 0.5,
            "callback_hash_key": "hk",
        },
    )


def collection() -> CollectionRequest:
    return CollectionRequest(
        topup_id="tp",
        reference="TP0001",
        msisdn="+255 687 123 456",
        amount_minor=500_000,
        currency="TZS",
        description="Top-up",
        callback_url="https://m.example/cb",
    )


ACCEPTED = {
    "data": {"transaction": {"id": "TP0001", "status": "SUCCESS"}},
    "status": {
        "code": "200",
        "message": "SUCCESS",
        "result_code": "ESB000010",
        "response_code": "DP00800001006",
        "success": True,
    },
}


def test_token_and_payment_are_built_exactly(adapter, fake_provider):
    fake_provider.route("POST", "/merchant/v1/payments/", 200, ACCEPTED)
    result = adapter.initiate_collection(collection())
    assert fake_provider.calls("/auth/oauth2/token")[0].json() == {
        "client_id": "cid",
        "client_secret": "csec",
        "grant_type": "client_credentials",
    }
    call = fake_provider.calls("/merchant/v1/payments/")[0]
    assert call.headers["Authorization"] == "Bearer AT1"
    assert (call.headers["X-Country"], call.headers["X-Currency"]) == ("TZ", "TZS")
    assert call.json() == {
        "reference": "Top-up",
        "subscriber": {"country": "TZ", "currency": "TZS", "msisdn": "687123456"},
        "transaction": {"amount": 5000, "country": "TZ", "currency": "TZS", "id": "TP0001"},
    }
    assert (result.status, result.provider_ref, result.ambiguous) == ("pending", "TP0001", False)


def test_duplicate_id_is_ambiguous(adapter, fake_provider):
    fake_provider.route(
        "POST",
        "/merchant/v1/payments/",
        400,
        {"status": {"result_code": "ESB000041", "success": False}},
    )
    result = adapter.initiate_collection(collection())
    assert (result.status, result.ambiguous) == ("pending", True)


def test_payment_timeout_is_ambiguous(adapter, fake_provider):
    fake_provider.route("POST", "/merchant/v1/payments/", 200, ACCEPTED, delay_s=1.5)
    result = adapter.initiate_collection(collection())
    assert (result.status, result.ambiguous) == ("pending", True)


def test_expired_token_is_refreshed_after_401(adapter, fake_provider):
    fake_provider.route("POST", "/merchant/v1/payments/", 401, {"error": "expired"})
    fake_provider.route("POST", "/merchant/v1/payments/", 200, ACCEPTED)
    assert adapter.initiate_collection(collection()).retryable
    adapter.initiate_collection(collection())
    assert len(fake_provider.calls("/auth/oauth2/token")) == 2


@pytest.mark.parametrize(
    ("status", "response_code", "expected"),
    [
        ("TS", "DP00800001001", "succeeded"),
        ("TF", "DP00800001024", "expired"),
        ("TIP", "DP00800001006", "pending"),
        ("TA", "DP00800001000", "pending"),
    ],
)
def test_enquiry(adapter, fake_provider, status, response_code, expected):
    fake_provider.route(
        "GET",
        "/standard/v1/payments/TP0001",
        200,
        {
            "data": {"transaction": {"airtel_money_id": "AM1", "id": "TP0001", "status": status}},
            "status": {"response_code": response_code, "success": True},
        },
    )
    result = adapter.query_status(StatusQuery(our_reference="TP0001"))
    assert result.status == expected
    assert result.provider_txn_id == "AM1"


def test_refund_is_full_only(adapter, fake_provider):
    fake_provider.route(
        "POST",
        "/standard/v1/payments/refund",
        200,
        {
            "data": {"transaction": {"airtel_money_id": "AM1", "status": "SUCCESS"}},
            "status": {"success": True, "result_code": "ESB000010"},
        },
    )
    fields = {
        "refund_reference": "RF1",
        "provider_txn_id": "AM1",
        "original_reference": "TP0001",
        "currency": "TZS",
        "msisdn": "255687123456",
        "reason": "r",
    }
    result = adapter.refund(
        RefundRequest(amount_minor=500_000, original_amount_minor=500_000, **fields)
    )
    assert fake_provider.calls("/standard/v1/payments/refund")[0].json() == {
        "transaction": {"airtel_money_id": "AM1"}
    }
    assert result.status == "reversed"
    partial = adapter.refund(
        RefundRequest(amount_minor=100, original_amount_minor=500_000, **fields)
    )
    assert (partial.status, partial.reason_code) == ("failed", "invalid_request")
    assert "whole payment" in partial.reason


def signed_callback(status_code: str = "TS", key: str = "hk", **extra) -> bytes:
    txn = {"id": "TP0001", "message": "Paid", "status_code": status_code, "airtel_money_id": "AM1"}
    return json.dumps({"transaction": txn, "hash": wire.callback_hash(key, txn), **extra}).encode()


def test_signed_callback_parsed(adapter):
    event = adapter.parse_callback({}, signed_callback(), "1.2.3.4")
    assert (event.status, event.our_reference, event.provider_txn_id) == (
        "succeeded",
        "TP0001",
        "AM1",
    )
    assert event.dedupe_key == "airtelmoney:AM1:succeeded"


@pytest.mark.parametrize(
    "raw",
    [
        signed_callback(key="wrong"),
        json.dumps({"transaction": {"id": "TP0001", "status_code": "TS"}}).encode(),
        json.dumps({"transaction": "TS"}).encode(),
        b"{}",
    ],
)
def test_forged_or_malformed_callback_rejected(adapter, raw):
    with pytest.raises(InvalidCallback):
        adapter.parse_callback({}, raw, "1.2.3.4")


def test_tampered_status_breaks_the_hash(adapter):
    body = json.loads(signed_callback("TF"))
    body["transaction"]["status_code"] = "TS"
    with pytest.raises(InvalidCallback, match="does not match"):
        adapter.parse_callback({}, json.dumps(body).encode(), "1.2.3.4")
