"""Tigo Pesa: codes mapped, token + push built exactly, callbacks from allowed IPs only."""

from __future__ import annotations

import json

import pytest

from providers.base import (
    CollectionRequest,
    InvalidCallback,
    RefundRequest,
    StatusQuery,
    UnsupportedOperation,
)
from providers.callback_path import PATH_DIGEST_HEADER, path_digest
from providers.tigopesa import wire
from providers.tigopesa.adapter import build

EXPECTED_SYNC = {
    "BILLER-18-0000-S": "pending",
    "DebitMandate-10-2004-V": "failed",
    "DebitMandate-10-2005-E": "failed",
    "BILLER-18-3018-E": "failed",
    "BILLER-18-3019-E": "failed",
    "BILLER-18-3021-E": "failed",
    "BILLER-18-3022-E": "failed",
}


@pytest.mark.parametrize(("code", "status"), sorted(EXPECTED_SYNC.items()))
def test_every_sync_code_is_mapped(code, status):
    mapped = wire.map_sync(code, True)
    assert (mapped.status, mapped.unknown_status) == (status, False)


def test_tables_match_the_reference():
    assert set(wire.SYNC_CODES) == set(EXPECTED_SYNC)
    assert {k: v.status for k, v in wire.REFUND_CODES.items()} == {
        "RefundTransaction-20-0000-S": "reversed",
        "RefundTransaction-20-3039-E": "failed",
    }


def test_unknown_code_is_pending_flagged_unless_refused():
    assert (
        wire.map_sync("BILLER-99-0000-S", True).status,
        wire.map_sync("X", True).unknown_status,
    ) == ("pending", True)
    refused = wire.map_sync("BILLER-99-9999-E", False)
    assert (refused.status, refused.unknown_status) == ("failed", True)


@pytest.mark.parametrize(
    ("status", "description", "expected"),
    [
        (True, "Success", "succeeded"),
        ("true", "Success", "succeeded"),
        (False, "Insufficient funds", "failed"),
        (False, "Transaction cancelled by user", "cancelled"),
        (False, "Request timed out", "expired"),
        ("maybe", "", "pending"),
    ],
)
def test_callback_status_mapping(status, description, expected):
    assert wire.map_callback(status, description).status == expected


TOKEN = "secret-path-token"
ON_SECRET_PATH = {PATH_DIGEST_HEADER: path_digest(TOKEN)}  # what the callback route adds

SETTINGS = {
    "username": "merchant",
    "password": "s3cret",
    "biller_msisdn": "255650000000",
    "biller_code": "BC01",
    "read_timeout_s": 0.5,
}


@pytest.fixture
def adapter(fake_provider):
    fake_provider.route(
        "POST", "/token", 200, {"access_token": "TOK", "token_type": "bearer", "expires_in": 3600}
    )
    return build(
        "tigopesa",
        SETTINGS
        | {
            "token_url": fake_provider.url + "/token",
            "pay_url": fake_provider.url + "/pay",
            "refund_url": fake_provider.url + "/reverse",
            "channel_msisdn": "255650000001",
            "channel_pin": "1234",
            "callback_ips": ["41.222.176.233"],
            "callback_token": TOKEN,
        },
    )


def collection() -> CollectionRequest:
    return CollectionRequest(
        topup_id="tp",
        reference="TP0001",
        msisdn="0655 123 456",
        amount_minor=200_000,
        currency="TZS",
        description="Top-up",
        callback_url="https://m.example/cb",
    )


def test_token_and_push_are_built_exactly(adapter, fake_provider):
    fake_provider.route(
        "POST",
        "/pay",
        200,
        {
            "ResponseCode": "BILLER-18-0000-S",
            "ResponseStatus": True,
            "ResponseDescription": "Valid request",
            "ReferenceID": "BC01TP0001",
        },
    )
    result = adapter.initiate_collection(collection())
    token_call = fake_provider.calls("/token")[0]
    assert token_call.body.decode() == "username=merchant&password=s3cret&grant_type=password"
    pay = fake_provider.calls("/pay")[0]
    assert pay.headers["Authorization"] == "bearer TOK"
    assert (pay.headers["Username"], pay.headers["Password"]) == ("merchant", "s3cret")
    assert pay.json() == {
        "CustomerMSISDN": "255655123456",
        "BillerMSISDN": "255650000000",
        "Amount": 2000,
        "Remarks": "Top-up",
        "ReferenceID": "BC01TP0001",
    }
    assert (result.status, result.provider_ref) == ("pending", "BC01TP0001")


def test_refused_push_fails(adapter, fake_provider):
    fake_provider.route(
        "POST", "/pay", 200, {"ResponseCode": "DebitMandate-10-2005-E", "ResponseStatus": False}
    )
    assert adapter.initiate_collection(collection()).status == "failed"


def test_push_timeout_is_ambiguous(adapter, fake_provider):
    fake_provider.route("POST", "/pay", 200, {}, delay_s=1.5)
    result = adapter.initiate_collection(collection())
    assert (result.status, result.ambiguous) == ("pending", True)


def test_no_status_query(adapter):
    assert not adapter.capabilities.supports_status_query
    with pytest.raises(UnsupportedOperation):
        adapter.query_status(StatusQuery(our_reference="TP0001"))


def test_reverse_transaction(adapter, fake_provider):
    fake_provider.route(
        "POST",
        "/reverse",
        200,
        {
            "ResponseCode": "RefundTransaction-20-0000-S",
            "ResponseStatus": True,
            "DMReferenceID": "DM1",
        },
    )
    result = adapter.refund(
        RefundRequest(
            refund_reference="RF1",
            provider_txn_id="MFS1",
            original_reference="TP0001",
            amount_minor=200_000,
            original_amount_minor=200_000,
            currency="TZS",
            msisdn="255655123456",
            reason="r",
        )
    )
    assert fake_provider.calls("/reverse")[0].json() == {
        "CustomerMSISDN": "255655123456",
        "ChannelMSISDN": "255650000001",
        "ChannelPIN": "1234",
        "Amount": 2000,
        "MFSTransactionID": "MFS1",
        "ReferenceID": "BC01RF1",
        "PurchaseReferenceID": "BC01TP0001",
    }
    assert (result.status, result.provider_ref) == ("reversed", "DM1")


def callback(**overrides) -> bytes:
    body = {
        "Status": True,
        "Description": "Success",
        "MFSTransactionID": "MFS1",
        "ReferenceID": "BC01TP0001",
        "Amount": "2000",
    }
    return json.dumps(body | overrides).encode()


def test_callback_parsed_with_amount_as_string(adapter):
    event = adapter.parse_callback(ON_SECRET_PATH, callback(), "41.222.176.233")
    assert event.status == "succeeded"
    assert (event.our_reference, event.provider_txn_id) == ("TP0001", "MFS1")
    assert event.amount_minor == 200_000
    assert event.dedupe_key == "tigopesa:MFS1:succeeded"


def test_callback_from_another_address_is_rejected(adapter):
    with pytest.raises(InvalidCallback, match="allow-list"):
        adapter.parse_callback(ON_SECRET_PATH, callback(), "198.51.100.7")


@pytest.mark.parametrize(
    "headers",
    [{}, {PATH_DIGEST_HEADER: path_digest("guess")}],
    ids=["plain path", "wrong token"],
)
def test_callback_off_the_secret_path_is_rejected(adapter, headers):
    with pytest.raises(InvalidCallback, match="path"):
        adapter.parse_callback(headers, callback(), "41.222.176.233")


def test_without_networks_and_token_every_callback_is_refused():
    built = build("tigopesa", SETTINGS | {"token_url": "http://x", "pay_url": "http://x"})
    assert not built.allow.allows("41.222.176.143")
    with pytest.raises(InvalidCallback, match="no callback token"):
        built.parse_callback(ON_SECRET_PATH, callback(), "41.222.176.143")


def test_malformed_callback_is_rejected(adapter):
    with pytest.raises(InvalidCallback):
        adapter.parse_callback({}, json.dumps({"Status": True}).encode(), "41.222.176.233")


def test_ack_codes_are_configurable(fake_provider):
    built = build(
        "tigopesa",
        SETTINGS
        | {
            "token_url": "http://x",
            "pay_url": "http://x",
            "callback_ips": ["0.0.0.0/0"],
            "callback_token": TOKEN,
            "ack_success_code": "BILLER-30-0000-S",
        },
    )
    event = built.parse_callback(ON_SECRET_PATH, callback(), "192.0.2.1")
    assert json.loads(built.callback_ack(event, ok=True).body) == {
        "ResponseCode": "BILLER-30-0000-S",
        "ResponseStatus": True,
        "ResponseDescription": "Callback successful",
        "ReferenceID": "BC01TP0001",
    }
    assert (
        json.loads(built.callback_ack(event, ok=False).body)["ResponseCode"] == "BILLER-18-3020-E"
    )
