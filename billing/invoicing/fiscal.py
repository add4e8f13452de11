"""Fiscalisation: the signed receipt is made once at finalise, then posted to TRA in GC
order, one at a time, and resent byte for byte until TRA answers ACK 0.

One drainer per VFD at a time, by a lease on the VFD's counter row (`drain_token`,
`drain_until`), taken and renewed in short transactions: no lock or connection is held
while TRA is asked, and a drainer that dies or hangs loses the VFD when its lease runs
out (a session-level lock would stay with any process that inherited the connection).
A receipt that TRA cannot take (no answer, or a non-zero ACK) stops the queue behind
it: GC must arrive as last + 1. The worker's ticker drains again later.

A fiscal document is rendered once its first fiscal outcome is known, so its PDF is made
once when TRA answers at once: with TRA's ACK; or, when TRA does not take it (or a
receipt ahead of it), as a pending version at once (it goes out: RULES #19), rendered
again only when it becomes verified. Each render request carries its own dedupe key.
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from billing.audit.service import SYSTEM, record
from billing.core.clock import utcnow
from billing.core.config import Settings
from billing.invoicing import states, vfd
from billing.invoicing.documents import customer_of
from billing.invoicing.models import AWAITING_TRA, Invoice, VfdCounter
from billing.invoicing.numbering import next_receipt_counters
from billing.invoicing.states import FiscalStatus, InvoiceSource
from billing.jobs.outbox import defer
from billing.runtime import Runtime
from billing.topups.reviews import open_item
from invoices.document import Document
from invoices.vfd.client import VfdClient
from invoices.vfd.errors import VfdError
from invoices.vfd.receipt import EAT, Payment, PaymentType, build_rct, receipt_for_document
from invoices.vfd.signing import envelope

LEASE_S = 60  # at least 3 x the VFD timeout: a receipt is asked for well within it
FISCALISE_JOB = "invoicing.fiscalise"
RENDER_JOB = "invoicing.render"
DOCUMENTS = "documents"  # the queue of renders and e-mail, after money work
REVIEW_AFTER_REJECTIONS = 5  # then a person looks; the receipt keeps being retried
log = logging.getLogger(__name__)
_counters = VfdCounter.__table__


def seal_receipt(session: Session, settings: Settings, invoice: Invoice, doc: Document) -> None:
    """Take GC and DC, build and sign the `<RCT>`, and store the exact bytes to send."""
    device = vfd.device(settings)
    receipt_day = invoice.issued_at.astimezone(EAT).strftime("%Y-%m-%d")
    gc, dc = next_receipt_counters(session, device.efd_serial, receipt_day)
    payments = ()
    if invoice.source is InvoiceSource.TOPUP:  # paid already, by mobile money
        payments = (Payment(PaymentType.EMONEY, doc.in_tzs()[2].gross_minor),)
    receipt = receipt_for_document(
        doc, device, customer_of(invoice), gc=gc, dc=dc, issued_at=invoice.issued_at,
        payments=payments,
    )  # fmt: skip
    invoice.receipt_body = envelope(build_rct(receipt), vfd.signing_key(settings))
    invoice.efd_serial, invoice.gc, invoice.dc = device.efd_serial, gc, dc
    invoice.znum, invoice.rctvnum, invoice.receipt_time = (
        receipt.znum,
        receipt.rctvnum,
        receipt.time,
    )
    invoice.fiscal_status = FiscalStatus.PENDING


def drain(runtime: Runtime, client: VfdClient, efd_serial: str) -> int:
    """Post pending receipts in GC order until none is left or TRA does not take one.

    Returns how many TRA acknowledged; 0 as well when another drainer holds the VFD.
    """
    token = secrets.token_hex(8)
    lease = timedelta(seconds=max(LEASE_S, 3 * runtime.settings.vfd_timeout_s))
    done, renew_at = 0, None
    try:
        while True:
            if renew_at is None or utcnow() >= renew_at:  # well before the lease runs out
                if not lease_vfd(runtime, efd_serial, token, lease):
                    return done
                renew_at = utcnow() + lease / 3
            head = _next_pending(runtime.sessions, efd_serial)
            if head is None:
                return done
            invoice_id, body = head
            try:
                ack = client.post_receipt(body)
            except VfdError as error:
                _note_failure(runtime, invoice_id, None, f"{type(error).__name__}: {error}")
                _render_unrendered(runtime, efd_serial)
                return done
            if not ack.accepted:
                _note_failure(runtime, invoice_id, ack.code, ack.message)
                _render_unrendered(runtime, efd_serial)
                return done
            _acknowledge(runtime, invoice_id)
            done += 1
    finally:
        release_vfd(runtime, efd_serial, token)


def lease_vfd(
    runtime: Runtime, efd_serial: str, token: str, length: timedelta | None = None
) -> bool:
    """Take or renew the VFD's drain lease; False while another drainer holds it."""
    now = utcnow()
    length = length or timedelta(seconds=max(LEASE_S, 3 * runtime.settings.vfd_timeout_s))
    with runtime.sessions() as session, session.begin():
        taken = session.execute(
            update(_counters)
            .where(
                _counters.c.efd_serial == efd_serial,
                or_(
                    _counters.c.drain_token.is_(None),
                    _counters.c.drain_token == token,
                    _counters.c.drain_until < now,
                ),
            )
            .values(drain_token=token, drain_until=now + length)
            .returning(_counters.c.efd_serial)
        ).first()
    return taken is not None


def release_vfd(runtime: Runtime, efd_serial: str, token: str) -> None:
    with runtime.sessions() as session, session.begin():
        session.execute(
            update(_counters)
            .where(_counters.c.efd_serial == efd_serial, _counters.c.drain_token == token)
            .values(drain_token=None, drain_until=None)
        )


def pending_devices(session: Session) -> list[str]:
    query = select(Invoice.efd_serial).where(AWAITING_TRA).group_by(Invoice.efd_serial)
    return [serial for serial in session.execute(query).scalars() if serial]


def _next_pending(sessions: sessionmaker[Session], efd_serial: str) -> tuple[str, bytes] | None:
    with sessions() as session:
        row = session.execute(
            select(Invoice.id, Invoice.receipt_body)
            .where(Invoice.efd_serial == efd_serial, AWAITING_TRA)
            .order_by(Invoice.gc)
            .limit(1)
        ).first()
    return (row.id, row.receipt_body) if row is not None else None


def _render_unrendered(runtime: Runtime, efd_serial: str) -> None:
    """TRA did not take the queue's head: every receipt waiting with no PDF yet goes out
    as its pending version now, rather than wait for TRA."""
    with runtime.unit_of_work() as session:
        waiting = session.execute(
            select(Invoice.id).where(
                Invoice.efd_serial == efd_serial,
                AWAITING_TRA,
                Invoice.pdf_version == 0,
            )
        ).scalars()
        for invoice_id in waiting:
            request_render(session, invoice_id, "pending")


def request_render(session: Session, invoice_id: str, version: str) -> None:
    """Render it once per `version`: "final" (a document TRA never sees), "pending", "ack"."""
    defer(session, RENDER_JOB, invoice_id, queue=DOCUMENTS,
          dedupe_key=f"{RENDER_JOB}:{invoice_id}:{version}")  # fmt: skip


def _acknowledge(runtime: Runtime, invoice_id: str) -> None:
    with runtime.unit_of_work() as session:
        invoice = session.get(Invoice, invoice_id, with_for_update=True)
        if invoice.fiscal_status is FiscalStatus.ACKNOWLEDGED:
            return
        invoice.fiscal_status = FiscalStatus.ACKNOWLEDGED
        invoice.status = states.acknowledged(invoice.status)
        invoice.fiscal_attempts += 1
        invoice.last_ack_code, invoice.last_fiscal_error = 0, None
        invoice.fiscalised_at = utcnow()
        record(session, actor=SYSTEM, action="invoice.fiscalised", subject_type="invoice",
               subject_id=invoice.id, tenant_id=invoice.tenant_id,
               detail={"gc": invoice.gc, "rctvnum": invoice.rctvnum,
                       "attempts": invoice.fiscal_attempts})  # fmt: skip
        request_render(session, invoice.id, "ack")


def _note_failure(runtime: Runtime, invoice_id: str, ack_code: int | None, message: str) -> None:
    log.warning("receipt of %s not acknowledged (ACK %s): %s", invoice_id, ack_code, message)
    with runtime.unit_of_work() as session:
        invoice = session.get(Invoice, invoice_id, with_for_update=True)
        if invoice.fiscal_status is FiscalStatus.ACKNOWLEDGED:
            return  # a drainer whose lease ran out lost the race to one that got ACK 0
        invoice.fiscal_attempts += 1
        invoice.last_ack_code, invoice.last_fiscal_error = ack_code, message[:500]
        if ack_code is not None and invoice.fiscal_attempts >= REVIEW_AFTER_REJECTIONS:
            open_item(
                session,
                kind="vfd_rejected",
                tenant_id=invoice.tenant_id,
                summary=f"TRA keeps refusing receipt GC {invoice.gc} of {invoice.number_text}",
                detail={"invoice_id": invoice.id, "ack_code": ack_code, "message": message},
            )
