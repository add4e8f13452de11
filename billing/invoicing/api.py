"""/v1/invoices, their PDF and credit notes, /v1/invoice-runs and the daily /v1/zreports."""

from __future__ import annotations

from datetime import date

from flask import Response
from flask.views import MethodView
from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.auth.access import ANYONE, STAFF, finds, principal, requires
from billing.auth.models import Role
from billing.auth.principal import Principal
from billing.core.errors import Conflict, NotFound
from billing.dunning import service as dunning
from billing.invoicing import (
    copies,
    credit,
    credit_notes,
    listing,
    payments,
    runs,
    service,
    states,
    vfd,
    zreports,
)
from billing.invoicing.models import Invoice
from billing.invoicing.rendering import render_invoice
from billing.invoicing.schemas import (
    CreditListSchema,
    CreditNoteCreateSchema,
    CreditRefundCreateSchema,
    FinalizeSchema,
    InvoiceCreateSchema,
    InvoiceListArgs,
    InvoicePageSchema,
    InvoiceRunResultSchema,
    InvoiceRunSchema,
    InvoiceSchema,
    PaymentCreateSchema,
    PaymentListSchema,
    RecordedCreditRefundSchema,
    RecordedPaymentSchema,
    ZReportListSchema,
    ZReportRequestSchema,
    ZReportSchema,
)
from billing.runtime import current
from billing.web.api import Blueprint
from billing.web.idempotency import idempotent
from billing.web.pagination import decode_cursor, encode_cursor
from billing.web.session import request_session

blp = Blueprint("invoices", __name__, url_prefix="/v1", description="Invoices and credit notes")
FINANCE = (Role.FINANCE,)


@finds("invoice_id")
def _find_invoice(session: Session, invoice_id: str, who: Principal) -> object:
    """A tenant key finds only its own final documents (no drafts); staff find any."""
    return service.get_invoice(session, invoice_id, who.tenant_id)


def actor() -> str:
    return principal().actor


@blp.route("/invoices")
class Invoices(MethodView):
    @idempotent
    @requires(*FINANCE)
    @blp.arguments(InvoiceCreateSchema)
    @blp.response(201, InvoiceSchema)
    def post(self, data: dict):
        """The draft invoice of a postpaid tenant's period, from its rated usage (made
        once: a repeat gets the same draft). A period already finalised is 409, naming
        its invoice: correct it with a credit note."""
        invoice, _created = service.create_postpaid_draft(
            request_session(), actor(), data["tenant_id"], data["period_start"], data["period_end"]
        )
        if invoice.status in states.FINAL:
            why = f"the period is invoiced already: {invoice.number_text} ({invoice.id})"
            raise Conflict(why, {"period_start": [why]})
        return invoice

    @requires(*ANYONE)
    @blp.arguments(InvoiceListArgs, location="query")
    @blp.response(200, InvoicePageSchema)
    def get(self, args: dict):
        """Invoices, receipts and credit notes, newest first, by cursor. Staff see all
        (filter by tenant); a tenant key sees its own, never a draft."""
        who = principal()
        period = None
        if args["period"]:
            year, month = args["period"].split("-")
            period = date(int(year), int(month), 1)
        where = listing.InvoiceFilter(
            tenant_id=who.tenant_id or args["tenant_id"],
            kind=args["kind"], source=args["source"], status=args["status"], period=period,
            number=args["number"], payment_status=args["payment_status"],
            topup_id=args["topup_id"], final_only=who.tenant_id is not None,
        )  # fmt: skip
        if who.tenant_id and args["tenant_id"] not in (None, who.tenant_id):
            raise NotFound(f"tenant {args['tenant_id']} not found")  # another tenant's
        page, position = listing.list_invoices(
            request_session(), where, before=decode_cursor(args["cursor"]), limit=args["limit"]
        )
        return {"items": page, "next_cursor": encode_cursor(position) if position else None}


@blp.route("/invoices/<invoice_id>")
class InvoiceById(MethodView):
    @requires(*ANYONE)
    @blp.response(200, InvoiceSchema)
    def get(self, invoice_id: str):
        """One invoice or credit note; a tenant sees only its own, and no drafts."""
        return service.get_invoice(request_session(), invoice_id, principal().tenant_id)


@blp.route("/invoices/<invoice_id>/finalize")
class Finalize(MethodView):
    @requires(*FINANCE)
    @blp.arguments(FinalizeSchema)
    @blp.response(200, InvoiceSchema)
    def post(self, data: dict, invoice_id: str):
        """Number it (gapless), freeze it, sign its receipt; PDF, e-mail and TRA follow."""
        rate = data["exchange_rate"]
        return service.finalise(
            request_session(),
            current().settings,
            actor(),
            invoice_id,
            service.Rate(rate["tzs_per_unit"], rate["source"]) if rate else None,
        )


@blp.route("/invoices/<invoice_id>/void")
class Void(MethodView):
    @requires(*FINANCE)
    @blp.response(200, InvoiceSchema)
    def post(self, invoice_id: str):
        """Discard a draft. A finalised document is never voided (409): credit it instead."""
        return service.void_draft(request_session(), actor(), invoice_id)


@blp.route("/invoices/<invoice_id>/pdf")
class InvoicePdf(MethodView):
    @requires(*ANYONE)
    @blp.response(200, content_type="application/pdf")
    def get(self, invoice_id: str):
        """The rendered PDF (404 until it is rendered, shortly after finalise). The first
        download of a document never e-mailed is its original; every later one, and any
        after the e-mail, is marked COPY (VAT Act s.86(4)); `X-Document-Copy` says which."""
        session = request_session()
        invoice = service.get_invoice(session, invoice_id, principal().tenant_id)
        invoice = session.execute(  # locked, and read again now that it is ours
            select(Invoice).where(Invoice.id == invoice.id).with_for_update()
            .execution_options(populate_existing=True)
        ).scalar_one()  # fmt: skip
        if invoice.pdf is None:
            raise NotFound(f"the PDF of {invoice_id} is not rendered yet")
        if copies.claim_original(session, actor(), invoice, copies.DOWNLOAD):
            pdf, is_copy = invoice.pdf, False
        else:
            copies.count_copy(invoice)
            pdf, is_copy = render_invoice(session, current().settings, invoice, is_copy=True), True
        name = f"{invoice.number_text}{'-copy' if is_copy else ''}.pdf"
        return Response(
            pdf,
            mimetype="application/pdf",
            headers={
                "Content-Disposition": f'inline; filename="{name}"',
                "X-Document-Copy": "true" if is_copy else "false",
            },
        )


@blp.route("/invoices/<invoice_id>/credit-notes")
class CreditNotes(MethodView):
    @idempotent
    @requires(*FINANCE)
    @blp.arguments(CreditNoteCreateSchema)
    @blp.response(201, InvoiceSchema)
    def post(self, data: dict, invoice_id: str):
        """A draft credit note against a finalised invoice; finalise it like an invoice."""
        amounts = None
        if data["lines"]:
            amounts = {line["position"]: line["amount"] for line in data["lines"]}
        return credit_notes.create_credit_note(
            request_session(), actor(), invoice_id, data["reason"], amounts
        )


@blp.route("/invoices/<invoice_id>/payments")
class InvoicePayments(MethodView):
    @idempotent
    @requires(*FINANCE)
    @blp.arguments(PaymentCreateSchema)
    @blp.response(201, RecordedPaymentSchema)
    def post(self, data: dict, invoice_id: str):
        """Record the customer paying a postpaid invoice: one ledger transaction, clearing
        account → receivable; more than is due is refused (422)."""
        session = request_session()
        received = payments.Received(
            data["amount"], data["currency"].value, data["method"], data["reference"],
            data["received_at"],
        )  # fmt: skip
        payment = payments.record_payment(session, actor(), invoice_id, received)
        invoice = service.get_invoice(session, invoice_id)
        dunning.lift_if_paid(session, current().settings, invoice.tenant_id)  # paid: lifted
        return {
            "payment": payment,
            "amount_due": payments.amount_due(session, invoice),
            "payment_status": invoice.payment_status,
        }

    @requires(*ANYONE)
    @blp.response(200, PaymentListSchema)
    def get(self, invoice_id: str):
        """The payments recorded against an invoice (a tenant: its own) and what is due."""
        session = request_session()
        invoice = service.get_invoice(session, invoice_id, principal().tenant_id)
        return {
            "items": payments.payments_of(session, invoice.id),
            "amount_due": payments.amount_due(session, invoice),
        }


@blp.route("/invoices/<invoice_id>/refunds")
class InvoiceRefunds(MethodView):
    @idempotent
    @requires(*FINANCE)
    @blp.arguments(CreditRefundCreateSchema)
    @blp.response(201, RecordedCreditRefundSchema)
    def post(self, data: dict, invoice_id: str):
        """Pay back customer credit an invoice holds (a credit note after payment that no
        open invoice took): receivable → clearing account; more than is held is 422."""
        session = request_session()
        refund = credit.Refund(
            data["amount"], data["currency"].value, data["method"], data["reference"]
        )
        move = credit.refund_credit(session, actor(), invoice_id, refund)
        invoice = service.get_invoice(session, invoice_id)
        return {
            "refund": move,
            "amount_due": payments.amount_due(session, invoice),
            "payment_status": invoice.payment_status,
        }


@blp.route("/invoices/<invoice_id>/credits")
class InvoiceCredits(MethodView):
    @requires(*ANYONE)
    @blp.response(200, CreditListSchema)
    def get(self, invoice_id: str):
        """Customer credit into and out of an invoice (a tenant: its own): applied from or
        to its other invoices, or refunded; and what is due (below zero: credit held)."""
        session = request_session()
        invoice = service.get_invoice(session, invoice_id, principal().tenant_id)
        return {
            "items": credit.credits_of(session, invoice.id),
            "amount_due": payments.amount_due(session, invoice),
        }


@blp.route("/invoice-runs")
class InvoiceRuns(MethodView):
    @idempotent
    @requires(*FINANCE)
    @blp.arguments(InvoiceRunSchema)
    @blp.response(201, InvoiceRunResultSchema)
    def post(self, data: dict):
        """Drafts for every postpaid tenant for the period; a repeat finds the same drafts."""
        return runs.run(request_session(), actor(), data["period_start"], data["period_end"])


@blp.route("/zreports")
class ZReports(MethodView):
    @requires(*STAFF)
    @blp.response(200, ZReportListSchema)
    def get(self):
        """The VFD's daily Z reports, newest day first (the last 60)."""
        serial = vfd.device(current().settings).efd_serial
        return {"items": zreports.list_reports(request_session(), serial)}

    @requires(*FINANCE)
    @blp.arguments(ZReportRequestSchema)
    @blp.response(201, ZReportSchema)
    def post(self, data: dict):
        """Seal a closed day's Z report now (once) and send it; the ticker does this daily."""
        return zreports.close_day(request_session(), current().settings, actor(), data["day"])
