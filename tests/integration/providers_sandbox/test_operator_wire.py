"""Wire details the adapters never needed but the operators have: Selcom's create-order
reply and list-orders, each operator's own error envelope for a path or method it does
not serve, and M-Pesa's status query by every id it documents."""

from __future__ import annotations

import base64
import secrets
from datetime import date, timedelta

import pytest
import requests

from providers.mpesa import wire as mpesa_wire
from providers.selcom import wire as selcom_wire
from providers.transport import HttpReply, send


def _selcom_order(rig, reference: str) -> dict:
    return selcom_wire.order_body(
        vendor=rig.adapter.config.vendor,
        order_id=reference,
        buyer_email="payer@example.com",
        buyer_name="Payer",
        msisdn=rig.number("5678"),
        amount_shillings=1500,
        webhook_url=f"{rig.receiver.url}/v1/callbacks/halopesa",
    )


def _selcom_get(rig, path: str, params: dict[str, str]) -> HttpReply:
    client = rig.adapter.client
    return send(
        client._http,
        "GET",
        client._url(path),
        timeouts=client.config.timeouts,
        headers=client._headers(params),
        params=params,
    )


def test_selcom_create_order_answers_with_gateway_url_qr_and_reference(rigs):
    rig = rigs["halopesa"]
    reference = f"T{secrets.token_hex(6).upper()}"
    created = rig.adapter.client.create_order(_selcom_order(rig, reference))
    assert (created.status, created.body["resultcode"]) == (200, "000")
    assert created.body["reference"]
    [gateway] = created.body["data"]
    assert gateway["payment_token"] and gateway["gateway_buyer_uuid"] and gateway["qr"]
    url = base64.b64decode(gateway["payment_gateway_url"], validate=True).decode()
    assert url.startswith("http") and gateway["payment_token"] in url


def test_selcom_lists_the_orders_of_a_date_range(rigs):
    rig = rigs["halopesa"]
    collection, _ = rig.initiate("5678")
    rig.receiver.wait_for(collection.reference)
    today = date.today()
    window = {"fromdate": str(today - timedelta(days=1)), "todate": str(today + timedelta(days=1))}
    listed = _selcom_get(rig, "checkout/list-orders", window)
    assert (listed.status, listed.body["resultcode"]) == (200, "000"), listed.text
    [order] = [o for o in listed.body["data"] if o["order_id"] == collection.reference]
    assert order["payment_status"] == "COMPLETED" and order["amount"] == "1500"
    earlier = {"fromdate": "2020-01-01", "todate": "2020-01-31"}
    assert _selcom_get(rig, "checkout/list-orders", earlier).body["data"] == []
    refused = _selcom_get(rig, "checkout/list-orders", {"fromdate": "yesterday"})
    assert (refused.status, refused.body["result"]) == (400, "FAIL")


UNKNOWN = {  # simulator: (a path it serves, the wrong method for it)
    "mpesa": ("c2bPayment/singleStage/", "GET"),
    "tigopesa": ("billerpay", "GET"),
    "airtelmoney": ("merchant/v1/payments/", "GET"),
    "selcom": ("checkout/order-status", "POST"),
}


def _envelope_says(simulator: str, body: dict, status: int) -> bool:
    if simulator == "mpesa":
        return bool(body.get("output_error"))
    if simulator == "tigopesa":
        return bool(body.get("Message"))
    if simulator == "airtelmoney":
        return body["status"]["code"] == str(status) and body["status"]["success"] is False
    return body["resultcode"] == str(status) and body["result"] == "FAIL"


@pytest.mark.parametrize("simulator", sorted(UNKNOWN))
def test_unknown_paths_and_wrong_methods_answer_in_the_operators_envelope(rigs, simulator):
    code = {"selcom": "halopesa"}.get(simulator, simulator)
    base = rigs[code].base_url
    served, wrong_method = UNKNOWN[simulator]
    for method, path, status in [
        ("POST", "no/such/path", 404),
        ("GET", "", 404),
        (wrong_method, served, 405),
    ]:
        answer = requests.request(method, f"{base}/{path}", timeout=5)
        assert answer.status_code == status, (method, path, answer.text)
        assert answer.headers["Content-Type"].startswith("application/json")
        assert _envelope_says(simulator, answer.json(), status), answer.text


def _mpesa_query(rig, query_reference: str) -> dict:
    params = mpesa_wire.query_params(
        query_reference=query_reference,
        service_provider_code=rig.adapter.config.service_provider_code,
        conversation_id=secrets.token_hex(8),
    )
    return rig.adapter.client.query_transaction_status(params).body


def test_mpesa_query_resolves_by_transaction_reference_transaction_and_conversation_id(rigs):
    """A client (pypesa) sends its own ThirdPartyConversationID beside our reference."""
    rig = rigs["mpesa"]
    reference = f"T{secrets.token_hex(5).upper()}"
    body = mpesa_wire.c2b_body(
        amount_shillings=1500,
        msisdn=rig.number("5678"),
        service_provider_code=rig.adapter.config.service_provider_code,
        reference=reference,
        description="top-up",
    )
    body["input_ThirdPartyConversationID"] = secrets.token_hex(16)
    accepted = rig.adapter.client.c2b_single_stage(body).body
    assert accepted["output_ResponseCode"] == "INS-0"
    [delivery] = rig.receiver.wait_for(body["input_ThirdPartyConversationID"])
    receipt = rig.parse(delivery).provider_txn_id
    for ident in (
        reference,
        accepted["output_ConversationID"],
        receipt,
        body["input_ThirdPartyConversationID"],
    ):
        found = _mpesa_query(rig, ident)
        assert found["output_ResponseTransactionStatus"] == "Completed", (ident, found)
        assert found["output_TransactionID"] == receipt
        assert found["output_ConversationID"] == accepted["output_ConversationID"]
