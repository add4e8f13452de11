"""Money only moves on proof: forged and re-identifying callbacks against `billing serve`
and a real worker (issue 13, findings 1, 8, 9, 10 and 12, and the evidence of 7).

Each attack is what a tenant can do from outside: it knows its own top-ups' references
and the providers' ids they carry (`GET /v1/topups`), and the callback endpoints are
public. The simulators are the operators; only the forged bodies are ours.
"""

from __future__ import annotations

import json

import pytest
import requests
from sqlalchemy import func, select

from billing.ledger.models import Account, Transaction
from billing.topups.models import CallbackDelivery, InboxStatus, ReviewItem
from providers.sandbox import sandbox_settings, selcom_signing
from tests.polling import eventually

pytestmark = pytest.mark.e2e

SETTLED = (InboxStatus.APPLIED, InboxStatus.NEEDS_REVIEW, InboxStatus.REJECTED)
# Tigo's callbacks count only on the secret path (and from the sandbox's own address).
TIGO_PATH = "/v1/callbacks/tigopesa/" + sandbox_settings("tigopesa", "http://x")["callback_token"]


def topup(live_url: str, tenant, msisdn: str, provider: str, amount: int = 2_000_00) -> dict:
    response = requests.post(
        f"{live_url}/v1/topups",
        json={"amount": amount, "currency": "TZS", "msisdn": msisdn, "provider": provider},
        headers=tenant.headers,
        timeout=30,
    )
    assert response.status_code == 202, response.text
    return response.json()


def read(live_url: str, tenant, topup_id: str) -> dict:
    return requests.get(
        f"{live_url}/v1/topups/{topup_id}", headers=tenant.headers, timeout=10
    ).json()


def until(live_url: str, tenant, topup_id: str, test, timeout_s: float = 30) -> dict:
    def look():
        current = read(live_url, tenant, topup_id)
        return current if test(current) else None

    found = eventually(look, timeout_s)
    assert found, read(live_url, tenant, topup_id)
    return found


def post(live_url: str, path: str, body: dict, headers: dict | None = None) -> tuple[int, bytes]:
    raw = json.dumps(body).encode()
    response = requests.post(
        f"{live_url}{path}",
        data=raw,
        headers={"Content-Type": "application/json", **(headers or {})},
        timeout=10,
    )
    return response.status_code, raw


def settled_row(sessions, raw: bytes, timeout_s: float = 30) -> CallbackDelivery:
    """The inbox row that stored exactly this body, once the worker is done with it."""

    def look():
        with sessions() as session:
            row = session.scalars(
                select(CallbackDelivery).where(CallbackDelivery.body == raw)
            ).one_or_none()
            return row if row is not None and row.status in SETTLED else None

    row = eventually(look, timeout_s)
    assert row is not None, "the callback was never reconciled"
    return row


def credits(sessions, topup_id: str) -> int:
    with sessions() as session:
        return session.execute(
            select(func.count())
            .select_from(Transaction)
            .where(Transaction.reference == topup_id, Transaction.kind == "topup")
        ).scalar_one()


def reviews(sessions, inbox_id: int) -> list[str]:
    with sessions() as session:
        return list(session.scalars(select(ReviewItem.kind).where(ReviewItem.inbox_id == inbox_id)))


def mpesa_result(conversation_id: str, reference: str, txn_id: str | None, code="INS-0") -> dict:
    return {
        "input_OriginalConversationID": conversation_id,
        "input_TransactionID": txn_id or "N/A",
        "input_ResultCode": code,
        "input_ResultDesc": "Request processed successfully" if code == "INS-0" else "Failed",
        "input_ThirdPartyConversationID": reference,
    }


def test_an_mpesa_callback_naming_another_paid_top_up_credits_nothing(
    live_url, worker, make_tenant, sessions
):
    """Finding 1: our reference with a paid top-up's conversation id and no receipt."""
    tenant = make_tenant()
    paid = topup(live_url, tenant, "0754 111 999", "mpesa")
    paid = until(live_url, tenant, paid["id"], lambda t: t["status"] == "succeeded")
    # Unpaid: the push never reached the payer, so no conversation id was stored…
    silent = topup(live_url, tenant, "0754 110 007", "mpesa", amount=9_000_00)
    # …and refused: its own conversation id is stored.
    refused = topup(live_url, tenant, "0754 110 001", "mpesa", amount=9_000_00)
    refused = until(live_url, tenant, refused["id"], lambda t: t["status"] != "pending")
    assert refused["provider_ref"]

    _, forged_silent = post(
        live_url,
        "/v1/callbacks/mpesa",
        mpesa_result(paid["provider_ref"], silent["reference"], None),
    )
    _, forged_refused = post(
        live_url,
        "/v1/callbacks/mpesa",
        mpesa_result(paid["provider_ref"], refused["reference"], None),
    )

    # The silent one is asked about by its own reference: the operator never saw it paid.
    row = settled_row(sessions, forged_silent)
    assert row.status is InboxStatus.NEEDS_REVIEW
    assert read(live_url, tenant, silent["id"])["status"] in ("pending", "expired")
    assert read(live_url, tenant, silent["id"])["provider_ref"] is None  # never re-identified
    # The refused one names another conversation than stored: evidence, nothing asked.
    row = settled_row(sessions, forged_refused)
    assert row.status is InboxStatus.NEEDS_REVIEW
    assert reviews(sessions, row.id) == ["identity_mismatch"]
    assert read(live_url, tenant, refused["id"])["status"] == refused["status"]
    for forged in (silent, refused):
        assert credits(sessions, forged["id"]) == 0
    wallet = requests.get(f"{live_url}/v1/wallet", headers=tenant.headers, timeout=10).json()
    assert wallet["balance"] == 2_000_00  # the paid top-up alone


def test_a_refund_reverses_the_top_ups_own_payment_whatever_a_callback_named(
    live_url, worker, make_tenant, admin, sessions
):
    """Finding 8: a callback naming a larger payment B must not make A's refund reverse B."""
    tenant = make_tenant()
    big = topup(live_url, tenant, "0754 222 999", "mpesa", amount=500_000_00)
    big = until(live_url, tenant, big["id"], lambda t: t["status"] == "succeeded")
    # A is paid but its callback never comes (…0003): the attacker's callback arrives first.
    small = topup(live_url, tenant, "0754 220 003", "mpesa", amount=10_000_00)
    small = until(live_url, tenant, small["id"], lambda t: t["provider_ref"] is not None)
    _, forged = post(
        live_url,
        "/v1/callbacks/mpesa",
        mpesa_result(small["provider_ref"], small["reference"], big["provider_txn_id"]),
    )
    row = settled_row(sessions, forged)
    small = until(live_url, tenant, small["id"], lambda t: t["status"] == "succeeded")
    assert small["provider_txn_id"] != big["provider_txn_id"]  # the operator's own answer
    assert small["verification"]["by"] == "status_query"
    assert small["verification"]["amount"] == "not_reported"  # M-Pesa's query says no amount
    assert "unconfirmed" in reviews(sessions, row.id)  # the callback named another receipt

    for paid in (small, big):
        response = requests.post(
            f"{live_url}/v1/topups/{paid['id']}/refund",
            json={"reason": "customer asked"},
            headers={**admin.headers, "Idempotency-Key": f"refund-{paid['id']}"},
            timeout=10,
        )
        assert response.status_code == 202, response.text
        # Each refund reverses its own payment in full: B was not drained by A's.
        until(live_url, tenant, paid["id"], lambda t: t["status"] == "refunded")


def test_a_tigo_callback_naming_an_mpesa_top_up_credits_nothing(
    live_url, worker, make_tenant, sessions
):
    """Finding 9: the callback's provider must be the top-up's provider."""
    tenant = make_tenant()
    target = topup(live_url, tenant, "0754 330 007", "mpesa")
    prefix = sandbox_settings("tigopesa", live_url)["biller_code"]
    status, forged = post(
        live_url,
        TIGO_PATH,
        {
            "Status": True,
            "Description": "Success",
            "MFSTransactionID": "MFSFORGED1",
            "ReferenceID": prefix + target["reference"],
            "Amount": "2000",
        },
    )
    assert status == 200  # from an allowed address: Tigo's own checks pass
    row = settled_row(sessions, forged)
    assert row.status is InboxStatus.NEEDS_REVIEW
    assert reviews(sessions, row.id) == ["identity_mismatch"]
    assert credits(sessions, target["id"]) == 0
    assert read(live_url, tenant, target["id"])["status"] in ("pending", "expired")
    with sessions() as session:  # nothing posted to M-Pesa's clearing for it
        moved = session.execute(
            select(func.count())
            .select_from(Transaction)
            .where(Transaction.reference == target["id"])
        ).scalar_one()
    assert moved == 0


def test_a_forged_failure_is_confirmed_and_the_real_success_credited(
    live_url, worker, make_tenant, sessions
):
    """Finding 10: an unsigned failure is asked about like a success."""
    tenant = make_tenant()
    paid = topup(live_url, tenant, "0754 440 003", "mpesa")  # paid, callback dropped
    paid = until(live_url, tenant, paid["id"], lambda t: t["provider_ref"] is not None)
    _, forged = post(
        live_url,
        "/v1/callbacks/mpesa",
        mpesa_result(paid["provider_ref"], paid["reference"], None, code="INS-2006"),
    )
    row = settled_row(sessions, forged)
    assert read(live_url, tenant, paid["id"])["status"] == "succeeded"
    assert credits(sessions, paid["id"]) == 1
    assert "unconfirmed" in reviews(sessions, row.id)  # it said failed; the operator, paid


def selcom_webhook(live_url: str, order_id: str, status: str, amount: int) -> tuple[dict, dict]:
    body = {
        "transid": order_id,
        "order_id": order_id,
        "result": "SUCCESS" if status == "COMPLETED" else "FAIL",
        "resultcode": "000" if status == "COMPLETED" else "999",
        "payment_status": status,
        "amount": str(amount // 100),
    }
    keys = sandbox_settings("halopesa", f"{live_url}/sandbox/selcom")
    headers = selcom_signing.sign(
        body, keys["api_key"], keys["api_secret"], selcom_signing.local_now()
    )
    return body, headers


def test_a_success_after_a_failure_of_the_same_payment_is_processed(
    live_url, worker, make_tenant, sessions
):
    """Finding 12: a second final status of one transaction is its own fact."""
    tenant = make_tenant()
    target = topup(live_url, tenant, "0621 550 007", "halopesa")  # the push timed out
    rejected, headers = selcom_webhook(live_url, target["reference"], "REJECTED", 2_000_00)
    status, first = post(live_url, "/v1/callbacks/halopesa", rejected, headers)
    assert status == 200
    settled_row(sessions, first)
    assert read(live_url, tenant, target["id"])["status"] == "failed"
    completed, headers = selcom_webhook(live_url, target["reference"], "COMPLETED", 2_000_00)
    status, second = post(live_url, "/v1/callbacks/halopesa", completed, headers)
    assert status == 200
    row = settled_row(sessions, second)
    done = read(live_url, tenant, target["id"])
    assert done["status"] == "succeeded"  # a late success: credited, and flagged
    assert done["verification"] == {
        "by": "callback:signature",
        "amount": "matched",
        "currency": "matched",
        "payer": "not_reported",
    }
    assert credits(sessions, target["id"]) == 1
    assert reviews(sessions, row.id) == ["late_success"]


def test_a_forged_copy_of_a_real_receipt_is_kept_as_evidence_not_counted_as_a_delivery(
    live_url, worker, make_tenant, sessions
):
    """Finding 7: a body that reuses a real receipt number but says otherwise is kept."""
    tenant = make_tenant()
    paid = topup(live_url, tenant, "0714 660 999", "tigopesa")
    paid = until(live_url, tenant, paid["id"], lambda t: t["status"] == "succeeded")
    status, forged = post(
        live_url,
        TIGO_PATH,
        {
            "Status": True,
            "Description": "Success",
            "MFSTransactionID": paid["provider_txn_id"],
            "ReferenceID": paid["provider_ref"],
            "Amount": "999999",
        },
    )
    assert status == 200
    row = settled_row(sessions, forged)
    assert row.deliveries == 1 and row.body == forged  # its own row, its own body
    assert credits(sessions, paid["id"]) == 1
    with sessions() as session:
        wallets = session.scalars(
            select(Account.balance_minor).where(
                Account.tenant_id == tenant.tenant_id, Account.kind == "wallet"
            )
        ).all()
    assert wallets == [2_000_00]
