import dataclasses
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.core.money import Currency
from invoices.document import (
    Document,
    DocumentKind,
    ExchangeRate,
    LineItem,
    OriginalInvoice,
    Party,
    build_document,
    missing_fields,
)
from invoices.vat import VatCode

SELLER = Party("Malipo Cloud Ltd", "Plot 1, Dar es Salaam", "100000001", "40012345K")
BUYER = Party("Tenant Co Ltd", "PO Box 2, Arusha", "100000002", None)
ITEMS = [
    LineItem("Bulk SMS January 2025", Decimal(20000), Decimal("5.00"), VatCode.A, "SMS-BULK"),
    LineItem("Intl voice termination", Decimal("1250.5"), Decimal("40"), VatCode.C, "VOICE"),
]


def invoice(**overrides) -> Document:
    args = dict(
        kind=DocumentKind.INVOICE,
        number="INV-2025-000123",
        issued_on=date(2025, 1, 31),
        seller=SELLER,
        buyer=BUYER,
        currency=Currency.TZS,
        items=ITEMS,
    )
    return build_document(**(args | overrides))


def test_lines_summary_and_totals():
    doc = invoice()
    sms, voice = doc.lines
    assert (sms.net_minor, sms.vat_minor, sms.gross_minor) == (10000000, 1800000, 11800000)
    assert (voice.net_minor, voice.vat_minor) == (5002000, 0)
    assert [(r.code, r.net_minor, r.vat_minor) for r in doc.vat_summary] == [
        (VatCode.A, 10000000, 1800000),
        (VatCode.C, 5002000, 0),
    ]
    assert (doc.totals.net_minor, doc.totals.vat_minor, doc.totals.gross_minor) == (
        15002000, 1800000, 16802000,
    )  # fmt: skip


def test_inclusive_prices_keep_the_gross():
    doc = invoice(items=[LineItem("Top-up", Decimal(1), Decimal(5000), VatCode.A)],
                  prices_include_vat=True)  # fmt: skip
    assert (doc.totals.net_minor, doc.totals.vat_minor, doc.totals.gross_minor) == (
        423729, 76271, 500000,
    )  # fmt: skip


def test_complete_invoice_has_nothing_missing():
    doc = dataclasses.replace(invoice(), verification_code="A1B2C3123")
    assert missing_fields(doc, business_buyer=True) == []


def test_draft_lacks_only_the_verification_code():
    assert missing_fields(invoice()) == ["verification_code"]
    assert missing_fields(invoice(), before_fiscal=True) == []


def test_missing_seller_and_buyer_fields():
    doc = invoice(seller=Party("Malipo", "", "100000001", None), buyer=Party(" ", "", None))
    assert missing_fields(doc, before_fiscal=True, business_buyer=True) == [
        "seller.address", "seller.vrn", "buyer.name", "buyer.address", "buyer.tin",
    ]  # fmt: skip


def test_missing_lines_and_descriptions():
    doc = invoice(items=[LineItem("  ", Decimal(1), Decimal(1))], number="")
    assert missing_fields(doc, before_fiscal=True) == ["number", "lines[0].description"]
    assert "lines" in missing_fields(invoice(items=[]), before_fiscal=True)


def test_credit_note_needs_original_and_reason():
    note = invoice(kind=DocumentKind.CREDIT_NOTE, number="CN-2025-000001")
    assert missing_fields(note, before_fiscal=True) == [
        "original.number", "original.issued_on", "reason",
    ]  # fmt: skip
    note = invoice(
        kind=DocumentKind.CREDIT_NOTE,
        number="CN-2025-000001",
        original=OriginalInvoice("INV-2025-000123", date(2025, 1, 31)),
        reason="Disputed SMS delivered to invalid numbers",
    )
    assert missing_fields(note, before_fiscal=True) == []


def test_usd_invoice_needs_rate_and_shows_tzs():
    assert missing_fields(invoice(currency=Currency.USD), before_fiscal=True) == [
        "exchange_rate", "tzs_totals",
    ]  # fmt: skip
    rate = ExchangeRate(Decimal("2530.1234"), "Bank of Tanzania", date(2025, 1, 31))
    doc = invoice(currency=Currency.USD, exchange_rate=rate,
                  items=[LineItem("SMS", Decimal(3), Decimal("33.33"), VatCode.A)])  # fmt: skip
    assert missing_fields(doc, before_fiscal=True) == []
    assert doc.tzs is not None
    # 99.99 USD x 2530.1234 = 252,987.04 TZS net; 18% of that is 45,537.67
    assert doc.tzs.totals.net_minor == 25298704
    assert doc.tzs.totals.vat_minor == 4553767
    lines, _summary, totals = doc.in_tzs()
    assert sum(t.gross_minor for t in lines) == totals.gross_minor
    no_source = invoice(currency=Currency.USD, exchange_rate=dataclasses.replace(rate, source=""))
    assert missing_fields(no_source, before_fiscal=True) == ["exchange_rate.source"]


def test_tzs_view_of_a_tzs_invoice_is_itself():
    doc = invoice()
    lines, summary, totals = doc.in_tzs()
    assert totals == doc.totals and summary == doc.vat_summary
    assert [t.gross_minor for t in lines] == [ln.gross_minor for ln in doc.lines]


def test_document_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        invoice().number = "X"  # type: ignore[misc]


items_strategy = st.lists(
    st.builds(
        LineItem,
        description=st.just("usage"),
        quantity=st.decimals(min_value=0, max_value=10**6, places=3),
        unit_price=st.decimals(min_value=0, max_value=10**5, places=4),
        vat_code=st.sampled_from(list(VatCode)),
    ),
    min_size=1,
    max_size=15,
)


@given(items_strategy, st.booleans(), st.sampled_from([Currency.TZS, Currency.USD]))
def test_totals_always_equal_the_lines(items, inclusive, currency):
    rate = ExchangeRate(Decimal("2511.75"), "BoT", date(2025, 1, 31))
    doc = invoice(items=items, prices_include_vat=inclusive, currency=currency, exchange_rate=rate)
    assert sum(ln.net_minor for ln in doc.lines) == doc.totals.net_minor
    assert sum(ln.vat_minor for ln in doc.lines) == doc.totals.vat_minor
    assert sum(ln.gross_minor for ln in doc.lines) == doc.totals.gross_minor
    assert sum(r.gross_minor for r in doc.vat_summary) == doc.totals.gross_minor
    lines, summary, totals = doc.in_tzs()
    assert sum(t.gross_minor for t in lines) == totals.gross_minor
    assert sum(r.vat_minor for r in summary) == totals.vat_minor


def test_foreign_currency_without_rate_has_no_tzs_view():
    with pytest.raises(ValueError):
        invoice(currency=Currency.USD).in_tzs()
