"""POST /v1/invoices/{id}/payments: the customer pays a postpaid invoice; one balanced
ledger transaction (clearing → receivable), the invoice's paid state, no overpayment."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from billing.audit.models import AuditEvent
from billing.ledger.balances import account_balance
from billing.ledger.models import Entry, Transaction
from billing.ledger.postings import RECEIVABLE, clearing
from tests.integration.invoicing.test_invoices_api import finalize

pytestmark = pytest.mark.integration
RECEIVED = datetime(2026, 11, 20, 9, 30, tzinfo=UTC).isoformat()


def pay(client, caller, invoice_id: str, amount: int, **fields):
    body = {
        "amount": amount,
        "currency": "TZS",
        "method": "bank_transfer",
        "reference": f"CRDB-{uuid.uuid4().hex[:10]}",
        "received_at": RECEIVED,
        **fields,
    }
    return client.post(f"/v1/invoices/{invoice_id}/payments", json=body, headers=caller.headers)


def books(runtime, tenant_id: str) -> dict[str, int]:
    with runtime.sessions() as session:
        return {
            kind: account_balance(session, tenant_id, kind, "TZS").balance_minor
            for kind in (RECEIVABLE, clearing("bank_transfer"), clearing("mobile_money"))
        }


def test_paying_in_two_parts_settles_the_invoice_and_the_receivable(
    client, finance, issued, fiscal_runtime
):
    tenant, invoice = issued
    gross = invoice["gross"]
    assert books(fiscal_runtime, tenant.tenant_id)[RECEIVABLE] == -gross
    first = pay(client, finance, invoice["id"], 10_000_00)
    assert first.status_code == 201, first.json
    assert first.json["amount_due"] == gross - 10_000_00
    assert first.json["payment_status"] == "partly_paid"
    payment = first.json["payment"]
    assert (payment["method"], payment["amount"], payment["currency"]) == (
        "bank_transfer",
        10_000_00,
        "TZS",
    )
    rest = pay(client, finance, invoice["id"], gross - 10_000_00, method="mobile_money",
               reference="MPESA-QK7X2")  # fmt: skip
    assert rest.status_code == 201 and rest.json["amount_due"] == 0
    seen = client.get(f"/v1/invoices/{invoice['id']}", headers=tenant.headers).json
    assert (seen["payment_status"], seen["amount_paid"]) == ("paid", gross)
    assert seen["paid_at"].startswith("2026-11-20T09:30")
    assert books(fiscal_runtime, tenant.tenant_id) == {
        RECEIVABLE: 0, clearing("bank_transfer"): -10_000_00,
        clearing("mobile_money"): -(gross - 10_000_00),
    }  # fmt: skip
    with fiscal_runtime.sessions() as session:
        txn = session.get(Transaction, int(payment["ledger_transaction_id"]))
        entries = (
            session.execute(select(Entry.amount_minor).where(Entry.transaction_id == txn.id))
            .scalars()
            .all()
        )
        actions = session.execute(
            select(AuditEvent.detail).where(AuditEvent.subject_id == invoice["id"],
                                            AuditEvent.action == "invoice.payment_recorded")
        ).scalars().all()  # fmt: skip
    assert txn.kind == "invoice_payment" and sorted(entries) == [-10_000_00, 10_000_00]
    assert [a["due_after"] for a in actions] == [gross - 10_000_00, 0]
    listed = client.get(f"/v1/invoices/{invoice['id']}/payments", headers=tenant.headers).json
    assert len(listed["items"]) == 2 and listed["amount_due"] == 0


def test_overpayment_is_refused_and_a_credit_note_lowers_what_is_due(client, finance, issued):
    _tenant, invoice = issued
    over = pay(client, finance, invoice["id"], invoice["gross"] + 1)
    assert over.status_code == 422 and "amount" in over.json["errors"]
    lines = [{"position": 1, "amount": 1_000_00}]
    note = client.post(f"/v1/invoices/{invoice['id']}/credit-notes",
                       json={"reason": "SMS billed twice", "lines": lines},
                       headers=finance.headers).json  # fmt: skip
    finalize(client, finance, note["id"])
    due = invoice["gross"] - 1_180_00
    assert pay(client, finance, invoice["id"], due + 1).status_code == 422
    assert pay(client, finance, invoice["id"], due).json["payment_status"] == "paid"
    assert pay(client, finance, invoice["id"], 1).status_code == 422  # nothing left


def test_a_repeated_request_is_one_payment_and_a_reference_is_used_once(
    client, finance, issued, fiscal_runtime
):
    tenant, invoice = issued
    key = {"Idempotency-Key": uuid.uuid4().hex}
    body = {
        "amount": 500_00,
        "currency": "TZS",
        "method": "bank_transfer",
        "reference": "NMB-778899-" + uuid.uuid4().hex[:6],
        "received_at": RECEIVED,
    }
    url = f"/v1/invoices/{invoice['id']}/payments"
    first = client.post(url, json=body, headers={**finance.headers, **key})
    again = client.post(url, json=body, headers={**finance.headers, **key})
    assert first.status_code == again.status_code == 201
    assert again.json == first.json and again.headers.get("Idempotent-Replayed") == "true"
    twice = client.post(url, json=body, headers=finance.headers)  # same bank reference
    assert twice.status_code == 409
    assert books(fiscal_runtime, tenant.tenant_id)[RECEIVABLE] == -(invoice["gross"] - 500_00)


def test_racing_payments_never_pay_more_than_is_due(client, finance, issued, fiscal_app):
    _tenant, invoice = issued
    share = invoice["gross"] // 2 + 1  # two fit only if one waits for the other
    barrier = threading.Barrier(4)

    def one(_n):
        barrier.wait()
        return pay(fiscal_app.test_client(), finance, invoice["id"], share).status_code

    with ThreadPoolExecutor(4) as pool:
        codes = sorted(pool.map(one, range(4)))
    assert codes == [201, 422, 422, 422]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"amount": 0}, "amount"),
        ({"amount": "100"}, "amount"),
        ({"currency": "USD"}, "currency"),  # the invoice is in TZS
        ({"currency": "KES"}, "currency"),
        ({"method": "bitcoin"}, "method"),
        ({"reference": ""}, "reference"),
        ({"received_at": "2026-11-20T09:30:00"}, "received_at"),  # no offset
        ({"received_at": (datetime.now(UTC) + timedelta(days=2)).isoformat()}, "received_at"),
    ],
)
def test_bad_payments_are_problems_naming_the_field(client, finance, issued, fields, field):
    _tenant, invoice = issued
    body = {"amount": 100_00, "currency": "TZS", "method": "cash", "reference": "R-1",
            "received_at": RECEIVED, **fields}  # fmt: skip
    response = client.post(f"/v1/invoices/{invoice['id']}/payments", json=body,
                           headers=finance.headers)  # fmt: skip
    assert response.status_code == 422
    assert response.content_type == "application/problem+json"
    assert field in response.json["errors"], response.json


def test_only_finance_records_payments_and_only_on_postpaid_invoices(
    client, finance, admin, issued
):
    tenant, invoice = issued
    assert pay(client, tenant, invoice["id"], 100).status_code == 403
    assert pay(client, admin, invoice["id"], 100).status_code == 403
    assert pay(client, finance, "inv_nope", 100).status_code == 404
    note = client.post(f"/v1/invoices/{invoice['id']}/credit-notes", json={"reason": "x"},
                       headers=finance.headers).json  # fmt: skip
    assert pay(client, finance, note["id"], 100).status_code == 409  # a draft credit note
