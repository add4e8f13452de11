"""Page pictures a person can look at: var/artefacts/pdf/<name>.png (page 1 unless
named) and the PDFs beside them, rendered with PDFium. Also checks what only the
picture shows: ink on the page, the QR code's size, the red copy mark."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from PIL import ImageChops

from invoices.pdf import render_pdf, specimens
from invoices.vfd.qr import QR_MASK, qr_code

ARTEFACTS = Path(__file__).parents[3] / "var" / "artefacts" / "pdf"
SCALE = 2  # 144 dpi


def documents():
    inv, usd, note = specimens.invoice(), specimens.usd_invoice(), specimens.credit_note()
    copy = specimens.invoice(is_copy=True)
    return {
        "invoice-en": render_pdf(inv, fiscal=specimens.fiscal(inv)),
        "invoice-sw": render_pdf(inv, language="sw", fiscal=specimens.fiscal(inv)),
        "invoice-usd": render_pdf(usd, fiscal=specimens.fiscal(usd)),
        "credit-note-en": render_pdf(note, fiscal=specimens.fiscal(note)),
        "credit-note-sw": render_pdf(note, language="sw", fiscal=specimens.fiscal(note)),
        "copy-with-annex-sw": render_pdf(
            copy, language="sw", fiscal=specimens.fiscal(copy), annex=specimens.annex_rows(150)
        ),
        "invoice-pending-en": render_pdf(inv),
    }


@pytest.fixture(scope="module")
def pictures():
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    images = {}
    for name, pdf in documents().items():
        (ARTEFACTS / f"{name}.pdf").write_bytes(pdf)
        document = pdfium.PdfDocument(pdf)
        images[name] = document[0].render(scale=SCALE).to_pil().convert("RGB")
        images[name].save(ARTEFACTS / f"{name}.png")
        if len(document) > 1:
            images[f"{name}-page2"] = document[1].render(scale=SCALE).to_pil().convert("RGB")
            images[f"{name}-page2"].save(ARTEFACTS / f"{name}-page2.png")
    return images


def _dark(image) -> int:
    return sum(image.convert("L").histogram()[:100])


def _black_box(image) -> tuple[int, int, int, int] | None:
    """Bounding box of pure black: only the QR code's modules are #000 (text is #1a1a1a)."""
    return image.convert("L").point(lambda v: 255 if v < 8 else 0).getbbox()


def _tinted_red(image) -> int:
    """Pixels where red clearly exceeds green: the copy mark's pale red."""
    r, g, _ = image.split()
    return sum(ImageChops.subtract(r, g).histogram()[12:])


def test_pictures_are_a4_pages_with_ink(pictures):
    for name, image in pictures.items():
        width, height = image.size
        assert abs(height / width - 297 / 210) < 0.01, name
        assert _dark(image) > 10_000, name
        assert (ARTEFACTS / f"{name}.png").stat().st_size > 10_000


def test_qr_code_is_a_square_of_20_to_30_mm_in_the_lower_left(pictures):
    image = pictures["invoice-en"]
    px_per_mm = image.size[0] / 210
    left, top, right, bottom = _black_box(image)
    assert 20 <= (right - left) / px_per_mm <= 30  # 30 mm box, quiet zone included
    assert abs((right - left) - (bottom - top)) <= 2
    assert left < image.size[0] / 4 and top > image.size[1] / 2
    assert _black_box(pictures["invoice-pending-en"]) is None


def test_copy_mark_is_visible_on_the_copy_only(pictures):
    assert _tinted_red(pictures["copy-with-annex-sw"]) > 20_000
    assert _tinted_red(pictures["copy-with-annex-sw-page2"]) > 20_000
    assert _tinted_red(pictures["invoice-en"]) < 1_000


def _boxes(pdf: bytes, texts: list[str]) -> list[tuple[float, float]]:
    """(bottom, top) in PDF points (y grows upwards) of each text's first occurrence."""
    page = pdfium.PdfDocument(pdf)[0].get_textpage()
    spans = []
    for text in texts:
        found = page.search(text, match_case=True).get_next()
        assert found, text
        start, count = found
        boxes = [page.get_charbox(i) for i in range(start, start + count)]
        spans.append((min(b[1] for b in boxes), max(b[3] for b in boxes)))
    return spans


@pytest.mark.parametrize(
    ("name", "bands"),
    [
        (
            "credit-note-en",
            [
                "TIN 100-000-001",
                "CUSTOMER",
                "TIN 123-456-789",
                "Description",
                "VAT SUMMARY",
                "A · Standard rate",
                "Amount in words",
                "VFD FISCAL RECEIPT",
            ],
        ),
        ("credit-note-en", ["Effect on VAT payable", "Description"]),
        (
            "invoice-usd",
            [
                "Description",
                "TZS EQUIVALENT",
                "Total including VAT",
                "In TZS",
                "VFD FISCAL RECEIPT",
                "Verify at",
            ],
        ),
        (
            "invoice-sw",
            [
                "MUUZAJI",
                "MNUNUZI",
                "Maelezo",
                "MUHTASARI WA VAT",
                "Jumla pamoja na VAT",
                "RISITI YA KODI YA VFD",
            ],
        ),
    ],
)
def test_bands_sit_one_below_the_other(name, bands):
    """Text checks cannot see overlap; positions can (a float escaping its band once
    laid the buyer over the lines table while every word was still there)."""
    pdf = documents_by_name()[name]
    spans = _boxes(pdf, bands)
    marked = list(zip(bands, spans, strict=True))
    for (upper, above), (lower, below) in pairwise(marked):
        assert above[0] > below[1], f"{upper!r} does not sit above {lower!r}"


_RENDERED: dict[str, bytes] = {}


def documents_by_name() -> dict[str, bytes]:
    if not _RENDERED:
        _RENDERED.update(documents())
    return _RENDERED


def test_printed_qr_code_holds_the_verification_url():
    """Read the modules back off the page (the QR's black bounding box, sampled at each
    module's centre) and compare them with the code segno makes for the URL at level M
    with the fixed data mask (the format modules, compared too, name that mask)."""
    doc = specimens.usd_invoice()
    fiscal = specimens.fiscal(doc, gc=4711)
    image = pdfium.PdfDocument(render_pdf(doc, fiscal=fiscal))[0].render(scale=4).to_pil()
    gray = image.convert("L")
    left, top, right, _ = _black_box(gray)
    code = qr_code(fiscal.verification_url)
    assert (code.error, code.mask) == ("M", QR_MASK)
    expected = [list(row) for row in code.matrix]
    size = len(expected)
    module = (right - left) / size
    printed = [
        [
            gray.getpixel((int(left + (x + 0.5) * module), int(top + (y + 0.5) * module))) < 128
            for x in range(size)
        ]
        for y in range(size)
    ]
    assert printed == [[bool(v) for v in row] for row in expected]
    assert fiscal.verification_url.endswith("A1B2C34711_101530")


def _rightmost_glyph(pdf: bytes) -> tuple[float, float]:
    """(right edge of the rightmost visible character, right margin) on page 1, in pt."""
    page = pdfium.PdfDocument(pdf)[0]
    text = page.get_textpage()
    edges = [
        text.get_charbox(i)[2]
        for i in range(text.count_chars())
        if text.get_text_range(i, 1).strip()
    ]  # generated line breaks have odd boxes
    return max(edges), page.get_width() - 14 / 25.4 * 72  # the 14 mm page margin


def test_every_specimen_stays_inside_the_right_margin():
    for name, pdf in documents_by_name().items():
        rightmost, margin = _rightmost_glyph(pdf)
        assert rightmost <= margin + 0.5, name


def test_a_long_unbroken_name_wraps_inside_the_page():
    import dataclasses

    from invoices.document import Party

    name = "Kampuni" + "YaMawasilianoNaHudumaZaKidijitali" * 3 + "Limited"
    doc = dataclasses.replace(specimens.invoice(), buyer=Party(name, "Dodoma", None, None))
    pdf = render_pdf(doc)
    rightmost, margin = _rightmost_glyph(pdf)
    assert rightmost <= margin + 0.5
    text = pdfium.PdfDocument(pdf)[0].get_textpage().get_text_range().replace("\r\n", "")
    assert name in text
