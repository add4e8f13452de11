"""The shared rendering state: WeasyPrint's hooks we rely on are there, a font shared
across documents still embeds every glyph a later document uses, and figures are
written exactly."""

from __future__ import annotations

import dataclasses
import io
from datetime import date
from decimal import Decimal
from pathlib import Path

import weasyprint
from fontTools.ttLib import TTFont
from weasyprint.text.ffi import harfbuzz_subset

from billing.core.money import Currency
from invoices.document import Party
from invoices.pdf import numbers, render_pdf, specimens
from invoices.pdf.renderer import _engine, _TemplateHTML

from .pdf_reading import reader, text

FONTS = Path(__file__).parents[3] / "invoices" / "pdf" / "fonts"


def test_weasyprint_is_the_tested_version_with_the_hooks_we_use():
    major = int(weasyprint.__version__.split(".")[0])
    assert major == 70, "re-test invoices.pdf.renderer before moving the pin"
    assert callable(weasyprint.HTML._ua_stylesheets)
    assert "_ua_stylesheets" in vars(_TemplateHTML)
    render_pdf(specimens.invoice())
    assert _TemplateHTML.ua is not None
    assert harfbuzz_subset is not None, "install libharfbuzz-subset0"
    assert _engine().pdf_fonts, "PDF fonts are shared across documents"


def _embedded_glyph_contours(pdf: bytes, char: str, *, bold: bool) -> int:
    """Contours of `char`'s glyph in the embedded font (the subset keeps glyph ids);
    0 means an empty glyph, -1 a composite one."""
    file, name = (
        ("DejaVuSans-Bold.ttf", "+Malipo-Sans-Bold") if bold else ("DejaVuSans.ttf", "+Malipo-Sans")
    )
    original = TTFont(FONTS / file)
    gid = original.getGlyphID(original.getBestCmap()[ord(char)])
    for font in reader(pdf).pages[0]["/Resources"]["/Font"].values():
        font = font.get_object()
        if not str(font["/BaseFont"]).endswith(name):
            continue
        descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
        subset = TTFont(io.BytesIO(descriptor["/FontFile2"].get_object().get_data()))
        return subset["glyf"][subset.getGlyphOrder()[gid]].numberOfContours
    raise AssertionError(f"{name} not embedded")


def test_a_later_document_gets_the_glyphs_only_it_uses():
    first = render_pdf(specimens.invoice())  # fonts now shared, with this one's glyphs
    assert _embedded_glyph_contours(first, "Ø", bold=True) == 0  # not used: left empty
    buyer = Party("Øresund Café Ltd", "Mtaa wa Ümit", "123456789", None)  # name is bold
    pdf = render_pdf(dataclasses.replace(specimens.invoice(), buyer=buyer))
    assert "Øresund Café Ltd" in text(pdf) and "Mtaa wa Ümit" in text(pdf)
    assert _embedded_glyph_contours(pdf, "Ø", bold=True) == 3
    assert _embedded_glyph_contours(pdf, "é", bold=True) == -1  # e + acute, composite
    assert _embedded_glyph_contours(pdf, "Ü", bold=False) == -1


def test_renders_in_one_process_are_the_same_document():
    doc = specimens.invoice()
    first = render_pdf(doc, fiscal=specimens.fiscal(doc))
    render_pdf(specimens.credit_note(), language="sw", annex=specimens.annex_rows(60))
    again = render_pdf(doc, fiscal=specimens.fiscal(doc))
    assert text(first) == text(again)
    assert len(reader(again).pages) == 1


def test_amounts_are_written_exactly():
    assert numbers.amount(123456, Currency.TZS) == "1,234.56"
    assert numbers.amount(-5, Currency.TZS) == "-0.05"
    assert numbers.amount(10**17 + 1, Currency.USD) == "1,000,000,000,000,000.01"


def test_quantities_rates_and_dates():
    assert numbers.decimal(Decimal("1250.50")) == "1,250.5"
    assert numbers.decimal(Decimal("5"), min_places=2) == "5.00"
    assert numbers.decimal(Decimal("0.045"), min_places=2) == "0.045"
    assert numbers.decimal(Decimal("2E+3")) == "2,000"
    assert numbers.decimal(Decimal("0.3333333333"), min_places=2, max_places=6) == "0.333333"
    assert numbers.decimal(Decimal("2.0000005"), min_places=2, max_places=6) == "2.000001"
    assert numbers.decimal(Decimal("0.3500000000"), min_places=2, max_places=6) == "0.35"
    assert numbers.percent(Decimal("18.00")) == "18%"
    assert numbers.long_date(date(2026, 3, 1), "sw") == "1 Machi 2026"
    assert numbers.long_date(date(2026, 12, 25), "en") == "25 December 2026"


def test_the_template_is_parsed_as_xml_without_the_html5_parser(monkeypatch):
    def no_html5(*args, **kwargs):
        raise AssertionError("the HTML5 parser ran")

    monkeypatch.setattr(weasyprint.tinyhtml5, "parse", no_html5)
    doc = specimens.usd_invoice()
    got = text(
        render_pdf(doc, language="sw", fiscal=specimens.fiscal(doc), annex=specimens.annex_rows(3))
    )
    assert "ANKARA YA KODI" in got and "Ukurasa 2 wa 2" in got


def _one_line(description: str):
    from invoices.document import LineItem, build_document

    base = specimens.invoice()
    return build_document(
        kind=base.kind,
        number=base.number,
        issued_on=base.issued_on,
        seller=base.seller,
        buyer=base.buyer,
        currency=base.currency,
        items=[LineItem(description, Decimal(3), Decimal("18.00"))],
    )


def test_control_characters_are_not_printed():
    got = text(render_pdf(_one_line("Bulk SMS\x0b\x1b(vertical tab and escape from a CDR)")))
    assert "Bulk SMS (vertical tab and escape from a CDR)" in got
    assert "\x0b" not in got and "\x1b" not in got
    assert "Bulk SMS" in text(render_pdf(specimens.invoice()))  # later documents unharmed


def test_text_that_is_not_xml_falls_back_to_the_html5_parser():
    import pypdfium2 as pdfium

    pdf = render_pdf(_one_line("Bulk SMS \ufffe (a noncharacter: not XML)"))
    # pypdf misreads the ToUnicode entry of a glyph the font lacks; PDFium does not.
    got = pdfium.PdfDocument(pdf)[0].get_textpage().get_text_range()
    assert "Bulk SMS" in got and "(a noncharacter: not" in got
    assert "3 18.00 A 54.00" in got and "9.72" in got


def test_a_character_missing_from_the_font_does_not_ride_into_later_documents():
    buyer = Party("漢字 Trading Ltd", "Kariakoo", None, None)
    render_pdf(dataclasses.replace(specimens.invoice(), buyer=buyer))
    assert not any(font.missing for font in (_engine().pdf_fonts or {}).values())
    later = text(render_pdf(specimens.invoice()))
    assert "SUPPLIER Malipo Cloud Communications Ltd" in later


def test_warm_up_renders_once_freezes_the_long_lived_state_and_collects_less_often():
    import gc

    from invoices.pdf.renderer import YOUNG_GC_THRESHOLD, warm_up

    before = gc.get_threshold()
    try:
        warm_up()
        assert _engine().pdf_fonts, "a specimen was rendered"
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == (YOUNG_GC_THRESHOLD, *before[1:])
    finally:
        gc.set_threshold(*before)
