"""Finance: invoices (drafts, finalise, void, credit notes, payments, refunds), invoice
runs with their progress, Z reports. Each action calls the same service function as its
/v1 endpoint (which records its audit events)."""

from __future__ import annotations

from datetime import date

from flask import redirect, render_template, request, url_for
from sqlalchemy import func, select

from billing.auth.access import principal, requires
from billing.auth.models import Role
from billing.backoffice.blueprint import STAFF, bp
from billing.backoffice.signin import needs_recent_reauth
from billing.core.errors import InvalidInput
from billing.invoicing import credit, credit_notes, payments, runs, service, vfd, zreports
from billing.invoicing.listing import InvoiceFilter, list_invoices
from billing.invoicing.models import Invoice, PaymentMethod
from billing.invoicing.schemas import (
    CreditRefundCreateSchema,
    ExchangeRateSchema,
    InvoiceCreateSchema,
    InvoiceRunSchema,
    PaymentCreateSchema,
)
from billing.invoicing.states import InvoiceStatus
from billing.pages.forms import load, minor_units
from billing.runtime import current
from billing.web.session import request_session

FINANCE = (Role.FINANCE,)


@bp.route("/invoices", methods=["GET", "POST"], endpoint="invoices")
@requires(*STAFF)
def invoices_page():
    session = request_session()
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        principal().require(*FINANCE)
        data, errors = load(InvoiceCreateSchema(), request.form)
        if not errors:
            invoice, _created = service.create_postpaid_draft(
                session,
                principal().actor,
                data["tenant_id"],
                data["period_start"],
                data["period_end"],
            )
            return redirect(url_for("office.invoice", invoice_id=invoice.id), code=303)
    status = request.args.get("status") or None
    if status is not None and status not in {s.value for s in InvoiceStatus}:
        errors.setdefault("status", []).append("not an invoice status")
        status = None
    rows, _next = list_invoices(
        session,
        InvoiceFilter(
            tenant_id=request.args.get("tenant_id") or None,
            status=InvoiceStatus(status) if status else None,
            number=request.args.get("number") or None,
        ),
        before=None,
        limit=200,
    )
    return render_template(
        "office/invoices.html", invoices=rows, errors=errors, args=request.args
    ), (422 if errors else 200)


@bp.get("/invoices/<invoice_id>")
@requires(*STAFF)
def invoice(invoice_id: str):
    session = request_session()
    found = service.get_invoice(session, invoice_id)
    due = payments.amount_due(session, found) if found.payment_status is not None else None
    return render_template(
        "office/invoice.html",
        methods=[m.value for m in PaymentMethod],
        credits=credit.credits_of(session, invoice_id),
        invoice=found,
        due=due,
        payments=payments.payments_of(session, invoice_id),
    )


@bp.post("/invoices/<invoice_id>/finalize")
@requires(*FINANCE)
@needs_recent_reauth
def finalize(invoice_id: str):
    """As POST /v1/invoices/{id}/finalize: the gapless number, frozen; PDF and TRA follow."""
    rate = None
    if request.form.get("tzs_per_unit"):  # a USD invoice: the rate printed beside TZS
        data, errors = load(
            ExchangeRateSchema(),
            {
                "tzs_per_unit": request.form["tzs_per_unit"],
                "source": request.form.get("source", ""),
            },
        )
        if errors:
            raise InvalidInput("the exchange rate is not valid", errors)
        rate = service.Rate(data["tzs_per_unit"], data["source"])
    service.finalise(request_session(), current().settings, principal().actor, invoice_id, rate)
    return redirect(url_for("office.invoice", invoice_id=invoice_id), code=303)


@bp.post("/invoices/<invoice_id>/void")
@requires(*FINANCE)
def void(invoice_id: str):
    service.void_draft(request_session(), principal().actor, invoice_id)
    return redirect(url_for("office.invoice", invoice_id=invoice_id), code=303)


@bp.post("/invoices/<invoice_id>/credit-notes")
@requires(*FINANCE)
@needs_recent_reauth
def credit_note(invoice_id: str):
    reason = request.form.get("reason", "").strip()
    if not 1 <= len(reason) <= 500:
        raise InvalidInput.on("reason", "say why (1 to 500 characters)")
    note = credit_notes.create_credit_note(
        request_session(), principal().actor, invoice_id, reason, None
    )
    return redirect(url_for("office.invoice", invoice_id=note.id), code=303)


def _money_moved(schema, invoice: Invoice) -> dict:
    """A payment or refund form through the API's schema; the amount typed in major units."""
    amount, errors = minor_units(request.form.get("amount", ""), invoice.currency)
    if errors:
        raise InvalidInput("the amount is not valid", errors)
    given = {
        "amount": amount,
        "currency": invoice.currency,
        "method": request.form.get("method", ""),
        "reference": request.form.get("reference", "").strip(),
    }
    if "received_on" in request.form:
        given["received_at"] = f"{request.form['received_on']}T12:00:00+03:00"
    data, errors = load(schema, given)
    if errors:
        raise InvalidInput("the form is not valid", errors)
    return data


@bp.post("/invoices/<invoice_id>/payments")
@requires(*FINANCE)
@needs_recent_reauth
def record_payment(invoice_id: str):
    """As POST /v1/invoices/{id}/payments: the customer paid (at most what is due)."""
    session = request_session()
    data = _money_moved(PaymentCreateSchema(), service.get_invoice(session, invoice_id))
    received = payments.Received(
        data["amount"],
        data["currency"].value,
        data["method"],
        data["reference"],
        data["received_at"],
    )
    payments.record_payment(session, principal().actor, invoice_id, received)
    return redirect(url_for("office.invoice", invoice_id=invoice_id), code=303)


@bp.post("/invoices/<invoice_id>/refunds")
@requires(*FINANCE)
@needs_recent_reauth
def refund_credit(invoice_id: str):
    """As POST /v1/invoices/{id}/refunds: pay back the credit the invoice holds."""
    session = request_session()
    data = _money_moved(CreditRefundCreateSchema(), service.get_invoice(session, invoice_id))
    refund = credit.Refund(
        data["amount"], data["currency"].value, data["method"], data["reference"]
    )
    credit.refund_credit(session, principal().actor, invoice_id, refund)
    return redirect(url_for("office.invoice", invoice_id=invoice_id), code=303)


@bp.route("/invoice-runs", methods=["GET", "POST"], endpoint="invoice_runs")
@requires(*FINANCE)
def invoice_runs():
    session = request_session()
    result, errors = None, {}
    if request.method == "POST":
        data, errors = load(InvoiceRunSchema(), request.form)
        if not errors:
            result = runs.run(session, principal().actor, data["period_start"], data["period_end"])
    start = request.form.get("period_start") or request.args.get("period_start")
    return render_template(
        "office/invoice_runs.html",
        result=result,
        errors=errors,
        progress=_progress(session, start),
        form=request.form,
    ), (422 if errors else 200)


@bp.get("/invoice-runs/progress")
@requires(*FINANCE)
def run_progress():
    return render_template(
        "office/_run_progress.html",
        progress=_progress(request_session(), request.args.get("period_start")),
    )


def _progress(session, start: str | None) -> dict | None:
    """How far the period's drafts have got: drafts, finalised, acknowledged by TRA."""
    try:
        first = date.fromisoformat(start or "")
    except ValueError:
        return None
    rows = session.execute(
        select(Invoice.status, func.count())
        .where(Invoice.period_start == first, Invoice.source == "postpaid")
        .group_by(Invoice.status)
    ).all()
    counts = {str(getattr(status, "value", status)): n for status, n in rows}
    total = sum(counts.values())
    done = total - counts.get("draft", 0) - counts.get("void", 0)
    return {
        "start": first.isoformat(),
        "counts": counts,
        "total": total,
        "done": done,
        "tenants": len(runs.postpaid_tenants(session)),
    }


@bp.get("/zreports", endpoint="zreports")
@requires(*STAFF)
def zreports_page():
    serial = vfd.device(current().settings).efd_serial
    return render_template(
        "office/zreports.html",
        reports=zreports.list_reports(request_session(), serial),
        serial=serial,
    )
