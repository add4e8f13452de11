"""The simulators are strict where the operators are: credentials, signatures, fields,
duplicates, refunds. And the two public functions behave as the app relies on."""

from __future__ import annotations

import json

import pytest
import requests

from providers.base import (
    InvalidCallback,
    ProviderStatus,
    RefundRequest,
    StatusQuery,
    build_adapter,
)
from providers.sandbox import sandbox_blueprint, sandbox_settings

S = ProviderStatus


@pytest.mark.parametrize("code", ["halopesa", "tpesa", "ezypesa"])
def test_aggregated_codes_get_the_selcom_simulator(code):
    settings = sandbox_settings(code, "http://127.0.0.1:9/sandbox/selcom/")
    assert settings == sandbox_settings("selcom", "http://127.0.0.1:9/sandbox/selcom")
    assert build_adapter(code, settings).code == code


def test_unknown_codes_are_refused():
    with pytest.raises(ValueError):
        sandbox_settings("card", "http://127.0.0.1:9")
    with pytest.raises(ValueError):
        sandbox_blueprint("halopesa", callback_url="http://127.0.0.1:9/cb")  # mount "selcom"


@pytest.mark.parametrize(
    ("code", "wrong"),
    [
        ("mpesa", {"api_key": "not-the-key"}),
        ("tigopesa", {"password": "not-the-password"}),
        ("airtelmoney", {"client_secret": "not-the-secret"}),
        ("halopesa", {"api_secret": "not-the-secret"}),
    ],
)
def test_wrong_credentials_are_refused_before_any_push(rigs, code, wrong):
    rig = rigs[code]
    collection = rig.request("5678")
    result = rig.build(**wrong).initiate_collection(collection)
    assert (result.status, result.retryable) == (S.FAILED, True), result
    assert rig.receiver.quiet_for(collection.reference, 0.15) == []


@pytest.mark.parametrize(
    ("code", "path"),
    [
        ("mpesa", "c2bPayment/singleStage/"),
        ("tigopesa", "billerpay"),
        ("airtelmoney", "merchant/v1/payments/"),
        ("halopesa", "checkout/wallet-payment"),
    ],
)
def test_an_unauthenticated_initiate_is_refused(rigs, code, path):
    reply = requests.post(f"{rigs[code].base_url}/{path}", json={}, timeout=5)
    assert reply.status_code in (400, 401, 403)


def test_mpesa_checks_the_shortcode_and_duplicates(rigs):
    rig = rigs["mpesa"]
    refused = rig.build(service_provider_code="999999").initiate_collection(rig.request("5678"))
    assert (refused.status, refused.reason_code) == (S.FAILED, "INS-13")
    collection = rig.request("0003")
    assert rig.adapter.initiate_collection(collection).status == S.PENDING
    again = rig.adapter.initiate_collection(collection)
    assert (again.status, again.ambiguous, again.reason_code) == (S.PENDING, True, "INS-10")


def _paid_receipt(rig, collection) -> str:
    [delivery] = rig.receiver.wait_for(collection.reference)
    event = rig.parse(delivery)
    assert event.status == S.SUCCEEDED
    return event.provider_txn_id


def _refund(rig, collection, receipt: str, amount_minor: int, suffix: str) -> RefundRequest:
    return RefundRequest(
        refund_reference=f"R{collection.reference[1:]}{suffix}"[:20],
        provider_txn_id=receipt,
        original_reference=collection.reference,
        amount_minor=amount_minor,
        original_amount_minor=collection.amount_minor,
        currency="TZS",
        msisdn=collection.msisdn,
        reason="sandbox test",
    )


@pytest.mark.parametrize("code", ["mpesa", "tigopesa"])
def test_partial_refunds_stop_at_what_was_paid(rigs, code):
    rig = rigs[code]
    collection, _ = rig.initiate("5678")
    receipt = _paid_receipt(rig, collection)
    half = collection.amount_minor // 2
    assert rig.adapter.refund(_refund(rig, collection, receipt, half, "A")).status == S.REVERSED
    assert rig.adapter.refund(_refund(rig, collection, receipt, half, "B")).status == S.REVERSED
    over = rig.adapter.refund(_refund(rig, collection, receipt, half, "C"))
    assert over.status == S.FAILED, over


def test_airtel_refunds_the_whole_payment_once(rigs):
    rig = rigs["airtelmoney"]
    collection, _ = rig.initiate("5678")
    receipt = _paid_receipt(rig, collection)
    refund = _refund(rig, collection, receipt, collection.amount_minor, "A")
    assert rig.adapter.refund(refund).status == S.REVERSED
    assert rig.adapter.refund(refund).status != S.REVERSED


@pytest.mark.parametrize(
    ("code", "tamper"),
    [
        ("halopesa", lambda body: {**body, "amount": "1"}),
        ("airtelmoney", lambda body: {**body, "transaction": {**body["transaction"], "id": "X"}}),
    ],
)
def test_signed_callbacks_do_not_survive_tampering(rigs, code, tamper):
    rig = rigs[code]
    collection, _ = rig.initiate("5678")
    [delivery] = rig.receiver.wait_for(collection.reference)
    assert rig.parse(delivery).status == S.SUCCEEDED
    forged = json.dumps(tamper(json.loads(delivery.body))).encode()
    with pytest.raises(InvalidCallback):
        rig.adapter.parse_callback(delivery.headers, forged, delivery.remote_addr)


@pytest.mark.parametrize("code", ["tpesa", "ezypesa"])
def test_selcom_calls_back_on_the_orders_own_webhook(rigs, code):
    rig = rigs[code]
    collection, _ = rig.initiate("5678")
    [delivery] = rig.receiver.wait_for(collection.reference)
    assert delivery.provider == code  # not the blueprint's fallback callback_url
    event = rig.parse(delivery)
    assert (event.status, event.channel, event.provider) == (S.SUCCEEDED, code.upper(), code)


def test_selcom_cancelled_order_never_calls_back(slow_rig):
    rig = slow_rig("halopesa")
    collection, _ = rig.initiate("5678")
    cancelled = rig.adapter.client.cancel_order(collection.reference)
    assert (cancelled.status, cancelled.body["resultcode"]) == (200, "000")
    query = StatusQuery(our_reference=collection.reference)
    assert rig.adapter.query_status(query).status == S.CANCELLED
