"""The invoice and credit note as a PDF/A-3b file: WeasyPrint templates in English and
Swahili, a bundled font, the VFD QR code, a usage annex, and the document's data attached.

    render_pdf(document, language="sw", annex=rows, fiscal=fiscal) -> bytes
"""

from invoices.pdf.annex import AnnexRow
from invoices.pdf.fiscal import Fiscal
from invoices.pdf.renderer import render_pdf

__all__ = ["AnnexRow", "Fiscal", "render_pdf"]
