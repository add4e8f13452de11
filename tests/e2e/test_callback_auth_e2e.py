"""Callbacks from providers that do not sign (Tigo Pesa) or sign only partly (Selcom's
Authorization header), tried as a forger would, through `billing serve` and a worker.

Tigo's only proofs are the source network and the secret callback path; in sandbox the
simulator posts from 127.0.0.1 to `/v1/callbacks/tigopesa/<token>`, so a forger at
another loopback address (127.0.0.2), or at the plain path, is refused as live.
"""

from __future__ import annotations

import http.client
import json
import time
from urllib.parse import urlsplit

import pytest
import requests
from sqlalchemy import select

from billing.topups.models import CallbackDelivery, InboxStatus, TopupStatus
from providers.sandbox import selcom as selcom_sim
from providers.sandbox import tigopesa as tigo_sim
from providers.sandbox.selcom_signing import local_now, sign
from tests.e2e.test_topups_e2e import credit_counts, request_topup, statuses
from tests.polling import eventually

pytestmark = pytest.mark.e2e

SETTLE_S = 3.0  # longer than the sandbox delay and a worker's pick-up


def topup_reference(live_url: str, tenant, topup_id: str) -> str:
    response = requests.get(f"{live_url}/v1/topups/{topup_id}", headers=tenant.headers, timeout=10)
    return response.json()["reference"]


def tigo_success(reference: str, receipt: str) -> bytes:
    body = {
        "Status": True,
        "Description": "Transaction successful",
        "MFSTransactionID": receipt,
        "ReferenceID": tigo_sim.BILLER_CODE + reference,
        "Amount": "2000",
    }
    return json.dumps(body).encode()


def post_from(
    url: str, path: str, body: bytes, headers: dict[str, str], source: str
) -> http.client.HTTPResponse:
    """POST from a chosen local source address (the whole of 127.0.0.0/8 is this host)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(
        parts.hostname, parts.port, timeout=10, source_address=(source, 0)
    )
    connection.request("POST", path, body=body, headers=headers)
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


def kept(sessions, body: bytes) -> list[CallbackDelivery]:
    with sessions() as session:
        return list(
            session.execute(select(CallbackDelivery).where(CallbackDelivery.body == body)).scalars()
        )


def assert_nothing_credited(sessions, topup_id: str) -> None:
    time.sleep(SETTLE_S)
    assert statuses(sessions, [topup_id])[topup_id] == TopupStatus.PENDING
    assert credit_counts(sessions, [topup_id]) == {}


def test_a_forged_tigo_success_on_the_plain_path_credits_nothing(
    live_url, worker, make_tenant, sessions
):
    tenant = make_tenant()
    unpaid = request_topup(live_url, tenant, "0714 320 003", "tigopesa")  # callback never comes
    body = tigo_success(topup_reference(live_url, tenant, unpaid), "FORGED1")
    response = requests.post(
        f"{live_url}/v1/callbacks/tigopesa",
        data=body,
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert 400 <= response.status_code < 500
    [evidence] = kept(sessions, body)
    assert evidence.status == InboxStatus.REJECTED and "path" in evidence.error
    assert_nothing_credited(sessions, unpaid)


def test_a_forged_tigo_success_from_an_untrusted_peer_with_a_fake_forwarded_for_is_refused(
    live_url, worker, make_tenant, sessions
):
    tenant = make_tenant()
    unpaid = request_topup(live_url, tenant, "0714 330 003", "tigopesa")
    body = tigo_success(topup_reference(live_url, tenant, unpaid), "FORGED2")
    secret_path = urlsplit(_callback_url(live_url)).path
    response = post_from(
        live_url,
        secret_path,
        body,
        {"Content-Type": "application/json", "X-Forwarded-For": "127.0.0.1"},
        source="127.0.0.2",
    )
    assert 400 <= response.status < 500
    [evidence] = kept(sessions, body)
    assert evidence.status == InboxStatus.REJECTED
    assert evidence.remote_addr == "127.0.0.2" and "allow-list" in evidence.error
    assert tigo_sim.settings("x")["callback_token"] not in json.dumps(evidence.headers)
    assert_nothing_credited(sessions, unpaid)


def test_a_genuine_tigo_payment_still_credits(live_url, worker, make_tenant, sessions):
    tenant = make_tenant()
    paid = request_topup(live_url, tenant, "0714 322 999", "tigopesa")
    assert eventually(
        lambda: statuses(sessions, [paid])[paid] == TopupStatus.SUCCEEDED, timeout_s=30
    )
    assert credit_counts(sessions, [paid]) == {paid: 1}


@pytest.mark.parametrize("authorization", [None, "SELCOM " + "d3Jvbmc="])
def test_a_selcom_webhook_without_the_right_authorization_is_refused(
    live_url, worker, make_tenant, sessions, authorization
):
    tenant = make_tenant()
    failed = request_topup(live_url, tenant, "0621 320 001", "halopesa")  # no money
    assert eventually(
        lambda: statuses(sessions, [failed])[failed] == TopupStatus.FAILED, timeout_s=30
    )
    fields = {
        "transid": "FORGED",
        "order_id": topup_reference(live_url, tenant, failed),
        "reference": f"SELFORGED{len(authorization or '')}",
        "result": "SUCCESS",
        "resultcode": "000",
        "payment_status": "COMPLETED",
        "amount": "2000",
        "msisdn": "255621320001",
        "message": "Payment received",
    }
    headers = sign(fields, selcom_sim.API_KEY, selcom_sim.API_SECRET, local_now())
    headers.pop("Authorization")
    if authorization is not None:
        headers["Authorization"] = authorization
    body = json.dumps(fields).encode()
    response = requests.post(
        f"{live_url}/v1/callbacks/selcom", data=body, headers=headers, timeout=10
    )
    assert 400 <= response.status_code < 500
    [evidence] = kept(sessions, body)
    assert evidence.status == InboxStatus.REJECTED and "Authorization" in evidence.error
    time.sleep(SETTLE_S)
    assert credit_counts(sessions, [failed]) == {}


def _callback_url(live_url: str) -> str:
    """The URL Malipo gives Tigo, as the running service builds it."""
    from billing.core.config import Settings
    from billing.topups.gateways import Gateways

    return Gateways(Settings(public_url=live_url)).callback_url("tigopesa")
