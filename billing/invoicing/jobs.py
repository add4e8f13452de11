"""Invoicing jobs: render, deliver, fiscalise, a receipt per succeeded top-up, and the
daily Z report.

Each takes ids and is safe to run twice: a render replaces the stored PDF (never an
acknowledged one with an older), a delivery is skipped once recorded, fiscalisation
sends only receipts still pending, a top-up's receipt is unique per top-up.
"""

from __future__ import annotations

import logging
import smtplib

from billing.audit.service import SYSTEM, record
from billing.core.clock import utcnow
from billing.invoicing import copies, states, vfd
from billing.invoicing.delivery import DeliveryNotConfigured, send_document
from billing.invoicing.fiscal import (
    DOCUMENTS,
    FISCALISE_JOB,
    RENDER_JOB,
    drain,
    pending_devices,
)
from billing.invoicing.models import Invoice
from billing.invoicing.refund_notes import REFUND_ADJUSTMENT_JOB, adjust_for_refund
from billing.invoicing.rendering import render_invoice
from billing.invoicing.service import receipt_for_topup
from billing.invoicing.states import FiscalStatus, InvoiceStatus
from billing.invoicing.zreports import (
    ZREPORT_JOB,
    days_to_close,
    pending_reports,
    request_zreport,
    send_pending,
)
from billing.jobs.outbox import defer
from billing.jobs.registry import job
from billing.runtime import current

DELIVER_JOB = "invoicing.deliver"
TOPUP_RECEIPT_JOB = "invoicing.topup_receipt"
log = logging.getLogger(__name__)


@job(RENDER_JOB)
def render(invoice_id: str) -> None:
    runtime = current()
    with runtime.sessions() as session:
        invoice = session.get(Invoice, invoice_id)
        if invoice is None or invoice.status in (InvoiceStatus.DRAFT, InvoiceStatus.VOID):
            return
        with_ack = invoice.fiscal_status is FiscalStatus.ACKNOWLEDGED
        if invoice.pdf_version and invoice.pdf_has_ack == with_ack:
            return  # rendered already in this state: a re-run changes nothing
        # Once the original is out (s.86(4)), a later rendering is a COPY.
        as_copy = copies.original_is_out(invoice)
        pdf = render_invoice(session, runtime.settings, invoice, is_copy=as_copy)
    with runtime.unit_of_work() as session:
        invoice = session.get(Invoice, invoice_id, with_for_update=True)
        if invoice.pdf_has_ack and not with_ack:
            return  # a render after ACK got here first; keep it
        if copies.original_is_out(invoice) != as_copy:
            raise RuntimeError(f"the original of {invoice_id} left while rendering: again")
        invoice.pdf = pdf
        invoice.pdf_version += 1
        invoice.pdf_has_ack = with_ack
        invoice.pdf_is_copy = as_copy
        if invoice.delivered_at is None:
            defer(session, DELIVER_JOB, invoice.id, queue=DOCUMENTS,
                  dedupe_key=f"{DELIVER_JOB}:{invoice.id}")  # fmt: skip


@job(DELIVER_JOB)
def deliver(invoice_id: str) -> None:
    """E-mail the PDF to the tenant. TRA's answer is not awaited (RULES #19)."""
    runtime = current()
    with runtime.unit_of_work() as session:
        invoice = session.get(Invoice, invoice_id, with_for_update=True)
        if invoice is None or invoice.delivered_at is not None or invoice.pdf is None:
            return
        if not runtime.settings.smtp_host:
            log.info("invoice %s not e-mailed: no SMTP host configured", invoice_id)
            return  # the first download is the original then
        if not copies.claim_original(session, SYSTEM, invoice, copies.EMAIL):
            log.info("invoice %s not e-mailed: its original was downloaded", invoice_id)
            return
        to = (invoice.parties or {}).get("buyer", {}).get("email", "")
        number, pdf, seller = invoice.number_text, invoice.pdf, invoice.parties["seller"]["name"]
    try:
        send_document(
            runtime.settings,
            to=to,
            subject=f"{seller}: {_title(invoice)} {number}",
            body=f"Please find attached {_title(invoice).lower()} {number}.\n",
            pdf=pdf,
            filename=f"{number}.pdf",
        )
    except DeliveryNotConfigured:
        log.info("invoice %s not e-mailed: no SMTP host configured", invoice_id)
        return
    except (smtplib.SMTPException, OSError) as error:
        with runtime.unit_of_work() as session:
            failed = session.get(Invoice, invoice_id, with_for_update=True)
            failed.delivery_attempts += 1
            failed.last_delivery_error = f"{type(error).__name__}: {error}"[:500]
        raise  # RQ retries it; the outbox relay re-drives it without Redis
    with runtime.unit_of_work() as session:
        sent = session.get(Invoice, invoice_id, with_for_update=True)
        if sent.delivered_at is not None:
            return
        sent.delivered_at, sent.delivered_to = utcnow(), to
        sent.delivery_attempts += 1
        sent.last_delivery_error = None
        sent.status = states.delivered(sent.status)
        record(session, actor=SYSTEM, action="invoice.delivered", subject_type="invoice",
               subject_id=sent.id, tenant_id=sent.tenant_id, detail={"to": to})  # fmt: skip


def _title(invoice: Invoice) -> str:
    return "Credit note" if invoice.kind.value == "credit_note" else "Tax invoice"


@job(FISCALISE_JOB)
def fiscalise(efd_serial: str) -> int:
    runtime = current()
    return drain(runtime, vfd.client(runtime.settings), efd_serial)


@job(REFUND_ADJUSTMENT_JOB)
def refund_adjustment(refund_id: str) -> None:
    """A refunded top-up's receipt: its credit note, moving the VAT back."""
    runtime = current()
    with runtime.unit_of_work() as session:
        adjust_for_refund(session, runtime.settings, refund_id)


# Batched: a burst of credits relays its receipts as one RQ job, not one each.
@job(TOPUP_RECEIPT_JOB, batch=50)
def topup_receipt(topup_id: str) -> None:
    runtime = current()
    with runtime.unit_of_work() as session:
        receipt_for_topup(session, runtime.settings, topup_id)


def sweep() -> None:
    """The ticker's turn: post receipts left pending while TRA was down."""
    runtime = current()
    efd_serial = vfd.device(runtime.settings).efd_serial
    with runtime.sessions() as session:
        if efd_serial not in pending_devices(session):
            return
    try:
        drain(runtime, vfd.client(runtime.settings), efd_serial)
    except Exception:
        log.exception("fiscal sweep of %s failed; it comes round again", efd_serial)


@job(ZREPORT_JOB)
def send_zreports(efd_serial: str) -> int:
    runtime = current()
    return send_pending(runtime, vfd.client(runtime.settings), efd_serial)


def zreport_sweep() -> None:
    """The ticker's turn: seal each closed day's Z report, oldest first, once its receipts
    are all in (a day still waiting on TRA stops the rest: GROSS runs on), and resend
    any report TRA has not acknowledged (the same bytes)."""
    runtime = current()
    serial = vfd.device(runtime.settings).efd_serial
    with runtime.sessions() as session:
        days = days_to_close(session, serial)
    for day in days:
        with runtime.unit_of_work() as session:
            if request_zreport(session, runtime.settings, day) is None:
                break
    with runtime.sessions() as session:
        if not pending_reports(session, serial):
            return
    try:
        send_pending(runtime, vfd.client(runtime.settings), serial)
    except Exception:
        log.exception("Z report sweep of %s failed; it comes round again", serial)
