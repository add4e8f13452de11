"""An invoice row as a document and a fiscal receipt: the figures agree whatever the lines."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from billing.invoicing.documents import document_of, unit_price_for
from billing.invoicing.models import Invoice, InvoiceLine
from billing.invoicing.states import DocumentKind, InvoiceSource
from invoices.vfd.receipt import Customer, DeviceIdentity, build_rct, receipt_for_document

DEVICE = DeviceIdentity("100000001", "TZ0100000001", "10TZ100000", "A1B2C3")
PARTIES = {
    "seller": {"name": "Malipo Ltd", "address": "Dar es Salaam", "tin": "100000001",
               "vrn": "40012345K"},
    "buyer": {"name": "Duka", "tin": "123456789", "vrn": "", "msisdn": "255712345678"},
}  # fmt: skip

lines = st.lists(
    st.tuples(
        st.integers(min_value=1, max_value=10**10),  # net minor units
        st.decimals(min_value=Decimal("0.01"), max_value=Decimal(10**6), places=2),
        st.sampled_from("ACE"),
    ),
    min_size=1,
    max_size=8,
)


def invoice_with(rows, currency="TZS", rate=None, inclusive=False) -> Invoice:
    invoice = Invoice(
        kind=DocumentKind.INVOICE, source=InvoiceSource.POSTPAID, currency=currency,
        prices_include_vat=inclusive, exchange_rate=rate, rate_source="Bank of Tanzania",
        number_text="INV-000001", issued_at=datetime(2026, 10, 31, 22, 30, tzinfo=UTC),
        parties=PARTIES, reason="",
    )  # fmt: skip
    invoice.lines = [
        InvoiceLine(position=n, item_id=f"I{n}", description=f"line {n}", quantity=qty,
                    unit="", vat_code=code, amount_minor=amount,
                    unit_price=unit_price_for(amount, qty))
        for n, (amount, qty, code) in enumerate(rows, start=1)
    ]  # fmt: skip
    return invoice


def money(tag: str, rct: str) -> int:
    return int(Decimal(re.search(f"<{tag}>([^<]+)</{tag}>", rct).group(1)) * 100)


@settings(max_examples=150, deadline=None)
@given(lines)
def test_each_line_bills_exactly_its_amount_and_the_receipt_agrees(rows):
    doc = document_of(invoice_with(rows))
    assert [ln.net_minor for ln in doc.lines] == [amount for amount, _, _ in rows]
    assert doc.totals.net_minor == sum(amount for amount, _, _ in rows)
    receipt = receipt_for_document(
        doc, DEVICE, Customer(), gc=7, dc=1, issued_at=datetime(2026, 10, 31, 22, 30, tzinfo=UTC)
    )
    rct = build_rct(receipt)
    assert money("TOTALTAXINCL", rct) == doc.totals.gross_minor
    assert money("TOTALTAXEXCL", rct) == doc.totals.net_minor
    assert "<DATE>2026-11-01</DATE><TIME>01:30:00</TIME>" in rct  # EAT, not UTC
    assert doc.issued_on.isoformat() == "2026-11-01"


@settings(max_examples=100, deadline=None)
@given(lines, st.decimals(min_value=Decimal("1"), max_value=Decimal("5000"), places=4))
def test_a_usd_invoice_is_fiscalised_in_tzs(rows, rate):
    doc = document_of(invoice_with(rows, currency="USD", rate=rate))
    assert doc.tzs is not None and doc.tzs.rate.source == "Bank of Tanzania"
    receipt = receipt_for_document(
        doc, DEVICE, Customer(), gc=1, dc=1, issued_at=datetime(2026, 10, 5, 9, tzinfo=UTC)
    )
    assert money("TOTALTAXINCL", build_rct(receipt)) == doc.tzs.totals.gross_minor


@given(st.integers(min_value=1, max_value=10**9))
def test_a_prepaid_receipt_keeps_the_amount_paid(gross):
    doc = document_of(invoice_with([(gross, Decimal(1), "A")], inclusive=True))
    assert doc.totals.gross_minor == gross
    assert doc.totals.net_minor + doc.totals.vat_minor == gross
