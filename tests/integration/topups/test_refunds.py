"""Refunds: the wallet is debited first, the provider asked after, a refusal undone."""

from __future__ import annotations

import pytest
import requests

from billing.ledger.balances import account_balance
from billing.ledger.postings import clearing
from tests.factories import charge
from tests.integration.topups.conftest import get
from tests.integration.topups.test_topups import settled, top_up
from tests.polling import eventually

pytestmark = pytest.mark.integration


def refund(live, caller, topup_id: str, **body) -> requests.Response:
    return requests.post(
        f"{live.url}/v1/topups/{topup_id}/refund",
        json={"reason": "sent to the wrong wallet", **body},
        headers=caller.headers,
        timeout=30,
    )


def refunded(live, tenant, topup_id: str) -> dict:
    def done():
        topup = get(live, f"/v1/topups/{topup_id}", tenant)
        return topup if topup["refund_status"] not in ("requested", "sending") else None

    return eventually(done)


@pytest.mark.parametrize("provider", ["mpesa", "airtelmoney"])
def test_a_full_refund_returns_the_money_and_closes_the_top_up(live, tenant, admin, provider):
    created = top_up(live, tenant, provider)
    assert settled(live, tenant, created["id"])["status"] == "succeeded"
    response = refund(live, admin, created["id"])
    assert response.status_code == 202, response.text
    done = refunded(live, tenant, created["id"])
    assert (done["status"], done["refund_status"], done["refund_amount"]) == (
        "refunded",
        "succeeded",
        5_000_00,
    )
    assert get(live, "/v1/wallet", tenant)["balance"] == 0
    kinds = [e["kind"] for e in get(live, "/v1/wallet/entries", tenant)["items"]]
    assert kinds == ["refund", "topup"]
    with live.runtime.sessions() as session:
        owed = account_balance(session, tenant.tenant_id, clearing(provider), "TZS")
    assert owed.balance_minor == 0


def test_a_partial_refund_leaves_the_top_up_credited(live, tenant, admin):
    created = top_up(live, tenant, "mpesa")
    settled(live, tenant, created["id"])
    assert refund(live, admin, created["id"], amount=1_000_00).status_code == 202
    done = refunded(live, tenant, created["id"])
    assert (done["status"], done["refund_status"]) == ("succeeded", "succeeded")
    assert get(live, "/v1/wallet", tenant)["balance"] == 4_000_00


def test_money_already_spent_cannot_be_refunded(live, tenant, admin):
    created = top_up(live, tenant, "mpesa")
    settled(live, tenant, created["id"])
    with live.runtime.sessions.begin() as session:
        charge(session, tenant.tenant_id, 4_500_00)
    response = refund(live, admin, created["id"])
    assert response.status_code == 422
    assert response.json()["errors"] == {"amount": ["exceeds the available balance"]}
    assert get(live, f"/v1/topups/{created['id']}", tenant)["refund_status"] is None


@pytest.mark.parametrize(
    ("provider", "ending", "body", "status", "field"),
    [
        ("halopesa", "9999", {}, 422, "amount"),  # the aggregator has no refund API
        ("airtelmoney", "9999", {"amount": 1_000_00}, 422, "amount"),  # whole payment only
        ("mpesa", "9999", {"amount": 9_000_00}, 422, "amount"),  # more than was paid
        ("mpesa", "0001", {}, 409, None),  # nothing was credited
    ],
)
def test_refunds_the_provider_cannot_make_are_refused(
    live, tenant, admin, provider, ending, body, status, field
):
    created = top_up(live, tenant, provider, ending)
    settled(live, tenant, created["id"])
    response = refund(live, admin, created["id"], **body)
    assert response.status_code == status, response.text
    if field:
        assert field in response.json()["errors"]


def test_a_refund_is_made_once(live, tenant, admin):
    created = top_up(live, tenant, "mpesa")
    settled(live, tenant, created["id"])
    assert refund(live, admin, created["id"]).status_code == 202
    refunded(live, tenant, created["id"])
    assert refund(live, admin, created["id"]).status_code == 409
    assert get(live, "/v1/wallet", tenant)["balance"] == 0


def test_only_an_admin_refunds(live, tenant, finance):
    created = top_up(live, tenant, "mpesa")
    settled(live, tenant, created["id"])
    assert refund(live, tenant, created["id"]).status_code == 403
    assert refund(live, finance, created["id"]).status_code == 403
