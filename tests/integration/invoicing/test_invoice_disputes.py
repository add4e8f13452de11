"""Disputed invoices: evidence with lines and the fiscal receipt, a credit note on the
disputed line through the invoice pipeline, and every change e-mailed to the tenant."""

from __future__ import annotations

import email

import pytest

from billing.invoicing.models import Invoice
from tests.integration.disputes.support import assert_books_and_trail_sound, open_dispute, resolve
from tests.polling import eventually

pytestmark = pytest.mark.integration


def subjects(mailbox) -> list[str]:
    return [email.message_from_bytes(m)["Subject"] for m in mailbox.messages]


def test_a_disputed_line_gets_a_credit_note_and_the_tenant_hears_of_each_step(
    client, issued, admin, fiscal_runtime, smtp, tra
):
    mailbox, _port = smtp
    tenant, invoice = issued
    [voice] = invoice["lines"]  # both calls: one line, TZS 14,345.67
    made = open_dispute(
        client,
        tenant,
        subject_type="invoice_line",
        subject_id=invoice["id"],
        line=voice["position"],
        reason="Calls billed twice",
    )
    assert (made["subject_type"], made["line"]) == ("invoice_line", voice["position"])
    evidence = client.get(f"/v1/disputes/{made['id']}/evidence", headers=admin.headers).get_json()
    assert evidence["invoice"]["number"] == invoice["number"]
    assert evidence["invoice"]["disputed_line"] == voice["position"]
    assert [line["amount"] for line in evidence["invoice"]["lines"]] == [14_345_67]
    receipt = evidence["fiscal_receipt"]
    assert receipt["verification_code"] and receipt["verification_url"].endswith(
        receipt["verification_code"] + "_" + receipt["verification_url"][-6:]
    )
    assert "<RCT>" in receipt["signed_receipt"] or receipt["signed_receipt"]
    assert [t["kind"] for t in evidence["ledger_transactions"]] == ["invoice"]

    client.post(f"/v1/disputes/{made['id']}/assign", json={}, headers=admin.headers)
    done = resolve(
        client,
        admin,
        made["id"],
        outcome="credit_note",
        amount=2_345_67,
        note="Duplicate CDRs from the switch on 5 October",
    )
    documents = done["resolution"]["documents"]
    with fiscal_runtime.sessions() as session:
        note = session.get(Invoice, documents["credit_note_id"])
        assert note.kind.value == "credit_note" and note.original_invoice_id == invoice["id"]
        assert note.number_text == documents["credit_note_number"]
        assert [line.amount_minor for line in note.lines] == [-2_345_67]
        assert note.status.value != "draft"
    assert done["resolution"]["ledger_transaction_ids"]  # the credit note's booking
    # The original invoice is untouched: a credit note corrects it.
    again = client.get(f"/v1/invoices/{invoice['id']}", headers=tenant.headers).get_json()
    assert again["gross"] == invoice["gross"] and again["lines"] == invoice["lines"]
    eventually(lambda: len(mailbox.messages) >= 3)
    mails = subjects(mailbox)
    for change in ("was opened", "is being investigated", "was resolved"):
        assert any(made["id"] in s and change in s for s in mails), mails
    assert_books_and_trail_sound(fiscal_runtime.sessions, tenant.tenant_id)


def test_a_whole_invoice_is_credited_and_a_draft_cannot_be_disputed(
    client, issued, admin, fiscal_runtime, postpaid_draft
):
    tenant, invoice = issued
    made = open_dispute(client, tenant, subject_type="invoice", subject_id=invoice["id"])
    assert (made["period_start"], made["period_end"]) == ("2026-10-01", "2026-11-01")
    done = resolve(
        client, admin, made["id"], outcome="credit_note", note="Service not delivered in October"
    )
    assert done["resolution"]["amount"] == invoice["gross"]
    other_tenant, draft_id = postpaid_draft(fiscal_runtime)
    open_dispute(client, other_tenant, 404, subject_type="invoice", subject_id=draft_id)
    open_dispute(
        client, tenant, 422, subject_type="invoice_line", subject_id=invoice["id"], line=99
    )
    assert_books_and_trail_sound(fiscal_runtime.sessions, tenant.tenant_id)
