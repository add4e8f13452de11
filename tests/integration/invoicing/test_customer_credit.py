"""Customer credit: a credit note after payment leaves the invoice holding the excess,
which goes to the tenant's open invoices (oldest first) or back to the customer.

Through it all, what the tenant's invoices say is due adds up to what its `receivable`
account says it owes."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from billing.audit.models import AuditEvent
from billing.invoicing.models import Invoice, InvoiceSource
from billing.invoicing.payments import amount_due
from billing.ledger.models import Account, Entry
from billing.ledger.postings import RECEIVABLE, clearing
from tests.integration.invoicing.conftest import usage
from tests.integration.invoicing.test_invoice_payments import books, pay
from tests.integration.invoicing.test_invoices_api import finalize

pytestmark = pytest.mark.integration
NOVEMBER = {"period_start": "2026-11-01", "period_end": "2026-12-01"}


def credit_note(client, finance, invoice_id: str, net: int | None = None) -> dict:
    """A finalised credit note: of `net` on line 1, or of the whole invoice."""
    body = {"reason": "calls billed twice"}
    if net is not None:
        body["lines"] = [{"position": 1, "amount": net}]
    note = client.post(f"/v1/invoices/{invoice_id}/credit-notes", json=body,
                       headers=finance.headers)  # fmt: skip
    assert note.status_code == 201, note.json
    done = finalize(client, finance, note.json["id"])
    assert done.status_code == 200, done.json
    return done.json


def november_invoice(client, finance, tenant, runtime, net: int) -> dict:
    with runtime.unit_of_work() as session:
        session.add(usage(tenant.tenant_id, net_minor=net, at=datetime(2026, 11, 9, tzinfo=UTC)))
    made = client.post("/v1/invoices", json={"tenant_id": tenant.tenant_id, **NOVEMBER},
                       headers=finance.headers)  # fmt: skip
    assert made.status_code == 201, made.json
    done = finalize(client, finance, made.json["id"])
    assert done.status_code == 200, done.json
    return done.json


def seen(client, caller, invoice_id: str) -> dict:
    return client.get(f"/v1/invoices/{invoice_id}", headers=caller.headers).json


def credits(client, caller, invoice_id: str) -> dict:
    answer = client.get(f"/v1/invoices/{invoice_id}/credits", headers=caller.headers)
    assert answer.status_code == 200, answer.json
    return answer.json


def assert_books_agree(runtime, tenant_id: str) -> None:
    """The receivable account owes what the tenant's postpaid invoices say is due."""
    with runtime.sessions() as session:
        invoices = session.execute(
            select(Invoice).where(
                Invoice.tenant_id == tenant_id,
                Invoice.source == InvoiceSource.POSTPAID,
                Invoice.number.is_not(None),
            )
        ).scalars()
        due = sum(amount_due(session, invoice) for invoice in invoices)
    assert books(runtime, tenant_id)[RECEIVABLE] == -due


def refund(client, caller, invoice_id: str, amount: int, **fields):
    body = {"amount": amount, "currency": "TZS", "method": "mobile_money",
            "reference": f"MPESA-{uuid.uuid4().hex[:10]}", **fields}  # fmt: skip
    return client.post(f"/v1/invoices/{invoice_id}/refunds", json=body, headers=caller.headers)


def test_a_credit_note_after_payment_leaves_the_invoice_holding_credit(
    client, finance, issued, fiscal_runtime
):
    tenant, invoice = issued
    assert pay(client, finance, invoice["id"], invoice["gross"]).status_code == 201
    credit_note(client, finance, invoice["id"], net=1_000_00)  # TZS 1,180.00 with VAT
    held = credits(client, tenant, invoice["id"])
    assert held == {"items": [], "amount_due": -1_180_00}  # no open invoice to take it
    assert seen(client, tenant, invoice["id"])["payment_status"] == "paid"
    assert books(fiscal_runtime, tenant.tenant_id)[RECEIVABLE] == 1_180_00  # owed to them
    assert_books_agree(fiscal_runtime, tenant.tenant_id)


def test_held_credit_is_applied_to_the_next_invoice_when_it_is_finalised(
    client, finance, issued, fiscal_runtime
):
    tenant, october = issued
    pay(client, finance, october["id"], october["gross"])
    credit_note(client, finance, october["id"], net=1_000_00)
    november = november_invoice(client, finance, tenant, fiscal_runtime, net=5_000_00)
    assert november["gross"] == 5_900_00
    assert (november["credit_applied"], november["payment_status"]) == (1_180_00, "partly_paid")
    assert seen(client, tenant, october["id"])["credit_used"] == 1_180_00
    moved = credits(client, tenant, november["id"])
    assert moved["amount_due"] == 5_900_00 - 1_180_00
    [move] = moved["items"]
    assert (move["use"], move["from_invoice_id"], move["to_invoice_id"], move["amount"]) == (
        "applied", october["id"], november["id"], 1_180_00)  # fmt: skip
    assert credits(client, tenant, october["id"]) == {"items": [move], "amount_due": 0}
    assert_books_agree(fiscal_runtime, tenant.tenant_id)
    # The rest is paid as usual; a payment of the full gross is refused.
    assert pay(client, finance, november["id"], 5_900_00).status_code == 422
    paid = pay(client, finance, november["id"], 5_900_00 - 1_180_00)
    assert paid.json["payment_status"] == "paid" and paid.json["amount_due"] == 0
    assert books(fiscal_runtime, tenant.tenant_id)[RECEIVABLE] == 0
    with fiscal_runtime.sessions() as session:
        trail = session.execute(
            select(AuditEvent.detail).where(
                AuditEvent.action == "invoice.credit_applied",
                AuditEvent.tenant_id == tenant.tenant_id,
            )
        ).scalar_one()
    assert trail["moves"] == [{"from": october["id"], "to": november["id"],
                               "amount_minor": 1_180_00}]  # fmt: skip


def test_a_credit_note_after_payment_pays_the_open_invoices_oldest_first(
    client, finance, issued, fiscal_runtime
):
    tenant, october = issued
    november = november_invoice(client, finance, tenant, fiscal_runtime, net=1_000_00)
    assert november["credit_applied"] == 0  # nothing held yet
    pay(client, finance, october["id"], october["gross"])
    credit_note(client, finance, october["id"])  # all of it: the gross comes back as credit
    november = seen(client, tenant, november["id"])
    assert (november["credit_applied"], november["payment_status"]) == (1_180_00, "paid")
    assert credits(client, tenant, october["id"])["amount_due"] == -(october["gross"] - 1_180_00)
    assert_books_agree(fiscal_runtime, tenant.tenant_id)


def test_a_credit_note_on_an_unpaid_invoice_only_lowers_what_is_due(
    client, finance, issued, fiscal_runtime
):
    tenant, october = issued
    november = november_invoice(client, finance, tenant, fiscal_runtime, net=1_000_00)
    credit_note(client, finance, october["id"], net=1_000_00)
    assert credits(client, tenant, october["id"]) == {
        "items": [], "amount_due": october["gross"] - 1_180_00}  # fmt: skip
    assert seen(client, tenant, november["id"])["credit_applied"] == 0
    assert_books_agree(fiscal_runtime, tenant.tenant_id)


def test_held_credit_is_refunded_through_the_ledger(client, finance, issued, fiscal_runtime):
    tenant, invoice = issued
    pay(client, finance, invoice["id"], invoice["gross"])
    credit_note(client, finance, invoice["id"], net=1_000_00)
    first = refund(client, finance, invoice["id"], 1_000_00)
    assert first.status_code == 201, first.json
    assert (first.json["amount_due"], first.json["payment_status"]) == (-180_00, "paid")
    move = first.json["refund"]
    assert (move["use"], move["method"], move["amount"], move["to_invoice_id"]) == (
        "refunded", "mobile_money", 1_000_00, None)  # fmt: skip
    with fiscal_runtime.sessions() as session:
        postings = dict(
            session.execute(
                select(Account.kind, Entry.amount_minor)
                .join(Account, Account.id == Entry.account_id)
                .where(Entry.transaction_id == int(move["ledger_transaction_id"]))
            ).all()
        )
    assert postings == {RECEIVABLE: -1_000_00, clearing("mobile_money"): 1_000_00}
    assert books(fiscal_runtime, tenant.tenant_id)[RECEIVABLE] == 180_00
    assert_books_agree(fiscal_runtime, tenant.tenant_id)

    too_much = refund(client, finance, invoice["id"], 180_01)
    assert too_much.status_code == 422 and "amount" in too_much.json["errors"]
    again = refund(client, finance, invoice["id"], 180_00, reference=move["reference"])
    assert again.status_code == 409  # one refund per method and reference
    assert refund(client, finance, invoice["id"], 180_00).json["amount_due"] == 0
    assert refund(client, finance, invoice["id"], 1).status_code == 422  # nothing held


def test_refunds_are_for_finance_and_checked(client, finance, issued):
    tenant, invoice = issued
    assert refund(client, tenant, invoice["id"], 100).status_code == 403
    unpaid = refund(client, finance, invoice["id"], 100)
    assert unpaid.status_code == 422 and "amount" in unpaid.json["errors"]
    dollars = refund(client, finance, invoice["id"], 100, currency="USD")
    assert dollars.status_code == 422 and "currency" in dollars.json["errors"]
    assert refund(client, finance, "inv_nothing", 100).status_code == 404
    bad = refund(client, finance, invoice["id"], 0, method="barter")
    assert bad.status_code == 422 and {"amount", "method"} <= set(bad.json["errors"])


def test_a_credit_note_and_an_invoice_finalised_at_once_never_deadlock(
    client, finance, issued, fiscal_runtime, fiscal_app
):
    """Each takes the other's invoice only if it is free (SKIP LOCKED): both finalise,
    and whatever credit was not applied is still held, the books agreeing either way."""
    tenant, october = issued
    pay(client, finance, october["id"], october["gross"])
    note = client.post(f"/v1/invoices/{october['id']}/credit-notes", json={"reason": "x"},
                       headers=finance.headers).json  # fmt: skip
    with fiscal_runtime.unit_of_work() as session:
        session.add(usage(tenant.tenant_id, at=datetime(2026, 11, 9, tzinfo=UTC)))
    november = client.post("/v1/invoices", json={"tenant_id": tenant.tenant_id, **NOVEMBER},
                           headers=finance.headers).json  # fmt: skip
    barrier = threading.Barrier(2)

    def finalise(invoice_id: str) -> int:
        barrier.wait()
        return finalize(fiscal_app.test_client(), finance, invoice_id).status_code

    with ThreadPoolExecutor(2) as pool:
        codes = list(pool.map(finalise, [note["id"], november["id"]]))
    assert codes == [200, 200]
    assert_books_agree(fiscal_runtime, tenant.tenant_id)
    held = -credits(client, tenant, october["id"])["amount_due"]
    applied = seen(client, tenant, november["id"])["credit_applied"]
    assert held + applied == october["gross"] and applied in (0, 1_180_00)
