"""The usage annex: from a new page, its table header on every page, every row once,
every page numbered "Page x of y", times in Tanzania's clock (EAT) and durations as a
person reads them."""

from __future__ import annotations

import pytest

from invoices.pdf import render_pdf, specimens

from .pdf_reading import money, page_texts

ROWS = 200
HEADER_EN = "Time (EAT) Service Destination Zone Units Net (TZS)"
HEADER_SW = "Muda (EAT) Huduma Mahali Eneo Vipimo Bila VAT (TZS)"


@pytest.fixture(scope="module")
def rows():
    return specimens.annex_rows(ROWS)


@pytest.fixture(scope="module")
def pages(rows) -> list[str]:
    doc = specimens.invoice()
    return page_texts(render_pdf(doc, annex=rows, fiscal=specimens.fiscal(doc)))


def test_annex_starts_on_a_new_page_and_spans_several(pages):
    assert len(pages) >= 4
    assert "USAGE ANNEX" not in pages[0].upper()
    assert "USAGE ANNEX · INV-2026-000123" in pages[1]
    assert "1 October 2026 to 31 October 2026" in pages[1]


def test_header_repeats_on_every_annex_page(pages):
    for number, page in enumerate(pages[1:], start=2):
        assert page.count(HEADER_EN) == 1, f"page {number}"


def test_every_page_says_page_x_of_y(pages):
    total = len(pages)
    for number, page in enumerate(pages, start=1):
        assert f"Page {number} of {total}" in page


def test_every_row_is_printed_once_and_the_total_adds_up(pages, rows):
    annex = " ".join(pages[1:])
    for row in rows:
        assert annex.count(row.destination) == 1, row.destination
    total = sum(r.net_minor for r in rows)
    assert f"Total excluding VAT (TZS): {money(total)}" in pages[-1]


def test_a_row_reads_as_printed(pages, rows):
    from invoices.pdf.view import LOCAL

    row = rows[1]  # 43 s of voice to a Tanzanian fixed line
    assert (row.service, row.zone, row.billed_units, row.unit) == ("voice", "TZ-FIX", 43, "second")
    expected = (
        f"{row.occurred_at.astimezone(LOCAL):%Y-%m-%d %H:%M:%S} Voice {row.destination} "
        f"Tanzania fixed lines 43 s {money(row.net_minor)}"
    )
    assert expected in pages[1]


def test_durations_read_as_minutes_and_seconds_never_raw_seconds(pages, rows):
    annex = " ".join(pages[1:])
    assert " second" not in annex
    long_call = next(r for r in rows if r.unit == "second" and r.billed_units >= 600)
    minutes, seconds = divmod(long_call.billed_units, 60)
    shown = f"{minutes} min {seconds} s" if seconds else f"{minutes} min"
    assert f"{long_call.destination} " in annex and shown in annex


def test_swahili_annex_repeats_its_header_and_numbers_pages():
    pages = page_texts(
        render_pdf(specimens.invoice(), language="sw", annex=specimens.annex_rows(120))
    )
    total = len(pages)
    assert total >= 3
    for number, page in enumerate(pages, start=1):
        assert f"Ukurasa {number} wa {total}" in page
    for page in pages[1:]:
        assert HEADER_SW in page
    assert "KIAMBATISHO CHA MATUMIZI" in pages[1]


def test_times_are_printed_in_tanzanian_time():
    from datetime import UTC, datetime

    rows = specimens.annex_rows(1, start=datetime(2026, 10, 31, 22, 30, tzinfo=UTC))
    pages = page_texts(render_pdf(specimens.invoice(), annex=rows))
    assert "2026-11-01 01:30:00" in pages[1]  # 22:30 UTC is 01:30 the next day in EAT
    assert "06:30:00" not in pages[1] and "22:30:00" not in pages[1]


def test_swahili_annex_names_zones_and_durations_in_swahili():
    rows = specimens.annex_rows(5)
    pages = page_texts(render_pdf(specimens.invoice(), language="sw", annex=rows))
    assert "Simu" in pages[1] and "simu za mezani Tanzania" in pages[1]
    assert "Kenya (simu za mkononi)" in pages[1]
    assert "TZ-MOB" not in pages[1] and "INT-KE" not in pages[1]
    assert "dak " in pages[1] and "sek " in pages[1]


def test_a_long_invoice_repeats_the_lines_header_and_never_splits_a_line():
    from datetime import date
    from decimal import Decimal

    from billing.core.money import Currency
    from invoices.document import DocumentKind, LineItem, build_document

    items = [
        LineItem(
            f"Voice to zone {i}: a description long enough to wrap onto two or "
            "three lines of its cell, even now the column is wider than it was",
            Decimal(100 + i),
            Decimal("0.35"),
        )
        for i in range(45)
    ]
    doc = build_document(
        kind=DocumentKind.INVOICE,
        number="INV-2026-000900",
        issued_on=date(2026, 10, 31),
        seller=specimens.SELLER,
        buyer=specimens.BUYER,
        currency=Currency.TZS,
        items=items,
    )
    pages = page_texts(render_pdf(doc, fiscal=specimens.fiscal(doc)))
    with_lines = [page for page in pages if "Voice to zone" in page]
    assert len(with_lines) >= 2
    for page in with_lines:
        assert "Description Quantity Unit price VAT code Amount excl. VAT (TZS)" in page
    for i in range(45):
        page = next(p for p in pages if f"zone {i}:" in p)
        assert f" {100 + i} 0.35 A " in page, f"line {i} split across pages"
    assert "A1B2C3123" in pages[-1] and "Total including VAT" in pages[-1]
