"""A prepaid top-up gets its fiscal receipt: the payment is the tax point, the amount paid
is VAT-inclusive, and the sandbox TRA this service serves acknowledges it."""

from __future__ import annotations

import pytest
import requests
from sqlalchemy import func, select

from billing.invoicing.jobs import topup_receipt
from billing.invoicing.models import Invoice
from billing.invoicing.states import FiscalStatus
from billing.ledger.balances import account_balance
from billing.ledger.postings import VAT_ON_PREPAYMENTS, VAT_PAYABLE, WALLET
from tests.integration.topups.conftest import get
from tests.integration.topups.test_topups import settled, top_up
from tests.polling import eventually

pytestmark = pytest.mark.integration


def receipt_of(live, topup_id: str) -> Invoice | None:
    with live.runtime.sessions() as session:
        return session.execute(select(Invoice).where(Invoice.topup_id == topup_id)).scalar()


def _fiscal_state(receipt: Invoice | None) -> object:
    """What a receipt that did not reach TRA shows of why."""
    if receipt is None:
        return None
    return (receipt.gc, receipt.efd_serial, receipt.fiscal_status, receipt.fiscal_attempts,
            receipt.last_ack_code, receipt.last_fiscal_error, receipt.pdf_has_ack)  # fmt: skip


def test_a_succeeded_top_up_gets_one_acknowledged_fiscal_receipt(live, tenant):
    created = top_up(live, tenant, "mpesa", amount=11_800_00)
    assert settled(live, tenant, created["id"])["status"] == "succeeded"
    receipt = eventually(
        lambda: (
            (r := receipt_of(live, created["id"]))
            and r.fiscal_status is FiscalStatus.ACKNOWLEDGED
            and r.pdf_has_ack
            and r
        ),
        timeout_s=30,
    )
    assert receipt, _fiscal_state(receipt_of(live, created["id"]))
    assert receipt.number_text.startswith("RCP-")
    assert (receipt.gross_minor, receipt.net_minor, receipt.vat_minor) == (
        11_800_00,
        10_000_00,
        1_800_00,
    )
    with live.runtime.sessions() as session:
        body = session.get(Invoice, receipt.id).receipt_body
        count = session.execute(
            select(func.count()).select_from(Invoice).where(Invoice.topup_id == created["id"])
        ).scalar_one()
    assert count == 1
    with live.app.app_context():
        topup_receipt(created["id"])  # the job again (RQ delivers at least once)
        topup_receipt(created["id"])
    with live.runtime.sessions() as session:
        again = session.execute(
            select(func.count()).select_from(Invoice).where(Invoice.topup_id == created["id"])
        ).scalar_one()
    assert again == 1
    assert b"<PMTTYPE>EMONEY</PMTTYPE><PMTAMOUNT>11800.00</PMTAMOUNT>" in body
    with live.runtime.sessions() as session:  # the receipt made its VAT payable, once
        books = {
            kind: account_balance(session, tenant.tenant_id, kind, "TZS").balance_minor
            for kind in (WALLET, VAT_PAYABLE, VAT_ON_PREPAYMENTS)
        }
    assert books == {WALLET: 11_800_00, VAT_PAYABLE: 1_800_00, VAT_ON_PREPAYMENTS: -1_800_00}
    seen = get(live, f"/v1/invoices/{receipt.id}", tenant)
    assert seen["source"] == "topup" and seen["fiscal"]["status"] == "acknowledged"
    pdf = requests.get(
        f"{live.url}/v1/invoices/{receipt.id}/pdf", headers=tenant.headers, timeout=10
    )
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_a_failed_top_up_gets_no_receipt(live, tenant):
    created = top_up(live, tenant, "mpesa", ending="0001")
    assert settled(live, tenant, created["id"])["status"] == "failed"
    assert receipt_of(live, created["id"]) is None
