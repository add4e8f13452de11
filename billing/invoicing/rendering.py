"""The PDF of an invoice: its document, its usage annex and, once numbered, its VFD block."""

from __future__ import annotations

import dataclasses

from sqlalchemy.orm import Session

from billing.core.config import Settings
from billing.invoicing.documents import document_of, language_of
from billing.invoicing.models import Invoice
from billing.invoicing.sources import postpaid_annex
from billing.invoicing.states import InvoiceSource
from billing.topups.models import Topup
from invoices.pdf import AnnexRow, Fiscal, render_pdf
from invoices.vfd.qr import VERIFY_PRODUCTION, VERIFY_TEST, verification_url
from invoices.vfd.receipt import EAT


def fiscal_of(invoice: Invoice, settings: Settings) -> Fiscal | None:
    """The VFD block: all of it is known at finalise (RCTVNUM = receipt code + GC)."""
    if not invoice.rctvnum:
        return None
    base = VERIFY_PRODUCTION if settings.vfd_mode == "live" else VERIFY_TEST
    return Fiscal(
        verification_code=invoice.rctvnum,
        verification_url=verification_url(invoice.rctvnum, invoice.receipt_time, base),
        receipt_number=invoice.gc,
        z_number=invoice.znum,
        daily_counter=invoice.dc,
        issued_at=invoice.issued_at.astimezone(EAT),  # the receipt's DATE and TIME
        vfd_serial=invoice.efd_serial or "",
        uin=settings.vfd_device.get("uin", ""),
    )


def render_invoice(
    session: Session,
    settings: Settings,
    invoice: Invoice,
    *,
    language: str | None = None,
    is_copy: bool = False,
) -> bytes:
    """The PDF, in the buyer's language fixed at finalise unless `language` is given;
    `is_copy` marks every page COPY (`billing.invoicing.copies`)."""
    original = (
        session.get(Invoice, invoice.original_invoice_id) if invoice.original_invoice_id else None
    )
    language = language or language_of(invoice)
    topup = session.get(Topup, invoice.topup_id) if invoice.topup_id else None
    annex: list[AnnexRow] = []
    if invoice.source is InvoiceSource.POSTPAID:
        annex = [
            AnnexRow(row.occurred_at, row.service, row.destination, row.zone,
                     row.billed_units, row.unit, row.net_minor)
            for row in postpaid_annex(
                session, invoice.tenant_id, invoice.period_start, invoice.period_end
            )
        ]  # fmt: skip
    document = document_of(invoice, original=original, language=language, topup=topup)
    return render_pdf(
        dataclasses.replace(document, is_copy=is_copy),
        language=language,
        annex=annex,
        fiscal=fiscal_of(invoice, settings),
    )
