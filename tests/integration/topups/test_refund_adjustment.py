"""Refunding a receipted top-up issues the receipt's adjustment: a credit note for the
amount given back, and the VAT the receipt made payable moves back."""

from __future__ import annotations

import pytest

from billing.ledger.balances import account_balance
from billing.ledger.postings import VAT_ON_PREPAYMENTS, VAT_PAYABLE
from tests.integration.topups.conftest import get
from tests.integration.topups.test_refunds import refund, refunded
from tests.integration.topups.test_topups import settled, top_up
from tests.polling import eventually

pytestmark = pytest.mark.integration


def vat(live, tenant_id: str) -> tuple[int, int]:
    with live.runtime.sessions() as session:
        payable = account_balance(session, tenant_id, VAT_PAYABLE, "TZS").balance_minor
        held = account_balance(session, tenant_id, VAT_ON_PREPAYMENTS, "TZS").balance_minor
        return payable, held


def test_a_partial_refund_credits_its_part_of_the_receipt_and_its_vat(live, tenant, admin):
    created = top_up(live, tenant, "mpesa")  # TZS 5,000.00, VAT-inclusive
    settled(live, tenant, created["id"])
    receipt_id = eventually(lambda: get(live, f"/v1/topups/{created['id']}", tenant)["receipt_id"])
    assert receipt_id, "the top-up got no fiscal receipt"
    receipt = get(live, f"/v1/invoices/{receipt_id}", tenant)
    assert receipt["vat"] == 762_71 and vat(live, tenant.tenant_id)[0] == 762_71
    assert refund(live, admin, created["id"], amount=1_180_00).status_code == 202
    refunded(live, tenant, created["id"])

    def note():
        listed = get(live, f"/v1/invoices?kind=credit_note&tenant_id={tenant.tenant_id}", admin)
        return listed["items"][0] if listed["items"] else None

    adjustment = eventually(note)
    assert adjustment, "no adjustment for the refund"
    assert adjustment["original_invoice_id"] == receipt_id
    assert (adjustment["gross"], adjustment["vat"]) == (-1_180_00, -180_00)
    assert "refund" in adjustment["reason"] and "M-Pesa" in adjustment["reason"]
    assert vat(live, tenant.tenant_id)[0] == 762_71 - 180_00  # VAT payable moved back
    # The rest refunded: all of the receipt's VAT is back, never more.
    assert refund(live, admin, created["id"]).status_code == 202
    eventually(lambda: len(get(live, f"/v1/invoices?kind=credit_note&tenant_id="
                                     f"{tenant.tenant_id}", admin)["items"]) == 2)  # fmt: skip
    assert vat(live, tenant.tenant_id) == (0, 0)
