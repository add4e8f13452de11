"""HTML -> PDF/A-3b with WeasyPrint, sharing the expensive state across renders.

One `_Engine` per process (built on first use, so a forking worker builds it after the
fork): the Jinja template, the FontConfiguration and the stylesheets, parsed once with
their @font-face rules, so a render parses only its own small HTML.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template
from weasyprint import CSS, HTML, Attachment
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher

from invoices.document import Document
from invoices.pdf.annex import AnnexRow
from invoices.pdf.attachment import attachment_name, document_json
from invoices.pdf.fiscal import Fiscal
from invoices.pdf.labels import LABELS, LANGUAGES, check_language
from invoices.pdf.view import build_view

_HERE = Path(__file__).parent
PDF_VARIANT = "pdf/a-3b"


@dataclass(frozen=True)
class _Engine:
    template: Template
    fonts: FontConfiguration
    stylesheets: dict[str, list[CSS]]
    fetcher: URLFetcher
    base_url: str


@cache
def _engine() -> _Engine:
    env = Environment(
        loader=FileSystemLoader(_HERE / "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    fonts = FontConfiguration()
    # Only the package's own files (fonts): no network, no system paths by URL.
    fetcher = URLFetcher(allowed_protocols={"file"})
    base = CSS(filename=str(_HERE / "document.css"), font_config=fonts, url_fetcher=fetcher)
    stylesheets = {lang: [base, CSS(string=_page_css(lang), font_config=fonts)]
                   for lang in LANGUAGES}  # fmt: skip
    return _Engine(env.get_template("document.html"), fonts, stylesheets, fetcher,
                   _HERE.as_uri() + "/")  # fmt: skip


def _page_css(language: str) -> str:
    t = LABELS[language]
    page = f'"{t["page"]} " counter(page) " {t["of"]} " counter(pages)'
    return "@page { @bottom-right { content: " + page + "; } }"


def render_pdf(
    document: Document,
    *,
    language: str = "en",
    annex: Iterable[AnnexRow] = (),
    fiscal: Fiscal | None = None,
) -> bytes:
    """The document as PDF/A-3b bytes, its data attached as JSON (`attachment.py`).

    `language` is "en" or "sw"; `annex` lists the usage behind the lines (a new page,
    its table header repeated on every page); `fiscal` is the VFD receipt once TRA has
    answered. Without it the document says verification is pending.
    """
    check_language(language)
    rows = tuple(annex)
    engine = _engine()
    html = engine.template.render(v=build_view(document, language, rows, fiscal))
    rendered = HTML(string=html, base_url=engine.base_url, url_fetcher=engine.fetcher).render(
        font_config=engine.fonts,
        stylesheets=engine.stylesheets[language],
        presentational_hints=False,
    )
    data = Attachment(
        string=document_json(document, fiscal=fiscal, annex=rows),
        name=attachment_name(document),
        description=f"{document.kind.value} {document.number}: the document's data",
        relationship="Data",
    )
    return rendered.write_pdf(pdf_variant=PDF_VARIANT, attachments=[data])
