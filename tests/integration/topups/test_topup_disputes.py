"""A disputed top-up on the live sandbox: the evidence holds the provider's raw callback and
the credit, and a refund resolution goes back through the provider."""

from __future__ import annotations

import pytest
import requests
from sqlalchemy import select

from billing.audit.models import AuditEvent
from tests.integration.disputes.support import assert_books_and_trail_sound
from tests.integration.topups.conftest import get
from tests.integration.topups.test_refunds import refunded
from tests.integration.topups.test_topups import settled, top_up

pytestmark = pytest.mark.integration


def post(live, path: str, caller, body: dict) -> requests.Response:
    return requests.post(f"{live.url}{path}", json=body, headers=caller.headers, timeout=30)


def test_my_top_up_is_refunded_through_its_provider(live, tenant, admin):
    created = top_up(live, tenant, "mpesa")
    assert settled(live, tenant, created["id"])["status"] == "succeeded"
    opened = post(
        live,
        "/v1/disputes",
        tenant,
        {
            "subject_type": "topup",
            "subject_id": created["id"],
            "reason": "I paid twice; please return this one",
        },
    )
    assert opened.status_code == 201, opened.text
    dispute = opened.json()
    evidence = requests.get(
        f"{live.url}/v1/disputes/{dispute['id']}/evidence", headers=admin.headers, timeout=10
    ).json()
    assert evidence["topup"]["provider_txn_id"]
    [callback] = evidence["callbacks"]
    assert callback["provider"] == "mpesa" and created["reference"] in callback["body"]
    assert callback["status"] == "applied"
    assert [t["kind"] for t in evidence["ledger_transactions"]] == ["topup"]
    assert evidence["status_queries"] or evidence["topup"]["status"] == "succeeded"

    done = post(
        live,
        f"/v1/disputes/{dispute['id']}/resolve",
        admin,
        {"outcome": "refund", "note": "Paid twice: the second is returned"},
    )
    assert done.status_code == 200, done.text
    resolution = done.json()["resolution"]
    assert resolution["documents"]["refund_id"] and resolution["amount"] == 5_000_00
    back = refunded(live, tenant, created["id"])
    assert (back["status"], back["refund_status"]) == ("refunded", "succeeded")
    assert get(live, "/v1/wallet", tenant)["balance"] == 0
    evidence = requests.get(
        f"{live.url}/v1/disputes/{dispute['id']}/evidence", headers=admin.headers, timeout=10
    ).json()
    assert [r["status"] for r in evidence["refunds"]] == ["succeeded"]
    assert [t["kind"] for t in evidence["ledger_transactions"]] == ["topup", "refund"]
    with live.runtime.sessions() as session:
        asked = session.execute(
            select(AuditEvent.role, AuditEvent.detail).where(
                AuditEvent.subject_id == created["id"],
                AuditEvent.action == "topup.refund_requested",
            )
        ).one()
    assert asked.role == "admin" and asked.detail["amount_minor"] == 5_000_00
    assert_books_and_trail_sound(live.runtime.sessions, tenant.tenant_id)


def test_a_refund_cannot_answer_a_top_up_that_failed(live, tenant, admin):
    created = top_up(live, tenant, "mpesa", ending="0001")  # insufficient funds
    assert settled(live, tenant, created["id"])["status"] == "failed"
    dispute = post(
        live,
        "/v1/disputes",
        tenant,
        {
            "subject_type": "topup",
            "subject_id": created["id"],
            "reason": "The money left my M-Pesa",
        },
    ).json()
    refused = post(
        live, f"/v1/disputes/{dispute['id']}/resolve", admin, {"outcome": "refund", "note": "n"}
    )
    assert refused.status_code == 409, refused.text
    assert (
        requests.get(
            f"{live.url}/v1/disputes/{dispute['id']}", headers=tenant.headers, timeout=10
        ).json()["status"]
        == "open"
    )
