"""Reading rendered PDFs back in tests: page text with whitespace collapsed, the
attachments, the fonts. Text, never bytes: PDF bytes differ between processes (the
font-subset prefix), the text and the pictures do not."""

from __future__ import annotations

import io
import json
import re

from pypdf import PdfReader


def reader(pdf: bytes) -> PdfReader:
    return PdfReader(io.BytesIO(pdf))


def page_texts(pdf: bytes) -> list[str]:
    return [_flat(page.extract_text()) for page in reader(pdf).pages]


def _flat(page: str) -> str:
    # One space for any run of whitespace; a word broken after its hyphen
    # ("seventy-\nthree") joined again.
    return re.sub(r"(?<=\w)- (?=\w)", "-", re.sub(r"\s+", " ", page))


def text(pdf: bytes) -> str:
    return " ".join(page_texts(pdf))


def attachment(pdf: bytes) -> tuple[str, dict]:
    """The one attached file: its name and its JSON."""
    files = dict(reader(pdf).attachments.items())
    assert len(files) == 1, files.keys()
    ((name, contents),) = files.items()
    assert len(contents) == 1
    return name, json.loads(contents[0])


def money(minor: int) -> str:
    """How a test expects an amount written: 1234567 -> "12,345.67" (independent of
    invoices.pdf.numbers on purpose)."""
    sign = "-" if minor < 0 else ""
    whole, cents = divmod(abs(minor), 100)
    return f"{sign}{whole:,}.{cents:02d}"
