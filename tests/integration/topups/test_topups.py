"""Top-ups end to end in sandbox mode: each operator's wire format, each outcome."""

from __future__ import annotations

import pytest
import requests
from sqlalchemy import func, select

from billing.events.models import PlatformEvent
from billing.ledger.models import Transaction
from billing.topups.jobs import own_query, sweep
from billing.topups.models import CallbackDelivery, Topup
from providers.base import TERMINAL
from tests.integration.topups.conftest import get
from tests.polling import eventually

pytestmark = pytest.mark.integration

PAYERS = {  # a number on each operator's range; the last four digits choose the outcome
    "mpesa": "0754 12",
    "tigopesa": "0714 12",
    "airtelmoney": "0784 12",
    "halopesa": "0621 12",
    "tpesa": "0733 12",
    "ezypesa": "0777 12",
}


def payer(provider: str, ending: str = "9999") -> str:
    return PAYERS[provider] + ending


def top_up(live, tenant, provider: str, ending: str = "9999", amount: int = 5_000_00) -> dict:
    response = requests.post(
        f"{live.url}/v1/topups",
        json={
            "amount": amount,
            "currency": "TZS",
            "msisdn": payer(provider, ending),
            "provider": provider,
        },
        headers=tenant.headers,
        timeout=30,
    )
    assert response.status_code == 202, response.text
    return response.json()


def settled(live, tenant, topup_id: str, timeout_s: float = 10.0) -> dict:
    def final():
        topup = get(live, f"/v1/topups/{topup_id}", tenant)
        return topup if topup["status"] != "pending" else None

    return eventually(final, timeout_s) or get(live, f"/v1/topups/{topup_id}", tenant)


def credits(live, topup_id: str) -> int:
    with live.runtime.sessions() as session:
        return session.execute(
            select(func.count()).select_from(Transaction).where(Transaction.reference == topup_id)
        ).scalar_one()


def receipts(live, topup_id: str) -> list[dict]:
    with live.runtime.sessions() as session:
        events = session.scalars(select(PlatformEvent).filter_by(type="topup.succeeded")).all()
        return [event.data["receipt"] for event in events if event.data["topup_id"] == topup_id]


@pytest.mark.parametrize("provider", sorted(PAYERS))
def test_a_top_up_by_each_provider_credits_the_wallet_once(live, tenant, provider):
    created = top_up(live, tenant, provider)
    assert created["status"] == "pending" and created["provider"] == provider
    done = settled(live, tenant, created["id"])
    assert done["status"] == "succeeded", done
    assert get(live, "/v1/wallet", tenant)["balance"] == 5_000_00
    assert credits(live, created["id"]) == 1
    entries = get(live, "/v1/wallet/entries", tenant)["items"]
    assert [(e["kind"], e["amount"]) for e in entries] == [("topup", 5_000_00)]


@pytest.mark.parametrize(
    ("ending", "status"), [("0001", "failed"), ("0002", "cancelled")], ids=["no-funds", "cancel"]
)
@pytest.mark.parametrize("provider", ["mpesa", "airtelmoney", "halopesa"])
def test_a_refused_payment_ends_in_its_state_and_credits_nothing(
    live, tenant, provider, ending, status
):
    created = top_up(live, tenant, provider, ending)
    done = settled(live, tenant, created["id"])
    assert done["status"] in (status, "failed"), done  # operators word cancellations differently
    assert done["failure_reason"] or done["failure_code"]
    assert get(live, "/v1/wallet", tenant)["balance"] == 0


def test_a_callback_delivered_five_times_credits_once(live, tenant):
    created = top_up(live, tenant, "mpesa", "0004")
    assert settled(live, tenant, created["id"])["status"] == "succeeded"

    def five_deliveries():
        with live.runtime.sessions() as session:
            return (
                session.execute(
                    select(CallbackDelivery.deliveries).where(
                        CallbackDelivery.topup_id == created["id"]
                    )
                ).scalar()
                == 5
            )

    assert eventually(five_deliveries)
    assert credits(live, created["id"]) == 1
    assert get(live, "/v1/wallet", tenant)["balance"] == 5_000_00
    [receipt] = receipts(live, created["id"])  # one receipt for one credit
    assert receipt["recipients"]["sms"] == "255754120004"
    assert receipt["balance"] == 5_000_00
    assert "TZS 5,000.00" in receipt["text"]["en"] and "M-Pesa" in receipt["text"]["sw"]
    assert receipt["language"] == "en"  # the tenant's, the text to send


def test_a_callback_before_the_initiate_call_returns_is_credited_once(live, tenant):
    created = top_up(live, tenant, "halopesa", "0006")
    assert settled(live, tenant, created["id"])["status"] == "succeeded"
    assert credits(live, created["id"]) == 1


def test_a_wrong_amount_becomes_a_review_item_not_a_credit(live, tenant, finance):
    created = top_up(live, tenant, "halopesa", "0005")  # M-Pesa's, Airtel's carry no amount

    def flagged():
        items = requests.get(
            f"{live.url}/v1/review-items?kind=amount_mismatch", headers=finance.headers, timeout=10
        ).json()
        return [i for i in items if i["topup_id"] == created["id"]]

    items = eventually(flagged)
    assert items and items[0]["detail"]["mismatch"]["amount"][0] == 5_000_00
    assert get(live, f"/v1/topups/{created['id']}", tenant)["status"] == "pending"
    assert get(live, "/v1/wallet", tenant)["balance"] == 0
    resolved = requests.post(
        f"{live.url}/v1/review-items/{items[0]['id']}/resolve",
        json={"resolution": "refunded the payer by hand"},
        headers=finance.headers,
        timeout=10,
    )
    assert resolved.status_code == 200 and resolved.json()["status"] == "resolved"


def _make_due(live, topup_id: str) -> None:
    from billing.core.clock import utcnow

    with live.runtime.sessions.begin() as session:
        session.get(Topup, topup_id).next_check_at = utcnow()


def _payer_answered(live, topup_id: str) -> None:
    """Until the simulated payer has answered, as the provider's own status query says."""
    with live.runtime.sessions() as session:
        topup = session.get(Topup, topup_id)
        adapter, query = live.runtime.gateways.adapter(topup.provider), own_query(topup)
    answer = eventually(lambda: adapter.query_status(query).status in TERMINAL, timeout_s=10)
    assert answer, f"the sandbox payer never answered top-up {topup_id}"


def test_a_missing_callback_is_found_by_the_sweepers_status_query(live, tenant):
    created = top_up(live, tenant, "mpesa", "0003")
    assert get(live, f"/v1/topups/{created['id']}", tenant)["status"] == "pending"
    _payer_answered(live, created["id"])  # the simulated payer approves after a delay
    _make_due(live, created["id"])
    with live.app.app_context():
        sweep()
    assert get(live, f"/v1/topups/{created['id']}", tenant)["status"] == "succeeded"
    assert get(live, "/v1/wallet", tenant)["balance"] == 5_000_00


def test_without_a_status_query_a_silent_top_up_expires(live, tenant):
    created = top_up(live, tenant, "tigopesa", "0003")
    with live.app.app_context():
        for _ in range(5):
            _make_due(live, created["id"])
            sweep()
    assert get(live, f"/v1/topups/{created['id']}", tenant)["status"] == "expired"


def test_an_ambiguous_initiate_is_settled_by_the_providers_status_query(live, tenant):
    created = top_up(live, tenant, "airtelmoney", "0007")  # the push timed out (HTTP 504)
    assert get(live, f"/v1/topups/{created['id']}", tenant)["status"] == "pending"
    _payer_answered(live, created["id"])
    _make_due(live, created["id"])
    with live.app.app_context():
        sweep()
    final = get(live, f"/v1/topups/{created['id']}", tenant)
    assert final["status"] == "expired"  # Airtel's enquiry: the transaction timed out
    assert credits(live, created["id"]) == 0


def test_a_success_after_expiry_is_credited_and_flagged_never_dropped(live, tenant, finance):
    created = top_up(live, tenant, "tigopesa", "0003")  # Tigo: no callback, no status query
    with live.app.app_context():
        for _ in range(5):
            _make_due(live, created["id"])
            sweep()
    assert get(live, f"/v1/topups/{created['id']}", tenant)["status"] == "expired"

    simulator = live.app.blueprints["sandbox_tigopesa"].simulator
    payment = next(
        p
        for p in simulator.payer.book._payments.values()
        if p.reference.endswith(created["reference"])
    )
    late = {
        "Status": True,
        "Description": "Success",
        "MFSTransactionID": "MPLATE0001",
        "ReferenceID": payment.reference,
        "Amount": "5000",
    }
    # The URL Tigo was given: its secret path, posted to from an allowed address.
    callback_url = live.runtime.gateways.callback_url("tigopesa")
    response = requests.post(callback_url, json=late, timeout=10)
    assert response.status_code == 200

    assert settled(live, tenant, created["id"])["status"] == "succeeded"
    assert get(live, "/v1/wallet", tenant)["balance"] == 5_000_00
    items = requests.get(
        f"{live.url}/v1/review-items?kind=late_success", headers=finance.headers, timeout=10
    ).json()
    assert [i for i in items if i["topup_id"] == created["id"]]
