"""The simulators holding the real service to account: Malipo in sandbox mode on a
loopback port (real PostgreSQL, jobs in-process), its own simulators calling it back."""

from __future__ import annotations

import dataclasses

import pytest
import requests
from sqlalchemy import func, select

from billing.ledger.models import Transaction
from billing.topups.models import CallbackDelivery, Topup
from providers.sandbox.mpesa_apps import SYNC_SETTINGS
from tests.polling import eventually

pytestmark = pytest.mark.integration

PAYERS = {
    "mpesa": "0754 12",
    "tigopesa": "0714 12",
    "airtelmoney": "0784 12",
    "halopesa": "0621 12",
}
FAMILY = {"halopesa": "selcom"}  # the callback path Selcom's webhook uses
AMOUNT = 5_000_00


def _top_up(malipo, tenant, provider: str, ending: str = "9999") -> dict:
    response = requests.post(
        f"{malipo.url}/v1/topups",
        json={
            "amount": AMOUNT,
            "currency": "TZS",
            "msisdn": PAYERS[provider] + ending,
            "provider": provider,
        },
        headers=tenant.headers,
        timeout=30,
    )
    assert response.status_code == 202, response.text
    return response.json()


def _get(malipo, tenant, path: str) -> dict:
    return requests.get(f"{malipo.url}{path}", headers=tenant.headers, timeout=10).json()


def _settled(malipo, tenant, topup_id: str) -> dict:
    def final():
        topup = _get(malipo, tenant, f"/v1/topups/{topup_id}")
        return topup if topup["status"] != "pending" else None

    return eventually(final, 10.0) or _get(malipo, tenant, f"/v1/topups/{topup_id}")


def _credits(malipo, topup_id: str) -> int:
    with malipo.runtime.sessions() as session:
        return session.execute(
            select(func.count()).select_from(Transaction).where(Transaction.reference == topup_id)
        ).scalar_one()


def _topup(malipo, topup_id: str) -> Topup:
    with malipo.runtime.sessions() as session:
        return session.get(Topup, topup_id)


@pytest.mark.parametrize("provider", sorted(PAYERS))
def test_a_callback_malipo_first_refuses_is_redelivered_and_credited_once(malipo, tenant, provider):
    """Malipo answers the first two callbacks as it does when it cannot take them (503,
    or Tigo's failure ack); the operator's redelivery gets the top-up credited, once."""
    malipo.gate.arm(FAMILY.get(provider, provider), times=2)
    created = _top_up(malipo, tenant, provider)
    done = _settled(malipo, tenant, created["id"])
    assert done["status"] == "succeeded", done
    reference = _topup(malipo, created["id"]).reference
    assert len(malipo.gate.refused) == 2
    assert all(reference.encode() in body for body in malipo.gate.refused)
    assert _credits(malipo, created["id"]) == 1
    assert _get(malipo, tenant, "/v1/wallet")["balance"] == AMOUNT


@pytest.fixture
def sync_mpesa(malipo, monkeypatch):
    """Malipo configured for the sandbox's synchronous M-Pesa application, as
    MALIPO_PROVIDER_SETTINGS='{"mpesa": {"api_key": …, "mode": "sync"}}' does."""
    gateways = malipo.runtime.gateways
    chosen = dataclasses.replace(gateways.settings, provider_settings={"mpesa": SYNC_SETTINGS})
    monkeypatch.setattr(gateways, "settings", chosen)
    monkeypatch.delitem(gateways._adapters, "mpesa", raising=False)  # built anew from it
    adapter = gateways.adapter("mpesa")
    assert adapter.capabilities.sync_result
    return adapter


def test_an_mpesa_top_up_in_sync_mode_is_credited_from_the_initiate_answer(
    malipo, tenant, sync_mpesa
):
    created = _top_up(malipo, tenant, "mpesa")
    done = _settled(malipo, tenant, created["id"])
    assert done["status"] == "succeeded", done
    assert _credits(malipo, created["id"]) == 1
    topup = _topup(malipo, created["id"])
    payment = malipo.simulators["sandbox_mpesa"].payer.book.find(topup.reference)
    assert topup.provider_txn_id == payment.receipt  # from the blocking c2b answer
    with malipo.runtime.sessions() as session:
        delivered = session.scalars(
            select(CallbackDelivery).where(CallbackDelivery.topup_id == created["id"])
        ).all()
    assert delivered == []  # sync mode: no callback ever came


def test_an_mpesa_sync_refusal_fails_the_top_up(malipo, tenant, sync_mpesa):
    created = _top_up(malipo, tenant, "mpesa", "0001")
    done = _settled(malipo, tenant, created["id"])
    assert done["status"] == "failed", done
    assert done["failure_code"] == "INS-2006"
    assert _credits(malipo, created["id"]) == 0
