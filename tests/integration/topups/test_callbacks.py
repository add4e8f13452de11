"""The callback endpoint under abuse: forgeries, garbage, storms of duplicates."""

from __future__ import annotations

import base64
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import func, select

from billing.topups.models import CallbackDelivery, InboxStatus
from providers.sandbox import sandbox_settings
from tests.integration.topups.conftest import get
from tests.integration.topups.test_topups import credits, settled, top_up
from tests.polling import eventually

pytestmark = pytest.mark.integration


def stored_callback(live, topup_id: str) -> CallbackDelivery:
    with live.runtime.sessions() as session:
        return session.execute(
            select(CallbackDelivery).where(CallbackDelivery.topup_id == topup_id)
        ).scalar_one()


def replay(live, delivery: CallbackDelivery, path: str) -> requests.Response:
    headers = {
        k: v
        for k, v in delivery.headers.items()
        if k.lower() not in ("host", "content-length", "connection")
    }
    if "Authorization" in headers:  # kept as a digest only: the operator's own, again
        api_key = sandbox_settings("halopesa", "http://x")["api_key"]
        headers["Authorization"] = "SELCOM " + base64.b64encode(api_key.encode()).decode()
    return requests.post(
        f"{live.url}/v1/callbacks/{path}", data=delivery.body, headers=headers, timeout=30
    )


@pytest.mark.parametrize(("provider", "path"), [("mpesa", "mpesa"), ("halopesa", "selcom")])
def test_200_concurrent_duplicates_of_a_callback_credit_once(live, tenant, provider, path):
    created = top_up(live, tenant, provider)
    assert settled(live, tenant, created["id"])["status"] == "succeeded"
    original = stored_callback(live, created["id"])
    barrier = threading.Barrier(50)

    def send(_index: int) -> int:
        if _index < 50:
            barrier.wait()
        return replay(live, original, path).status_code

    with ThreadPoolExecutor(max_workers=50) as pool:
        statuses = list(pool.map(send, range(200)))
    assert set(statuses) == {200}
    assert credits(live, created["id"]) == 1
    assert get(live, "/v1/wallet", tenant)["balance"] == 5_000_00
    assert stored_callback(live, created["id"]).deliveries == 201


def test_a_forged_signature_is_refused_stored_and_credits_nothing(live, tenant):
    created = top_up(live, tenant, "halopesa", "0003")  # paid, but its callback never comes
    with live.runtime.sessions() as session:
        genuine = (
            session.execute(
                select(CallbackDelivery).where(
                    CallbackDelivery.status == InboxStatus.APPLIED,
                    CallbackDelivery.provider == "selcom",
                )
            )
            .scalars()
            .first()
        )
    assert genuine is not None
    forged_body = genuine.body.replace(
        genuine.event["our_reference"].encode(), created["reference"].encode()
    )
    forged = CallbackDelivery(headers=genuine.headers, body=forged_body)
    response = replay(live, forged, "selcom")
    assert 400 <= response.status_code < 500
    assert get(live, f"/v1/topups/{created['id']}", tenant)["status"] == "pending"
    assert get(live, "/v1/wallet", tenant)["balance"] == 0
    with live.runtime.sessions() as session:
        rejected = session.execute(
            select(CallbackDelivery).where(CallbackDelivery.body == forged_body)
        ).scalar_one()
    assert rejected.status == InboxStatus.REJECTED and rejected.error


def test_an_unsigned_forged_success_is_not_believed_without_the_providers_word(live, tenant):
    created = top_up(live, tenant, "mpesa", "0001")  # the payer had no money
    assert settled(live, tenant, created["id"])["status"] == "failed"
    with live.runtime.sessions() as session:
        real = session.execute(
            select(CallbackDelivery).where(CallbackDelivery.topup_id == created["id"])
        ).scalar_one()
    body = real.body.decode()
    for code in ("INS-2006", "INS-10", "INS-1"):
        body = body.replace(f'"{code}"', '"INS-0"')
    forged = CallbackDelivery(headers=real.headers, body=body.encode())
    replay(live, forged, "mpesa")
    assert get(live, f"/v1/topups/{created['id']}", tenant)["status"] == "failed"
    assert credits(live, created["id"]) == 0


@pytest.mark.parametrize("body", [b"", b"{not json", b"<xml/>", b'{"unexpected": true}'])
@pytest.mark.parametrize("path", ["mpesa", "tigopesa", "airtelmoney", "selcom"])
def test_garbage_is_a_4xx_and_kept_as_evidence(live, path, body):
    with live.runtime.sessions() as session:
        before = session.scalar(select(func.coalesce(func.max(CallbackDelivery.id), 0)))
    response = requests.post(
        f"{live.url}/v1/callbacks/{path}",
        data=body,
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert 400 <= response.status_code < 500, response.text
    with live.runtime.sessions() as session:
        # This request's row: another case posted the same body to another path before.
        kept = session.execute(
            select(CallbackDelivery).where(
                CallbackDelivery.id > before,
                CallbackDelivery.provider == path,
                CallbackDelivery.body == body,
            )
        ).scalar_one()
    assert kept.status == InboxStatus.REJECTED and kept.error


def test_an_unknown_provider_path_is_a_problem(live):
    response = requests.post(f"{live.url}/v1/callbacks/paypal", data=b"{}", timeout=10)
    # The providers are a closed set in the path (an enum in the document): no such route.
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"msisdn": "12345"}, "msisdn"),
        ({"msisdn": "0222 123 456"}, "msisdn"),
        ({"amount": 5_000_50}, "amount"),
        ({"amount": 0}, "amount"),
        ({"amount": "5000"}, "amount"),
        ({"currency": "USD"}, "currency"),
        ({"provider": "card"}, "provider"),
        ({"provider": "paypal"}, "provider"),
    ],
)
def test_bad_top_up_requests_are_422_naming_the_field(live, tenant, change, field):
    body = {"amount": 5_000_00, "currency": "TZS", "msisdn": "0754 123 456", **change}
    response = requests.post(f"{live.url}/v1/topups", json=body, headers=tenant.headers, timeout=10)
    assert response.status_code == 422, response.text
    assert field in response.json()["errors"]


def test_the_operator_is_suggested_from_the_number(live, tenant):
    response = requests.post(
        f"{live.url}/v1/topups",
        json={"amount": 1_000_00, "currency": "TZS", "msisdn": "+255 784 000 999"},
        headers=tenant.headers,
        timeout=30,
    )
    assert response.status_code == 202 and response.json()["provider"] == "airtelmoney"


def test_another_tenants_top_up_answers_404(live, make_tenant):
    owner, other = make_tenant(), make_tenant()
    created = top_up(live, owner, "mpesa")
    response = requests.get(
        f"{live.url}/v1/topups/{created['id']}", headers=other.headers, timeout=10
    )
    assert response.status_code == 404
    assert get(live, "/v1/topups", other)["items"] == []
    assert [t["id"] for t in get(live, "/v1/topups", owner)["items"]] == [created["id"]]


def test_staff_only_see_review_items(live, tenant):
    response = requests.get(f"{live.url}/v1/review-items", headers=tenant.headers, timeout=10)
    assert response.status_code == 403


def test_a_callback_for_an_unknown_reference_is_a_review_item(live, tenant, finance):
    created = top_up(live, tenant, "mpesa", "0004")
    assert settled(live, tenant, created["id"])["status"] == "succeeded"
    real = stored_callback(live, created["id"])
    body = real.body.replace(created["reference"].encode(), b"TNOSUCHREFERENCE0001")
    body = body.replace(real.event["provider_txn_id"].encode(), b"UNKNOWNTXN1")
    replay(live, CallbackDelivery(headers=real.headers, body=body), "mpesa")

    def flagged():
        items = requests.get(
            f"{live.url}/v1/review-items?kind=unknown_reference",
            headers=finance.headers,
            timeout=10,
        ).json()
        return [i for i in items if i["detail"].get("reference") == "TNOSUCHREFERENCE0001"]

    assert eventually(flagged)
