"""HTML -> PDF/A-3b with WeasyPrint, sharing the expensive state across renders.

One `_Engine` per process, built on first use (so a forking worker builds it after the
fork, as WeasyPrint asks): the Jinja template, one FontConfiguration, the stylesheets
parsed once with their @font-face rules, our own small user-agent stylesheet, and the
PDF Font objects, kept across documents so each render re-reads no font file.
Renders take a lock: WeasyPrint's font state is not made for threads.
"""

from __future__ import annotations

import gc
import re
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import cssselect2
from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template
from markupsafe import Markup
from weasyprint import CSS, HTML, Attachment
from weasyprint.text.ffi import harfbuzz_subset
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
YOUNG_GC_THRESHOLD = 10_000  # set by warm_up, see there
# C0 controls but tab and newline, DEL and C1 controls: invisible, not valid XML, and
# a font given one maps it to a made-up glyph whose ToUnicode entry readers choke on.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _printable(value: object) -> object:
    """Jinja's finalize: every printed string loses its control characters."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return _CONTROL.sub(" ", value)
    return value


class _TemplateHTML(HTML):
    """Our own template: parsed as XML, styled with our own user-agent stylesheet.

    The template is well-formed XHTML, so expat (C) builds the tree instead of
    WeasyPrint's pure-Python HTML5 parser (that saved about a seventh of a one-page
    render here); text that is still not XML once control characters are gone (a
    noncharacter such as U+FFFE) falls back to that parser. `ua.css` says why the
    user-agent stylesheet is ours. Both hooks, like `Document.fonts`, are
    semi-internal: the version is pinned in pyproject.toml and
    tests/unit/invoices/test_pdf_engine.py checks them.
    """

    ua: CSS | None = None

    def __init__(self, *, string: str, base_url: str, url_fetcher: URLFetcher) -> None:
        try:
            root = ET.fromstring(string)  # noqa: S314 (our own template, no DTD)
        except ET.ParseError:
            super().__init__(string=string, base_url=base_url, url_fetcher=url_fetcher)
            return
        self.base_url = base_url
        self.url_fetcher = url_fetcher
        self.media_type = "print"
        self.wrapper_element = cssselect2.ElementWrapper.from_html_root(root)
        self.etree_element = self.wrapper_element.etree_element

    def _ua_stylesheets(self, forms: bool = False) -> list[CSS]:
        assert self.ua is not None
        return [self.ua]


@dataclass(frozen=True)
class _Engine:
    template: Template
    fonts: FontConfiguration
    stylesheets: dict[str, list[CSS]]
    fetcher: URLFetcher
    base_url: str
    # PDF Font objects by Pango key, reused by every document (WeasyPrint issue #1977).
    # Each document's subset is cut from the original face with HarfBuzz, so a shared
    # Font only ever grows the glyph set; fontTools would cut from the last subset, so
    # without HarfBuzz-Subset nothing is shared (None).
    pdf_fonts: dict | None
    lock: threading.Lock


@cache
def _engine() -> _Engine:
    env = Environment(
        loader=FileSystemLoader(_HERE / "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=_printable,
    )
    fonts = FontConfiguration()
    fetcher = URLFetcher(allowed_protocols={"file"})  # the bundled fonts; no network
    _TemplateHTML.ua = CSS(filename=str(_HERE / "ua.css"), font_config=fonts)
    base = CSS(filename=str(_HERE / "document.css"), font_config=fonts, url_fetcher=fetcher)
    stylesheets = {
        lang: [base, CSS(string=_page_css(lang), font_config=fonts)] for lang in LANGUAGES
    }
    return _Engine(
        template=env.get_template("document.html"),
        fonts=fonts,
        stylesheets=stylesheets,
        fetcher=fetcher,
        base_url=_HERE.as_uri() + "/",
        pdf_fonts={} if harfbuzz_subset is not None else None,
        lock=threading.Lock(),
    )


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

    `language` is "en" or "sw"; `annex` lists the usage behind the lines (from a new
    page, its table header repeated on every page); `fiscal` is the VFD receipt once
    TRA has answered: without it the document says verification is pending.
    `document.is_copy` marks every page as a copy.
    """
    check_language(language)
    rows = tuple(annex)
    engine = _engine()
    html = engine.template.render(v=build_view(document, language, rows, fiscal))
    data = Attachment(
        string=document_json(document, fiscal=fiscal, annex=rows),
        name=attachment_name(document),
        description=f"{document.kind.value} {document.number}: the document's data",
        relationship="Data",
    )
    with engine.lock:
        page = _TemplateHTML(string=html, base_url=engine.base_url, url_fetcher=engine.fetcher)
        rendered = page.render(
            font_config=engine.fonts,
            stylesheets=engine.stylesheets[language],
            presentational_hints=False,
        )
        if engine.pdf_fonts is not None:
            rendered.fonts = engine.pdf_fonts
        pdf = rendered.write_pdf(
            pdf_variant=PDF_VARIANT, attachments=[data], finisher=_one_af_entry_per_file
        )
        _forget_fonts_with_missing_glyphs(engine)
        return pdf


def _forget_fonts_with_missing_glyphs(engine: _Engine) -> None:
    """A character the bundled font lacks (CJK, emoji) gets a made-up glyph id in the
    font's ToUnicode map; shared, that entry would ride along in every later document
    (and pypdf misreads such maps). So after such a document, start the fonts afresh."""
    if engine.pdf_fonts and any(font.missing for font in engine.pdf_fonts.values()):
        engine.pdf_fonts.clear()


def _one_af_entry_per_file(_document: object, pdf: object) -> None:
    """WeasyPrint 70 lists each embedded file twice in the catalog's /AF array (once
    from the name tree, once from the file specifications); PDF/A-3 wants it once."""
    catalog = pdf.catalog  # type: ignore[attr-defined]
    if "AF" in catalog:
        unique = list(dict.fromkeys(catalog["AF"]))
        catalog["AF"].clear()
        catalog["AF"].extend(unique)


def warm_up() -> None:
    """Ready this process to render many documents (a long-lived worker; call it after a
    fork): build the engine, render one specimen so the first request pays for neither,
    then move what later renders reuse (engine, fonts, Pango and HarfBuzz caches,
    compiled selectors, imported modules) out of the cyclic collector's generations.
    Full collections triggered by a render's many boxes then no longer walk it all:
    collection fell from about 9% to 3% of a one-page render's CPU time.
    billing/tariffs/cache.py freezes its tables the same way. Not done on a first render
    by itself: a work-horse forked for one job would pay the full collection for nothing.

    The youngest generation is also collected after 10,000 net allocations rather than
    700: a render's boxes, styles and Pango wrappers are alive for the whole render, so
    at 700 about nine young and one middle collection a render walked objects that were
    not garbage yet. The collector's share of a one-page render fell from about 5% to 3%
    (its callbacks' CPU time); a render's garbage lives at most about two renders longer.
    """
    from invoices.pdf import specimens  # only here: the specimens are not the product

    doc = specimens.invoice()
    render_pdf(doc, fiscal=specimens.fiscal(doc))
    gc.collect()
    gc.freeze()
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_GC_THRESHOLD, middle, oldest)
