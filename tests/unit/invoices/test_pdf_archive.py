"""PDF/A-3b: the claim in the XMP metadata, an output intent, embedded fonts (only the
bundled family), and the document's data attached as JSON that parses back to its
figures."""

from __future__ import annotations

from decimal import Decimal

import pytest

from invoices.pdf import render_pdf, specimens
from invoices.pdf.attachment import SCHEMA

from .pdf_reading import attachment, reader

PDFAID = "http://www.aiim.org/pdfa/ns/id/"


@pytest.fixture(scope="module")
def usd_pdf() -> bytes:
    doc = specimens.usd_invoice()
    return render_pdf(doc, fiscal=specimens.fiscal(doc), annex=specimens.annex_rows(3))


def test_xmp_claims_pdf_a_3b(usd_pdf):
    xmp = reader(usd_pdf).xmp_metadata
    assert xmp is not None
    description = xmp.rdf_root.getElementsByTagNameNS(
        "http://www.w3.org/1999/02/22-rdf-syntax-ns#", "Description"
    )
    claims = {
        (d.getAttributeNS(PDFAID, "part"), d.getAttributeNS(PDFAID, "conformance"))
        for d in description
    }
    assert ("3", "B") in claims
    assert "Tax invoice INV-2026-000124" in xmp.rdf_root.toxml()  # dc:title


def test_catalog_has_output_intent_language_and_one_af_entry(usd_pdf):
    root = reader(usd_pdf).trailer["/Root"]
    assert root["/OutputIntents"][0].get_object()["/S"] == "/GTS_PDFA1"
    assert root["/Lang"] == "en"
    assert len(root["/AF"]) == 1
    spec = root["/AF"][0].get_object()
    assert spec["/AFRelationship"] == "/Data"
    assert spec["/EF"]["/F"].get_object()["/Subtype"] == "/application/json"


def test_fonts_are_the_bundled_family_embedded(usd_pdf):
    names = set()
    for page in reader(usd_pdf).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            names.add(str(font["/BaseFont"]).split("+", 1)[1])
            descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"]
            assert "/FontFile2" in descriptor.get_object()
    # "Malipo Sans" is only the @font-face name of the bundled DejaVu files.
    assert names == {"Malipo-Sans", "Malipo-Sans-Bold"}


def test_attachment_parses_back_to_the_documents_figures(usd_pdf):
    doc = specimens.usd_invoice()
    name, data = attachment(usd_pdf)
    assert name == "INV-2026-000124.json"
    assert data["schema"] == SCHEMA
    assert (data["kind"], data["number"], data["issued_on"]) == (
        "invoice",
        "INV-2026-000124",
        "2026-10-31",
    )
    assert data["currency"] == "USD" and data["minor_unit_exponent"] == 2
    assert data["seller"]["tin"] == doc.seller.tin and data["buyer"]["vrn"] == doc.buyer.vrn
    assert [
        (
            ln["vat_code"],
            Decimal(ln["quantity"]),
            Decimal(ln["unit_price"]),
            ln["net_minor"],
            ln["vat_minor"],
            ln["gross_minor"],
        )
        for ln in data["lines"]
    ] == [
        (ln.vat_code.value, ln.quantity, ln.unit_price, ln.net_minor, ln.vat_minor, ln.gross_minor)
        for ln in doc.lines
    ]
    assert data["totals"] == {
        "net_minor": doc.totals.net_minor,
        "vat_minor": doc.totals.vat_minor,
        "gross_minor": doc.totals.gross_minor,
    }
    assert [(r["code"], Decimal(r["rate"]), r["vat_minor"]) for r in data["vat_summary"]] == [
        (r.code.value, r.rate, r.vat_minor) for r in doc.vat_summary
    ]
    tzs = data["tzs"]
    assert Decimal(tzs["tzs_per_unit"]) == Decimal("2530.1234")
    assert tzs["source"] == "Bank of Tanzania"
    assert tzs["totals"]["gross_minor"] == doc.tzs.totals.gross_minor
    assert data["fiscal"]["verification_code"] == "A1B2C3123"
    assert data["fiscal"]["receipt_number"] == 123
    assert len(data["annex"]["rows"]) == 3


def test_lines_and_summary_in_the_attachment_add_up():
    _, data = attachment(render_pdf(specimens.invoice()))
    assert sum(ln["gross_minor"] for ln in data["lines"]) == data["totals"]["gross_minor"]
    assert sum(r["vat_minor"] for r in data["vat_summary"]) == data["totals"]["vat_minor"]
    assert data["fiscal"] is None and data["tzs"] is None


def test_credit_note_attachment_names_the_original():
    _, data = attachment(render_pdf(specimens.credit_note(), language="sw"))
    assert data["kind"] == "credit_note"
    assert data["original"] == {"number": "INV-2026-000123", "issued_on": "2026-10-31"}
    assert data["reason"].startswith("Messages billed on 12 October 2026")
