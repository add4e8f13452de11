"""Every mandatory field of the VAT Act checklist (reference/invoicing.md part a) is in
the text of the PDF: an invoice, a credit note, a USD invoice and a Swahili invoice."""

from __future__ import annotations

import pytest

from invoices.document import Document
from invoices.pdf import render_pdf, specimens
from invoices.taxpayer import format_tin, format_vrn
from invoices.words import amount_in_words

from .pdf_reading import money, page_texts, text


def checklist(doc: Document, language: str = "en") -> dict[str, str]:
    """Checklist item -> the text that must appear for it (s.86 invoice, s.87 note)."""
    fiscal = specimens.fiscal(doc)
    items = {
        "serial number": doc.number,
        "supplier name": doc.seller.name,
        "supplier address": doc.seller.address.splitlines()[0],
        "supplier TIN": f"TIN {format_tin(doc.seller.tin)}",
        "supplier VRN": f"VRN {format_vrn(doc.seller.vrn)}",
        "customer name": doc.buyer.name,
        "customer address": doc.buyer.address.splitlines()[0],
        "customer TIN": f"TIN {format_tin(doc.buyer.tin)}",
        "customer VRN": f"VRN {format_vrn(doc.buyer.vrn)}",
        "total consideration": money(doc.totals.gross_minor),
        "VAT included": money(doc.totals.vat_minor),
        "total before VAT": money(doc.totals.net_minor),
        "verification code": fiscal.verification_code,
        "verification URL": fiscal.verification_url,
        "VFD receipt number": str(fiscal.receipt_number),
        "Z number": fiscal.z_number,
        "amount in words": amount_in_words(doc.totals.gross_minor, doc.currency, language),
    }
    for i, line in enumerate(doc.lines):
        items[f"line {i} description"] = line.description.split()[0]
        items[f"line {i} amount excl. VAT"] = money(line.net_minor)
    for r in doc.vat_summary:
        items[f"VAT summary {r.code}"] = (
            f"{r.code.value} · {_meaning(r.code, language)} {r.rate.normalize():f}% "
            f"{money(r.net_minor)} {money(r.vat_minor)} {money(r.gross_minor)}"
        )
    return {k: v for k, v in items.items() if v}


def _meaning(code, language):
    return {
        "en": code.meaning,
        "sw": {
            "A": "Kiwango cha kawaida",
            "B": "Kiwango maalum",
            "C": "Kiwango sifuri",
            "D": "Unafuu maalum",
            "E": "Msamaha",
        }[code.value],
    }[language]


def missing(pdf_text: str, expected: dict[str, str]) -> list[str]:
    return [f"{name}: {value!r}" for name, value in expected.items() if value not in pdf_text]


def render(doc: Document, language: str = "en") -> bytes:
    return render_pdf(doc, language=language, fiscal=specimens.fiscal(doc))


@pytest.fixture(scope="module")
def invoice_text() -> str:
    return text(render(specimens.invoice()))


def test_invoice_has_every_checklist_field(invoice_text):
    doc = specimens.invoice()
    assert missing(invoice_text, checklist(doc)) == []
    for label in (
        "TAX INVOICE",
        "Date of issue 31 October 2026",
        "Page 1 of 1",
        "VFD FISCAL RECEIPT",
        "Daily counter 7",
        "VFD serial 10TZ100000",
    ):
        assert label in invoice_text


def test_each_line_shows_quantity_unit_price_vat_code_and_amount(invoice_text):
    # The rows read left to right as printed.
    assert "Description Quantity Unit price VAT code Amount excl. VAT (TZS)" in invoice_text
    assert "Bulk SMS, Tanzania 48,200 18.00 A 867,600.00" in invoice_text
    assert "AI voice agent minutes 3,125.5 120.00 A 375,060.00" in invoice_text
    assert "IVR numbers, monthly rental 4 25,000.00 A 100,000.00" in invoice_text
    assert (
        "Mobile-money collection fees (exempt financial service) 1 15,400.00 E 15,400.00"
        in invoice_text
    )
    assert "VAT is worked out per VAT code on the summed amounts" in invoice_text


def test_vat_inclusive_lines_show_the_amount_including_vat():
    from datetime import date
    from decimal import Decimal

    from billing.core.money import Currency
    from invoices.document import DocumentKind, LineItem, build_document

    doc = build_document(
        kind=DocumentKind.INVOICE,
        number="RCT-2026-000001",
        issued_on=date(2026, 10, 2),
        seller=specimens.SELLER,
        buyer=specimens.BUYER,
        currency=Currency.TZS,
        items=[LineItem("Wallet top-up", Decimal(1), Decimal("50000.00"))],
        prices_include_vat=True,
    )
    got = text(render_pdf(doc))
    assert "Amount incl. VAT (TZS) Wallet top-up 1 50,000.00 A 50,000.00" in got
    assert "A · Standard rate 18% 42,372.88 7,627.12 50,000.00" in got


def test_exempt_and_zero_rated_lines_carry_their_codes(invoice_text):
    assert "C · Zero-rated 0% 26,880.00 0.00 26,880.00" in invoice_text
    assert "E · Exempt 0% 15,400.00 0.00 15,400.00" in invoice_text


def test_credit_note_has_the_adjustment_fields():
    note = specimens.credit_note()
    got = text(render(note))
    assert missing(got, checklist(note)) == []
    assert "CREDIT NOTE" in got and "TAX INVOICE" not in got
    # s.87: the supply it relates to, the nature of the event, the effect on VAT.
    assert "ORIGINAL INVOICE INV-2026-000123 dated 31 October 2026" in got
    assert f"Reason for the adjustment: {note.reason}" in got
    assert f"Effect on VAT payable: decreases by TZS {money(note.totals.vat_minor)}" in got
    assert "Date of issue 4 November 2026" in got


def test_usd_invoice_shows_rate_source_and_tzs_figures():
    doc = specimens.usd_invoice()
    got = text(render(doc))
    assert missing(got, checklist(doc)) == []
    assert (
        "Exchange rate: 1 USD = 2,530.1234 TZS · Source: Bank of Tanzania · "
        "Rate date: 31 October 2026" in got
    )
    tzs = doc.tzs.totals
    for label, minor in (
        ("Total excluding VAT", tzs.net_minor),
        ("VAT", tzs.vat_minor),
        ("Total including VAT", tzs.gross_minor),
    ):
        assert f"{label} TZS {money(minor)}" in got
    assert f"Total including VAT USD {money(doc.totals.gross_minor)}" in got
    for r in doc.tzs.vat_summary:  # the per-rate summary in TZS too
        assert f"{money(r.net_minor)} {money(r.vat_minor)} {money(r.gross_minor)}" in got


def test_swahili_invoice_has_every_field_in_swahili():
    doc = specimens.invoice()
    got = text(render(doc, "sw"))
    assert missing(got, checklist(doc, "sw")) == []
    for label in (
        "ANKARA YA KODI",
        "MUUZAJI",
        "MNUNUZI",
        "Tarehe ya kutolewa 31 Oktoba 2026",
        "Kiasi kwa maneno:",
        "Namba ya uhakiki",
        "Namba ya risiti",
        "Namba ya Z",
        "MUHTASARI WA VAT",
        "Jumla pamoja na VAT",
        "Ukurasa 1 wa 1",
    ):
        assert label in got, label
    for english in (
        "Page",
        "Customer",
        "Date of issue",
        "Amount in words",
        "Verification",
        "Total",
        "Description",
        "Standard rate",
    ):
        assert english.lower() not in got.lower(), english


def test_swahili_credit_note():
    got = text(render(specimens.credit_note(), "sw"))
    assert "HATI YA PUNGUZO" in got
    assert "ANKARA YA AWALI INV-2026-000123 ya tarehe 31 Oktoba 2026" in got
    assert "Athari kwa VAT inayolipwa: inapungua kwa TZS 7,776.00" in got


def test_a_copy_is_marked_as_a_copy_on_every_page():
    doc = specimens.invoice(is_copy=True)
    pages = page_texts(
        render_pdf(doc, fiscal=specimens.fiscal(doc), annex=specimens.annex_rows(80))
    )
    assert len(pages) >= 2
    assert all("COPY" in page for page in pages)
    assert "COPY · the original was issued to the customer (VAT Act s.86(4))" in pages[0]
    sw = page_texts(render_pdf(doc, language="sw"))
    assert all("NAKALA" in page for page in sw)


def test_an_original_is_not_marked_as_a_copy(invoice_text):
    assert "COPY" not in invoice_text.upper()


def test_before_tra_answers_the_document_says_verification_is_pending():
    got = text(render_pdf(specimens.invoice()))
    assert "TRA verification pending" in got
    assert "Verification code" not in got


def test_a_credit_note_promises_no_fiscal_receipt():
    got = text(render_pdf(specimens.credit_note()))
    assert "pending" not in got and "Verification code" not in got


def test_a_code_without_the_full_receipt_is_still_printed():
    import dataclasses

    doc = dataclasses.replace(specimens.invoice(), verification_code="A1B2C3999")
    got = text(render_pdf(doc))
    assert "Verification code: A1B2C3999" in got
    assert "pending" not in got


def test_customer_without_vrn_is_shown_as_not_registered():
    import dataclasses

    from invoices.document import Party

    doc = dataclasses.replace(specimens.invoice(), buyer=Party("Mama Ntilie", "Kariakoo"))
    got = text(render_pdf(doc))
    assert "Mama Ntilie" in got and "not VAT-registered" in got


def test_unknown_language_is_refused():
    with pytest.raises(ValueError, match="language"):
        render_pdf(specimens.invoice(), language="fr")
