"""Invoice use cases, one transaction each: drafts, finalise, top-up receipts (credit
notes: `credit_notes`)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from billing.audit.service import SYSTEM, record
from billing.core.clock import utcnow
from billing.core.config import Settings
from billing.core.errors import Conflict, InvalidInput, NotFound
from billing.core.ids import new_id
from billing.invoicing import adjustments, credit, payments, states
from billing.invoicing.books import book
from billing.invoicing.credit_vat import Credited, capped_vats
from billing.invoicing.documents import document_of, due_on, parties_of, unit_price_for
from billing.invoicing.fiscal import FISCALISE_JOB, request_render, seal_receipt
from billing.invoicing.models import Invoice, InvoiceLine
from billing.invoicing.numbering import format_number, next_number, series_for
from billing.invoicing.sources import DraftLine, postpaid_lines
from billing.invoicing.states import DocumentKind, FiscalStatus, InvoiceSource, InvoiceStatus
from billing.jobs.outbox import defer
from billing.tenants.models import BillingMode, Tenant
from billing.topups.models import Topup, TopupStatus
from billing.usage.accruals import lock_accrued
from invoices.document import Document, missing_fields
from invoices.vat import VatCode
from invoices.vfd.receipt import EAT

TOPUP_LINE = "Prepaid communication services (wallet top-up)"


class NothingToInvoice(InvalidInput):
    """The tenant has no rated usage in the period: no draft is made."""


@dataclass(frozen=True)
class Rate:
    tzs_per_unit: Decimal
    source: str


def get_invoice(session: Session, invoice_id: str, tenant_id: str | None = None) -> Invoice:
    """An invoice; a tenant asking for another tenant's, a draft or a voided one gets 404."""
    invoice = session.get(Invoice, invoice_id)
    if invoice is None or (
        tenant_id is not None
        and (invoice.tenant_id != tenant_id or invoice.status not in states.FINAL)
    ):
        raise NotFound(f"invoice {invoice_id} not found")
    return invoice


def create_postpaid_draft(
    session: Session, actor: str, tenant_id: str, start: date, end: date
) -> tuple[Invoice, bool]:
    """The period's draft, created once: (invoice, created). A second call returns the first."""
    if end <= start:
        raise InvalidInput.on("period_end", "must be after period_start")
    tenant = session.get(Tenant, tenant_id)
    if tenant is None:
        raise InvalidInput.on("tenant_id", f"no tenant {tenant_id}")
    if tenant.billing_mode is not BillingMode.POSTPAID:
        raise InvalidInput.on("tenant_id", "prepaid tenants get a receipt per top-up")
    existing = _postpaid_for(session, tenant_id, start, end)
    if existing is not None:
        return existing, False
    lines = postpaid_lines(session, tenant_id, start, end, tenant.currency.value)
    pending = adjustments.billable(session, tenant_id, tenant.currency.value, start)
    if not lines and not pending:
        raise NothingToInvoice(
            "no rated usage in the period", {"tenant_id": ["no rated usage in the period"]}
        )
    invoice = new_invoice(tenant, InvoiceSource.POSTPAID, actor, period_start=start, period_end=end)
    _add_lines(invoice, lines + adjustments.lines_for(pending))
    try:
        with session.begin_nested():  # a racing run may insert the same period first
            session.add(invoice)
            session.flush()
    except IntegrityError:
        return _postpaid_for(session, tenant_id, start, end), False
    adjustments.mark_billed(pending, invoice.id)
    record(session, actor=actor, action="invoice.draft_created", subject_type="invoice",
           subject_id=invoice.id, tenant_id=tenant_id,
           detail={"period_start": start.isoformat(), "period_end": end.isoformat(),
                   "lines": len(lines)})  # fmt: skip
    return invoice, True


def rebuild_draft(session: Session, actor: str, invoice: Invoice) -> bool:
    """A postpaid draft's lines again from its period's usage as rated now (after
    re-rating, or rating since it was made), with the adjustments it bills; whether
    they changed (if not, the draft is left as it is)."""
    lines = postpaid_lines(
        session, invoice.tenant_id, invoice.period_start, invoice.period_end, invoice.currency
    )
    lines += adjustments.lines_for(adjustments.billed_by(session, invoice.id))
    if [_as_draft_line(line) for line in invoice.lines] == lines:
        return False
    invoice.lines.clear()
    session.flush()
    _add_lines(invoice, lines)
    session.flush()
    record(session, actor=actor, action="invoice.draft_rebuilt", subject_type="invoice",
           subject_id=invoice.id, tenant_id=invoice.tenant_id,
           detail={"lines": len(invoice.lines)})  # fmt: skip
    return True


def _as_draft_line(line: InvoiceLine) -> DraftLine:
    return DraftLine(line.item_id, line.description, line.quantity, line.unit, line.amount_minor,
                     line.service, line.zone, line.adjustment, line.adjusts_month)  # fmt: skip


def _refresh_postpaid(session: Session, actor: str, invoice: Invoice) -> None:
    """Before a postpaid draft is totalled and numbered: its lines from the usage as it
    stands, and the adjustments pending since it was made, so all rated before this
    finalise is billed. The tenant's accrued total is locked first, as rating locks it
    before it adds to it: a rating that did has committed and is read here (READ
    COMMITTED), one that comes later waits and finds the period invoiced (its usage is
    late: `billing.usage.late`)."""
    lock_accrued(session, [(invoice.tenant_id, invoice.currency)])
    pending = adjustments.billable(session, invoice.tenant_id, invoice.currency,
                                   invoice.period_start)  # fmt: skip
    adjustments.mark_billed(pending, invoice.id)
    session.flush()
    rebuild_draft(session, actor, invoice)


def _postpaid_for(session: Session, tenant_id: str, start: date, end: date) -> Invoice | None:
    return session.execute(
        select(Invoice).where(
            Invoice.tenant_id == tenant_id,
            Invoice.source == InvoiceSource.POSTPAID,
            Invoice.status != InvoiceStatus.VOID,
            Invoice.period_start == start,
            Invoice.period_end == end,
        )
    ).scalar()


def new_invoice(tenant: Tenant, source: InvoiceSource, actor: str, **fields) -> Invoice:
    kind = DocumentKind.CREDIT_NOTE if source is InvoiceSource.CREDIT else DocumentKind.INVOICE
    return Invoice(
        id=new_id("inv" if kind is DocumentKind.INVOICE else "crn"),
        tenant_id=tenant.id,
        kind=kind,
        source=source,
        status=InvoiceStatus.DRAFT,
        fiscal_status=FiscalStatus.NOT_DUE,
        created_by=actor,
        **{"currency": tenant.currency.value, **fields},
    )


def _add_lines(invoice: Invoice, lines: list[DraftLine], vat_code: str = "A") -> None:
    for position, line in enumerate(lines, start=1):
        invoice.lines.append(
            InvoiceLine(
                position=position,
                item_id=line.item_id,
                description=line.description,
                quantity=line.quantity,
                unit=line.unit,
                unit_price=unit_price_for(line.amount_minor, line.quantity),
                vat_code=vat_code,
                amount_minor=line.amount_minor,
                service=line.service,
                zone=line.zone,
                adjustment=line.adjustment,
                adjusts_month=line.adjusts_month,
            )
        )


def finalise(
    session: Session, settings: Settings, actor: str, invoice_id: str, rate: Rate | None = None
) -> Invoice:
    """Number it, freeze it, sign its fiscal receipt; render, deliver and fiscalise follow."""
    invoice = session.get(Invoice, invoice_id, with_for_update=True)
    if invoice is None:
        raise NotFound(f"invoice {invoice_id} not found")
    try:
        status = states.finalise(invoice.status)
    except states.TransitionRefused as refused:
        raise Conflict(str(refused)) from None
    # One lock order for every path that touches an invoice and the tenant's accounts:
    # the invoice first, then `receivable` (a payment does the same). A credit note
    # locks its original here, before its booking locks `receivable`.
    original = None
    if invoice.original_invoice_id:
        original = session.execute(
            select(Invoice).where(Invoice.id == invoice.original_invoice_id).with_for_update()
            .execution_options(populate_existing=True)
        ).scalar_one()  # fmt: skip
        cap_credited_vat(session, invoice, original)
        session.flush()  # lines change only while the note is a draft
    if invoice.source is InvoiceSource.POSTPAID:
        _refresh_postpaid(session, actor, invoice)
    invoice.status = status
    tenant = session.get(Tenant, invoice.tenant_id)
    now = utcnow()
    if rate is not None:
        invoice.exchange_rate, invoice.rate_source = rate.tzs_per_unit, rate.source
        invoice.rate_on = now.astimezone(EAT).date()
    invoice.parties = parties_of(settings.seller, tenant)
    invoice.issued_at = now
    if invoice.source is InvoiceSource.POSTPAID:  # the tenant's terms as they stand now
        invoice.due_on = due_on(now.astimezone(EAT).date(), tenant.payment_terms_days)
    doc = _issuable_document(invoice, original)
    invoice.net_minor, invoice.vat_minor = doc.totals.net_minor, doc.totals.vat_minor
    invoice.gross_minor = doc.totals.gross_minor
    # The counters last: their row locks are held from here to COMMIT.
    invoice.series = series_for(invoice.kind, invoice.source)
    invoice.number = next_number(session, invoice.series)
    invoice.number_text = format_number(invoice.series, invoice.number)
    doc = dataclasses.replace(doc, number=invoice.number_text)
    if invoice.kind is DocumentKind.INVOICE:
        seal_receipt(session, settings, invoice, doc)
        defer(session, FISCALISE_JOB, invoice.efd_serial)  # its outcome asks for the PDF
    else:
        invoice.fiscal_status = FiscalStatus.NOT_FISCALISED
        request_render(session, invoice.id, "final")
    session.flush()
    book(session, invoice, original)  # its VAT is payable from now: the books say so
    payments.on_finalise(session, invoice, original)
    if InvoiceSource.POSTPAID in (invoice.source, original and original.source):
        credit.apply_credit(session, actor, invoice.tenant_id, invoice.currency)
    record(session, actor=actor, action="invoice.finalised", subject_type="invoice",
           subject_id=invoice.id, tenant_id=invoice.tenant_id,
           detail={"number": invoice.number_text, "gross_minor": invoice.gross_minor,
                   "currency": invoice.currency, "gc": invoice.gc})  # fmt: skip
    return invoice


def cap_credited_vat(session: Session, note: Invoice, original: Invoice) -> None:
    """Fix the VAT of each of the note's lines so that all notes together never take
    back more VAT than the invoice charged, per line and per rate (`credit_vat`)."""
    doc = document_of(original, number=original.number_text or "")
    lines = [dataclasses.replace(shown, description=stored.description)
             for shown, stored in zip(doc.lines, original.lines, strict=True)]  # fmt: skip
    rows = session.execute(
        select(InvoiceLine.description, func.sum(InvoiceLine.amount_minor))
        .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
        .where(Invoice.original_invoice_id == original.id, Invoice.status.in_(states.FINAL),
               Invoice.id != note.id)
        .group_by(InvoiceLine.description)
    )  # fmt: skip
    before = {description: -int(total) for description, total in rows}
    known = {line.description for line in lines}
    if any(line.description not in known for line in note.lines):
        return  # a note not made line by line from this invoice: the rule as it stands
    vats = capped_vats(
        lines, before,
        [Credited(ln.description, VatCode(ln.vat_code), -ln.amount_minor) for ln in note.lines],
        inclusive=note.prices_include_vat,
    )  # fmt: skip
    for line, vat in zip(note.lines, vats, strict=True):
        line.vat_minor = vat


def _issuable_document(invoice: Invoice, original: Invoice | None) -> Document:
    """The document to number, or a 422 naming what a tax invoice would lack."""
    if not invoice.lines:
        raise InvalidInput.on("lines", "nothing to invoice in this period")
    if invoice.currency != "TZS" and invoice.exchange_rate is None:
        raise InvalidInput.on(
            "exchange_rate", f"a {invoice.currency} invoice needs the TZS rate and its source"
        )
    if invoice.exchange_rate is not None and invoice.exchange_rate <= 0:
        raise InvalidInput.on("exchange_rate.tzs_per_unit", "must be positive")
    doc = document_of(invoice, number="?", original=original)
    missing = missing_fields(doc, before_fiscal=True)
    if missing:
        raise InvalidInput(
            "the document lacks mandatory fields", {f: ["required"] for f in missing}
        )
    return doc


def void_draft(session: Session, actor: str, invoice_id: str) -> Invoice:
    invoice = session.get(Invoice, invoice_id, with_for_update=True)
    if invoice is None:
        raise NotFound(f"invoice {invoice_id} not found")
    try:
        invoice.status = states.void(invoice.status)
    except states.TransitionRefused as refused:
        raise Conflict(str(refused)) from None
    adjustments.release(session, invoice.id)  # the next draft bills them
    record(session, actor=actor, action="invoice.voided", subject_type="invoice",
           subject_id=invoice.id, tenant_id=invoice.tenant_id)  # fmt: skip
    return invoice


def receipt_for_topup(session: Session, settings: Settings, topup_id: str) -> Invoice | None:
    """The fiscal receipt of a succeeded top-up, once: the payment is the tax point."""
    topup = session.get(Topup, topup_id, with_for_update=True)  # racing runs queue here
    existing = session.execute(select(Invoice).where(Invoice.topup_id == topup_id)).scalar()
    if existing is not None or topup is None:
        return existing
    if topup.status not in (TopupStatus.SUCCEEDED, TopupStatus.REFUNDED):
        return None
    tenant = session.get(Tenant, topup.tenant_id)
    receipt = new_invoice(tenant, InvoiceSource.TOPUP, SYSTEM, topup_id=topup.id,
                           prices_include_vat=True, currency=topup.currency)  # fmt: skip
    line = DraftLine(
        f"TOPUP-{topup.provider.upper()}", TOPUP_LINE, Decimal(1), "", topup.amount_minor
    )
    _add_lines(receipt, [line])
    session.add(receipt)
    session.flush()
    if topup.currency != "TZS":
        return receipt  # finance finalises it with the day's rate
    return finalise(session, settings, SYSTEM, receipt.id)
